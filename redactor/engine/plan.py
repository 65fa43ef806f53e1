"""What a matcher compiles, and how the engine's raw hits become matches.

A redactor's patterns are its secrets' whole forms, every ``F``-character window of their text
forms (the fragments: a truncated copy is still hidden, see ``DEFAULT_FRAGMENT_LENGTH``) and the
token detectors' anchors. Handed to an engine one by one they were 270,474 literals at 10,000
secrets (27 a secret, 17 of them windows), and the engines' costs grow with that count: the
reference trie had 4.9 million nodes (235 MB), Hyperscan's compile took 18 s of CPU and 2.8 KB
a pattern (830 MB), and both scanned slower for it.

A :class:`Plan` gives the engine fewer, shorter literals that find exactly the same matches:

* A form of at least ``form_anchor`` characters is looked for by its first ``form_anchor``
  characters and checked whole where they are found (``startswith``). The forms of a secret that
  share a prefix share that literal: the three base64 spellings at one offset are one. Forms
  that share a stretch elsewhere are anchored there (:func:`_shifted_anchors`): the ``\n`` and
  ``\r\n`` spellings of a wrapped base64's column, a hex in upper and lower case.
* The windows of a *fragment* (a text form that is ASCII, has no whitespace and is longer than
  ``F``) are looked for by its ``q``-character substrings at the offsets ``0, s, 2s, ...`` with
  ``q + s - 1 = F`` (9 and 8 for the default 16), so every window holds one of them whole. A hit
  is extended both ways along the form at its alignment; the windows that match at one alignment
  are consecutive, so their union is the one interval the extension finds, kept when it is at
  least ``F`` long. Every matching window holds an anchor, so every window match is found. A
  fragment whose windows or anchors repeat (a periodic value) registers its distinct windows
  as forms instead, which keeps a copy of it from being extended at every position.
* Shorter forms and the detectors' anchors are literals as before.

The matches are therefore those of the full list of patterns (:meth:`Plan.patterns`), every
overlapping one; the regions merged from them are the same. One difference in ids: a window
shared by two secrets' forms counts for both (before, the first secret registered took it).
Hold-back (:meth:`Plan.hold_length`) answers for the full list too: the longest suffix of a text that
is a prefix of a form, a window or an anchor, found by bisection in their sorted lists.

A plan is built once per snapshot and kind (text or bytes) and shared by the engines: the
reference and Hyperscan compile the same :attr:`Plan.raw` literals.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from itertools import chain, compress, count, repeat
from operator import and_, itemgetter, methodcaller, ne, not_
from typing import Any

__all__ = ["FORM_ANCHOR", "Plan", "Resolver"]

#: The length of the prefix by which a form is looked for (forms shorter than this are literals
#: of their own). 9 is the fragments' anchor length at the default fragment length (16), so a
#: text form's prefix and its first fragment anchor are the same literal: at 10,000 secrets
#: 74,060 literals of 8 and 9 characters instead of 270,474 of up to 256.
FORM_ANCHOR = 9
_HEAD = 8  # hold-back: suffixes are looked up only where their first 8 characters start a pattern
_HEADS_AFTER = 16  # ... from this many hold-backs on (before, every suffix is looked up)
_SLOTS = 1 << 22  # the size of that filter
_GROUP_SCAN = 8  # forms that share an anchor checked one by one; more are looked up by length


def fragment_anchor(fragment_length: int) -> tuple[int, int]:
    """``(q, s)``: the anchor length and stride for windows of ``fragment_length`` characters,
    ``q + s - 1 == fragment_length``: any window holds the anchor at the first multiple of
    ``s`` at or after its start."""
    stride = max(1, fragment_length // 2)
    return fragment_length - stride + 1, stride


class Plan:
    """The literals an engine compiles for ``patterns`` (``(form, id)``, a negative id for a
    detector's anchor; a form given twice keeps its first id) and ``fragments`` (``(form, id)``
    whose ``fragment_length`` windows match too), and what each literal means.

    Built with C-level steps (sorts, maps, dicts from zips) but for a short loop over the
    fragments: at 10,000 secrets a loop per form was 0.5 s of the first output's second."""

    __slots__ = (
        "_big",
        "_calls",
        "_forms",
        "_frags",
        "_groups",
        "_heads",
        "_ids",
        "_literal",
        "_shifted",
        "_sorted",
        "_starts",
        "_text",
        "anchor_count",
        "fragment_length",
        "maxlen",
        "parts",
        "pattern_count",
        "raw",
    )

    def __init__(
        self,
        patterns: Iterable[tuple[str, int]],
        fragments: Iterable[tuple[str, int]] = (),
        fragment_length: int | None = None,
        form_anchor: int = FORM_ANCHOR,
    ) -> None:
        pairs = list(patterns)
        parts = list(fragments)
        if parts and fragment_length is None:
            raise ValueError("fragments need a fragment_length")
        q, stride = fragment_anchor(fragment_length) if fragment_length else (0, 1)
        # A form's anchor is as long as a fragment's when fragments are on (the same literal
        # serves a text form's prefix and its first fragment anchor), never shorter than the
        # default: short literals are found too often in ordinary text.
        form_anchor = max(form_anchor, q)
        anchors = [(a, i) for a, i in pairs if i < 0]
        # The forms, each with its first id (a dict built from the reversed pairs keeps the first).
        ids = dict(reversed([p for p in pairs if p[1] >= 0] if anchors else pairs))
        ids.pop("", None)
        # Fragments: each form once (its first id), its anchors at the stride. An anchor maps
        # to its occurrences packed in an int, offset << 24 | fragment (a tuple when several):
        # a list of tuples per anchor was 7.6 MB at 10,000 secrets. A fragment whose windows or
        # anchors repeat (a periodic value: "ab" * 10,000) has its distinct windows registered
        # as forms instead: its anchors would be found at every position of a copy, each at
        # many offsets, and extended again at each (seconds where the windows take
        # milliseconds).
        frags: dict[str, Any] = {}
        # The windows, for hold-back: not kept as strings (10.5 MB at 10,000 secrets) but as
        # their starts in one string of every fragment, sorted by the windows' text.
        text = ""
        starts: list[int] = []
        if parts:
            kept_parts: list[tuple[str, int]] = []
            windows: list[str] = []
            base = 0
            get = frags.get
            for form, sid in dict(reversed(parts)).items():
                n = len(form)
                last = n - fragment_length  # type: ignore[operator]
                ws = list(
                    map(form.__getitem__, map(slice, range(last + 1), range(n - last, n + 1)))
                )
                offsets = range(0, last + stride, stride)
                heads = [form[o : o + q] for o in offsets]
                if len(set(ws)) < len(ws) or len(set(heads)) < len(heads):
                    for w in ws:
                        ids.setdefault(w, sid)
                    continue
                p = len(kept_parts)
                kept_parts.append((form, sid))
                for offset, anchor in zip(offsets, heads):
                    code = offset << 24 | p
                    had = get(anchor)
                    frags[anchor] = code if had is None else (*_codes(had), code)
                windows += ws
                starts.extend(range(base, base + last + 1))
                base += n
            parts = kept_parts
            text = "".join(form for form, _ in parts)
            order = sorted(range(len(windows)), key=windows.__getitem__)
            del windows
            starts = list(map(starts.__getitem__, order))
            del order
        long_enough = list(map(form_anchor.__le__, map(len, ids)))
        # Forms shorter than the anchor are literals of their own.
        literal: dict[str, int] = {f: ids[f] for f in compress(ids, map(not_, long_enough))}
        # The others sorted: those starting with one anchor are neighbours; an anchor maps to
        # the first of them (the rest follow while they start with it).
        forms = sorted(compress(ids, long_enough))
        # Some forms share a literal away from their start: the two line ends of a wrapped
        # base64 at one column, and forms that differ only in case (a secret's hex in upper and
        # lower case: a quarter of the literals at 10,000 secrets), see _shifted_anchors.
        shifted = _shifted_anchors(forms, ids, form_anchor)
        if shifted:
            twins = {form for group in shifted.values() for form, _, _ in group}
            prefixed = [f for f in forms if f not in twins]
        else:
            prefixed = forms
        heads = list(map(itemgetter(slice(0, form_anchor)), prefixed))
        firsts = [0, *compress(count(1), map(ne, heads, heads[1:]))] if prefixed else []
        groups = dict(zip(map(heads.__getitem__, firsts), firsts))
        # Groups of more than a few forms (the windows of a periodic value, the columns of a
        # long wrapped base64) are looked up by length instead of form by form (see Resolver).
        ends = [*firsts[1:], len(prefixed)]
        self._big = {heads[a]: (a, b) for a, b in zip(firsts, ends) if b - a > _GROUP_SCAN}
        del heads, firsts, ends
        self._text = text
        self._starts = array("q", starts)
        del starts
        # Hold-back bisects the forms (sorted above) and the short ones, two sorted runs that
        # one more sort merges in linear time; the windows are bisected apart (see held).
        self._sorted = forms + sorted(literal)
        self._sorted.sort()
        self.fragment_length = fragment_length
        kept = 0
        for anchor, aid in anchors:
            # An anchor that is also a form or a window is that secret's (the first id wins).
            if not anchor or anchor in literal or self._is_pattern(anchor):
                continue
            literal[anchor] = aid
            kept += 1
            insort(self._sorted, anchor)  # a few dozen: each a memmove, not a sort
        # Sorted, once for every engine: the reference adds them in this order (its trie's nodes
        # then lie in the order make_automaton walks them), the interim index bisects them.
        self.raw: list[str] = sorted(set(chain(literal, groups, frags, shifted)))
        self._shifted = shifted
        self._literal = literal
        self._groups = groups
        self._forms = prefixed
        self._ids = list(map(ids.__getitem__, prefixed))
        self._frags = frags
        self.parts = parts
        self.anchor_count = kept
        self.pattern_count = len(self.raw)
        longest = max(map(len, ids), default=0)
        self.maxlen: int = max(longest, (fragment_length or 0) if parts else 0, *map(len, literal))
        # Built by the 16th hold-back (55 ms at 10,000 secrets): not before the first output.
        self._heads: bytearray | None = None
        self._calls = 0

    def _window(self, start: int) -> str:
        return self._text[start : start + self.fragment_length]  # type: ignore[operator]

    def _in_windows(self, prefix: str) -> bool:
        """Is ``prefix`` (at most fragment_length long) the start of a fragment's window?"""
        starts = self._starts
        j = bisect_left(starts, prefix, key=self._window)
        return j < len(starts) and self._text.startswith(prefix, starts[j])

    def _is_pattern(self, text: str) -> bool:
        j = bisect_left(self._sorted, text)
        if j < len(self._sorted) and self._sorted[j] == text:
            return True
        return len(text) == self.fragment_length and self._in_windows(text)

    def patterns(self) -> list[str]:
        """Every pattern this plan matches as if it were a literal: the forms, the fragments'
        windows and the anchors, sorted, each once (for tests and oracles)."""
        return sorted(set(self._sorted).union(map(self._window, self._starts)))

    def hold_length(self, text: str | bytes) -> int:
        """Length of the longest suffix of ``text`` that is a prefix of a pattern (shorter than
        ``maxlen``), 0 if none; a bytes text through its latin-1 view."""
        if not self.maxlen:
            return 0
        n = len(text)
        tail = text[n - min(n, self.maxlen - 1) :]
        if isinstance(tail, (bytes, bytearray)):
            tail = tail.decode("latin-1")
        return self._held(tail)

    def _held(self, tail: str) -> int:
        n = len(tail)
        patterns = self._sorted
        known = self._heads
        if known is None:
            starts: Iterable[int] = range(n)
            self._calls += 1
            if self._calls >= _HEADS_AFTER:
                windows = map(self._window, self._starts)
                self._heads = _head_filter(chain(patterns, windows))
        else:
            # Positions whose next 8 characters start no pattern are skipped in C (a pattern
            # shorter than 8 cannot start with a longer suffix); the last 7 are looked up.
            whole = max(0, n - _HEAD + 1)
            heads = map(tail.__getitem__, map(slice, range(whole), range(_HEAD, n + 1)))
            slots = map(and_, map(hash, heads), repeat(_SLOTS - 1))
            starts = chain(compress(count(), map(known.__getitem__, slots)), range(whole, n))
        windows_too = bool(self._starts)
        length = self.fragment_length or 0
        for i in starts:
            suffix = tail[i:]
            j = bisect_left(patterns, suffix)
            if j < len(patterns) and patterns[j].startswith(suffix):
                return n - i
            if windows_too and n - i <= length and self._in_windows(suffix):
                return n - i
        return 0

    def resolver(self, encode: Callable[[str], Any] | None = None) -> Resolver:
        """What turns raw hits into matches on a text in the unit ``encode`` makes of a form
        (None: str, as the plan holds them; else bytes: UTF-8 or the latin-1 view's)."""
        return Resolver(self, encode)


