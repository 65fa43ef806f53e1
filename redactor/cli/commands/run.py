"""`redactor run` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="(not built yet)")
    p.set_defaults(func=lambda args: print("redactor run: not built yet") or 2)
