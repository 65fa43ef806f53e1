"""The install state: :func:`install` / :func:`uninstall` of the stdout/stderr wrappers, the fd
pumps and the logging hook, and what happens to them at interpreter exit.

``redactor.install()`` swaps both streams for :class:`RedactingTextIO`; ``install(fd=True)``
also routes file descriptors 1 and 2 through :class:`FdPump`.

Logging: ``install(logging=True)`` (the default) wraps ``logging.Logger.callHandlers`` and
``logging.Handler.handle`` (see :mod:`redactor.sinks.logging`), so every record that any handler
emits is redacted first, however and whenever the handler was attached. ``uninstall()`` puts
both methods back.

At interpreter exit nothing is restored: redaction stays in force through the remaining
``atexit`` handlers and interpreter teardown (see :func:`_at_exit`).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any

from redactor.engine.default import get_redactor, redaction_started, redaction_stopped
from redactor.engine.redactor import Redactor
from redactor.sinks.logging import _RecordHook
from redactor.sinks.stdio.fdpump import FD_HOLD_SECONDS, FdPump, flush_c_stdio, hand_over
from redactor.sinks.stdio.textio import RedactingTextIO
from redactor.sources.load import detect_in_process, register_discovered

__all__ = ["fds_routed", "install", "installed", "uninstall"]


class _State:
    def __init__(self) -> None:
        self.streams: dict[str, tuple[Any, RedactingTextIO]] = {}
        self.pumps: list[FdPump] = []
        self.redactor: Redactor | None = None
        self.pid = os.getpid()
        # sys.__stdout__/__stderr__ as they were before the exit phase pointed them at the wrappers
        self.dunders: dict[str, Any] = {}
        self.logging: Any = None


_state: _State | None = None
_install_lock = threading.RLock()
_atexit_registered = False


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return _state is not None


def fds_routed() -> bool:
    """Whether :func:`install` routes fds 1 and 2 through its pumps (``fd=True``) right now."""
    state = _state
    return state is not None and bool(state.pumps)


def install(
    fd: bool = False,
    logging: bool = True,
    redactor: Redactor | None = None,
    *,
    hold: float = FD_HOLD_SECONDS,
) -> None:
    """Redact everything this process writes to stdout and stderr (and its logging handlers).

    ``fd=True`` also routes file descriptors 1 and 2 through pipes and a redacting thread, which
    catches C-level writes and child processes (POSIX and Windows). ``redactor=None`` follows the
    process-wide default. Calling it again while installed does nothing; :func:`uninstall` undoes
    it, and it is undone at interpreter exit after everything held back has been written.
    """
    global _state, _atexit_registered
    redaction_started(redactor)  # key material; the channel children register secrets through
    with _install_lock:
        if _state is not None:
            return
        if redactor is None:  # the process-wide redactor: add what discovery finds
            register_discovered()  # (REDACTOR_DISCOVER=0 turns it off)
            detect_in_process()  # the default detectors (REDACTOR_DETECT=0 turns them off)
        state = _State()
        pumps: list[FdPump] = []
        try:
            if fd:
                for stream in (sys.stdout, sys.stderr):
                    if stream is not None:
                        try:
                            stream.flush()
                        except (OSError, ValueError):
                            pass
                flush_c_stdio()
                for num in (1, 2):
                    try:
                        pumps.append(FdPump(num, redactor, hold))
                    except OSError:
                        continue  # this descriptor is not open (a daemon): nothing to route
            ttys = {p.fd: p.was_tty for p in pumps}
            for name, num in (("stdout", 1), ("stderr", 2)):
                current = getattr(sys, name)
                if current is None or isinstance(current, RedactingTextIO):
                    continue
                wrapper = RedactingTextIO(current, redactor, isatty=ttys.get(num))
                state.streams[name] = (current, wrapper)
                setattr(sys, name, wrapper)
        except BaseException:
            for pump in pumps:
                pump.restore(1.0)
            for name, (original, _) in state.streams.items():
                setattr(sys, name, original)
            raise
        state.pumps = pumps
        state.redactor = redactor
        if logging:
            _install_logging(state, redactor)
        _state = state
        if not _atexit_registered:
            atexit.register(_at_exit)
            _atexit_registered = True


def uninstall(timeout: float = 2.0) -> None:
    """Release everything held back and restore streams, descriptors and logging handlers."""
    global _state
    with _install_lock:
        state = _state
        if state is None:
            return
        _state = None
        redaction_stopped()
        for name, (original, wrapper) in state.streams.items():
            try:
                wrapper.flush()
            except (OSError, ValueError):
                pass
            if getattr(sys, name) is wrapper:
                setattr(sys, name, original)
            dunder = f"__{name}__"
            if dunder in state.dunders and getattr(sys, dunder) is wrapper:
                setattr(sys, dunder, state.dunders[dunder])
        if state.pumps:
            for stream in (sys.stdout, sys.stderr):
                try:
                    if stream is not None:
                        stream.flush()
                except (OSError, ValueError):
                    pass
            flush_c_stdio()
            for pump in state.pumps:
                pump.restore(timeout)
        _uninstall_logging(state)


def _at_exit() -> None:
    """Keep redacting until the process really ends, instead of uninstalling.

    ``atexit`` runs its handlers last-registered first, so the ones registered before
    :func:`install` (and ``logging.shutdown``) run after this one, and ``__del__`` methods and C
    code run later still, during interpreter teardown. Nothing is restored here:

    * the stream wrappers stay in ``sys.stdout``/``sys.stderr``, and ``sys.__stdout__``/
      ``sys.__stderr__`` point at them too, because teardown resets ``sys.stdout`` to
      ``sys.__stdout__`` before it clears modules. CPython flushes ``sys.stdout`` right after the
      ``atexit`` phase, which releases the held-back tail, and a wrapper releases its tail when
      it is finalised. The wrappers are pinned to the redactor of this moment: during teardown
      ``get_redactor()`` may find its module cleared and would make a new, empty one;
    * the logging hooks stay in place;
    * POSIX: fds 1 and 2 are handed to an exit pump, a forked process that redacts until every
      writer has gone (see :func:`redactor.sinks.stdio.fdpump.hand_over`); with ``fd=True`` the running pumps move there,
      without it pumps are made now. The wrappers then write straight through (see
      ``RedactingTextIO._downstream_pump``): a wrapper alive at the very end of teardown is
      never flushed or finalised, so it must hold nothing back, and the pump joins pieces.
      On Windows (no fork) the descriptors are drained and restored, as before.
    """
    with _install_lock:
        state = _state
        if state is None:
            return
        for name, (_, wrapper) in state.streams.items():
            dunder = f"__{name}__"
            if getattr(sys, name) is wrapper and dunder not in state.dunders:
                state.dunders[dunder] = getattr(sys, dunder)
                setattr(sys, dunder, wrapper)
        try:
            current = state.redactor or get_redactor()
            current.prepare(text=True, binary=True)
            for _, wrapper in state.streams.values():
                for stream in (wrapper._text, wrapper._bytes):
                    if stream.following:
                        stream.pin(current)
        except Exception:  # noqa: S110 - not pinned: the wrappers follow the default as before
            pass
        if os.getpid() != state.pid:
            # A forked copy of the installing process: its fds still lead where the parent's do
            # (the parent's pumps, when there are any).
            return
        pumps = [p for p in state.pumps if not p.restored]
        if not state.pumps and os.name == "posix":
            pumps = _exit_only_pumps(state)
        # Counted before the hand-over copies the redactor: a secret added in between makes the
        # wrappers redact too (safe), never pass raw what the pump does not know.
        try:
            known = len(state.redactor or get_redactor())
        except Exception:
            known = -1
        if pumps and hand_over(pumps, state.redactor):
            handed = {p.fd for p in pumps}
            for _, wrapper in state.streams.values():
                try:
                    if wrapper.fileno() in handed:
                        wrapper.flush()  # the held tail joins what follows, in the pump
                        wrapper._downstream_pump = True
                        wrapper._pump_knows = known
                except (OSError, ValueError, AttributeError):
                    pass
            return
        if os.name == "posix":
            return  # fd=True: the reader threads keep running until teardown; never in clear
    # No fork here: drain and restore, as before (output during teardown is not redacted).
    uninstall()


def _exit_only_pumps(state: _State) -> list[FdPump]:
    """Pumps for fds 1 and 2 made at exit (``fd=False``), to be handed over without a thread."""
    pumps: list[FdPump] = []
    for num in (1, 2):
        try:
            pumps.append(FdPump(num, state.redactor, FD_HOLD_SECONDS, thread=False))
        except OSError:
            continue
    state.pumps = pumps
    return pumps


# -- logging -----------------------------------------------------------------------------------


def _install_logging(state: _State, redactor: Redactor | None) -> None:
    hook = _RecordHook(redactor)
    hook.install()
    state.logging = hook


def _uninstall_logging(state: _State) -> None:
    if state.logging is not None:
        state.logging.remove()
        state.logging = None
