"""`redactor sources`: what a command with these settings would redact, and from where.

One line per source (each configured one as a user names it, then each discovery source), with
the number of secrets and their names: never a value, so the output can be pasted in a bug report.
Nothing is required: a listing with no secret at all says so and exits 0; a source that cannot be
read is an error (exit 2), as for every command.
"""

from __future__ import annotations

import argparse

from redactor.cli.options import add_source_arguments
from redactor.config import settings_from_args
from redactor.sources.load import registered_by_source

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sources",
        help="list the secrets the other commands would redact, and from where (names only)",
        description="List, for each configured source and each discovery source, how many "
        "secrets it gives and their names (never their values).",
    )
    add_source_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    listing = registered_by_source(settings_from_args(args))
    total = sum(len(names) for _, names in listing)
    for source, names in listing:
        count = f"{len(names)} secret{'' if len(names) == 1 else 's'}"
        print(f"{source}: {count}" + (f" ({', '.join(names)})" if names else ""))
    print(f"total: {total} secret{'' if total == 1 else 's'}")
    return 0
