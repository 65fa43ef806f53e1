"""Redact ``sys.stdout`` / ``sys.stderr`` (and optionally file descriptors 1 and 2) of a process.

``redactor.install()`` swaps both streams for :class:`RedactingTextIO`, a text stream that feeds
every write through a chunk-safe stream redactor: text flows through at once, except the shortest
tail that could still grow into a secret, which is held back until the next write decides it (or
until ``flush()``, or interpreter exit). Everything that libraries read off a console stream
(``encoding``, ``errors``, ``isatty()``, ``fileno()``, ``buffer``, ``line_buffering``, ...) is
answered by the stream underneath.

``install(fd=True)`` also catches what never passes through ``sys.stdout``: C extensions that
``printf``, ``os.write(1, ...)`` and child processes. File descriptors 1 and 2 are pointed at pipes
whose reader thread redacts the bytes and writes them to the original destination.

Logging: ``install(logging=True)`` (the default) wraps ``logging.Logger.callHandlers`` and
``logging.Handler.handle`` (see :class:`redactor.sinks.logging._RecordHook`), so every record that any
handler emits is redacted first, however and whenever the handler was attached.
``uninstall()`` puts both methods back.

At interpreter exit nothing is restored: redaction stays in force through the remaining
``atexit`` handlers and interpreter teardown (see :func:`_at_exit`).
"""

from __future__ import annotations

import atexit
import io
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from redactor.engine.default import get_redactor, redaction_started, redaction_stopped

if TYPE_CHECKING:
    from redactor.engine.redactor import Redactor
    from redactor.engine.stream import BytesStreamRedactor, StreamRedactor

__all__ = ["RedactingTextIO", "install", "installed", "uninstall"]

#: How long the fd pump keeps a possible secret prefix before writing it out when nothing follows.
FD_HOLD_SECONDS = 0.5


class _Feeder:
    """A stream redactor that follows the process-wide default when none is pinned.

    When the default redactor is replaced (``set_redactor``), whatever the old stream holds is
    released through the old redactor and a fresh stream starts on the new one.
    """

    __slots__ = ("_binary", "_owner", "_pinned", "_stream")

    def __init__(self, redactor: Redactor | None, binary: bool) -> None:
        self._pinned = redactor
        self._binary = binary
        self._owner: Redactor | None = None
        self._stream: StreamRedactor | BytesStreamRedactor | None = None

    def _current(self) -> tuple[Any, Any]:
        """(the stream to feed, what the previous stream still held)."""
        redactor = self._pinned or get_redactor()
        if redactor is self._owner and self._stream is not None:
            return self._stream, None
        rest = self._stream.flush() if self._stream is not None else None
        self._owner = redactor
        self._stream = redactor.bytes_stream() if self._binary else redactor.stream()
        return self._stream, rest

    def feed(self, chunk: Any) -> Any:
        stream, rest = self._current()
        out = stream.feed(chunk)
        return rest + out if rest else out

    def flush(self) -> Any:
        if self._stream is None:
            return b"" if self._binary else ""
        return self._stream.flush()

    @property
    def pending(self) -> int:
        return self._stream.pending if self._stream is not None else 0

    def take_raw(self) -> Any:
        """What is held back, unredacted, and forget it (the exit pump downstream redacts it)."""
        stream, self._stream = self._stream, None
        held = getattr(stream, "_held", None)
        return held if held else (b"" if self._binary else "")

    def pin(self, redactor: Redactor) -> None:
        """From now on use ``redactor``, carrying over what the current stream holds back.

        Used at exit: the wrappers stop consulting ``get_redactor()`` (whose module teardown may
        clear), and the exit pump switches to a private copy of the redactor so that no lock
        another thread held at the fork can block it. The held tail survives the switch.
        """
        stream = self._stream
        fresh = redactor.bytes_stream() if self._binary else redactor.stream()
        if stream is not None:
            fresh._held, fresh._covered = stream._held, stream._covered  # type: ignore[union-attr]
        self._pinned = self._owner = redactor
        self._stream = fresh


