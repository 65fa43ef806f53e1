"""The text wrapper: :class:`RedactingTextIO`, what ``install()`` puts in ``sys.stdout`` and
``sys.stderr``.

Every write goes through a chunk-safe :class:`redactor.engine.stream.Stream`: text flows through
at once, except the shortest tail that could still grow into a secret, which is held back until
the next write decides it (or until ``flush()``, or interpreter exit). Everything that libraries
read off a console stream (``encoding``, ``errors``, ``isatty()``, ``fileno()``, ``buffer``,
``line_buffering``, ...) is answered by the stream underneath.
"""

from __future__ import annotations

import io
import threading
from typing import Any

from redactor.engine.default import get_redactor
from redactor.engine.redactor import Redactor
from redactor.engine.stream import RedactorSource, Stream

__all__ = ["RedactingTextIO"]


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
        # Without a redactor the streams follow the process-wide default at each write.
        source: RedactorSource = redactor if redactor is not None else get_redactor
        self._text: Stream[str] = Stream(source)
        self._bytes: Stream[bytes] = Stream(source, binary=True)
        self._isatty = isatty
        self._buffer: _RedactingBuffer | None = None
        # Set at exit once an exit pump redacts this stream's descriptor downstream (see
        # redactor.sinks.stdio.state._at_exit): from then on every write goes straight through (redacted, and flushed), since
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
        stream = self._text
        if stream.following or stream.redactor is None:
            return False
        return len(stream.redactor) == self._pump_knows

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
    def newlines(self) -> Any:  # type: ignore[override]
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
