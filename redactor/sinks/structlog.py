"""``structlog_processor``: a structlog processor that redacts every string in the event.

Where to put it::

    structlog.configure(processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        redactor.structlog_processor,          # last before the renderer: recommended
        structlog.processors.JSONRenderer(),
    ])

* **Just before the renderer** (recommended): every value is still structured, so the event dict
  is walked (dicts, lists, tuples, sets; keys too) and each string is redacted. ``exc_info`` is
  rendered into ``exception`` here (as ``format_exc_info`` would) so that a renderer cannot print
  the live exception unredacted. A number (int, float, Decimal; not bool) whose text holds a
  secret becomes that text redacted, a string. Other objects that are neither strings nor
  containers are replaced by their redacted ``repr`` only when that ``repr`` holds a secret.
* **After the renderer** (also works, e.g. when a renderer adds text of its own): the rendered
  ``str`` or ``bytes`` is redacted as a whole. A secret escaped by the renderer (JSON ``\\n``,
  ``\\"``) is caught by the engine's JSON encoding.
* **Earlier in the chain**: works for what is in the event dict at that point, but processors
  that run later may add values (``format_exc_info``, ``CallsiteParameterAdder``), so keep it last
  or after the renderer.

With ``structlog.stdlib.ProcessorFormatter`` put it last in ``processors`` (before the renderer)
and in ``foreign_pre_chain`` there is no need: foreign records go through ``processors`` too.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from redactor.engine.default import get_redactor
from redactor.engine.walk import redact_value

if TYPE_CHECKING:
    from redactor.engine.redactor import Redactor

__all__ = ["StructlogRedactor", "structlog_processor"]

_FAILED = "[redactor: this event could not be redacted and was withheld]"


class StructlogRedactor:
    """The processor, pinned to one ``Redactor`` (``None``: the process-wide default)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor

    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        redactor = self.redactor or get_redactor()
        try:
            return _redact_event(event_dict, redactor)
        except Exception:
            # Fail closed: an event that cannot be walked is replaced, never passed on as it is.
            if isinstance(event_dict, (bytes, bytearray)):
                return _FAILED.encode()
            if isinstance(event_dict, str):
                return _FAILED
            return {"event": _FAILED}


def _redact_event(event: Any, redactor: Redactor) -> Any:
    if isinstance(event, MutableMapping):
        if event.get("exc_info"):
            event = _render_exc_info(event)
        out = {}
        for key, value in event.items():
            if isinstance(value, logging.LogRecord) or (
                isinstance(key, str) and key in ("_logger", "_name")
            ):
                # ProcessorFormatter's plumbing: the rendered output is made from the event dict.
                out[key] = value
            else:
                out[redact_value(key, redactor)] = redact_value(value, redactor)
        return out
    if isinstance(event, tuple) and len(event) == 2 and isinstance(event[1], dict):
        # ProcessorFormatter.wrap_for_formatter's ((event_dict,), {"extra": {...}}).
        args, kwargs = event
        return (
            tuple(_redact_event(a, redactor) for a in args),
            {k: _redact_event(v, redactor) for k, v in kwargs.items()},
        )
    return redact_value(event, redactor)


def _render_exc_info(event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    from structlog.processors import format_exc_info

    return format_exc_info(None, "", dict(event))


_default_processor = StructlogRedactor()


def structlog_processor(logger: Any, method_name: str, event_dict: Any) -> Any:
    """The processor on the process-wide default redactor: add it to structlog's ``processors``."""
    return _default_processor(logger, method_name, event_dict)
