"""Matching backends behind one small interface.

A matcher is built once from ``(pattern, secret_id)`` pairs and is immutable afterwards, so any
number of threads can use it. It answers two questions: where are the (merged) secret regions in
this text, and how long is the longest suffix of this text that could still grow into a pattern.

Two backends give exactly the same answers:

* :class:`AhoCorasickMatcher`, the reference: pyahocorasick, always installed.
* :class:`HyperscanMatcher`, the fast one: Intel Hyperscan's literal compiler through the
  ``hyperscan`` package (``pip install 'redactor[fast]'``), scanning UTF-8 bytes at GB/s.

Token detectors' anchors (:mod:`redactor.engine.detect`) go into the same automaton as the
secrets' forms, with ids in a reserved space: a negative id ``-1 - k`` is anchor ``k``. Such a
hit is not a region: :meth:`Matcher.spans` leaves it out, and :meth:`Matcher.scan` returns the
regions and, separately, the anchor hits as ``(start, k)``, both from one pass over the text.
Text in which nothing matches costs exactly what it cost without anchors.

A text matcher takes ``str``. A binary matcher (``binary=True``) matches UTF-8 bytes; it takes
``bytes`` or the latin-1 view of them as ``str`` (one character per byte), and its offsets are byte
offsets either way.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable
from itertools import compress, count
from operator import itemgetter
from typing import Any, Protocol

import ahocorasick

from redactor.errors import EngineError

__all__ = [
    "ENGINES",
    "AhoCorasickMatcher",
    "EngineUnavailable",
    "Hit",
    "HyperscanMatcher",
    "IndexMatcher",
    "Matcher",
    "Span",
    "hyperscan_available",
    "import_hyperscan",
    "matcher_class",
]

# (start, end_exclusive, secret ids that matched inside the region, or None when not asked for)
Span = tuple[int, int, frozenset[int] | None]
# (start of an anchor in the text, the anchor's index): a token detector's anchor found
Hit = tuple[int, int]

ENGINES = ("auto", "ahocorasick", "hyperscan")

_PREFILTER = 8  # chars checked with a cheap prefix test before the full suffix test


class EngineUnavailable(EngineError, ImportError):
    """The engine asked for is not installed (the message says how to install it)."""


class Matcher(Protocol):
    name: str
    binary: bool
    windowed: bool  # large inputs should be fed in windows (the matcher copies its input)
    pattern_count: int  # secret forms and anchors
    anchor_count: int
    maxlen: int

    def spans(self, text: Any, with_ids: bool = False) -> list[Span]: ...

    def scan(self, text: Any, with_ids: bool = False) -> tuple[list[Span], list[Hit]]: ...

    def hold_length(self, text: Any) -> int: ...


def _merge(matches: list[tuple[int, int, int]], with_ids: bool) -> list[Span]:
    """Merge ``(start, stop, secret_id)`` matches: overlapping and touching ones become one region."""
    matches.sort()
    out: list[Span] = []
    start, stop, sid = matches[0]
    ids = {sid} if with_ids else None
    for s, e, i in matches:
        if s <= stop:
            if e > stop:
                stop = e
            if ids is not None:
                ids.add(i)
        else:
            out.append((start, stop, frozenset(ids) if ids is not None else None))
            start, stop = s, e
            ids = {i} if with_ids else None
    out.append((start, stop, frozenset(ids) if ids is not None else None))
    return out


def merge_regions(spans: list[Span]) -> list[Span]:
    """Regions (secret regions and detected tokens, in any order) that overlap or touch, as one,
    their ids united (``None`` stays ``None`` when no region has any)."""
    spans.sort(key=_start)
    out: list[Span] = []
    start, stop, ids = spans[0]
    acc = set(ids) if ids is not None else None
    for s, e, i in spans[1:]:
        if s <= stop:
            if e > stop:
                stop = e
            if i is not None:
                acc = acc | i if acc is not None else set(i)
        else:
            out.append((start, stop, frozenset(acc) if acc is not None else None))
            start, stop = s, e
            acc = set(i) if i is not None else None
    out.append((start, stop, frozenset(acc) if acc is not None else None))
    return out


def _start(span: Span) -> int:
    return span[0]


def _sorted_hits(hits: list[Hit]) -> list[Hit]:
    hits.sort()
    return hits


class AhoCorasickMatcher:
    """The reference matcher: pyahocorasick, every overlapping match, intervals merged."""

    name = "ahocorasick"
    windowed = True  # pyahocorasick copies str input to UCS-4

    def __init__(self, patterns: Iterable[tuple[str, int]], binary: bool = False) -> None:
        pairs = list(patterns)
        # The automaton stores a 32-bit int per pattern: its index into these two lists.
        lengths: list[int] = []
        secret_ids: list[int] = []
        # The secrets' forms, up to the first anchor, are distinct (the tables hold each once):
        # added in C, without the exists() check below, they took 0.6 s at 270,474 patterns
        # against 1.8 s for the loop. A repeat there (add_word says False) falls back to it.
        # Added in sorted order: the trie's nodes are then allocated in the order make_automaton
        # walks them, which made it 1.6x faster at 270,474 patterns (2.7 s of CPU against 4.3).
        keys, ids, rest = _sorted_forms(pairs)
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        if keys and min(map(len, keys)) > 0 and all(map(automaton.add_word, keys, count())):
            lengths = list(map(len, keys))
            secret_ids = ids
        else:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
            rest = pairs
        first: set[str] = set(map(_head, keys if lengths else ()))
        del keys, ids, pairs  # not held through make_automaton, the peak of the build
        maxlen = max(lengths, default=0)
        anchors = 0
        # A pattern given twice keeps its first id: the secrets' forms come first, so an anchor
        # that is also a secret's form is that secret's (the Hyperscan matcher does the same).
        exists = automaton.exists
        for pattern, secret_id in rest:
            # add_word on a pattern given before would overwrite its stored index: look first.
            if not exists(pattern) and automaton.add_word(pattern, len(lengths)):
                lengths.append(len(pattern))
                secret_ids.append(secret_id)
                maxlen = max(maxlen, len(pattern))
                first.add(pattern[0])
                anchors += secret_id < 0
        if lengths:
            automaton.make_automaton()
        self.binary = binary
        self._automaton = automaton
        self._lengths = lengths
        self._secret_ids = secret_ids
        self.anchor_count = anchors
        self.pattern_count = len(lengths)
        self.maxlen = maxlen
        self._first = frozenset(first)

    def spans(self, text: str | bytes, with_ids: bool = False) -> list[Span]:
        """Merged regions covered by matches: overlapping and adjacent matches become one region."""
        if self.anchor_count:
            return self._scan(text, with_ids, None)
        if not self.pattern_count:
            return []
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("latin-1")
        out: list[list] = []
        lengths = self._lengths
        for end, index in self._automaton.iter(text):
            stop = end + 1
            start = stop - lengths[index]
            # Ends arrive in non-decreasing order, so a new match can only swallow regions at the
            # end of the list: those that reach its start (overlap or touch).
            ids = {self._secret_ids[index]} if with_ids else None
            while out and out[-1][1] >= start:
                prev = out.pop()
                if prev[0] < start:
                    start = prev[0]
                if stop < prev[1]:
                    stop = prev[1]
                if ids is not None:
                    ids |= prev[2]
            out.append([start, stop, ids])
        return [(s, e, frozenset(i) if i is not None else None) for s, e, i in out]

    def scan(self, text: str | bytes, with_ids: bool = False) -> tuple[list[Span], list[Hit]]:
        """The regions (as :meth:`spans`) and the anchor hits, sorted, from one pass."""
        if not self.anchor_count:
            return self.spans(text, with_ids), []
        hits: list[Hit] = []
        return self._scan(text, with_ids, hits), _sorted_hits(hits)

    def _scan(self, text: str | bytes, with_ids: bool, hits: list[Hit] | None) -> list[Span]:
        # The loop of spans() with anchor hits set apart: kept separate so that a matcher
        # without anchors pays nothing for them.
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("latin-1")
        out: list[list] = []
        lengths, secret_ids = self._lengths, self._secret_ids
        for end, index in self._automaton.iter(text):
            stop = end + 1
            start = stop - lengths[index]
            sid = secret_ids[index]
            if sid < 0:
                if hits is not None:
                    hits.append((start, -1 - sid))
                continue
            ids = {sid} if with_ids else None
            while out and out[-1][1] >= start:
                prev = out.pop()
                if prev[0] < start:
                    start = prev[0]
                if stop < prev[1]:
                    stop = prev[1]
                if ids is not None:
                    ids |= prev[2]
            out.append([start, stop, ids])
        return [(s, e, frozenset(i) if i is not None else None) for s, e, i in out]

    def hold_length(self, text: str | bytes) -> int:
        """Length of the longest suffix of ``text`` that is a prefix of some pattern (< maxlen)."""
        if not self.pattern_count:
            return 0
        n = len(text)
        limit = min(n, self.maxlen - 1)
        if isinstance(text, (bytes, bytearray)):
            text = text[n - limit :].decode("latin-1")
            n = limit
        match = self._automaton.match
        first = self._first
        for i in range(n - limit, n):
            if text[i] in first and match(text[i : i + _PREFILTER]) and match(text[i:]):
                return n - i
        return 0


class IndexMatcher:
    """An exact matcher that is cheap to build, slow to scan: it answers while a real one builds.

    At 10,000 secrets the reference automaton takes seconds to build (270,474 patterns, 4.9
    million trie nodes, of which pyahocorasick's ``make_automaton`` is three quarters) and the
    Hyperscan database a quarter of a minute, so output used to start only once they were
    ready. This one is a dict from each pattern's first ``m`` characters (``m``: the shortest
    pattern) to the patterns that start so, built in a tenth of the time; a scan looks up the
    ``m`` characters at every position of the text in it (a Python step per character, about
    10 MB/s) and checks the few candidates in full. So it finds exactly the matches the
    automaton finds, every overlapping one, and merges them the same way: the same regions, ids,
    anchor hits and hold-back lengths as :class:`AhoCorasickMatcher` (tests/engine/
    test_matchers.py compares them). A snapshot uses it only for the first calls while the real
    matcher builds in the background (see ``redactor.engine.redactor._Snapshot``).
    """

    name = "index"
    windowed = True  # long texts through a stream: the real matcher can take over between windows

    def __init__(self, patterns: Iterable[tuple[str, int]], binary: bool = False) -> None:
        pairs = list(patterns)
        # The patterns sorted (hold_length bisects them), with their ids in the same order; the
        # anchors after the secrets' forms go in one by one, each dropped when it repeats a
        # pattern given before (the reference keeps the first id).
        keys, secret_ids, rest = _sorted_forms(pairs)
        if min(map(len, keys), default=1) == 0:
            keys, secret_ids, rest = [], [], pairs
        self._keys, self._secret_ids = keys, secret_ids
        del pairs
        for pattern, secret_id in rest:
            j = bisect_left(keys, pattern)
            if pattern and (j == len(keys) or keys[j] != pattern):
                keys.insert(j, pattern)
                secret_ids.insert(j, secret_id)
        self.binary = binary
        self.pattern_count = len(keys)
        self.anchor_count = sum(i < 0 for i in secret_ids)
        self.maxlen = max(map(len, keys), default=0)
        m = self._m = min(map(len, keys), default=1)
        # Each pattern's head (its first m characters: a 16-character window is its own head,
        # no copy) -> the last position in sorted order of a pattern starting with it; those
        # sharing the head sit just before it.
        self._index: dict[str, int] = dict(zip(map(itemgetter(slice(0, m)), keys), count()))

    def _matches(self, text: str) -> list[tuple[int, int, int]]:
        """Every match as ``(start, stop, pattern index)``."""
        index, keys, m = self._index, self._keys, self._m
        startswith = text.startswith
        found: list[tuple[int, int, int]] = []
        # The positions whose next m characters are some pattern's head, found in C: a slice
        # and a dict lookup per position, and a Python step only where a head is found.
        n = len(text) - m + 1
        heads = map(text.__getitem__, map(slice, range(n), range(m, n + m)))
        for i in compress(count(), map(index.__contains__, heads)):
            head = text[i : i + m]
            j = index[head]
            while j >= 0 and keys[j].startswith(head):
                key = keys[j]
                if len(key) == m or startswith(key, i):
                    found.append((i, i + len(key), j))
                j -= 1
        return found

    def _view(self, text: str | bytes) -> str:
        return text.decode("latin-1") if isinstance(text, (bytes, bytearray)) else text

    def spans(self, text: str | bytes, with_ids: bool = False) -> list[Span]:
        """Merged regions covered by matches, as the reference's."""
        return self.scan(text, with_ids)[0]

    def scan(self, text: str | bytes, with_ids: bool = False) -> tuple[list[Span], list[Hit]]:
        """The regions (as :meth:`spans`) and the anchor hits, sorted, from one pass."""
        if not self.pattern_count:
            return [], []
        found = self._matches(self._view(text))
        if not found:
            return [], []
        return _regions_and_hits(found, self._secret_ids, with_ids)

    def hold_length(self, text: str | bytes) -> int:
        """Length of the longest suffix of ``text`` that is a prefix of some pattern (< maxlen)."""
        if not self.pattern_count:
            return 0
        n = len(text)
        return _held(self._keys, self._view(text[n - min(n, self.maxlen - 1) :]))


