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

Text with escape sequences (colours) is also matched across them (:mod:`redactor.engine.ansi`): then an
unfinished sequence at the end and the view's own tail are held back too, and a region followed
only by escape sequences stays open, with those sequences held, since a match that follows them
joins the region and hides them.

With ``counts`` (a Counter), each region is counted once by secret name when it is closed, as
:meth:`Redactor.redact_with_counts` counts the whole text.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Generic, TypeVar

from redactor.engine.ansi import ESC, ESC_BYTE, Scan

if TYPE_CHECKING:
    from redactor.engine.redactor import Redactor

__all__ = ["BytesStreamRedactor", "StreamRedactor"]

T = TypeVar("T", str, bytes)


class _Stream(Generic[T]):
    _binary = False

    def __init__(self, redactor: Redactor, counts: Counter[str] | None = None) -> None:
        self._redactor = redactor
        self._held: T = b"" if self._binary else ""  # type: ignore[assignment]
        self._covered = -1
        self._open_ids: frozenset[int] | None = None  # secret ids of the open region (counting)
        self.counts = counts
        rep = redactor.replacement
        self._replacement = rep.encode("utf-8") if self._binary else rep

    @property
    def pending(self) -> int:
        """How many characters (or bytes) are held back right now."""
        return len(self._held)

    def _process(self, buf: T, final: bool) -> T:
        redactor = self._redactor
        snap = redactor._current()
        binary = self._binary
        matcher = snap.matcher(binary, len(buf))
        with_ids = self.counts is not None
        spans = matcher.spans(buf, with_ids)
        ext = None
        if not matcher.pattern_count or (ESC_BYTE if binary else ESC) not in buf:
            cut = len(buf) if final else len(buf) - matcher.hold_length(buf)
        else:
            # Colours: match across escape sequences too; hold back an unfinished sequence and
            # the view's own tail, and never cut inside a sequence (see redactor.engine.ansi).
            scan = Scan(buf.decode("latin-1") if binary else buf, final)  # type: ignore[arg-type]
            found, hold_at = scan.view_spans(
                lambda size: snap.matcher(binary, size), with_ids, hold=not final
            )
            found.extend(spans)
            spans = scan.merge(found, with_ids) if found else []
            ext = scan.ext
            if final:
                cut = len(buf)
            else:
                cut = min(len(buf) - matcher.hold_length(buf), scan.incomplete, hold_at)
                cut = scan.snap(cut)
        covered = self._covered
        if covered >= 0:
            # The region already replaced: merge it with any match that overlaps or touches it.
            end = covered
            ids = self._open_ids
            while spans and spans[0][0] <= (ext(end) if ext else end):
                _, stop, more = spans.pop(0)
                end = max(end, stop)
                if ids is not None and more is not None:
                    ids = ids | more
            spans.insert(0, (0, end, ids))
        replacement = self._replacement
        out: list[T] = []
        pos = 0
        self._covered = -1
        for i, (start, stop, ids) in enumerate(spans):
            front = i == 0 and covered >= 0
            if start >= cut and not front:
                break
            out.append(buf[pos:start])
            if not front:
                out.append(replacement)
            pos = stop
            if not final and (ext(stop) if ext else stop) >= cut:
                # Still open: a match that arrives later may overlap or touch it (or be joined to
                # it by the escape sequences in between, which are then held back too).
                cut = min(cut, stop)
                self._covered = stop - cut
                self._open_ids = ids
                break
            if with_ids and ids:
                self.counts.update(redactor.count_names([(start, stop, ids)]))
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
