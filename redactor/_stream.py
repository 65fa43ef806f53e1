"""Chunk-safe streaming redaction for text and bytes.

Output arrives in arbitrary pieces (a kernel's flush timer, a pipe's reads). A secret split across
two pieces must still be caught, yet normal text must flow through at once. A stream redactor holds
back only the shortest tail that could still grow into a secret: the longest suffix that is a prefix
of some pattern, so at most the longest pattern minus one character.

One more piece of state keeps the output identical to one-shot :meth:`Redactor.redact`: when the
last region replaced reaches into the held tail (or ends exactly where it starts), a match that
arrives later and overlaps or touches it belongs to the same region and must not produce a second
replacement. ``_covered`` is the number of held characters already inside that open region, or -1
when no region is open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ._engine import Redactor

__all__ = ["BytesStreamRedactor", "StreamRedactor"]

T = TypeVar("T", str, bytes)


class _Stream(Generic[T]):
    _binary = False

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._held: T = b"" if self._binary else ""  # type: ignore[assignment]
        self._covered = -1
        rep = redactor.replacement
        self._replacement = rep.encode("utf-8") if self._binary else rep

    @property
    def pending(self) -> int:
        """How many characters (or bytes) are held back right now."""
        return len(self._held)

    def _process(self, buf: T, final: bool) -> T:
        matcher = self._redactor.matcher(self._binary, len(buf))
        spans = matcher.spans(buf)
        covered = self._covered
        if covered >= 0:
            # The region already replaced: merge it with any match that overlaps or touches it.
            end = covered
            while spans and spans[0][0] <= end:
                end = max(end, spans.pop(0)[1])
            spans.insert(0, (0, end, None))
        cut = len(buf) if final else len(buf) - matcher.hold_length(buf)
        replacement = self._replacement
        out: list[T] = []
        pos = 0
        self._covered = -1
        for i, (start, stop, _) in enumerate(spans):
            front = i == 0 and covered >= 0
            if start >= cut and not front:
                break
            out.append(buf[pos:start])
            if not front:
                out.append(replacement)
            pos = stop
            if stop >= cut and not final:
                self._covered = stop - cut
                break
        if pos < cut:
            out.append(buf[pos:cut])
        self._held = buf[cut:]
        return buf[:0].join(out)


class StreamRedactor(_Stream[str]):
    """``feed(chunk)`` returns the text that is safe to emit now; ``flush()`` returns the rest."""

    def feed(self, chunk: str) -> str:
        if not chunk:
            return ""
        return self._process(self._held + chunk if self._held else chunk, final=False)

    def flush(self) -> str:
        """Everything still held back, redacted. The stream can be fed again afterwards."""
        if not self._held and self._covered < 0:
            return ""
        out = self._process(self._held, final=True)
        self._held, self._covered = "", -1
        return out


class BytesStreamRedactor(_Stream[bytes]):
    """The binary variant: UTF-8 forms are matched, any other byte passes through untouched."""

    _binary = True

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        return self._process(self._held + chunk if self._held else bytes(chunk), False)

    def flush(self) -> bytes:
        if not self._held and self._covered < 0:
            return b""
        out = self._process(self._held, final=True)
        self._held, self._covered = b"", -1
        return out