def _regions_and_hits(
    found: Iterable[tuple[int, int, int]], secret_ids: list[int], with_ids: bool
) -> tuple[list[Span], list[Hit]]:
    """Raw matches ``(start, stop, pattern index)`` as merged regions of the secrets' forms and
    the sorted hits of detector anchors (a negative id ``-1 - anchor``)."""
    matches: list[tuple[int, int, int]] = []
    hits: list[Hit] = []
    for s, e, j in found:
        sid = secret_ids[j]
        if sid < 0:
            hits.append((s, -1 - sid))
        else:
            matches.append((s, e, sid))
    hits.sort()
    return (_merge(matches, with_ids) if matches else []), hits


def _sorted_forms(
    pairs: list[tuple[str, int]],
) -> tuple[list[str], list[int], list[tuple[str, int]]]:
    """The secrets' forms (the pairs before the first anchor, each pattern given once: the tables
    hold each once) sorted, their ids in the same order, and the pairs from the first anchor on.
    In C (map, compress, sorted): a Python step per pattern was most of a build at 270,474."""
    ids = list(map(_second, pairs))
    cut = next(compress(count(), map((0).__gt__, ids)), len(pairs))
    keys = list(map(_first, pairs[:cut]))
    order = sorted(range(cut), key=keys.__getitem__)
    return list(map(keys.__getitem__, order)), list(map(ids.__getitem__, order)), pairs[cut:]


