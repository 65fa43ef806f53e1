"""The terminal side: terminal IPython prints everything (``Out[]``, display, tracebacks) to
``sys.stdout``/``sys.stderr``, so those two are wrapped in a redacting stream.

While the prompt is shown, prompt_toolkit's ``patch_stdout`` swaps ``sys.stdout`` for a proxy that
writes straight to prompt_toolkit's own output object (so that a background thread's ``print``
appears above the prompt). That output's ``stdout`` is wrapped as well, so thread output during
the prompt is redacted too (what is typed at the prompt is echoed through it, redacted as well).

Held-back text (a tail that could be the start of a secret) is released when the stream is
flushed, which IPython and prompt_toolkit do after each output; a ``post_run_cell`` callback
flushes too.
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
        self.pt_outputs: list[tuple[Any, Any, RedactingTextIO]] = []
        self.active = False

    def install(self) -> None:
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if current is None or isinstance(current, RedactingTextIO):
                continue  # redactor.install() is in effect already
            wrapper = RedactingTextIO(current)
            self.wrapped[name] = (current, wrapper)
            setattr(sys, name, wrapper)
        self._wrap_prompt_toolkit()
        self.ip.events.register("post_run_cell", self._post_run_cell)
        self.active = True

    def _wrap_prompt_toolkit(self) -> None:
        outputs = []
        pt_app = getattr(self.ip, "pt_app", None)
        if pt_app is not None:
            outputs.append(getattr(pt_app, "output", None))
            outputs.append(getattr(getattr(pt_app, "app", None), "output", None))
        try:
            from prompt_toolkit.application.current import get_app_session

            outputs.append(get_app_session().output)
        except Exception:  # noqa: S110 - no prompt_toolkit session: nothing to wrap
            pass
        seen: set[int] = set()
        for output in outputs:
            if output is None or id(output) in seen:
                continue
            seen.add(id(output))
            stdout = getattr(output, "stdout", None)
            if (
                stdout is None
                or isinstance(stdout, RedactingTextIO)
                or not hasattr(stdout, "write")
            ):
                continue
            wrapper = RedactingTextIO(stdout)
            output.stdout = wrapper
            self.pt_outputs.append((output, stdout, wrapper))

    def _post_run_cell(self, *args: Any) -> None:
        self.flush()

    def flush(self) -> None:
        wrappers = [w for _, w in self.wrapped.values()] + [w for _, _, w in self.pt_outputs]
        for wrapper in wrappers:
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
        for output, original, wrapper in self.pt_outputs:
            if getattr(output, "stdout", None) is wrapper:
                output.stdout = original
        self.pt_outputs.clear()

    @property
    def streams(self) -> list[str]:
        names = [f"sys.{name}" for name in self.wrapped]
        if self.pt_outputs:
            names.append("prompt_toolkit output")
        return names
