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

Logging: ``install(logging=True)`` (the default) adds one :class:`redactor.logging.RedactingFilter`
to every handler already attached to the root logger or to any logger created so far (and to
``logging.lastResort``), and wraps ``logging.Logger.addHandler`` so that every handler attached
later (``basicConfig``, ``dictConfig``, ``logger.addHandler``) gets it too. A handler that is never
attached to a logger (for instance one used only by a ``QueueListener``) is not touched: attach the
filter to it yourself, or to the ``QueueHandler`` that feeds it. ``uninstall()`` removes every
filter it added and restores ``addHandler``.
"""

from __future__ import annotations

import atexit
import io
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from ._default import get_redactor, redaction_started, redaction_stopped

if TYPE_CHECKING:
    from ._engine import Redactor
    from ._stream import BytesStreamRedactor, StreamRedactor

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
            self._release_bytes()
            out = self._text.feed(s)
            if out:
                self._stream.write(out)
        return len(s)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Release what is held back, then flush the stream underneath."""
        with self._lock:
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
    (this process, and children that inherited the descriptor) has closed the pipe.
    """

    def __init__(self, fd: int, redactor: Redactor | None, hold: float) -> None:
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
        self.thread = threading.Thread(target=self._run, name=f"redactor-fd{fd}", daemon=True)
        self.thread.start()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.saved, view)
            except InterruptedError:
                continue
            except OSError:
                return  # the destination is gone (closed terminal, broken pipe): nothing to do
            view = view[n:]

    def _release(self) -> None:
        with self._lock:
            self._timer = None
            out = self._feeder.flush()
            if out:
                self._write(out)

    def _run(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self._read_end, 65536)
                except InterruptedError:
                    continue
                except OSError:
                    chunk = b""
                with self._lock:
                    if self._timer is not None:
                        self._timer.cancel()
                        self._timer = None
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
            os.close(self._read_end)
            os.close(self.saved)

    def restore(self, timeout: float) -> None:
        """Point ``fd`` back where it was; wait up to ``timeout`` for the pipe to drain."""
        if self._restored:
            return
        self._restored = True
        os.dup2(self.saved, self.fd)
        self.thread.join(timeout)
        # Still alive: a child process still holds the pipe. The daemon thread keeps forwarding
        # (redacted) until that child closes it, and closes its descriptors itself.


class _State:
    def __init__(self) -> None:
        self.streams: dict[str, tuple[Any, RedactingTextIO]] = {}
        self.pumps: list[_FdPump] = []
        self.filtered: list[tuple[Any, Any]] = []  # (weakref to handler, filter)
        self.filter: Any = None
        self.add_handler: Any = None


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
    uninstall()


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
    import logging as std_logging
    import weakref

    from .logging import RedactingFilter

    flt = RedactingFilter(redactor)
    state.filter = flt

    def attach(handler: Any) -> None:
        if flt not in handler.filters:
            handler.addFilter(flt)
            state.filtered.append((weakref.ref(handler), flt))

    loggers: list[Any] = [std_logging.getLogger()]
    loggers += [
        lg
        for lg in list(std_logging.Logger.manager.loggerDict.values())
        if isinstance(lg, std_logging.Logger)
    ]
    for lg in loggers:
        for handler in list(lg.handlers):
            attach(handler)
    if std_logging.lastResort is not None:
        attach(std_logging.lastResort)

    original = std_logging.Logger.addHandler

    def addHandler(self: Any, hdlr: Any) -> None:
        original(self, hdlr)
        if _state is state:
            attach(hdlr)

    addHandler.__wrapped__ = original  # type: ignore[attr-defined]
    state.add_handler = original
    std_logging.Logger.addHandler = addHandler  # type: ignore[method-assign]


def _uninstall_logging(state: _State) -> None:
    if state.add_handler is None:
        return
    import logging as std_logging

    std_logging.Logger.addHandler = state.add_handler  # type: ignore[method-assign]
    for ref, flt in state.filtered:
        handler = ref()
        if handler is not None:
            handler.removeFilter(flt)
    state.filtered.clear()