_NO_LETTERS = re.compile(r"[^A-Za-z]+")
_has_lf = methodcaller("__contains__", "\n")


def _breaks(head: str) -> bool:
    return "\n" in head or "\r" in head


def _shifted_anchors(
    forms: list[str], ids: dict[str, int], length: int
) -> dict[str, list[tuple[str, int, int]]]:
    """Forms anchored elsewhere than at their start, so that several share a literal: ASCII
    forms broken by a line end, at their line feed, and ASCII forms whose lower-case spelling
    is a form too, both at the first ``length`` characters without letters they share.
    Returns anchor -> [(form, id, offset)]."""
    lowered = list(map(str.lower, forms))
    out: dict[str, list[tuple[str, int, int]]] = {}
    # A form broken by a line end within its first characters (base64 wrapped at a column,
    # each column two forms, "\n" and "\r\n") is anchored at its line feed: the two spellings
    # of the break share that literal. Broken later, its prefix is shared with the other columns'
    # forms anyway.
    for form in compress(forms, map(_has_lf, forms)):
        if not form.isascii() or not _breaks(form[:length]):
            continue
        at = form.find("\n")
        if at + length <= len(form):
            out.setdefault(form[at : at + length], []).append((form, ids[form], at))
            continue
        # Too little after the break (the last columns of a wrapped base64): the characters
        # before it, one fewer than an anchor (both spellings start with them).
        brk = at - 1 if at and form[at - 1] == "\r" else at
        if brk == length - 1:
            out.setdefault(form[:brk], []).append((form, ids[form], 0))
    candidates = compress(zip(forms, lowered), map(ne, forms, lowered))
    for form, low in candidates:
        if low not in ids or not form.isascii() or "\n" in form or "\n" in low:
            continue
        for run in _NO_LETTERS.finditer(form):
            if run.end() - run.start() >= length:
                offset = run.start()
                anchor = form[offset : offset + length]
                group = out.setdefault(anchor, [])
                group.append((form, ids[form], offset))
                group.append((low, ids[low], offset))
                break
    return out


