"""The IPython/Jupyter integration, installed as ``redactor.ipython_extension``.

``%load_ext redactor``, ``c.InteractiveShellApp.extensions = ["redactor"]`` and ``--ext redactor``
all end up in :func:`load_ipython_extension` (``redactor`` forwards to it).

* In a Jupyter kernel (ipykernel), the kernel's ``Session`` is hooked, so every message on the
  iopub, shell, stdin and control channels is redacted (see :mod:`._kernel`); the raw copy of
  C-level and subprocess output that ipykernel writes to the kernel process's own stdout/stderr
  (the server's terminal or log) goes through a redacting pipe; and the kernel's log handlers get
  a :class:`redactor.RedactingFilter`.
* In terminal IPython, ``sys.stdout`` and ``sys.stderr`` are wrapped, and fds 1 and 2 lead to a
  redacting pseudo-terminal while a cell runs (see :mod:`._terminal`).
* In both, IPython's own disk copies are redacted: the ``%logstart`` log file, the outputs the
  history database stores, and ``%notebook``/``%history -f``/``%save`` exports (see
  :mod:`._diskcopies`).
* Both get the ``%redactor`` line magic (see :mod:`.magics`).

:func:`unload_ipython_extension` (``%unload_ext redactor``) releases anything held back and
restores everything it changed.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

from redactor.engine.default import withhold_key_material
from redactor.sinks import stdio
from redactor.sinks.logging import RedactingFilter
from redactor.sinks.stdio import FD_HOLD_SECONDS, FdPump
from redactor.sources.channel import start_carrier
from redactor.sources.load import detect_in_process, register_discovered

from . import magics
from ._diskcopies import ExportHook, HistoryHook, LogHook
from ._kernel import SessionHook
from ._terminal import TerminalHook

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

_loaded: dict[int, _Extension] = {}


class _Extension:
    """Everything one load changed on one shell, so that unload can put it back."""

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.session_hook: Any = None
        self.terminal: Any = None
        self.pumps: list[Any] = []
        self.log_filters: list[tuple[logging.Handler, logging.Filter]] = []
        self.disk_hooks: list[Any] = []
        self.magic: Any = None
        self.channel: Any = None
        self.withholding = False

    def load(self) -> None:
        # The credentials this process can already read (REDACTOR_DISCOVER=0 turns it off).
        register_discovered()
        detect_in_process()  # the default detectors, as on the command line (REDACTOR_DETECT)
        kernel = getattr(self.ip, "kernel", None)
        session = getattr(kernel, "session", None)
        if session is not None and hasattr(session, "send") and hasattr(session, "serialize"):
            self.session_hook = SessionHook(session)
            self.session_hook.install()
            self._hook_echo_copies()
            self._filter_kernel_log(kernel)
        else:
            self.terminal = TerminalHook(self.ip)
            self.terminal.install()
        self._hook_disk_copies()
        self._register_magic()
        # The store's key material in the environment, and secrets that child processes fetch
        # (they register over the channel before `get` returns), reach this shell's redactor.
        # The key material also leaves os.environ: `!cmd` and subprocesses started from here
        # never inherit it, while this process's own store reads still find it.
        withhold_key_material()
        # ... and again before every cell: `%env REDACTOR_PASSPHRASE=...` in one cell must not
        # reach the `!cmd` of the next.
        events = getattr(self.ip, "events", None)
        if events is not None:
            events.register("pre_run_cell", self._withhold)
            self.withholding = True
        self.channel = start_carrier()

    @staticmethod
    def _withhold(*_: Any) -> None:
        withhold_key_material()

    def _hook_disk_copies(self) -> None:
        """``%logstart`` files and the history database's outputs, written by IPython itself."""
        for hook in (LogHook(self.ip), HistoryHook(self.ip), ExportHook(self.ip)):
            if hook.install():
                self.disk_hooks.append(hook)

    def _unhook_disk_copies(self) -> None:
        for hook in self.disk_hooks:
            hook.uninstall()
        self.disk_hooks.clear()

    def _hook_echo_copies(self) -> None:
        """ipykernel writes fd-level output (C code, subprocesses) raw to its own original fds too."""
        for stream in (sys.stdout, sys.stderr):
            fd = getattr(stream, "_original_stdstream_copy", None)
            if isinstance(fd, int) and fd >= 0:
                try:
                    self.pumps.append(FdPump(fd, None, FD_HOLD_SECONDS))
                except OSError:
                    pass  # no pipes here: the notebook side is still covered by the session

    def _filter_kernel_log(self, kernel: Any) -> None:
        flt = RedactingFilter()
        log = getattr(kernel, "log", None)
        loggers = [logging.getLogger()]
        while isinstance(log, logging.Logger):
            loggers.append(log)
            log = log.parent
        for lg in loggers:
            for handler in lg.handlers:
                if flt not in handler.filters:
                    handler.addFilter(flt)
                    self.log_filters.append((handler, flt))

    def _register_magic(self) -> None:
        def redactor_line_magic(line: str) -> None:
            magics.redactor_magic(line, self.hooks)

        redactor_line_magic.__doc__ = magics.__doc__
        self.ip.register_magic_function(redactor_line_magic, "line", "redactor")
        self.magic = redactor_line_magic

    def hooks(self) -> list[str]:
        """The hooks in place, for ``%redactor``."""
        out = []
        hook = self.session_hook
        if hook is not None and hook.active:
            out.append(
                "kernel session (send + serialize: iopub, shell, stdin, control; "
                f"{hook.messages} messages so far, {hook.prepacked} of them passed on one scan, "
                f"{hook.pending} stream(s) holding text back)"
            )
        if self.pumps:
            out.append("raw fd echo " + ", ".join(str(p.fd) for p in self.pumps))
        if self.log_filters:
            out.append(f"kernel log handlers ({len(self.log_filters)})")
        if self.terminal is not None and self.terminal.active:
            out.append(
                ", ".join(self.terminal.streams) or "sys.stdout/sys.stderr (already wrapped)"
            )
        if stdio.installed():
            out.append("redactor.install()")
        if self.channel is not None:
            out.append(f"child-process channel ({self.channel.registrations} registrations)")
        if self.disk_hooks:
            out.append(
                "%logstart log, history database outputs, %notebook/%history -f/%save exports"
            )
        return out

    def unload(self) -> None:
        if self.withholding:
            self.withholding = False
            with contextlib.suppress(ValueError):
                self.ip.events.unregister("pre_run_cell", self._withhold)
        if self.channel is not None:
            self.channel.close()  # children started later see no channel
            self.channel = None
        if self.magic is not None:
            line_magics = self.ip.magics_manager.magics.get("line", {})
            if line_magics.get("redactor") is self.magic:
                del line_magics["redactor"]
            self.magic = None
        if self.session_hook is not None:
            try:
                for stream in (sys.stdout, sys.stderr):
                    flush = getattr(stream, "flush", None)
                    if flush is not None:
                        flush()  # the kernel's buffered stream text goes out redacted first
            finally:
                self.session_hook.uninstall()
        for pump in self.pumps:
            pump.restore(1.0)
        self.pumps.clear()
        for handler, flt in self.log_filters:
            handler.removeFilter(flt)
        self.log_filters.clear()
        if self.terminal is not None:
            self.terminal.uninstall()
        self._unhook_disk_copies()


def load_ipython_extension(ip: Any) -> None:
    """Hook every output path of this shell (a Jupyter kernel or terminal IPython)."""
    if id(ip) in _loaded:
        return
    ext = _Extension(ip)
    ext.load()
    _loaded[id(ip)] = ext


def unload_ipython_extension(ip: Any) -> None:
    """Release what is held back and restore everything :func:`load_ipython_extension` changed."""
    ext = _loaded.pop(id(ip), None)
    if ext is not None:
        ext.unload()