def _held(patterns: list[Any], tail: Any, first: frozenset | None = None) -> int:
    """Length of the longest suffix of ``tail`` that is a prefix of one of the sorted
    ``patterns`` (found by bisection), 0 if none; ``first``, the patterns' first characters,
    skips the suffixes that cannot start one."""
    n = len(tail)
    for i in range(n):
        if first is not None and tail[i : i + 1] not in first:
            continue
        suffix = tail[i:]
        j = bisect_left(patterns, suffix)
        if j < len(patterns) and patterns[j].startswith(suffix):
            return n - i
    return 0


_first = itemgetter(0)
_second = itemgetter(1)


def _head(key: str) -> str:
    return key[0]


_hyperscan: Any = None
_hyperscan_error: str | None = None  # remembered: a failed import is not retried on every add


def import_hyperscan() -> Any:
    """The ``hyperscan`` module, or :class:`EngineUnavailable` (the failure remembered, so that
    a missing package is not looked for again on every add)."""
    global _hyperscan, _hyperscan_error
    if _hyperscan is None:
        if _hyperscan_error is None:
            try:
                import hyperscan
            except ImportError as exc:  # the package missing, or its native library not loading
                _hyperscan_error = (
                    "the hyperscan engine needs the 'hyperscan' package: "
                    f"pip install 'redactor[fast]' ({type(exc).__name__}: {exc})"
                )
            else:
                _hyperscan = hyperscan
                return hyperscan
        raise EngineUnavailable(_hyperscan_error)
    return _hyperscan


