"""Errors every command reports the same way: one line on stderr, exit code 2, never a value."""

from __future__ import annotations

import sys


class CommandError(Exception):
    """A user-facing error; its message must never contain a secret value."""


def fail(message: str, code: int = 2) -> int:
    print(f"redactor: error: {message}", file=sys.stderr)
    return code
