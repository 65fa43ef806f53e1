"""Parse the command line and dispatch to one module per verb (like pre-commit's ``commands/``).

Each module in :mod:`redactor.cli.commands` has ``add_parser(subparsers)`` which registers its
options and sets ``func``, a callable taking the parsed arguments and returning the exit code.
Shared options are declared once in :mod:`redactor.cli.options`. Command modules import
optional third-party libraries (pyspark, pyarrow) only inside ``func``, so that ``redactor --help``
and ``redactor filter`` start without them.

Errors are reported in one place, here: every :class:`redactor.errors.RedactorError` a command
raises becomes ``redactor: error: <message>`` on stderr and its exit status (2 unless the error
says otherwise), as pre-commit's ``error_handler`` does; commands do not catch them to print.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from redactor import __version__
from redactor.cli.errors import ApiError, report_api_error, report_error, report_warning
from redactor.errors import RedactorError

# verb -> module under redactor.cli.commands, in the order `--help` lists them
COMMANDS = {
    "demo": "demo",
    "scrub": "scrub",
    "filter": "filter",
    "run": "run",
    "secrets": "secrets",
    "sources": "sources",
    "detectors": "detectors",
    "install-git-filter": "install_git_filter",
    "scrub-logs": "scrub_logs",
    "scan": "scan",
    "ci-mask": "ci_mask",
}


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The parser with every verb, or with ``verb`` only: a command loads just its own module, so
    ``redactor filter`` does not import the notebook, Spark and demo modules (30 ms of its start-up
    on the CI machine, measured with ``python -X importtime``)."""
    parser = argparse.ArgumentParser(
        prog="redactor",
        description="Keep secret values out of notebooks, logs and CI output.",
    )
    parser.add_argument("--version", action="version", version=f"redactor {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if verb is None or name == verb:
            importlib.import_module(f"redactor.cli.commands.{module}").add_parser(subparsers)
    return parser


def _verb(argv: Sequence[str]) -> str | None:
    """The verb ``argv`` names, if it is a known one (the top level has no option with a value,
    so the first word that is not an option is the verb)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # Our warnings name secrets, never values: print them plainly, without source lines.
    report_warning(str(message))


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_verb(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    warnings.showwarning = _show_warning
    try:
        return int(args.func(args) or 0)
    except RedactorError as exc:
        # The one place where the project's errors become a message: they never hold a value
        # (nor does their chain: sources raise them `from None` around third-party errors).
        (report_api_error if isinstance(exc, ApiError) else report_error)(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # A closed downstream pipe (`redactor ... | head`) ends quietly, as with `cat`.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
