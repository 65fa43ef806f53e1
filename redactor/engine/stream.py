"""THE stream: chunk-safe redaction of text or bytes, for every sink that sees output in pieces.

Output arrives in arbitrary pieces (a kernel's flush timer, a pipe's reads). A secret split across
two pieces must still be caught, yet normal text must flow through at once. A stream holds back
only the shortest tail that could still grow into a secret: the longest suffix that is a prefix
of some pattern, so at most the longest pattern minus one character.

One more piece of state keeps the output identical to one-shot :meth:`Redactor.redact`: when the
last region replaced reaches into the held tail (or ends exactly where it starts), a match that
arrives later and overlaps or touches it belongs to the same region and must not produce a second
replacement. ``_covered`` is the number of held characters already inside that open region, or -1
when no region is open.

Token detectors (:mod:`redactor.engine.detect`): a partial anchor at the end is held like any
partial pattern. A whole anchor whose detector's window (``max_length + lookahead`` characters
from its start) reaches past what has arrived is *open*: the stream holds from the anchor until
the window is complete, so at most the largest such window of the enabled detectors minus one
character (:attr:`Redactor.max_hold`; a PEM block's is its own documented bound). Look-behind
assertions need the characters before an anchor, which may have been emitted already: the stream
keeps the last ``lookbehind`` characters it emitted (raw) as context for them. Detected values
are learned (registered as secrets) at ``flush``, the end of the stream's text, so that learning
never changes the output of the text that detected them, however it was chunked.

Text with escape sequences (colours) is also matched across them (:mod:`redactor.engine.ansi`):
then an unfinished sequence at the end and the view's own tail are held back too, and a region
followed only by escape sequences stays open, with those sequences held, since a match that
follows them joins the region and hides them.

Options, all on the one :class:`Stream` type:

* ``binary``: bytes in, bytes out (UTF-8 forms matched, any other byte untouched), else str;
* ``counts`` (a Counter): each region is counted once by secret name when it is closed, as
  :meth:`Redactor.redact_with_counts` counts the whole text;
* a redactor *source* instead of a redactor: a callable (``get_redactor``) asked at every
  ``feed``; when it returns another redactor (``set_redactor``), what the stream holds is
  released through the old one and the stream goes on with the new one. This is how every hook
  follows the process-wide redactor without each keeping its own switch.

:class:`StreamRedactor` and :class:`BytesStreamRedactor` (``Redactor.stream()``,
``Redactor.bytes_stream()``) are this type with ``binary`` fixed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union

from redactor.engine.ansi import ESC, ESC_BYTE, Scan

if TYPE_CHECKING:
    from redactor.engine.redactor import Redactor

__all__ = ["BytesStreamRedactor", "RedactorSource", "Stream", "StreamRedactor"]

T = TypeVar("T", str, bytes)

#: A redactor, or a callable that returns the redactor to use now (``get_redactor``).
RedactorSource = Union["Redactor", Callable[[], "Redactor"]]


class Stream(Generic[T]):
    """``feed(chunk)`` returns what is safe to emit now; ``flush()`` returns the rest, redacted.

    ``source`` is a :class:`Redactor`, or a callable returning one (asked at every ``feed``: the
    stream follows it when it changes). ``binary`` picks bytes or str; ``counts``, if given, is
    updated with each closed region's secret names. The stream can be fed again after ``flush``.
    """

    __slots__ = (
        "_before",
        "_binary",
        "_covered",
        "_follow",
        "_held",
        "_learned",
        "_open_ids",
        "_redactor",
        "_replacement",
        "counts",
    )

    def __init__(
        self,
        source: RedactorSource,
        *,
        binary: bool = False,
        counts: Counter[str] | None = None,
    ) -> None:
        self._binary = binary
        self._follow: Callable[[], Redactor] | None = None
        self._redactor: Redactor | None = None
        self._replacement: Any = None
        if callable(source):
            self._follow = source
        else:
            self._use(source)
        self._held: T = self._empty()
        self._before = ""  # the raw text emitted last (a latin-1 view for bytes): look-behind
        # (kind, value) detected, learned at flush; a dict: each once, in order, however often
        # a long-lived stream sees it before its next flush
        self._learned: dict[tuple[str, str], None] = {}
        self._covered = -1
        self._open_ids: frozenset[int] | None = None  # secret ids of the open region (counting)
        self.counts = counts

    def _empty(self) -> T:
        return b"" if self._binary else ""  # type: ignore[return-value]

    def _use(self, redactor: Redactor) -> None:
        self._redactor = redactor
        if redactor.labelled:
            self._replacement = None  # per region: redactor.replacement_for(ids)
        else:
            rep = redactor.replacement_for(None)
            self._replacement = rep.encode("utf-8") if self._binary else rep

    def _label(self, ids: frozenset[int] | None) -> Any:
        rep = self._redactor.replacement_for(ids)  # type: ignore[union-attr]
        return rep.encode("utf-8") if self._binary else rep

    @property
    def binary(self) -> bool:
        return self._binary

    @property
    def following(self) -> bool:
        """Whether the stream follows a source (asked at every feed) rather than one redactor."""
        return self._follow is not None

    @property
    def redactor(self) -> Redactor | None:
        """The redactor in use (``None`` for a following stream never fed yet)."""
        return self._redactor

    @property
    def pending(self) -> int:
        """How many characters (or bytes) are held back right now."""
        return len(self._held)

    def feed(self, chunk: T) -> T:
        """The part of everything fed so far that is safe to emit now, redacted."""
        if not chunk:
            return self._empty()
        if self._binary and not isinstance(chunk, bytes):
            chunk = bytes(chunk)  # type: ignore[arg-type, assignment]
        rest = None
        if self._follow is not None:
            current = self._follow()
            if current is not self._redactor:
                # The source now gives another redactor: release through the old one, go on
                # with the new one.
                rest = self.flush() if self._redactor is not None else None
                self._use(current)
        out = self._process(self._held + chunk if self._held else chunk, final=False)
        return rest + out if rest else out

    def flush(self) -> T:
        """Everything still held back, redacted."""
        if not self._held and self._covered < 0:
            out = self._empty()
        else:
            out = self._process(self._held, final=True)
        self._held, self._covered, self._before = self._empty(), -1, ""
        if self._learned:
            learned, self._learned = list(self._learned), {}
            self._redactor._learn(learned, self._binary)  # type: ignore[union-attr]
        return out

    def take_raw(self) -> T:
        """What is held back, unredacted, and forget it: for a hand-over to a process downstream
        that redacts it together with what follows (the exit pump of :mod:`redactor.sinks.stdio`)."""
        held = self._held
        if self._covered >= 0 and self._redactor is not None and self._redactor.labelled:
            # A labelled region still open has not been written yet: hand its label over first
            # (its covered characters follow, raw, and are redacted downstream).
            held = self._label(self._open_ids) + held
        self._held, self._covered, self._before = self._empty(), -1, ""
        return held

    def pin(self, redactor: Redactor) -> None:
        """From now on use ``redactor`` (stop following a source), keeping the held tail and the
        open region: for a copy of the same redactor (one whose secret ids are the same), made so
        that no lock another thread held at a fork can block this stream."""
        self._follow = None
        self._use(redactor)

    def _process(self, buf: T, final: bool) -> T:
        redactor = self._redactor
        assert redactor is not None
        snap = redactor._current()
        binary = self._binary
        matcher = snap.matcher(binary, len(buf))
        counting = self.counts is not None
        labelled = redactor.labelled
        with_ids = counting or labelled
        open_at = len(buf)
        view: Any = buf
        if matcher.anchor_count:
            spans, hits = matcher.scan(buf, with_ids)
            if hits:
                view = buf.decode("latin-1") if binary else buf  # type: ignore[attr-defined]
                detections, open_at = redactor._detect(view, hits, final, self._before)
                if detections:
                    values: list[tuple[str, str]] = []
                    spans = redactor._with_detections(
                        spans, view, detections, binary, with_ids, values
                    )
                    self._learned.update(dict.fromkeys(values))
        else:
            spans = matcher.spans(buf, with_ids)
        ext = None
        esc: Any = ESC_BYTE if binary else ESC
        if not matcher.pattern_count or esc not in buf:
            cut = len(buf) if final else min(len(buf) - matcher.hold_length(buf), open_at)
        else:
            # Colours: match across escape sequences too; hold back an unfinished sequence and
            # the view's own tail, and never cut inside a sequence (see redactor.engine.ansi).
            scan = Scan(buf.decode("latin-1") if binary else buf, final)  # type: ignore[attr-defined,arg-type]
            found, hold_at = scan.view_spans(
                lambda size: snap.matcher(binary, size), with_ids, hold=not final
            )
            found.extend(spans)
            spans = scan.merge(found, with_ids) if found else []
            ext = scan.ext
            if final:
                cut = len(buf)
            else:
                cut = min(len(buf) - matcher.hold_length(buf), scan.incomplete, hold_at, open_at)
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
            if not front and not labelled:
                out.append(replacement)
            pos = stop
            if not final and (ext(stop) if ext else stop) >= cut:
                # Still open: a match that arrives later may overlap or touch it (or be joined to
                # it by the escape sequences in between, which are then held back too). A
                # labelled replacement waits for the region to close: a later match may join a
                # secret registered earlier, whose label the region then takes.
                cut = min(cut, stop)
                self._covered = stop - cut
                self._open_ids = ids
                break
            if labelled:
                out.append(self._label(ids))
            if counting and ids:
                self.counts.update(redactor.count_names([(start, stop, ids)]))  # type: ignore[union-attr]
        if pos < cut:
            out.append(buf[pos:cut])
        self._held = buf[cut:]
        lookbehind = redactor._lookbehind
        if lookbehind and not final:
            # The raw text just emitted, as context for the look-behind of anchors held.
            emitted: Any = buf[max(0, cut - lookbehind) : cut]
            if binary:
                emitted = emitted.decode("latin-1")
            if cut >= lookbehind:
                self._before = emitted
            else:
                self._before = (self._before + emitted)[-lookbehind:]
        return buf[:0].join(out)


class StreamRedactor(Stream[str]):
    """A text :class:`Stream` on one redactor (``Redactor.stream()``)."""

    __slots__ = ()

    def __init__(self, redactor: RedactorSource, counts: Counter[str] | None = None) -> None:
        super().__init__(redactor, counts=counts)


class BytesStreamRedactor(Stream[bytes]):
    """The binary variant: UTF-8 forms are matched, any other byte passes through untouched."""

    __slots__ = ()

    def __init__(self, redactor: RedactorSource, counts: Counter[str] | None = None) -> None:
        super().__init__(redactor, binary=True, counts=counts)
