"""Matching secrets across terminal escape sequences (colours in tracebacks and logs).

A syntax highlighter or a coloured log formatter can put escape sequences inside a secret
(``ghp_Zk\\x1b[31m7Qm...``), so no registered form matches the text as written. Wherever the text
holds an ESC, the engine also matches a *view* of it with the escape sequences taken out, maps
those matches back to the original text, and takes the union with the matches on the text itself.
A region then runs from the first to the last character of the secret: the escapes inside it are
hidden with it, those before and after it stay (the colours around a secret are kept).

Which sequences (7-bit forms, as ECMA-48 defines them; lengths bounded so that a stream holds back
a bounded tail):

* CSI ``ESC [ parameters intermediates final``, which includes SGR colours ``ESC[...m``: at most
  :data:`CSI_PARAMS_MAX` parameter and :data:`CSI_INTERMEDIATES_MAX` intermediate characters;
* string controls ``ESC ]`` (OSC: titles, ``OSC 8`` hyperlinks), ``ESC P``, ``ESC X``, ``ESC ^``,
  ``ESC _``, ended by BEL or ST (``ESC \\``), with at most :data:`STRING_MAX` characters between
  and no line end (so an unterminated one never holds a stream back across lines);
* every other ``ESC intermediates final`` (two-character ``ESC 7``, ``ESC c``; ``ESC ( B`` as
  ``tput sgr0`` writes it).

An ESC that starts none of these is an ordinary character. C1 controls (``\\x9b``) are not
recognised: they are not valid on their own in UTF-8 and no common tool writes them.

Merging: two regions separated only by escape sequences are one region (they touch in the view),
so ``SECRET\\x1b[0mSECRET`` becomes one replacement. A run of consecutive escape sequences longer
than :data:`GAP_MAX` characters is a break instead: no match crosses it and no regions merge over
it, which bounds what a stream holds back whatever the input.

Streams (:mod:`redactor.engine.stream`) use :class:`Scan` with ``final=False``: an incomplete sequence
at the end of a chunk is not parsed yet (``incomplete``), and :meth:`Scan.hold_start` says where
the tail that could still grow into a match begins, in the view mapped back to the text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate, repeat
from operator import sub
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redactor.engine.matchers import Matcher, Span

__all__ = ["ESC", "ESC_BYTE", "GAP_MAX", "Scan", "across", "strip_sequences"]

ESC = "\x1b"
ESC_BYTE = b"\x1b"
CSI_PARAMS_MAX = 64  # SGR truecolour for foreground and background with attributes is ~40
CSI_INTERMEDIATES_MAX = 16
STRING_MAX = 512  # an OSC 8 hyperlink with a long URL; a longer string is not a sequence here
GAP_MAX = 1024  # characters of consecutive escape sequences that still join two pieces

_P, _I = CSI_PARAMS_MAX, CSI_INTERMEDIATES_MAX
# The three kinds are told apart by the character after ESC, so at most one alternative can match
# at a position, and each has a definite last character: a complete match never grows with more
# input, which is what lets a stream decide on what it has.
_SEQ = re.compile(
    rf"\x1b(?:\[[\x30-\x3f]{{0,{_P}}}[\x20-\x2f]{{0,{_I}}}[\x40-\x7e]"
    rf"|[\]PX^_][^\x07\x1b\r\n]{{0,{STRING_MAX}}}(?:\x07|\x1b\\)"
    rf"|[\x20-\x2f]{{0,{_I}}}[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e])"
)
# Every proper prefix of a sequence, up to the end of the text: a stream holds it back.
_PARTIAL = re.compile(
    rf"\x1b(?:\[[\x30-\x3f]{{0,{_P}}}[\x20-\x2f]{{0,{_I}}}"
    rf"|[\]PX^_][^\x07\x1b\r\n]{{0,{STRING_MAX}}}\x1b?"
    rf"|[\x20-\x2f]{{0,{_I}}})\Z"
)
_PARTIAL_MAX = 2 + STRING_MAX + 1
_BODY = _SEQ.pattern[len(r"\x1b") :]
# A run of sequences. Spelled to start with the literal ESC, which lets `re` skip ahead to the
# next ESC: 5x faster than "(?:SEQ)+" on coloured logs here.
_RUN = re.compile(rf"\x1b{_BODY}(?:\x1b{_BODY})*")


class Scan:
    """The escape sequences of one text (str, or the latin-1 view of bytes) and its view.

    ``runs`` are the maximal runs of consecutive sequences, as ``(start, stop)``, before
    ``incomplete`` (where an unfinished sequence at the end of a chunk starts, else the end).
    The view and the map back to the text are only built as far as they are needed: most
    coloured text holds no secret, and then one ``re.sub`` makes the view.
    """

    __slots__ = ("_ends", "_gaps", "_runs", "incomplete", "text")

    def __init__(self, text: str, final: bool = True) -> None:
        self.text = text
        n = len(text)
        runs = [m.span() for m in _RUN.finditer(text)]
        self.incomplete = n
        if not final:
            pos = text.find(ESC, max(runs[-1][1] if runs else 0, n - _PARTIAL_MAX))
            while pos >= 0:
                if _PARTIAL.match(text, pos):
                    self.incomplete = pos
                    break
                pos = text.find(ESC, pos + 1)
        self._runs = runs
        self._ends = [b for _, b in runs]
        # Where a run that may join two regions starts -> where it ends. The last run may be cut
        # short by the end of a chunk: until more arrives it counts as joining if short enough.
        self._gaps = {a: b for a, b in runs if b - a <= GAP_MAX}

    def ext(self, stop: int) -> int:
        """How far a region ending at ``stop`` reaches for merging: over a joining run, if any."""
        return self._gaps.get(stop, stop)

    def snap(self, cut: int) -> int:
        """``cut`` moved back to the start of the run of sequences it falls strictly inside, so
        that a stream never holds back from the middle of a sequence or of a run."""
        i = bisect_right(self._ends, cut)
        if i < len(self._runs) and self._runs[i][0] < cut:
            return self._runs[i][0]
        return cut

    def _segments(self) -> list[tuple[int, int]]:
        """Index ranges of runs that bound the view's segments (a long run is a break)."""
        if len(self._gaps) == len(self._runs):
            return [(0, len(self._runs))]
        out, lo = [], 0
        for k, (a, b) in enumerate(self._runs):
            if b - a > GAP_MAX:
                out.append((lo, k))
                lo = k + 1
        out.append((lo, len(self._runs)))
        return out

    def view_spans(
        self, get: Callable[[int], Matcher], with_ids: bool, hold: bool = False
    ) -> tuple[list[Span], int]:
        """Matches in the view, as regions of the text (escapes inside them included); with
        ``hold``, also where the view's held-back tail starts in the text (else the end)."""
        out: list[Span] = []
        text, runs, end = self.text, self._runs, self.incomplete
        hold_at = len(text)
        segments = self._segments()
        for k, (lo, hi) in enumerate(segments):
            # The segment: from the end of run lo-1 to the start of run hi (or the text's ends).
            start = runs[lo - 1][1] if lo > 0 else 0
            stop = runs[hi][0] if hi < len(runs) else end
            inner = runs[lo:hi]
            if len(segments) == 1 and end == len(text):
                view = _RUN.sub("", text)
            else:
                view = _RUN.sub("", text[start:stop])
            matcher = get(len(view))
            found = matcher.spans(view, with_ids)
            if found:
                vstarts, ostarts = _piece_starts(inner, start)
                for a, b, ids in found:
                    out.append(
                        (_to_text(a, vstarts, ostarts), _to_text(b - 1, vstarts, ostarts) + 1, ids)
                    )
            if hold and k == len(segments) - 1:
                h = matcher.hold_length(view)
                if h:
                    hold_at = _tail_to_text(len(view) - h, len(view), inner, stop)
        return out, hold_at

    def merge(self, spans: list[Span], with_ids: bool) -> list[Span]:
        """Regions that overlap, touch, or have only a joining run of sequences between them, as
        one (the engine's merge, with escape sequences taking no room)."""
        spans.sort(key=_start_stop)
        out: list[Span] = []
        start, stop, ids = spans[0]
        acc = set(ids) if with_ids and ids is not None else None
        gaps = self._gaps
        for s, e, i in spans[1:]:
            if s <= gaps.get(stop, stop):
                if e > stop:
                    stop = e
                if acc is not None and i is not None:
                    acc |= i
            else:
                out.append((start, stop, frozenset(acc) if acc is not None else None))
                start, stop = s, e
                acc = set(i) if with_ids and i is not None else None
        out.append((start, stop, frozenset(acc) if acc is not None else None))
        return out


