"""``redactor demo``: show the whole data path on the embedded default, no server needed."""

from __future__ import annotations

import argparse

from redactor.cli._demo import run_all


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="show redaction at work on fixture logs, notebooks and a local scope",
        description="Run every demonstration step on built-in fixtures; exits non-zero if one fails.",
    )
    p.add_argument(
        "--step", action="append", metavar="NAME", help="run only this step (repeatable)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_all(steps=args.step)