class _ReleaseOnClose:
    """close() releases what is held back, then marks only this wrapper closed: the stream
    underneath stays open. Put it before the io base class."""

    def close(self) -> None:
        if not self.closed:  # type: ignore[attr-defined]
            try:
                self.flush()  # type: ignore[attr-defined]
            finally:
                super().close()  # type: ignore[misc]

    def __del__(self) -> None:
        # IOBase.__del__ would call close(); at interpreter teardown the stream underneath may be
        # gone already, and a failing finaliser must not print anything.
        try:
            self.close()
        except Exception:  # noqa: S110
            pass


class RedactingTextIO(_ReleaseOnClose, io.TextIOBase):
    """A text stream that redacts everything written to it before passing it on to ``stream``.

    ``redactor=None`` means the process-wide default at the moment of each write, so a secret
    registered later is redacted from then on. ``write()`` returns the length of what it was
    given, as callers expect; ``flush()`` releases the held-back tail and flushes ``stream``.
    """

    def __init__(
        self, stream: Any, redactor: Redactor | None = None, *, isatty: bool | None = None
    ) -> None:
        super().__init__()
        self._stream = stream
        self._lock = threading.RLock()
        self._text = _Feeder(redactor, binary=False)
        self._bytes = _Feeder(redactor, binary=True)
        self._isatty = isatty
        self._buffer: _RedactingBuffer | None = None
        # Set at exit once an exit pump redacts this stream's descriptor downstream (see
        # _at_exit): from then on every write goes straight through (redacted, and flushed), since
        # during teardown this wrapper may never be flushed or finalised again; the pump still
        # catches a secret split across writes. Should the wrapper itself fail then (module
        # globals cleared), the text goes on to the pump unredacted rather than being lost.
        self._downstream_pump = False
        # How many secrets the exit pump's copy of the redactor holds (set at the hand-over).
        self._pump_knows = -1

    # -- what it wraps -------------------------------------------------------------------------

    @property
    def wrapped(self) -> Any:
        """The stream underneath."""
        return self._stream

    @property
    def pending(self) -> int:
        """Characters (plus bytes written through ``buffer``) held back right now."""
        return self._text.pending + self._bytes.pending

    # -- writing ------------------------------------------------------------------------------

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        with self._lock:
            if self._downstream_pump:
                self._write_through(s)
                return len(s)
            self._release_bytes()
            out = self._text.feed(s)
            if out:
                self._stream.write(out)
        return len(s)

    def _pump_has_all(self) -> bool:
        """True while the exit pump knows every secret this wrapper knows (none added since the
        hand-over). Redacting here as well would then only do harm: a write of the second half of a
        split secret, long enough to be matched by its fragment windows, would reach the pump as
        ``[REDACTED]`` and leave the first half, already written, with nothing to join."""
        redactor = self._text._pinned
        return redactor is not None and len(redactor) == self._pump_knows

    def _write_through(self, s: str) -> None:
        try:
            self._release_bytes()
            if self._pump_has_all():
                out = self._text.take_raw() + s
            else:
                out = self._text.feed(s) + self._text.flush()
        except Exception:
            out = self._text.take_raw() + s
        if out:
            self._stream.write(out)
        self._stream.flush()

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Release what is held back, then flush the stream underneath."""
        with self._lock:
            if self._downstream_pump:
                self._write_through("")
                return
            out = self._text.flush()
            if out:
                self._stream.write(out)
            self._release_bytes()
            flush = getattr(self._stream, "flush", None)
            if flush is not None:
                flush()

    def _release_bytes(self) -> None:
        """Bytes written through ``buffer`` go out before any later text (order is kept)."""
        if self._bytes.pending:
            out = self._bytes.flush()
            buf = self._stream.buffer
            buf.write(out)
            buf.flush()

    def _write_bytes(self, data: bytes) -> int:
        with self._lock:
            if self._downstream_pump:
                self._write_through("")
                try:
                    if self._pump_has_all():
                        chunk = self._bytes.take_raw() + bytes(data)
                    else:
                        chunk = self._bytes.feed(bytes(data)) + self._bytes.flush()
                except Exception:
                    chunk = self._bytes.take_raw() + bytes(data)
                self._stream.buffer.write(chunk)
                self._stream.buffer.flush()
                return len(data)
            out = self._text.flush()
            if out:
                self._stream.write(out)
            # Whatever text the stream underneath still buffers must precede these bytes.
            self._stream.flush()
            chunk = self._bytes.feed(bytes(data))
            if chunk:
                self._stream.buffer.write(chunk)
        return len(data)

    def _flush_bytes(self) -> None:
        with self._lock:
            self._release_bytes()
            self._stream.buffer.flush()

    # -- what libraries ask a console stream ---------------------------------------------------

    @property
    def buffer(self) -> _RedactingBuffer:
        """A binary view that redacts too (``AttributeError`` when the stream has no buffer)."""
        if self._buffer is None:
            if getattr(self._stream, "buffer", None) is None:
                raise AttributeError("the wrapped stream has no binary buffer")
            self._buffer = _RedactingBuffer(self)
        return self._buffer

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._stream, "errors", "strict")

    @property
    def newlines(self) -> Any:
        return getattr(self._stream, "newlines", None)

    @property
    def line_buffering(self) -> bool:
        return bool(getattr(self._stream, "line_buffering", False))

    @property
    def name(self) -> Any:
        return getattr(self._stream, "name", "<redacted stream>")

    @property
    def mode(self) -> str:
        return getattr(self._stream, "mode", "w")

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        if self._isatty is not None:
            return self._isatty
        isatty = getattr(self._stream, "isatty", None)
        return bool(isatty()) if isatty is not None else False

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        # reconfigure(), write_through, ... : whatever else the wrapped stream offers.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._stream, name)

    def __repr__(self) -> str:
        return f"<RedactingTextIO wrapping {self._stream!r}>"


class _RedactingBuffer(_ReleaseOnClose, io.BufferedIOBase):
    """``sys.stdout.buffer`` of a :class:`RedactingTextIO`: bytes are redacted on the bytes path."""

    def __init__(self, owner: RedactingTextIO) -> None:
        super().__init__()
        self._owner = owner

    def write(self, data: Any) -> int:
        return self._owner._write_bytes(bytes(data))

    def flush(self) -> None:
        self._owner._flush_bytes()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._owner.fileno()

    def isatty(self) -> bool:
        return self._owner.isatty()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._owner.wrapped.buffer, name)


class _FdPump:
    """Points ``fd`` at a pipe; a thread redacts what arrives and writes it where ``fd`` pointed.

    The reader blocks on the pipe and passes every chunk on as soon as it is read, except the
    tail that could be the start of a secret; that is written out when more data decides it, or
    after ``hold`` seconds of silence, or at end of file. The thread runs until every writer
    (this process, and children that inherited the descriptor) has closed the pipe, or until
    :meth:`stop` hands the pipe over to the exit pump (see :func:`_hand_over`).
    """

    def __init__(
        self, fd: int, redactor: Redactor | None, hold: float, *, thread: bool = True
    ) -> None:
        self.fd = fd
        self.saved = os.dup(fd)
        self.was_tty = os.isatty(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._read_end = read_end
        self._feeder = _Feeder(redactor, binary=True)
        self._hold = hold
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._restored = False
        self._stopping = False
        # POSIX: a second pipe wakes the reader out of select() so that it can stop without
        # closing the data pipe (whose writers are this process's fds 1 and 2).
        self._wake: tuple[int, int] | None = os.pipe() if os.name == "posix" else None
        self.thread = threading.Thread(target=self._run, name=f"redactor-fd{fd}", daemon=True)
        if thread:  # (without: made at exit, for the exit pump alone)
            self.thread.start()

    def _write(self, data: bytes) -> None:
        _write_all(self.saved, data)

    def _release(self) -> None:
        with self._lock:
            self._timer = None
            if self._stopping:
                return  # the exit pump owns the held tail now
            out = self._feeder.flush()
            if out:
                self._write(out)

    def _read(self) -> bytes | None:
        """The next chunk, ``b""`` at end of file, ``None`` when asked to stop."""
        while True:
            if self._wake is not None:
                import select

                try:
                    ready, _, _ = select.select([self._read_end, self._wake[0]], [], [])
                except InterruptedError:
                    continue
                except (OSError, ValueError):
                    return b""  # a descriptor closed under us: end of file, as os.read would say
                if self._wake[0] in ready:
                    return None
            try:
                return os.read(self._read_end, 65536)
            except InterruptedError:
                continue
            except OSError:
                return b""

    def _run(self) -> None:
        stopped = False
        try:
            while True:
                chunk = self._read()
                with self._lock:
                    if self._timer is not None:
                        self._timer.cancel()
                        self._timer = None
                    if chunk is None:
                        stopped = True
                        break
                    if not chunk:
                        out = self._feeder.flush()
                        if out:
                            self._write(out)
                        break
                    out = self._feeder.feed(chunk)
                    if out:
                        self._write(out)
                    if self._feeder.pending:
                        self._timer = threading.Timer(self._hold, self._release)
                        self._timer.daemon = True
                        self._timer.start()
        finally:
            if not stopped:
                self._close()

    def _close(self) -> None:
        for fd in (self._read_end, self.saved, *(self._wake or ())):
            try:
                os.close(fd)
            except OSError:
                pass

    def stop(self, timeout: float) -> bool:
        """Stop the reader thread, keeping the pipe, the held tail and the destination open."""
        if self._wake is None or self._restored:
            return False
        if self.thread.ident is None:
            return True  # never started
        with self._lock:
            self._stopping = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        os.write(self._wake[1], b"x")
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def restore(self, timeout: float) -> None:
        """Point ``fd`` back where it was; wait up to ``timeout`` for the pipe to drain."""
        if self._restored:
            return
        self._restored = True
        os.dup2(self.saved, self.fd)
        self.thread.join(timeout)
        # Still alive: a child process still holds the pipe. The daemon thread keeps forwarding
        # (redacted) until that child closes it, and closes its descriptors itself.


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of ``data``; False when the destination is gone (closed terminal, broken pipe)."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return False
        view = view[n:]
    return True


def _hand_over(pumps: list[_FdPump], redactor: Redactor | None) -> bool:
    """At exit, move the fd pumps into a forked process that outlives this interpreter.

    After the ``atexit`` phase CPython stops every daemon thread, yet the interpreter still
    writes: ``atexit`` handlers registered before :func:`install`, ``__del__`` methods and C code
    at teardown, and children that inherited fds 1 and 2. Restoring the descriptors would send all
    that out in clear; keeping the pipes without a reader would lose it (or block the writer once
    the pipe is full). So the reader threads stop (their held tails kept), and a forked child
    reads both pipes until every writer has closed them, i.e. until this process and its
    inheriting children have really ended. The child uses a private copy of the redactor (made
    here, before the fork) so that no lock held by another thread at the fork can block it.
    Returns False (nothing changed) where this is not possible; the caller then restores.

    Cost: a process that calls ``install()`` and prints one line ends 9 ms later than before as
    its caller sees it (54 vs 46 ms, waiting for end of file; best of 15 runs on a shared
    2-core machine): the copy, the fork, and the child's start.
    """
    if os.name != "posix" or not hasattr(os, "fork") or not pumps:
        return False
    import pickle

    try:
        source = redactor or get_redactor()
        copy = pickle.loads(pickle.dumps(source))  # noqa: S301 - our own object, in memory
        copy.matcher(True, 1)  # build in the parent: the child starts pumping at once
    except Exception:
        return False
    if not all(p.stop(5.0) for p in pumps):
        return False
    for pump in pumps:
        pump._feeder.pin(copy)
    import warnings

    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a process with threads: the child here runs no
            # code that another thread could have left locked (pumps stopped, private redactor).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except Exception:
        return False
    if pid == 0:  # pragma: no cover - runs in the forked child, measured by the exit tests
        code = 0
        try:
            _exit_pump(pumps)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    for pump in pumps:
        pump._close()  # the child owns the read ends and destinations now
        pump._restored = True
    return True


def _exit_pump(pumps: list[_FdPump]) -> None:
    """The forked child's loop: redact every pipe until all its writers are gone, then exit."""
    import select
    import signal

    # A Ctrl-C meant for the program must not cut off the output it is still writing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep = {fd for p in pumps for fd in (p._read_end, p.saved)}
    # Every other descriptor goes, above all fds 1 and 2 (the pipes' write ends): a copy kept
    # here would keep the pipe open forever.
    top = max(keep) + 1
    for fd in range(0, top):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    os.closerange(top, _max_fd())
    live = {p._read_end: p for p in pumps}
    hold = min(p._hold for p in pumps)
    broken: set[int] = set()

    def send(pump: _FdPump, data: bytes) -> None:
        if data and pump.saved not in broken and not _write_all(pump.saved, data):
            broken.add(pump.saved)  # keep reading (and dropping) so that writers never block

    while live:
        waiting = any(p._feeder.pending for p in live.values())
        try:
            ready, _, _ = select.select(list(live), [], [], hold if waiting else None)
        except InterruptedError:
            continue
        if not ready:
            for pump in live.values():
                send(pump, pump._feeder.flush())
            continue
        for fd in ready:
            pump = live[fd]
            try:
                chunk = os.read(fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                send(pump, pump._feeder.feed(chunk))
            else:
                send(pump, pump._feeder.flush())
                del live[fd]


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 16)
    except (ValueError, OSError):
        return 4096