def strip_sequences(text: str) -> str:
    """``text`` without its (complete) escape sequences: what a reader sees."""
    return _RUN.sub("", text)


def _start_stop(span: Span) -> tuple[int, int]:
    return span[0], span[1]


def _piece_starts(runs: list[tuple[int, int]], start: int) -> tuple[list[int], list[int]]:
    """Where each piece of text between ``runs`` starts, in the view and in the text (built
    with C-level iteration: a coloured log has a run every few dozen characters)."""
    if not runs:
        return [0], [start]
    firsts, ends = zip(*runs)
    removed = accumulate(map(sub, ends, firsts))
    vstarts = [0, *map(sub, map(sub, ends, repeat(start)), removed)]
    return vstarts, [start, *ends]


def _tail_to_text(v: int, n: int, runs: list[tuple[int, int]], stop: int) -> int:
    """View index ``v`` (of a view of length ``n`` ending at text index ``stop``) in the text,
    found from the end: a held tail is short, so only the last runs are looked at."""
    for a, b in reversed(runs):
        first = n - (stop - b)  # the view index of text index b
        if v >= first:
            return b + (v - first)
        n, stop = first, a
    return stop - (n - v)


def _to_text(v: int, vstarts: list[int], ostarts: list[int]) -> int:
    i = bisect_right(vstarts, v) - 1
    return ostarts[i] + (v - vstarts[i])


def across(
    text: str | bytes, spans: list[Span], get: Callable[[int], Matcher], with_ids: bool
) -> list[Span]:
    """``spans`` (the matches on ``text`` itself) joined with the matches across its escape
    sequences. ``get(size)`` gives the matcher for the text's kind, counting ``size`` as work."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    # The common case first, without locating a single sequence: coloured text with no secret
    # split by its colours (the view has no match) and at most one region that could need
    # joining to another across sequences. Twice as fast as the full scan on coloured logs.
    view = _RUN.sub("", text)
    if len(view) == len(text):  # an ESC that starts no sequence
        return spans
    if len(spans) < 2 and not get(len(view)).spans(view):
        return spans
    scan = Scan(text)
    found, _ = scan.view_spans(get, with_ids)
    found.extend(spans)
    return scan.merge(found, with_ids) if found else []