def _codes(had: int | tuple[int, ...]) -> tuple[int, ...]:
    return had if isinstance(had, tuple) else (had,)


def _head_filter(patterns: Iterable[str]) -> bytearray:
    """A one-hash Bloom filter of the patterns' first 8 characters: 4 MB, where a set of the
    216,000 distinct heads at 10,000 secrets took 27 MB; a false hit (about 5% of positions
    there) costs one bisection."""
    slots = bytearray(_SLOTS)
    for slot in map(
        and_, map(hash, map(itemgetter(slice(0, _HEAD)), patterns)), repeat(_SLOTS - 1)
    ):
        slots[slot] = 1
    return slots


class Resolver:
    """Raw hits ``(start, stop, literal index)`` on one text -> matches and anchor hits."""

    __slots__ = (
        "_big",
        "_fl",
        "_forms",
        "_frags",
        "_groups",
        "_ids",
        "_lengths",
        "_literal",
        "_parts",
        "_pids",
        "_raw",
        "_shifted",
        "_str_forms",
    )

    def __init__(self, plan: Plan, encode: Callable[[str], Any] | None) -> None:
        self._raw = plan.raw
        self._literal = plan._literal
        self._groups = plan._groups
        self._frags = plan._frags
        self._ids = plan._ids
        self._fl = plan.fragment_length or 0
        self._str_forms = plan._forms
        self._big = plan._big
        self._lengths: dict[str, list[tuple[int, dict[Any, int]]]] = {}
        # Twins are ASCII: the same text in every unit.
        self._shifted = {
            a: [(f if encode is None else encode(f), sid, o) for f, sid, o in group]
            for a, group in plan._shifted.items()
        }
        self._forms: list[Any]
        if encode is None:
            self._forms = plan._forms
            self._parts: list[Any] = [p for p, _ in plan.parts]
        else:
            self._forms = list(map(encode, plan._forms))
            # Fragments are ASCII: the same bytes in UTF-8 and in the latin-1 view.
            self._parts = [p.encode("ascii") for p, _ in plan.parts]
        self._pids = [sid for _, sid in plan.parts]

    def resolve(
        self, text: Any, found: Iterable[tuple[int, int, int]]
    ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
        """The matches ``(start, stop, secret id)`` and detector anchor hits ``(start, k)``
        (unsorted) of the raw hits ``found`` on ``text``."""
        raw, literal, groups, frags = self._raw, self._literal, self._groups, self._frags
        shifted = self._shifted
        forms, str_forms, ids, pids, fl = (
            self._forms,
            self._str_forms,
            self._ids,
            self._pids,
            self._fl,
        )
        nforms = len(forms)
        matches: list[tuple[int, int, int]] = []
        hits: list[tuple[int, int]] = []
        runs: dict[tuple[int, int], tuple[int, int]] = {}
        startswith = text.startswith
        for s, e, j in found:
            lit = raw[j]
            role = literal.get(lit)
            if role is not None:
                if role >= 0:
                    matches.append((s, e, role))
                else:
                    hits.append((s, -1 - role))
            k = groups.get(lit)
            if k is not None:
                big = self._big.get(lit) if self._big else None
                if big is not None:
                    # Many forms start so: the text's slice of each of their lengths, looked up.
                    for length, of_length in self._by_length(lit, big):
                        sid = of_length.get(text[s : s + length])
                        if sid is not None:
                            matches.append((s, s + length, sid))
                else:
                    # The forms that start with this anchor: from the first, while they do.
                    while k < nforms and str_forms[k].startswith(lit):
                        form = forms[k]
                        if startswith(form, s):
                            matches.append((s, s + len(form), ids[k]))
                        k += 1
            twins = shifted.get(lit) if shifted else None
            if twins is not None:
                for form, sid, offset in twins:
                    if s >= offset and startswith(form, s - offset):
                        matches.append((s - offset, s - offset + len(form), sid))
            at = frags.get(lit)
            if at is not None:
                for code in at if isinstance(at, tuple) else (at,):
                    p, offset = code & 0xFFFFFF, code >> 24
                    key = (p, s - offset)
                    run = runs.get(key)
                    if run is not None and run[0] <= s and e <= run[1]:
                        continue  # the run at this alignment, found from an earlier anchor of it
                    run = runs[key] = self._run(text, s, e, p, offset)
                    if run[1] - run[0] >= fl:
                        matches.append((run[0], run[1], pids[p]))
        return matches, hits

    def _by_length(self, lit: str, span: tuple[int, int]) -> list[tuple[int, dict[Any, int]]]:
        """A large group's forms by length, each length's as a dict (built on first use)."""
        found = self._lengths.get(lit)
        if found is None:
            by: dict[int, dict[Any, int]] = {}
            for k in range(*span):
                form = self._forms[k]
                by.setdefault(len(form), {})[form] = self._ids[k]
            found = self._lengths[lit] = sorted(by.items())
        return found

    def _run(self, text: Any, s: int, e: int, p: int, offset: int) -> tuple[int, int]:
        """The longest stretch of ``text`` around ``text[s:e]`` (fragment ``p`` at ``offset``)
        that matches the fragment at that alignment."""
        part = self._parts[p]
        d = s - offset  # where the fragment's first character would be
        startswith = text.startswith
        # Right: as far as the fragment and the text agree. Whole first (a full copy), else the
        # boundary by bisection (agreement on a prefix is monotone).
        left = e - d
        top = min(len(part), len(text) - d)
        right = left
        if top > left:
            if startswith(part[left:top], e):
                right = top
            else:
                good, bad = left, top
                while bad - good > 1:
                    mid = (good + bad) // 2
                    if startswith(part[left:mid], e):
                        good = mid
                    else:
                        bad = mid
                right = good
        # Left, the same way.
        begin = offset
        low = max(0, -d)
        if begin > low:
            if startswith(part[low:offset], d + low):
                begin = low
            else:
                good, bad = offset, low
                while good - bad > 1:
                    mid = (good + bad) // 2
                    if startswith(part[mid:offset], d + mid):
                        good = mid
                    else:
                        bad = mid
                begin = good
        return d + begin, d + right
