"""``RedactingFilter``: a ``logging.Filter`` that redacts a record before a handler sees it.

Attach it to a *handler* (``handler.addFilter(RedactingFilter())``), not to a logger: a logger's
filters do not run for records that propagate up from child loggers, a handler's filters run for
every record it is about to emit. ``redactor.install()`` does this for every handler it can find
(see :mod:`redactor.sinks.stdio`).

What it changes on the record, in place (so every later handler sees the redacted record too):

* ``msg`` becomes the redacted, fully formatted message and ``args`` becomes ``None``: a secret
  split across the template and an argument is caught, and no handler can re-format the raw args.
* ``exc_info`` is rendered into ``exc_text`` (redacted) and cleared, so a formatter cannot render
  the live exception again; standard formatters print ``exc_text``.
* ``stack_info``, ``message`` (set by an earlier formatter), ``threadName``/``processName``/
  ``taskName`` and every ``extra`` field are redacted by the engine's walker
  (:func:`redactor.engine.walk.redact_value`): strings, bytes, and dicts/lists/tuples/sets of
  them are walked; a number (int, float, Decimal; not bool) whose text holds a secret becomes
  that text redacted, a string; other objects are replaced with their redacted ``repr`` (or
  ``str``) only if that text holds a secret.

It never raises. Arguments that do not fit the template (which logging itself would report on
stderr, unredacted) become ``"<template> (log arguments that did not fit the message: <args>)"``,
redacted. If anything else goes wrong, the record is replaced with a fixed message that says so
(it fails closed) and is still emitted.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

from redactor.engine.default import get_redactor
from redactor.engine.walk import redact_number, redact_value

if TYPE_CHECKING:
    from redactor.engine.redactor import Redactor

__all__ = ["RedactingFilter", "redact_number", "redact_value"]

# Attributes every LogRecord has; anything else on a record came from ``extra=`` or a filter.
_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}

# Standard attributes a user can set and that a formatter prints.
_NAMES = ("threadName", "processName", "taskName")

_FAILED = "[redactor: this log record could not be redacted and was withheld]"


class RedactingFilter(logging.Filter):
    """Redacts message, args, exception, stack and extra fields of every record it sees.

    ``redactor=None`` uses the process-wide default at the moment of each record, so secrets
    registered later are redacted from then on.
    """

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = self.redactor or get_redactor()
        try:
            # A second filter (another handler) redacts again: cheap, and catches secrets that
            # were registered in between.
            self._redact(record, redactor)
        except Exception:
            _withhold(record)
        return True

    @staticmethod
    def _redact(record: logging.LogRecord, redactor: Redactor) -> None:
        try:
            message = record.getMessage()
        except Exception:
            # What logging's handleError would print to stderr: template and args, redacted here.
            message = (
                f"{record.msg!s} (log arguments that did not fit the message: {record.args!r})"
            )
        record.msg = redactor.redact(message)
        record.args = None
        if record.exc_info:
            exc_text = record.exc_text or _format_exception(record.exc_info)
            record.exc_info = None
            record.exc_text = exc_text
        if record.exc_text:
            record.exc_text = redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redactor.redact(record.stack_info)
        data = record.__dict__
        if isinstance(data.get("message"), str):
            data["message"] = redactor.redact(data["message"])
        for key in _NAMES:
            if isinstance(data.get(key), str):
                data[key] = redactor.redact(data[key])
        for key in [k for k in data if k not in _STANDARD]:
            data[key] = redact_value(data[key], redactor)


def _format_exception(exc_info: Any) -> str:
    """What ``logging.Formatter.formatException`` makes of ``exc_info``."""
    if exc_info is True or not isinstance(exc_info, tuple):
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        else:
            return ""
    text = "".join(traceback.format_exception(*exc_info))
    return text[:-1] if text.endswith("\n") else text


def _withhold(record: logging.LogRecord) -> None:
    """Fail closed: keep the record's level and origin, drop everything that could hold a secret."""
    data = record.__dict__
    for key in [k for k in data if k not in _STANDARD]:
        data.pop(key, None)
    record.msg = _FAILED
    record.args = None
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None
    data.pop("message", None)


class _RecordHook:
    """Redacts every record any handler emits, however the handler was attached.

    ``redactor.install()`` wraps two methods at class level: ``Logger.callHandlers`` (every record
    a logger dispatches, before any handler or handler filter sees it, even handlers whose class
    overrides ``handle``) and ``Handler.handle`` (handlers called directly: a ``QueueListener``'s
    targets, ``logging.lastResort``, code that calls ``handler.handle(record)``). Handlers attached
    with ``logger.handlers = [...]``, ``.append``, ``basicConfig``, ``dictConfig`` or before the
    install are all covered because the hook no longer depends on how a handler got there.

    A record is redacted once per redactor state: the hook remembers the last record and the
    (redactor, version) that redacted it, so a record dispatched to ten handlers is scanned once,
    and again only if a secret was registered in between. Nothing is added to the record (a JSON
    formatter would print it).
    """

    def __init__(self, redactor: Redactor | None) -> None:
        self.redactor = redactor
        self.active = False
        # The last record redacted and the (redactor, version) it was redacted with. One slot is
        # enough: callHandlers redacts a record and its handlers' handle() calls follow at once;
        # other threads may overwrite it, which only costs a second scan. Measured (20,000
        # records, best of 15, on a shared and noisy 2-core machine): one handler 28 us a record
        # with the per-handler filter of before, 32 us here; three handlers 79 us before, 64 here.
        self._last: tuple[Any, Any] = (None, None)
        self._originals: tuple[Any, Any] | None = None
        self._patched: tuple[Any, Any] | None = None

    def redact(self, record: Any) -> None:
        if not isinstance(record, logging.LogRecord):
            return
        redactor = self.redactor or get_redactor()
        key = (id(redactor), getattr(redactor, "_version", None))
        last, done = self._last
        if last is record and done == key:
            return
        try:
            RedactingFilter._redact(record, redactor)
        except Exception:
            _withhold(record)
        self._last = (record, key)

    def install(self) -> None:
        call_handlers = logging.Logger.callHandlers
        handle_original = logging.Handler.handle
        hook = self

        def callHandlers(self: logging.Logger, record: logging.LogRecord) -> None:
            if hook.active:
                hook.redact(record)
            return call_handlers(self, record)

        def handle(self: logging.Handler, record: logging.LogRecord) -> Any:
            if hook.active:
                hook.redact(record)
            return handle_original(self, record)

        callHandlers.__wrapped__ = call_handlers  # type: ignore[attr-defined]
        handle.__wrapped__ = handle_original  # type: ignore[attr-defined]
        self._originals = (call_handlers, handle_original)
        self._patched = (callHandlers, handle)
        logging.Logger.callHandlers = callHandlers  # type: ignore[method-assign]
        logging.Handler.handle = handle  # type: ignore[method-assign]
        self.active = True

    def remove(self) -> None:
        """Undo :meth:`install`; a wrapper another library put on top of ours stays, inert."""
        self.active = False
        if self._originals is None or self._patched is None:
            return
        if logging.Logger.callHandlers is self._patched[0]:
            logging.Logger.callHandlers = self._originals[0]  # type: ignore[method-assign]
        if logging.Handler.handle is self._patched[1]:
            logging.Handler.handle = self._originals[1]  # type: ignore[method-assign]
        self._originals = self._patched = None
