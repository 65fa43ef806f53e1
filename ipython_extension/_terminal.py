"""The terminal side: terminal IPython prints everything (``Out[]``, display, tracebacks) to
``sys.stdout``/``sys.stderr``, so those two are wrapped in a redacting stream.

Held-back text (a tail that could be the start of a secret) is released when the stream is
flushed, which IPython does before each prompt; a ``post_run_cell`` callback flushes too.
"""

from __future__ import annotations

import sys
from typing import Any

from redactor.stdio import RedactingTextIO

__all__ = ["TerminalHook"]


class TerminalHook:
    """Wraps ``sys.stdout`` and ``sys.stderr``; restores them on :meth:`uninstall`."""

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.wrapped: dict[str, tuple[Any, RedactingTextIO]] = {}
        self.active = False

    def install(self) -> None:
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if current is None or isinstance(current, RedactingTextIO):
                continue  # redactor.install() is in effect already
            wrapper = RedactingTextIO(current)
            self.wrapped[name] = (current, wrapper)
            setattr(sys, name, wrapper)
        self.ip.events.register("post_run_cell", self._post_run_cell)
        self.active = True

    def _post_run_cell(self, *args: Any) -> None:
        self.flush()

    def flush(self) -> None:
        for _, wrapper in self.wrapped.values():
            try:
                wrapper.flush()
            except (OSError, ValueError):
                pass

    def uninstall(self) -> None:
        if not self.active:
            return
        self.active = False
        try:
            self.ip.events.unregister("post_run_cell", self._post_run_cell)
        except ValueError:
            pass
        self.flush()
        for name, (original, wrapper) in self.wrapped.items():
            if getattr(sys, name) is wrapper:
                setattr(sys, name, original)
        self.wrapped.clear()

    @property
    def streams(self) -> list[str]:
        return [f"sys.{name}" for name in self.wrapped]