def hyperscan_available() -> bool:
    """Does the fast engine import here (package installed, CPU and library supported)?"""
    try:
        import_hyperscan()
    except EngineUnavailable:
        return False
    return True


class HyperscanMatcher:
    """The fast matcher: one Hyperscan literal database over the UTF-8 bytes of every pattern.

    Hyperscan reports every match of every pattern (overlapping ones included) by its end offset;
    the start is the end minus the pattern's length, and the regions are merged exactly as the
    reference does, so the two agree on every input. Text is scanned as UTF-8 (surrogates passed
    through): a pattern's bytes can only match at character boundaries, because UTF-8 never
    starts a character with a continuation byte, so byte matches are exactly character matches.

    A scan needs scratch space that only one scan may use at a time; each thread gets its own.
    """

    name = "hyperscan"
    windowed = False

    def __init__(self, patterns: Iterable[tuple[str, int]], binary: bool = False) -> None:
        hs = import_hyperscan()
        self.binary = binary
        encode = _latin1_bytes if binary else _utf8
        keys: list[str] = []
        data: list[bytes] = []
        secret_ids: list[int] = []
        seen: set[str] | None = None
        for pattern, secret_id in patterns:
            if secret_id < 0:
                # An anchor: dropped when it repeats a pattern given before (the reference
                # keeps a pattern's first id; secret forms come first).
                if seen is None:
                    seen = set(keys)
                if pattern in seen:
                    continue
                seen.add(pattern)
            keys.append(pattern)
            data.append(encode(pattern))
            secret_ids.append(secret_id)
        self.anchor_count = sum(i < 0 for i in secret_ids)
        self.pattern_count = len(keys)
        self.maxlen = max(map(len, keys), default=0)
        self._lengths = [len(d) for d in data]
        self._secret_ids = secret_ids
        # Prefixes are looked up by bisection in the sorted patterns (in the caller's units:
        # characters of the text, or bytes), which needs no second automaton.
        self._sorted: list[Any] = sorted(data) if binary else sorted(keys)  # bytes or str
        self._first = frozenset(k[:1] for k in self._sorted)
        # The binding hands literal patterns to Hyperscan as C strings, so one with a NUL byte
        # would be cut short: those few are compiled as expressions of escaped bytes instead.
        ids = range(len(data))
        literal = [i for i in ids if b"\0" not in data[i]]
        escaped = [i for i in ids if b"\0" in data[i]]
        self._dbs: list[Any] = []
        for chosen, is_literal in ((literal, True), (escaped, False)):
            if not chosen:
                continue
            expressions = [data[i] if is_literal else _escape(data[i]) for i in chosen]
            db = hs.Database(mode=hs.HS_MODE_BLOCK)
            db.compile(
                expressions=expressions, ids=chosen, elements=len(chosen), literal=is_literal
            )
            self._dbs.append(db)
        self._local = threading.local()
        self._scratch_cls = hs.Scratch

    def _scratches(self) -> list[Any]:
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            scratches = self._local.scratches = [self._scratch_cls(db) for db in self._dbs]
        return scratches

    def _scan(self, data: bytes) -> list[tuple[int, int, int]]:
        found: list[tuple[int, int, int]] = []
        lengths, append = self._lengths, found.append

        def on_match(index: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append((to - lengths[index], to, index))

        for db, scratch in zip(self._dbs, self._scratches()):
            db.scan(data, match_event_handler=on_match, scratch=scratch)
        return found

    def spans(self, text: str | bytes, with_ids: bool = False) -> list[Span]:
        """Merged regions covered by matches, in the units of ``text`` (as the reference)."""
        if self.anchor_count:
            return self.scan(text, with_ids)[0]
        if not self._dbs or not text:
            return []
        if self.binary:
            data = bytes(text) if isinstance(text, (bytes, bytearray)) else text.encode("latin-1")
            found = self._scan(data)
            ascii_text = True
        else:
            # A text matcher takes str (the module's docstring). Not checked: on a 100-character
            # message a cast() or isinstance() would cost ~1% of the whole call (74 ns of 5.2 us).
            ascii_text = text.isascii()
            data = text.encode("ascii") if ascii_text else _utf8(text)  # type: ignore[union-attr,arg-type]
            found = self._scan(data)
        if not found:
            return []
        ids = self._secret_ids
        found = [(s, e, ids[i]) for s, e, i in found]
        spans = _merge(found, with_ids)
        if not ascii_text:
            spans = _to_char_offsets(spans, data)
        return spans

    def scan(self, text: str | bytes, with_ids: bool = False) -> tuple[list[Span], list[Hit]]:
        """The regions (as :meth:`spans`) and the anchor hits, sorted, from one pass."""
        if not self.anchor_count:
            return self.spans(text, with_ids), []
        if not text:
            return [], []
        if self.binary:
            data = bytes(text) if isinstance(text, (bytes, bytearray)) else text.encode("latin-1")
            ascii_text = True
        else:
            ascii_text = text.isascii()
            data = text.encode("ascii") if ascii_text else _utf8(text)  # type: ignore[union-attr,arg-type]
        found = self._scan(data)
        if not found:
            return [], []
        spans, hits = _regions_and_hits(found, self._secret_ids, with_ids)
        if not ascii_text:
            spans = _to_char_offsets(spans, data)
            hits = _hits_to_char_offsets(hits, data)
        return spans, hits

    def hold_length(self, text: str | bytes) -> int:
        """Length of the longest suffix of ``text`` that is a prefix of some pattern (< maxlen)."""
        if not self._dbs:
            return 0
        n = len(text)
        tail = text[n - min(n, self.maxlen - 1) :]
        if self.binary and isinstance(tail, str):
            tail = tail.encode("latin-1")
        return _held(self._sorted, tail, self._first)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _escape(pattern: bytes) -> bytes:
    return b"".join(b"\\x%02x" % byte for byte in pattern)


def _latin1_bytes(text: str) -> bytes:
    return text.encode("latin-1")


def _to_char_offsets(spans: list[Span], data: bytes) -> list[Span]:
    """Byte offsets into the UTF-8 ``data`` -> character offsets into the text it encodes."""
    out: list[Span] = []
    pos = chars = 0
    for start, stop, ids in spans:
        chars += len(data[pos:start].decode("utf-8", "surrogatepass"))
        first = chars
        chars += len(data[start:stop].decode("utf-8", "surrogatepass"))
        pos = stop
        out.append((first, chars, ids))
    return out


def _hits_to_char_offsets(hits: list[Hit], data: bytes) -> list[Hit]:
    """Sorted anchor hits' byte offsets into the UTF-8 ``data`` -> character offsets."""
    out: list[Hit] = []
    pos = chars = 0
    for start, k in hits:
        chars += len(data[pos:start].decode("utf-8", "surrogatepass"))
        pos = start
        out.append((chars, k))
    return out


_CLASSES: dict[str, type] = {"ahocorasick": AhoCorasickMatcher, "hyperscan": HyperscanMatcher}


def matcher_class(engine: str) -> type:
    """The matcher class of a concrete engine name (not ``"auto"``)."""
    return _CLASSES[engine]