class _State:
    def __init__(self) -> None:
        self.streams: dict[str, tuple[Any, RedactingTextIO]] = {}
        self.pumps: list[_FdPump] = []
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
        state = _State()
        pumps: list[_FdPump] = []
        try:
            if fd:
                for stream in (sys.stdout, sys.stderr):
                    if stream is not None:
                        try:
                            stream.flush()
                        except (OSError, ValueError):
                            pass
                _flush_c_stdio()
                for num in (1, 2):
                    try:
                        pumps.append(_FdPump(num, redactor, hold))
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
            _flush_c_stdio()
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
      writer has gone (see :func:`_hand_over`); with ``fd=True`` the running pumps move there,
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
            current.matcher(False, 1)
            current.matcher(True, 1)
            for _, wrapper in state.streams.values():
                for feeder in (wrapper._text, wrapper._bytes):
                    if feeder._pinned is None:
                        feeder.pin(current)
        except Exception:  # noqa: S110 - not pinned: the wrappers follow the default as before
            pass
        if os.getpid() != state.pid:
            # A forked copy of the installing process: its fds still lead where the parent's do
            # (the parent's pumps, when there are any).
            return
        pumps = [p for p in state.pumps if not p._restored]
        if not state.pumps and os.name == "posix":
            pumps = _exit_only_pumps(state)
        # Counted before the hand-over copies the redactor: a secret added in between makes the
        # wrappers redact too (safe), never pass raw what the pump does not know.
        try:
            known = len(state.redactor or get_redactor())
        except Exception:
            known = -1
        if pumps and _hand_over(pumps, state.redactor):
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


def _exit_only_pumps(state: _State) -> list[_FdPump]:
    """Pumps for fds 1 and 2 made at exit (``fd=False``), to be handed over without a thread."""
    pumps: list[_FdPump] = []
    for num in (1, 2):
        try:
            pumps.append(_FdPump(num, state.redactor, FD_HOLD_SECONDS, thread=False))
        except OSError:
            continue
    state.pumps = pumps
    return pumps


def _flush_c_stdio() -> None:
    """``fflush(NULL)``: C code's buffered stdout must reach the pipe before it is swapped."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.fflush(None)
    except Exception:  # noqa: S110 - no C library to flush (Windows without msvcrt lookup)
        pass


# -- logging -----------------------------------------------------------------------------------


def _install_logging(state: _State, redactor: Redactor | None) -> None:
    from redactor.sinks.logging import _RecordHook

    hook = _RecordHook(redactor)
    hook.install()
    state.logging = hook


def _uninstall_logging(state: _State) -> None:
    if state.logging is not None:
        state.logging.remove()
        state.logging = None
