"""The project's exceptions: one root, one subclass per area.

Every error the project raises on purpose derives from :class:`RedactorError`, so that a caller
(and the command line, in one place: :func:`redactor.cli.main.main`) can catch them all, and each
area's errors from its own class. Existing exceptions keep their other bases (``ValueError``,
``ImportError``, ``OSError``, ``LookupError``...), so code that catches those keeps working.

A message never holds a secret value: it names a source, a secret's name, a file, a line number.
That holds for chained exceptions too, which is why sources raise ``from None`` around
third-party errors whose text may quote data.
"""

from __future__ import annotations

__all__ = [
    "CIError",
    "CommandError",
    "ConfigError",
    "EngineError",
    "LogFilesError",
    "NotebookSinkError",
    "RedactorError",
    "SinkError",
    "SourceError",
]


class RedactorError(Exception):
    """The root of every error this project raises; its message never holds a value."""

    #: the exit status the command line gives this error
    exit_code: int = 2


class ConfigError(RedactorError):
    """Settings that cannot be used: ``[tool.redactor]``, a flag, a trait or a keyword argument,
    or a configured secret source that cannot be read (a missing dotenv file, an unset variable)."""


class SourceError(RedactorError):
    """Where secret values come from: the scopes (local store, Key Vault) and the channel."""


class EngineError(RedactorError):
    """The matching engine: an engine that is unknown or not installed."""


class SinkError(RedactorError):
    """Where output goes: notebooks, log files, CI pipes."""


class NotebookSinkError(SinkError):
    """Notebooks (saved files, nbconvert, the Jupyter save hook)."""


class LogFilesError(SinkError):
    """Log files and archives (``redactor scrub-logs``)."""


class CIError(SinkError):
    """CI pipes (``redactor filter``/``run``): the ``::add-mask::`` protocol and the pumps."""


class CommandError(RedactorError):
    """A command-line usage error (missing argument, unusable file); ``exit_code`` says the
    status, 2 unless the command documents another (``run``: 126 and 127)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
