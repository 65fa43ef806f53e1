"""Matching backends behind one small interface.

A matcher is built once from a :class:`~redactor.engine.plan.Plan` (or ``(pattern, secret_id)``
pairs, which make one) and is immutable afterwards, so any number of threads can use it. It
answers two questions: where are the (merged) secret regions in this text, and how long is the
longest suffix of this text that could still grow into a pattern.

Every backend compiles the plan's literals (anchors of the forms and fragments, short forms,
detector anchors), finds their raw hits, and hands them to the plan's resolver, which checks
them and gives the matches: the engines differ only in how they find literals.

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

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from itertools import compress, count
from operator import itemgetter
from typing import Any, Protocol, TypeVar

import ahocorasick

from redactor.engine.plan import Plan, Resolver
from redactor.errors import EngineError

__all__ = [
    "ENGINES",
    "AhoCorasickMatcher",
    "EngineUnavailable",
    "Hit",
    "HyperscanMatcher",
    "IndexMatcher",
    "LayeredMatcher",
    "Matcher",
    "Span",
    "hyperscan_available",
    "import_hyperscan",
    "matcher_class",
    "usable_cores",
]

# (start, end_exclusive, secret ids that matched inside the region, or None when not asked for)
Span = tuple[int, int, frozenset[int] | None]
# (start of an anchor in the text, the anchor's index): a token detector's anchor found
Hit = tuple[int, int]

ENGINES = ("auto", "ahocorasick", "hyperscan")

_R = TypeVar("_R")


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


class _PlanMatcher:
    """What every backend shares: the plan it compiles (built from pairs when given those), its
    counts, its resolver, and the plan's hold-back; ``scan`` is each backend's own."""

    def __init__(self, patterns: Plan | Iterable[tuple[str, int]], binary: bool = False) -> None:
        plan = patterns if isinstance(patterns, Plan) else Plan(patterns)
        self.binary = binary
        self._plan = plan
        self._resolver = plan.resolver()
        self.anchor_count = plan.anchor_count
        self.pattern_count = plan.pattern_count
        self.maxlen = plan.maxlen

    def scan(self, text: str | bytes, with_ids: bool = False) -> tuple[list[Span], list[Hit]]:
        raise NotImplementedError

    def spans(self, text: str | bytes, with_ids: bool = False) -> list[Span]:
        """Merged regions covered by matches: overlapping and adjacent matches become one region."""
        return self.scan(text, with_ids)[0]

    def hold_length(self, text: str | bytes) -> int:
        """Length of the longest suffix of ``text`` that is a prefix of some pattern (< maxlen)."""
        return self._plan.hold_length(text)


class AhoCorasickMatcher(_PlanMatcher):
    """The reference matcher: pyahocorasick over the plan's literals, every overlapping match,
    intervals merged."""

    name = "ahocorasick"
    windowed = True  # pyahocorasick copies str input to UCS-4

    def __init__(self, patterns: Plan | Iterable[tuple[str, int]], binary: bool = False) -> None:
        super().__init__(patterns, binary)
        raw = self._plan.raw
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        # Added in sorted order (the plan's): the trie's nodes are then allocated in the order
        # make_automaton walks them, which made it 1.6x faster at 270,474 patterns (2.7 s of
        # CPU against 4.3).
        all(map(automaton.add_word, raw, count()))
        if raw:
            automaton.make_automaton()
        self._automaton = automaton
        self._lengths = list(map(len, raw))

    def scan(self, text: str | bytes, with_ids: bool = False) -> tuple[list[Span], list[Hit]]:
        """The regions (as :meth:`spans`) and the anchor hits, sorted, from one pass."""
        if not self.pattern_count or not text:
            return [], []
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("latin-1")
        lengths = self._lengths
        found = [(end + 1 - lengths[j], end + 1, j) for end, j in self._automaton.iter(text)]
        if not found:
            return [], []
        return _regions_and_hits(self._resolver.resolve(text, found), with_ids)


class IndexMatcher(_PlanMatcher):
    """An exact matcher that is cheap to build, slow to scan: it answers while a real one builds.

    At 10,000 secrets the reference automaton takes a second or more to build and the Hyperscan
    database several, so output used to start only once they were ready. This one is a dict
    from each literal's first ``m`` characters (``m``: the shortest literal) to the literals
    that start so, built in a fraction of the time; a scan looks up the ``m`` characters at
    every position of the text in it (a slice and a lookup per character in C, about 10 MB/s)
    and checks the few candidates in full. So it finds exactly the raw hits the automaton
    finds, and the plan turns them into the same regions, ids, anchor hits and hold-back
    lengths as :class:`AhoCorasickMatcher` (tests/engine/test_matchers.py compares them). A
    snapshot uses it only for the first call while the real matcher builds (see
    ``redactor.engine.redactor._Snapshot``).
    """

    name = "index"
    windowed = True  # long texts through a stream: the real matcher can take over between windows

    def __init__(self, patterns: Plan | Iterable[tuple[str, int]], binary: bool = False) -> None:
        super().__init__(patterns, binary)
        self._keys = keys = self._plan.raw  # sorted
        m = self._m = min(map(len, keys), default=1)
        # Each literal's head (its first m characters) -> the last position in sorted order of a
        # literal starting with it; those sharing the head sit just before it.
        self._index: dict[str, int] = dict(zip(map(itemgetter(slice(0, m)), keys), count()))

    def _matches(self, text: str) -> list[tuple[int, int, int]]:
        """Every raw hit as ``(start, stop, literal index)``."""
        index, keys, m = self._index, self._keys, self._m
        startswith = text.startswith
        found: list[tuple[int, int, int]] = []
        # The positions whose next m characters are some literal's head, found in C: a slice
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

    def scan(self, text: str | bytes, with_ids: bool = False) -> tuple[list[Span], list[Hit]]:
        """The regions (as :meth:`spans`) and the anchor hits, sorted, from one pass."""
        if not self.pattern_count or not text:
            return [], []
        view = text.decode("latin-1") if isinstance(text, (bytes, bytearray)) else text
        found = self._matches(view)
        if not found:
            return [], []
        return _regions_and_hits(self._resolver.resolve(view, found), with_ids)


def _regions_and_hits(
    resolved: tuple[list[tuple[int, int, int]], list[Hit]], with_ids: bool
) -> tuple[list[Span], list[Hit]]:
    """Matches ``(start, stop, secret id)`` and anchor hits as merged regions and sorted hits."""
    matches, hits = resolved
    hits.sort()
    return (_merge(matches, with_ids) if matches else []), hits


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


#: The most literals compiled into one Hyperscan database. At 10,000 secrets (74,060 literals)
#: one database took 2.10 s of CPU to compile and 177 MB more at its peak, and scanned 100 MB of
#: log in 0.086 s; two took 1.43 s and 99 MB, and scanned it in 0.125 s: less time up to about
#: 2 GB of text after them, and the peak memory target (300 MB) kept. At 1,000 secrets (7,408
#: literals, a tenth of a second to compile) one database, at full speed. A build that the caller
#: waits for compiles the databases side by side where it may use two cores: 0.81-0.91 s for the
#: two at 10,000 secrets; in the background, with the reference scanning on the other core, that
#: was no faster (1.9-2.0 s) and the whole filter's peak memory rose from 175 to 303-309 MB.
HS_DB_LITERALS = 40_000
#: The most literals in one database of a build for a batch smaller than SMALL_DBS_BATCH_MAX
#: (``Redactor.announce(size, batch=True)``), which the caller waits for: smaller databases
#: compile faster in all and scan slower. At 10,000 secrets, two databases compile in 0.85-0.96 s
#: on two cores and scan 64 MB at 1.5 GB/s (two threads), four in 0.59-0.71 s and at 1.1 GB/s:
#: the 0.25 s saved is worth more than the slower scan up to about 1 GB; `redactor filter` on a
#: 300 MB file spent 1.31 s from its second chunk to the end against 1.42-1.52 s.
HS_BATCH_DB_LITERALS = 20_000
SMALL_DBS_BATCH_MAX = 1 << 30


#: A text at least this long, where there are several databases (HS_DB_LITERALS), is scanned by
#: this thread and a helper thread at once, a database each, where the process may use two cores
#: (Hyperscan releases the GIL while it scans). Handing a scan over costs about 0.1 ms here, so a
#: short text loses. At 10,000 secrets (two databases), 64 MB of log in 1 MiB chunks, serial /
#: shared: 0.9 / 1.6 GB/s, 512 KiB 0.9 / 1.4, 256 KiB 0.9 / 1.0; `redactor filter` on 300 MB
#: 1.09x as fast end to end (best of 5). One database (up to about 5,000 secrets) is never split:
#: cutting the text in two halves gained nothing end to end at 1,000 secrets and took the other
#: core from a producer writing into the filter's pipe.
PARALLEL_SCAN_MIN = 512 * 1024


class _Helper:
    """A thread that scans the other databases of a large text, one text at a time: a caller
    that finds it busy (another thread's scan) scans all of them itself rather than queue."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="redactor-scan")
        self._idle = threading.Lock()

    def start(self, fn: Callable[..., _R], *args: Any) -> Future[_R] | None:
        """``fn(*args)`` on the helper thread, or None when it is busy or cannot start."""
        if not self._idle.acquire(blocking=False):
            return None

        def run() -> _R:
            try:
                return fn(*args)
            finally:
                self._idle.release()  # before the result is set: free for whoever it wakes

        try:
            return self.pool.submit(run)
        except RuntimeError:  # the interpreter is shutting down: no new threads
            self._idle.release()
            return None


_helper_state: tuple[int, _Helper | None] = (-1, None)


def _helper() -> _Helper | None:
    """This process's scan helper, or None where the process may use only one core. Made again
    in a forked child (the parent's thread did not come along); two threads racing to make it
    make two, which is harmless."""
    global _helper_state
    pid, helper = _helper_state
    if pid == os.getpid():
        return helper
    helper = _Helper() if usable_cores() > 1 else None
    _helper_state = (os.getpid(), helper)
    return helper


def usable_cores() -> int:
    """How many cores this process may use (``taskset`` and cgroup cpusets included)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


class HyperscanMatcher(_PlanMatcher):
    """The fast matcher: one Hyperscan literal database over the UTF-8 bytes of every pattern.

    Hyperscan reports every match of every pattern (overlapping ones included) by its end offset;
    the start is the end minus the pattern's length, and the regions are merged exactly as the
    reference does, so the two agree on every input. Text is scanned as UTF-8 (surrogates passed
    through): a pattern's bytes can only match at character boundaries, because UTF-8 never
    starts a character with a continuation byte, so byte matches are exactly character matches.

    A scan needs scratch space that only one scan may use at a time; each thread gets its own.

    ``side_by_side``: compile several databases (of ``db_literals``, else HS_DB_LITERALS,
    literals at most) at once, on as many threads as the process may use cores; for a build
    that the caller waits for. A build in the background, while the reference scans, compiles
    them one after the other.
    """

    name = "hyperscan"
    windowed = False

    def __init__(
        self,
        patterns: Plan | Iterable[tuple[str, int]],
        binary: bool = False,
        *,
        side_by_side: bool = False,
        db_literals: int | None = None,
    ) -> None:
        hs = import_hyperscan()
        super().__init__(patterns, binary)
        encode = _latin1_bytes if binary else _utf8
        data = list(map(encode, self._plan.raw))
        self._lengths = list(map(len, data))
        # Hits are checked on the text's str (ASCII text: the same offsets as its bytes) or the
        # bytes' latin-1 view, with the plan's own forms; only non-ASCII text is checked on its
        # UTF-8 bytes, with forms encoded on first need (not 8 MB of copies up front).
        self._utf8_resolver: Resolver | None = None
        # The binding hands literal patterns to Hyperscan as C strings, so one with a NUL byte
        # would be cut short: those few are compiled as expressions of escaped bytes instead.
        ids = range(len(data))
        literal = [i for i in ids if b"\0" not in data[i]]
        escaped = [i for i in ids if b"\0" in data[i]]
        # More than HS_DB_LITERALS literals are compiled as several databases: the compiler's
        # working set is per database. One after the other, or side by side when the caller
        # waits; a large text's scan shares them out with the helper thread (_scan).
        per_db = db_literals or HS_DB_LITERALS
        groups = [(literal[i : i + per_db], True) for i in range(0, len(literal), per_db)]
        jobs = [
            (chosen, is_literal) for chosen, is_literal in [*groups, (escaped, False)] if chosen
        ]

        def compile_one(chosen: list[int], is_literal: bool) -> Any:
            expressions = [data[i] if is_literal else _escape(data[i]) for i in chosen]
            db = hs.Database(mode=hs.HS_MODE_BLOCK)
            db.compile(
                expressions=expressions, ids=chosen, elements=len(chosen), literal=is_literal
            )
            return db

        threads = min(len(jobs), usable_cores()) if side_by_side else 1
        if threads > 1:
            # The binding releases the GIL while Hyperscan compiles: a database a thread, each
            # thread taking the next when it is done (with the first one in the caller and one
            # pool thread for the rest, four databases took as long as two: 0.92-0.95 s).
            with ThreadPoolExecutor(threads, thread_name_prefix="redactor-compile") as pool:
                self._dbs = list(pool.map(compile_one, *zip(*jobs)))
        else:
            self._dbs = [compile_one(*job) for job in jobs]
        self._local = threading.local()
        self._scratch_cls = hs.Scratch

    def _scratches(self) -> list[Any]:
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            scratches = self._local.scratches = [self._scratch_cls(db) for db in self._dbs]
        return scratches

    def _scan(self, data: bytes) -> list[tuple[int, int, int]]:
        helper = _helper() if len(self._dbs) > 1 and len(data) >= PARALLEL_SCAN_MIN else None
        if helper is not None:
            # The databases shared out between this thread and the helper: every other one there.
            theirs = helper.start(self._scan_dbs, data, 1, 2)
            if theirs is not None:
                try:
                    mine = self._scan_dbs(data, 0, 2)
                finally:
                    wait([theirs])  # never leave the helper reading a caller's buffer
                return mine + theirs.result()
        return self._scan_dbs(data, 0, 1)

    def _scan_dbs(self, data: bytes, first: int, step: int) -> list[tuple[int, int, int]]:
        """The raw hits in ``data`` of the databases ``first``, ``first + step``, ..."""
        found: list[tuple[int, int, int]] = []
        lengths, append = self._lengths, found.append

        def on_match(index: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append((to - lengths[index], to, index))

        scratches = self._scratches()
        for i in range(first, len(self._dbs), step):
            self._dbs[i].scan(data, match_event_handler=on_match, scratch=scratches[i])
        return found

    def scan(self, text: str | bytes, with_ids: bool = False) -> tuple[list[Span], list[Hit]]:
        """The regions (in the units of ``text``) and the anchor hits, sorted, from one pass."""
        if not self._dbs or not text:
            return [], []
        if self.binary:
            data = bytes(text) if isinstance(text, (bytes, bytearray)) else text.encode("latin-1")
            ascii_text = True
        else:
            # A text matcher takes str (the module's docstring). Not checked: on a 100-character
            # message a cast() or isinstance() would cost ~1% of the whole call (74 ns of 5.2 us).
            ascii_text = text.isascii()
            data = text.encode("ascii") if ascii_text else _utf8(text)  # type: ignore[union-attr,arg-type]
        found = self._scan(data)
        if not found:
            return [], []
        if ascii_text:
            view = text if isinstance(text, str) else text.decode("latin-1")
            resolved = self._resolver.resolve(view, found)
        else:
            if self._utf8_resolver is None:
                self._utf8_resolver = self._plan.resolver(_utf8)
            resolved = self._utf8_resolver.resolve(data, found)
        spans, hits = _regions_and_hits(resolved, with_ids)
        if not ascii_text:
            spans = _to_char_offsets(spans, data)
            hits = _hits_to_char_offsets(hits, data)
        return spans, hits


class LayeredMatcher:
    """A base matcher and a small one over the patterns registered since, as one matcher.

    Made for a snapshot that adds a few secrets to one whose matcher is built (an
    ``::add-mask::`` in a filtered log, a secret fetched in a notebook), so that the add costs a
    build of its own patterns, not of every pattern again: at 1,000 secrets a full build took
    36 ms a command (28 ms of it the plan). The answers are those of one matcher over both
    pattern lists: regions are unions of intervals (merged again when the two overlap or
    touch, their ids united), hits are the base's (the detectors' anchors are in its plan), and
    the hold-back is the longer of the two (a suffix that starts a pattern of either).
    """

    def __init__(self, base: Matcher, delta: Matcher) -> None:
        self.base, self.delta = base, delta
        self.name = base.name
        self.binary = base.binary
        self.windowed = base.windowed or delta.windowed
        self.pattern_count = base.pattern_count + delta.pattern_count
        self.anchor_count = base.anchor_count + delta.anchor_count
        self.maxlen = max(base.maxlen, delta.maxlen)

    def scan(self, text: Any, with_ids: bool = False) -> tuple[list[Span], list[Hit]]:
        spans, hits = self.base.scan(text, with_ids)
        more, more_hits = self.delta.scan(text, with_ids)
        if more:
            spans = merge_regions(spans + more) if spans else more
        if more_hits:
            hits = sorted(hits + more_hits)
        return spans, hits

    def spans(self, text: Any, with_ids: bool = False) -> list[Span]:
        return self.scan(text, with_ids)[0]

    def hold_length(self, text: Any) -> int:
        return max(self.base.hold_length(text), self.delta.hold_length(text))


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
