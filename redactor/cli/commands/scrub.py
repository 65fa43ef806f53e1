"""`redactor scrub` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("scrub", help="(not built yet)")
    p.set_defaults(func=lambda args: print("redactor scrub: not built yet") or 2)
