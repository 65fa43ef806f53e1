"""How the command line reports errors: one line on stderr, never a value.

Commands raise a :class:`redactor.errors.RedactorError` (``CommandError`` for usage errors); the
one handler in :func:`redactor.cli.main.main` turns it into ``redactor: error: <message>`` and
its exit status (2 unless the error says otherwise). :func:`report_error` is the same line for
the few reports that do not stop a command (one file among many, a pump after the command ran).
"""

from __future__ import annotations

import sys

from redactor.errors import CommandError

__all__ = ["ApiError", "CommandError", "report_api_error", "report_error", "report_warning"]


class ApiError(CommandError):
    """An error of the secrets API, which ``redactor secrets`` shows as the Databricks CLI does:
    ``Error: RESOURCE_DOES_NOT_EXIST: message`` (the code first, so scripts can match it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def report_error(message: str) -> None:
    print(f"redactor: error: {message}", file=sys.stderr)


def report_warning(message: str) -> None:
    print(f"redactor: warning: {message}", file=sys.stderr)


def report_api_error(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)
