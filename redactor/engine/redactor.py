"""The engine: secret values -> their forms -> one automaton -> merged regions -> replacement.

Secrets can be added at any time from any thread. Each ``add`` appends to append-only tables and
bumps a version; the next ``redact`` that sees a new version builds a fresh immutable snapshot and
swaps it in, so a redact always works on a complete automaton and never misses a secret whose
``add`` returned before it started.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import operator
import os
import re
import string
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, compress, repeat
from typing import Any, NamedTuple, TypeVar

from redactor.engine.ansi import ESC, ESC_BYTE, across, strip_sequences
from redactor.engine.detect import Detection, Detector
from redactor.engine.encodings import (
    Encoding,
    SecretValue,
    default_encodings,
    forms_and_partials,
    get_encoding,
)
from redactor.engine.matchers import (
    ENGINES,
    HS_BATCH_DB_LITERALS,
    SMALL_DBS_BATCH_MAX,
    EngineUnavailable,
    Hit,
    IndexMatcher,
    LayeredMatcher,
    Matcher,
    Span,
    hyperscan_available,
    import_hyperscan,
    matcher_class,
    merge_regions,
)
from redactor.engine.plan import Plan
from redactor.engine.stream import BytesStreamRedactor, StreamRedactor
from redactor.engine.structure import secret_parts
from redactor.engine.tokens import resolve_detectors

__all__ = [
    "ENV_ENGINE",
    "ENV_HASH_KEY",
    "EngineUnavailable",
    "Redactor",
    "RedactorWarning",
    "Region",
    "engine_from_environment",
    "splice",
]

DEFAULT_REPLACEMENT = "[REDACTED]"
#: The fields a ``replacement`` template may use (see :func:`parse_replacement`).
REPLACEMENT_FIELDS = ("name", "hash")
ENV_HASH_KEY = "REDACTOR_HASH_KEY"
# The key of ``{hash}`` when neither ``hash_key`` nor REDACTOR_HASH_KEY gives one: random, so a
# hash follows a secret within one process only and says nothing to anyone outside it.
_PROCESS_KEY = os.urandom(32)
DEFAULT_MIN_LENGTH = 6
# Texts longer than this are scanned in windows through a stream (same result, proven by the
# chunking property) by matchers that say so: pyahocorasick copies its input to UCS-4, 4 bytes a
# character per call. Hyperscan scans bytes in place and needs no windows.
_WINDOW = 1 << 22
# Forms longer than this are registered as tiles of this length (consecutive, the last one aligned
# to the end). A full occurrence matches every tile, and adjacent matches merge, so it still becomes
# one [REDACTED]. Bounding pattern length bounds what a stream holds back, the automaton's depth,
# and pyahocorasick's cost on periodic patterns, which grows with pattern length. Partial copies
# are the fragment windows' job (below), not the tiles'.
MAX_PATTERN = 256
# Every window of this many characters of a secret's text forms (its spellings, and the repr,
# JSON and HTML escapes that truncating renderers cut; not base64 or hex) matches too, so no
# run of this many consecutive characters of it survives anywhere, and overlapping window matches
# merge, so the whole visible piece of a truncated copy (pandas' 46 characters and "...") becomes
# one [REDACTED]. An ASCII form without whitespace (nearly all) is kept whole as a fragment whose
# windows the plan finds through a few anchors (redactor.engine.plan); the others' windows are
# registered as patterns. benchmarks/bench_fragments.py measures what it costs: no false positive on
# 22 MB of clean text from 2,000 random realistic secrets (passphrases of common words included).
DEFAULT_FRAGMENT_LENGTH = 16
# engine="auto" compiles Hyperscan once the work done with the reference engine reaches this many
# characters, or this many times the total length of the patterns if that is more: Hyperscan
# compiles about 0.5-1 µs per pattern byte and then scans about 50x faster than pyahocorasick
# (0.04 µs a byte), so the compile has paid for itself after about 16 bytes scanned per pattern
# byte (benchmarks/bench_engines.py measures both).
AUTO_MIN_WORK = 1 << 20
AUTO_WORK_PER_PATTERN_CHAR = 16
# From this many forms on, the first call on a snapshot is answered by an IndexMatcher (exact,
# scanning at a few MB/s) and the real matcher is built from the second call on: at 10,000
# secrets (100,000 forms, 74,060 literals in the plan) the index takes 0.04 s of CPU to build,
# the reference automaton 0.12 s and the Hyperscan databases 1.4 s, which the first byte of
# `redactor filter --engine hyperscan` would wait for (benchmarks/bench_startup.py's phases;
# before the plan, 270,474 literals: 0.44, 2.5 and 18 s). Not a background thread for the
# reference: pyahocorasick holds the GIL through make_automaton (one C call, most of the build),
# so the caller would stall mid-chunk anyway; the second call builds it in the caller's thread.
INTERIM_MIN_PATTERNS = 20_000
# A batch (``announce(size, batch=True)``: a file on stdin, whose reader waits for the whole) of
# at least this many bytes waits for the Hyperscan databases after its first chunk instead of
# scanning with the reference while they compile in the background: at 10,000 secrets the
# reference scanned 21-41 MB (25 MB/s) in the 1.6 s that the compile then took with it competing
# for the cores, and Hyperscan's share ran at 400 MB/s; on both cores alone the two databases
# compile in 0.8-0.9 s, and `redactor filter --engine hyperscan` on 300 MB went from 81 to 112
# MB/s end to end, 1.30-1.47x in five runs (benchmarks/bench_engines.py --end-to-end). A pipe, a
# kernel or a log handler is no batch: its output keeps flowing through the reference meanwhile.
# Under "auto" such a batch also counts as fast work from its announcement (_Snapshot.announce).
# 16 MiB is about where waiting pays: at 10,000 secrets a 30 MB file took 1.72 s waiting against
# 2.16 s on the reference, 64 MB 1.84 s against 3.41 s (with 64 MiB here, both stayed on the
# reference); at 1,000 secrets 0.33 against 0.37 s and 0.38 against 0.43 s. A 5 MB file is no
# large batch: its first byte and its end come sooner on the reference.
WAIT_FOR_FAST_MIN = 16 << 20
# A snapshot that adds at most this many patterns (forms and fragments; or the square root of
# LAYER_SCALE times the base's pattern count, when more) to one whose matcher is built layers a
# matcher of its own patterns on that one (LayeredMatcher) instead of building one over all:
# each add then costs a build of the patterns added since the last full build, and a full
# build comes every few dozen secrets. The square root keeps the two costs level as the base
# grows. At 1,000 secrets (26,796 patterns, a full build 36 ms) the cap is 1,309 patterns, about
# 50 secrets; at 10,000, 4,140.
LAYER_MIN = 1_000
LAYER_SCALE = 64
# A whole text longer than this (redact, spans) builds the real matcher at once: the index would
# take longer over it than the build. A stream's chunk takes the interim whatever its size (at
# most 1 MB in the sinks; `redactor filter` reads its first 64 KiB alone: sinks/ci/fdio.py).
INTERIM_MAX_TEXT = 1 << 18
# Region ids from here up are detected tokens, not registered secrets: id DETECTED + k is the k-th
# distinct (kind, {hash}) this redactor detected. Above every secret id, so a region where a
# registered secret and a detected token merge takes the registered secret's label (the lowest
# id wins, as always).
DETECTED = 1 << 40
# A detector's look-behind sees the text before an anchor with escape sequences taken out (a
# token right after a colour code starts a word), looked for in this many characters more than
# the look-behind itself: SGR truecolour is 19 characters, a reset and a colour ~12.
ESC_CONTEXT = 48

#: What ``detect=`` may be: see :func:`redactor.engine.tokens.resolve_detectors`.
DetectSpec = bool | Iterable[str | Detector] | None


class RedactorWarning(UserWarning):
    """A secret could not be registered (too short, empty). Names the secret, never its value."""


class Region(NamedTuple):
    """One merged region that :meth:`Redactor.redact` replaces: ``text[start:stop]`` (characters
    of a str, bytes of bytes), and the ids of the secrets found in it (``None`` unless asked
    for with ``with_ids=True``; :meth:`Redactor.count_names` turns them into names).

    A plain tuple underneath, so ``for start, stop, ids in regions`` keeps working."""

    start: int
    stop: int
    ids: frozenset[int] | None = None


_S = TypeVar("_S", str, bytes)
_tuple_new = tuple.__new__


def _tiles(forms: set[str]) -> set[str]:
    # Nearly every form is short (all but the few whole encodings of a 2,268-character key's
    # 21,593): a set difference keeps those, and only the long ones are cut in a Python loop.
    long = set(compress(forms, map(MAX_PATTERN.__lt__, map(len, forms))))  # no Python loop
    if not long:
        return forms  # the caller's own set, which it goes on to extend
    out = forms - long
    for form in long:
        n = len(form)
        out.update(form[i : i + MAX_PATTERN] for i in range(0, n - MAX_PATTERN, MAX_PATTERN))
        out.add(form[-MAX_PATTERN:])
    return out


# What str.isspace and str.strip call whitespace (re's \s on str is the same Unicode property).
_SPACE = re.compile(r"\s")


def _windows(forms: set[str], length: int, min_length: int) -> set[str]:
    """Every ``length``-character window of each form longer than ``length``, each trimmed: the
    whitespace at a window's edge may be the end of a line in the text, not part of the copy."""
    out: set[str] = set()
    for form in forms:
        n = len(form)
        if n <= length:
            continue
        if form.isalnum() or not _SPACE.search(form):
            # sliced in C (map over slices): a generator step per window was a quarter of
            # adding 10,000 secrets (bench_startup.py's phases)
            out.update(
                map(form.__getitem__, map(slice, range(n - length + 1), range(length, n + 1)))
            )
            continue
        for i in range(n - length + 1):
            window = form[i : i + length].strip()
            if len(window) >= min_length:
                out.add(window)
    return out


def _fragment(form: str, length: int) -> bool:
    """Are ``form``'s windows matched through anchors (redactor.engine.plan)? ASCII (the same
    text in both views, one byte a character) and no whitespace (its windows are not trimmed)."""
    return len(form) > length and form.isascii() and not _SPACE.search(form)


def _latin1(form: str) -> str:
    # The bytes path matches UTF-8 bytes through a latin-1 view: one char per byte, so indexes in
    # the view are byte offsets and invalid UTF-8 passes through untouched. An ASCII form is its
    # own view: returning the same object skips an encode and a decode per form (most forms; a
    # 2,268-character key has 19,265) and lets both tables share it.
    if form.isascii():
        return form
    return form.encode("utf-8", "surrogatepass").decode("latin-1")


class _Compiler:
    """The background Hyperscan compiles of one redactor's snapshots, one at a time.

    Under ``engine="auto"`` a snapshot whose work has crossed the threshold asks for a Hyperscan
    database here and keeps answering with the reference matcher until the database is ready:
    a compile takes seconds at 10,000 secrets (4.05 s for 88,988 forms), which used to be paid
    inside whatever cell, log line or first chunk crossed the threshold. The binding releases
    the GIL while Hyperscan compiles, so the caller's thread keeps scanning meanwhile.

    Only the newest snapshot asked for is compiled next: a secret registered while a compile
    runs makes a newer snapshot, whose request replaces any queued one, and whose matcher stays
    the reference until its own database (with the new secret) is ready. The stale compile runs
    to its end (Hyperscan cannot stop one) and lands in its own, superseded snapshot, which
    nothing uses any more, so no secret is ever looked for in a database that lacks it.
    Nothing is written to disk: a database is derived from the secrets.
    """

    __slots__ = ("_busy", "_cond", "_pid", "_thread", "_wanted", "failed", "warned")

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._wanted: dict[bool, _Snapshot] = {}  # binary -> the newest snapshot asking
        self._busy: tuple[_Snapshot, bool] | None = None  # the compile under way
        self._thread: threading.Thread | None = None
        self.failed: str | None = None  # the exception type of a failed compile
        self.warned = False

    def _after_fork(self) -> None:
        """In a forked child: the compile thread did not come along, and its lock may have been
        held at the fork. Start afresh (the child's snapshots ask again)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._cond = threading.Condition(threading.Lock())
            self._wanted, self._busy, self._thread = {}, None, None

    def request(self, snap: _Snapshot, binary: bool) -> None:
        self._after_fork()
        with self._cond:
            if self.failed is not None:
                return
            queued = self._wanted.get(binary)
            if queued is None or queued.version < snap.version:
                self._wanted[binary] = snap
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="redactor-hyperscan-compile", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._wanted or self.failed is not None:
                    self._wanted.clear()
                    self._busy = None
                    self._thread = None
                    self._cond.notify_all()
                    return
                binary, snap = self._wanted.popitem()
                self._busy = (snap, binary)
            failed = None
            try:
                snap._compile(binary)
            except Exception as exc:  # out of memory, an unsupported CPU: stay on the reference
                failed = type(exc).__name__  # the type only: a message might quote a pattern
            finally:
                with self._cond:
                    if failed is not None:
                        self.failed = failed
                    self._busy = None
                    self._cond.notify_all()

    def pending(self, snap: _Snapshot, binary: bool) -> bool:
        """Is a compile for ``snap`` queued or under way? (Call with the condition held.)"""
        return self._wanted.get(binary) is snap or self._busy == (snap, binary)

    def wait(self, snap: _Snapshot, binary: bool, timeout: float | None) -> bool:
        """Wait until no compile for ``snap`` is queued or under way; False on timeout."""
        self._after_fork()
        with self._cond:
            return self._cond.wait_for(lambda: not self.pending(snap, binary), timeout)


class _Snapshot:
    """An immutable view of the first ``n`` patterns; matchers are built on first use.

    Under ``engine="auto"`` the snapshot keeps count of the work done through it (carried over to
    the next snapshot when secrets are added) and moves from the reference engine to Hyperscan
    once that work pays for compiling a Hyperscan database: the database is compiled in the
    background (:class:`_Compiler`) and swapped in when it is ready, the reference answering
    until then. Both matchers are built from the same patterns and give the same answers (spans,
    ids, anchor hits and hold-back lengths), so output does not depend on when the swap happens.
    """

    __slots__ = (
        "_anchors",
        "_bases",
        "_compiler",
        "_counts",
        "_engine",
        "_fast",
        "_fragments",
        "_interim_used",
        "_lock",
        "_matchers",
        "_plans",
        "_tables",
        "_threshold",
        "batch",
        "scanned",
        "version",
    )

    def __init__(
        self,
        version: int,
        tables: tuple[list[tuple[str, int]], list[tuple[str, int]]],
        engine: str = "ahocorasick",
        threshold: int = 0,
        previous: _Snapshot | None = None,
        anchors: tuple[list[tuple[str, int]], list[tuple[str, int]]] = ([], []),
        fragments: tuple[list[tuple[str, int]], int | None] = ([], None),
    ) -> None:
        self.version = version
        self._tables = tables
        self._anchors = anchors  # the detectors' anchors (negative ids), after the forms
        self._fragments = fragments  # (list, fragment length): the first _counts[2] of the list
        self._plans: list[Plan | None] = [None, None]
        self._counts = (len(tables[0]), len(tables[1]), len(fragments[0]))
        self._matchers: dict[tuple[str, bool], Matcher] = {}
        self._interim_used = [False, False]  # text, bytes: has the first call had its IndexMatcher?
        self._lock = threading.Lock()
        self._engine = engine
        self._threshold = threshold
        self.scanned: int = previous.scanned if previous is not None else 0
        self.batch: int = previous.batch if previous is not None else 0  # Redactor.announce
        self._fast: bool = previous is not None and previous._fast
        self._compiler: _Compiler = previous._compiler if previous is not None else _Compiler()
        # What each table's matcher may be layered on (LayeredMatcher): a built matcher of an
        # earlier snapshot and the counts it covers. Only the matcher is kept, not the snapshot.
        self._bases: list[tuple[Matcher, tuple[int, int, int]] | None] = [None, None]
        if (
            previous is not None
            and all(map(operator.is_, previous._anchors, anchors))  # the same detectors
            and previous._fragments[1] == fragments[1]
        ):
            self._bases = [previous._base_for(False), previous._base_for(True)]
            if previous._counts == self._counts:
                # A value masked again adds no pattern (the tables only grow): the same matchers
                # answer, layered ones included, instead of a rebuild of the delta per add.
                self._matchers.update(previous._matchers)

    def _base_for(self, binary: bool) -> tuple[Matcher, tuple[int, int, int]] | None:
        """What a later snapshot may layer on: this one's built matcher (Hyperscan's first), and
        the counts it covers; else what this one layers on itself."""
        for engine in ("hyperscan", "ahocorasick"):
            m = self._matchers.get((engine, binary))
            if m is not None:
                return m, self._counts
        return self._bases[int(binary)]

    def _layered(self, binary: bool) -> Matcher | None:
        """A LayeredMatcher on an earlier snapshot's matcher (or that matcher itself when no
        pattern was added), or None: nothing to layer on, too many patterns added since
        (LAYER_MIN), or a base of another engine than this snapshot's answers must come from
        (a Hyperscan base under ``hyperscan`` and a fast ``auto``, else the reference)."""
        based = self._bases[int(binary)]
        if based is None:
            return None
        base, counts = based
        wanted = "hyperscan" if self._engine == "hyperscan" or self._fast else "ahocorasick"
        if base.name != wanted:
            return None
        key = ("layered", binary)
        m = self._matchers.get(key)
        if m is not None:
            return m
        start, stop = counts[int(binary)], self._counts[int(binary)]
        parts, length = self._fragments
        first, last = counts[2], self._counts[2]
        added = stop - start + last - first
        if not added:
            return base
        if added > max(LAYER_MIN, math.isqrt(LAYER_SCALE * base.pattern_count)):
            return None
        with self._lock:
            m = self._matchers.get(key)
            if m is None:
                plan = Plan(self._tables[int(binary)][start:stop], parts[first:last], length)
                try:
                    delta = matcher_class(base.name)(plan, binary)
                except Exception:  # as a failed compile elsewhere: the reference answers
                    delta = matcher_class("ahocorasick")(plan, binary)
                m = self._matchers[key] = LayeredMatcher(base, delta)
        return m

    def announce(self, size: int) -> None:
        """Count ``size`` characters of work towards ``auto`` moving to the fast engine."""
        if self._engine == "auto" and not self._fast:
            self.scanned += size  # unlocked: an approximate count is enough to decide
            # A batch that waits for the compile (WAIT_FOR_FAST_MIN) is fast work whatever the
            # threshold says: the threshold's model (16 bytes of text per pattern byte) is a
            # background compile's, beside the reference; at 10,000 secrets it is 196 MB, and a
            # 100 MB file took 4.75 s on the reference against 1.84 s waiting for Hyperscan.
            if self.scanned >= self._threshold or self._waits_for_fast:
                self._fast = True

    def matcher(self, binary: bool, size: int = 0, interim: bool = True) -> Matcher:
        """The matcher for one call. With ``interim``, the first call on a snapshot of at least
        INTERIM_MIN_PATTERNS patterns whose matcher is not built yet gets an IndexMatcher (the
        same answers, built fast), so that output starts without waiting for the real build."""
        engine = self._engine
        if engine != "auto":
            m = self._matchers.get((engine, binary)) or self._layered(binary)
            if m is None and interim:
                m = self._interim(binary) or self._meanwhile(binary)
            return m if m is not None else self._get(engine, binary)
        if size:
            self.announce(size)
        if self._fast:
            m = self._matchers.get(("hyperscan", binary)) or self._layered(binary)
            if m is not None:
                return m
            # The reference first, then the compile: started together, the compile's Python part
            # (encoding and sorting 241,940 patterns at 10,000 secrets) competed for the GIL with
            # the reference's build and delayed the first output (bench_startup.py --pad-mb).
            # The first call of a large snapshot starts neither (the IndexMatcher answers it).
            ref = self._matchers.get(("ahocorasick", binary))
            if ref is None:
                first = self._interim(binary) if interim else None
                if first is not None:
                    return first
                fast = self._wait_for_fast(binary)
                if fast is not None:
                    return fast
                ref = self._get("ahocorasick", binary)
            compiler = self._compiler
            if compiler.failed is None:
                compiler.request(self, binary)
            elif not compiler.warned:
                compiler.warned = True
                # "auto" promised output, not speed: a failed Hyperscan compile must not break
                # the hooks. Say so (the exception's type only) and stay on the reference.
                warnings.warn(
                    f"the hyperscan engine failed ({compiler.failed}); using the reference engine",
                    RedactorWarning,
                    stacklevel=3,
                )
            return ref
        m = self._matchers.get(("ahocorasick", binary)) or self._layered(binary)
        if m is None and interim:
            m = self._interim(binary)
        return m if m is not None else self._get("ahocorasick", binary)

    def _meanwhile(self, binary: bool) -> Matcher | None:
        """Under ``engine="hyperscan"``, a large snapshot's database compiles in the background
        (1.4 s at 10,000 secrets) and the reference answers until it is ready, as under "auto".
        None for a small snapshot (built in the caller, a tenth of a second) and once a compile
        has failed (the caller's build then raises)."""
        if self._engine != "hyperscan" or not self._large(binary) or self._compiler.failed:
            return None
        if self._waits_for_fast:
            return None  # a large batch: built in the caller
        ref = self._get("ahocorasick", binary)  # first, as under "auto" (see matcher)
        self._compiler.request(self, binary)
        return ref

    def _wait_for_fast(self, binary: bool) -> Matcher | None:
        """Under "auto", for a batch of WAIT_FOR_FAST_MIN or more: the Hyperscan matcher, built
        in the caller. None when the work is smaller, or when the build fails (the
        compiler then records it, and the caller goes on with the reference and warns)."""
        compiler = self._compiler
        if not self._waits_for_fast or compiler.failed is not None:
            return None
        try:
            return self._get("hyperscan", binary)
        except Exception as exc:  # as in the compiler's thread: the type only
            compiler.failed = type(exc).__name__
            return None

    @property
    def _waits_for_fast(self) -> bool:
        """Is the work announced a batch large enough to wait for Hyperscan (WAIT_FOR_FAST_MIN)?"""
        return self.batch >= WAIT_FOR_FAST_MIN

    def _large(self, binary: bool) -> bool:
        return self._counts[int(binary)] >= INTERIM_MIN_PATTERNS

    def _interim(self, binary: bool) -> Matcher | None:
        """An IndexMatcher for the first call on a large snapshot, else None (build the real one).
        Not kept: it is garbage once that call returns, and the real matcher is built next."""
        if not self._large(binary):
            return None
        with self._lock:
            if self._interim_used[int(binary)]:
                return None
            self._interim_used[int(binary)] = True
        return IndexMatcher(self._plan(binary), binary)

    def _plan(self, binary: bool) -> Plan:
        """The literals and checks of this snapshot's ``binary`` table (one for every engine)."""
        plan = self._plans[int(binary)]
        if plan is None:
            with self._lock:
                plan = self._plans[int(binary)]
                if plan is None:
                    table, n = self._tables[int(binary)], self._counts[int(binary)]
                    parts, length = self._fragments
                    patterns = chain(table[:n], self._anchors[int(binary)])  # a copy in C
                    parts = parts[: self._counts[2]]
                    plan = self._plans[int(binary)] = Plan(patterns, parts, length)
        return plan

    def _get(self, engine: str, binary: bool) -> Matcher:
        key = (engine, binary)
        m = self._matchers.get(key)
        if m is None:
            self._plan(binary)  # built first: it takes the same lock
            with self._lock:
                m = self._matchers.get(key)
                if m is None:
                    m = self._matchers[key] = self._build(engine, binary, waited=True)
        return m

    def _build(self, engine: str, binary: bool, waited: bool = False) -> Matcher:
        """A matcher of this snapshot's plan; ``waited``: the caller waits for it, so Hyperscan
        may compile its databases on every core (HyperscanMatcher's ``side_by_side``)."""
        if engine == "hyperscan" and waited:
            # A batch of known size under SMALL_DBS_BATCH_MAX: smaller databases, a faster
            # compile (HS_BATCH_DB_LITERALS).
            small = 0 < self.batch < SMALL_DBS_BATCH_MAX
            per_db = HS_BATCH_DB_LITERALS if small else None
            return matcher_class(engine)(
                self._plan(binary), binary, side_by_side=True, db_literals=per_db
            )
        return matcher_class(engine)(self._plan(binary), binary)

    def _compile(self, binary: bool) -> None:
        """Build the Hyperscan matcher (in the compiler's thread) and swap it in: one dict store,
        atomic under the GIL, so a reader gets either matcher, both complete. The reference
        matcher is then dropped from this snapshot (calls under way keep their own reference),
        so the two are not both held for long."""
        key = ("hyperscan", binary)
        if key not in self._matchers:
            self._matchers[key] = self._build("hyperscan", binary)
        self._matchers.pop(("ahocorasick", binary), None)

    def settle(self, binary: bool, timeout: float | None = None) -> bool:
        """Wait for a background compile of this snapshot's ``binary`` matcher, if one is queued
        or under way; False when ``timeout`` ran out first."""
        return self._compiler.wait(self, binary, timeout)


class Redactor:
    """Replaces every known form of every registered secret with ``replacement``.

    >>> r = Redactor()
    >>> r.add("hunter2-password", name="db/password")
    >>> r.redact("login with hunter2-password")
    'login with [REDACTED]'

    ``engine`` picks the matcher: ``"ahocorasick"`` (the reference), ``"hyperscan"`` (needs
    ``redactor[fast]``) or ``"auto"``: the reference for small work, Hyperscan once it is installed
    and the work done pays for its compile. ``None`` reads ``REDACTOR_ENGINE``, else ``"auto"``.
    Every engine gives exactly the same output.

    ``fragment_length`` (16 by default, raised to ``min_length`` if that is more): for a secret
    longer than this, every window of this many characters of its text forms is registered as
    well, so a partial copy (a truncated repr, the head of a long token) is redacted whole.
    ``None`` switches that off: only whole forms match.

    ``detect`` turns on token detectors (:mod:`redactor.engine.detect`): secrets nobody
    registered, recognised by their shape (a GitHub token, an AWS key) in the same pass. ``False``
    (the default here) none, ``True``/``None`` the curated default set, or a list of kinds and
    :class:`~redactor.engine.detect.Detector` objects. The library constructor defaults to off so
    that a bare ``Redactor()`` does only what it is told; the configuration layer
    (:mod:`redactor.config`) turns the default set on for users. With ``learn`` (the default), a
    detected value is also registered as a secret (named by its kind) once the call that detected
    it returns (a stream: at ``flush``), so its encodings are hidden from then on; the call's own
    output does not depend on it.
    """

    fragment_length: int | None = DEFAULT_FRAGMENT_LENGTH  # for states pickled before it existed

    def __init__(
        self,
        min_length: int = DEFAULT_MIN_LENGTH,
        replacement: str = DEFAULT_REPLACEMENT,
        encodings: Iterable[str | Encoding] | None = None,
        engine: str | None = None,
        fragment_length: int | None = DEFAULT_FRAGMENT_LENGTH,
        *,
        hash_key: str | bytes | None = None,
        allow: Iterable[str | bytes] = (),
        allow_names: Iterable[str] = (),
        detect: DetectSpec = False,
        learn: bool = True,
    ) -> None:
        if min_length < 1:
            raise ValueError("min_length must be at least 1")
        if fragment_length is not None and not 1 <= fragment_length <= MAX_PATTERN:
            raise ValueError(
                f"fragment_length must be between 1 and {MAX_PATTERN}, "
                "or None to register whole forms only"
            )
        # A window is never shorter than the shortest secret accepted (min_length 20 with the
        # default fragment length registers windows of 20).
        self.fragment_length = None if fragment_length is None else max(fragment_length, min_length)
        self.engine = resolve_engine(engine)
        self.min_length = min_length
        self._hash_key = _hash_key(hash_key)
        self._digests: list[str] = []  # the {hash} of each secret id (never the value)
        self._labels: list[str] = []  # the replacement of each secret id, when labelled
        self.allow: frozenset[str] = frozenset(_allowed(allow))
        self.allow_names: frozenset[str] = frozenset(allow_names)
        names = default_encodings() if encodings is None else encodings
        self._encodings: tuple[Encoding, ...] = tuple(
            e if isinstance(e, Encoding) else get_encoding(e) for e in names
        )
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._names: list[str] = []
        self._set_replacement(replacement)
        self._text_table: list[tuple[str, int]] = []
        self._bytes_table: list[tuple[str, int]] = []
        # One set for both tables while they hold the same forms (every form so far ASCII, the
        # usual case): 8.4 MB less at 10,000 secrets, towards the 300 MB target.
        self._text_seen: set[str] = set()
        self._bytes_seen: set[str] = self._text_seen
        # The text forms whose windows match too (ASCII: one list serves both views), each once.
        self._fragments: list[tuple[str, int]] = []
        self._fragment_seen: set[str] = set()
        self._version = 0
        self._pattern_chars = 0
        self.detectors: tuple[Detector, ...] = resolve_detectors(detect)
        self.learn = learn
        self._detected: list[tuple[str, str]] = []  # (kind, {hash}) of each detected-token id
        self._detected_ids: dict[tuple[str, str], int] = {}
        self._learned: set[bytes] = set()  # keyed hashes of the values learned (never values)
        self._set_detectors()
        self._snapshot = self._new_snapshot(None)

    # -- registration ------------------------------------------------------------------------

    @property
    def encodings(self) -> list[str]:
        return [e.name for e in self._encodings]

    @property
    def secret_names(self) -> list[str]:
        """The names of the registered secrets (never their values), in order of registration."""
        with self._lock:
            return list(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __bool__(self) -> bool:
        # A redactor is true even with no secret yet: without this, ``__len__`` made an empty one
        # false, and ``redactor or get_redactor()`` (in the hooks) silently chose the default.
        return True

    @property
    def pattern_count(self) -> int:
        """How many distinct whole text forms are registered (the fragments' windows, which
        match through anchors, are not counted: see :attr:`fragment_count`)."""
        return len(self._text_table)

    @property
    def fragment_count(self) -> int:
        """How many text forms are kept whole as fragments, every window of which matches."""
        return len(self._fragments)

    def add(self, value: str | bytes, name: str | None = None) -> bool:
        """Register a secret and all its forms. Returns False (with a warning) when refused.

        A structured value (JSON, a URL with a password, a connection string, a dotenv, INI or
        YAML blob) also registers its secret parts (:func:`~redactor.engine.structure.secret_parts`)
        as secrets named ``name#label``, so a re-formatted or partial copy is still hidden."""
        if not isinstance(value, (str, bytes, bytearray, memoryview)):
            raise TypeError(
                f"secret {name or '<unnamed>'!r} must be str or bytes, not {type(value).__name__}"
            )
        secret = SecretValue.of(value)
        accepted = self._add_one(secret, name or "<unnamed>", stacklevel=3)
        if accepted and secret.text is not None:
            for label, part in secret_parts(secret.text):
                self._add_one(SecretValue.of(part), f"{name}{label}" if name else label, 3)
        return accepted

    def _add_one(
        self, secret: SecretValue, label: str, stacklevel: int, quiet: bool = False
    ) -> bool:
        if self.allow_names or self.allow:
            if label in self.allow_names or _allowed_value(secret, self.allow):
                if quiet:
                    return False
                warnings.warn(
                    f"secret {label!r} is on the allow list and will not be redacted",
                    RedactorWarning,
                    stacklevel=stacklevel,
                )
                return False
        core = secret.text.strip() if secret.text is not None else secret.data
        if len(core) < self.min_length:
            reason = "empty or whitespace-only" if not core else "too short"
            if quiet:
                return False
            warnings.warn(
                f"secret {label!r} is {reason} (fewer than {self.min_length} characters) "
                "and will not be redacted",
                RedactorWarning,
                stacklevel=stacklevel,
            )
            return False
        all_forms, partials = forms_and_partials(secret, self._encodings)
        min_length = self.min_length
        # compress/map: the same filter without a Python step per form (3x faster at 20k forms)
        forms = set(compress(all_forms, map(min_length.__le__, map(len, all_forms))))
        # All-ASCII forms (nearly every secret; one join checks them) are their own latin-1 view.
        same = "".join(forms).isascii()
        bytes_forms = set(forms) if same else {_latin1(f) for f in forms}
        if secret.text is None:
            # Not UTF-8: the raw bytes on the bytes path, and on the text path the str that a
            # surrogateescape decoder (sys.stdout on a POSIX locale) would make of them.
            raw = secret.data.decode("utf-8", "surrogateescape")
            forms.add(raw)
            partials.add(raw)
            bytes_forms.add(secret.data.decode("latin-1"))
        if self.allow:  # a form that is an allowed word stays visible (a copy of it is no leak)
            forms -= self.allow
            bytes_forms -= {_latin1(a) for a in self.allow}
        same = same and not (secret.text is None or self.allow)
        forms = _tiles(forms)  # and the bytes forms too when they are the same set (`same`)
        bytes_forms = set(forms) if same else _tiles(bytes_forms)
        fragments: set[str] = set()
        if self.fragment_length is not None:
            length = self.fragment_length
            # The windows of an ASCII form without whitespace are found through a few anchors
            # (see redactor.engine.plan): the form is kept whole as a fragment. The others'
            # windows (trimmed, non-ASCII) are registered as patterns, as they were.
            fragments = set(compress(partials, map(_fragment, partials, repeat(length))))
            windows = _windows(partials - fragments, length, self.min_length)
            forms |= windows
            # the same str object where the latin-1 view is the same text (ASCII): half the memory
            bytes_forms |= windows if "".join(windows).isascii() else set(map(_latin1, windows))
            if secret.text is None:
                raw_bytes = {secret.data.decode("latin-1")}
                bytes_forms |= _windows(raw_bytes, self.fragment_length, self.min_length)
        with self._lock:
            secret_id = len(self._names)
            self._names.append(label)
            # hmac.digest: OpenSSL's one-shot HMAC, the same bytes as hmac.new(...).digest()
            # without building an HMAC object (9 us a secret, a tenth of registering a token)
            digest = hmac.digest(self._hash_key, secret.data, "sha256").hex()[:8]
            self._digests.append(digest)
            if self._template is not None:
                self._labels.append(self._render(label, digest))
            # An ASCII form is the same in both tables: one (form, id) pair serves both, which
            # keeps 10,000 secrets' fragment windows within the 300 MB build target.
            # Set and list operations, not a loop per form: the loop was most of adding a
            # 2,268-character key (21,593 forms a table), issue 14's %load_ext budget.
            if self._bytes_seen is self._text_seen and bytes_forms != forms:
                self._bytes_seen = set(self._text_seen)  # the tables part from here on
            new_text = forms - self._text_seen
            self._text_seen |= new_text
            # zip/map build the (form, id) pairs in C; a bytes form that is also a text form
            # (any ASCII one) reuses the text table's pair: pairs.get(form, (form, id)).
            pairs = dict(zip(new_text, zip(new_text, repeat(secret_id))))
            self._text_table += pairs.values()
            if self._bytes_seen is self._text_seen:
                new_bytes = new_text  # the same forms: the same new ones
            else:
                new_bytes = bytes_forms - self._bytes_seen
                self._bytes_seen |= new_bytes
            self._bytes_table += map(pairs.get, new_bytes, zip(new_bytes, repeat(secret_id)))
            self._pattern_chars += sum(map(len, new_text)) + sum(map(len, new_bytes))
            if fragments:
                new_parts = fragments - self._fragment_seen
                self._fragment_seen |= new_parts
                self._fragments += zip(new_parts, repeat(secret_id))
            self._version += 1
        return True

    def add_many(self, items: Iterable[tuple[str | None, str | bytes]]) -> int:
        """Register ``(name, value)`` pairs; returns how many were accepted."""
        return sum(self.add(value, name) for name, value in items)

    def forms(self, value: str | bytes, name: str | None = None) -> set[str]:
        """The whole text forms that :meth:`add` would register for ``value`` (its spellings
        under every encoding of this redactor, and those of its structured parts), each at least
        ``min_length`` long; empty when ``add`` would refuse it. Registers nothing.

        For handing a secret to another masker (a CI runner's, ``redactor ci-mask``): the forms
        without this engine's matching details, the fragment windows and the tiles of long
        forms, which only make sense to a matcher that merges adjacent hits into one region."""
        secret = SecretValue.of(value)
        out = self._whole_forms(secret, name or "<unnamed>")
        if out and secret.text is not None:
            for label, part in secret_parts(secret.text):
                out |= self._whole_forms(SecretValue.of(part), f"{name}{label}" if name else label)
        return out

    def _whole_forms(self, secret: SecretValue, label: str) -> set[str]:
        # The same refusals as _add_one (allowed, too short), without its warnings.
        if label in self.allow_names or _allowed_value(secret, self.allow):
            return set()
        core = secret.text.strip() if secret.text is not None else secret.data
        if len(core) < self.min_length:
            return set()
        all_forms = forms_and_partials(secret, self._encodings)[0]
        return {f for f in all_forms if len(f) >= self.min_length} - self.allow

    # -- replacement -------------------------------------------------------------------------

    @property
    def labelled(self) -> bool:
        """Whether the replacement names the secret (``{name}`` or ``{hash}``): then each region
        needs the ids of its secrets, and a stream emits a region's replacement once it is closed."""
        return self._template is not None

    def secret_hash(self, value: str | bytes) -> str:
        """The ``{hash}`` of ``value``: 8 hex digits of HMAC-SHA256 under this redactor's key.

        Keyed, never a bare SHA-256: a short password is found from its bare hash by trying
        every candidate; without the key the hash says nothing."""
        data = SecretValue.of(value).data
        return hmac.new(self._hash_key, data, hashlib.sha256).hexdigest()[:8]

    def _set_replacement(self, replacement: str) -> None:
        template = parse_replacement(replacement)  # None for a plain replacement
        fixed = replacement if template is None else None
        if template is not None and all(f is None for _, f in template):
            fixed = "".join(lit for lit, _ in template)  # only {{ or }}: one literal
            template = None
        self.replacement = replacement
        self._template: list[tuple[str, str | None]] | None = template
        self._fixed: str | None = fixed
        self._replacement_bytes = (fixed or "").encode("utf-8")
        if template is not None:
            self._labels = [self._render(n, d) for n, d in zip(self._names, self._digests)]
        else:
            self._labels = []

    def _render(self, name: str, digest: str) -> str:
        assert self._template is not None
        fields = {"name": name, "hash": digest}
        return "".join(lit + (fields[f] if f else "") for lit, f in self._template)

    def with_replacement(self, replacement: str) -> Redactor:
        """A copy with the same secrets (and hash key) and another ``replacement``: a new object,
        so that streams following the process-wide redactor (``set_redactor``) release what they
        hold under the old replacement and go on with the new one."""
        parse_replacement(replacement)  # a bad template fails here, before any copy
        copy = Redactor.__new__(Redactor)
        copy.__setstate__(self.__getstate__())
        with copy._lock:
            copy._set_replacement(replacement)
        return copy

    def replacement_for(self, ids: Iterable[int] | None) -> str:
        """The text that replaces a region holding the secrets ``ids``.

        A region that covers several secrets (overlapping or adjacent copies merge) is labelled
        with the one registered first (the lowest id): one fixed rule, so every sink and engine
        gives the same text. Without ids (a sink that asked for none) a labelled template
        cannot be filled: :meth:`splice` finds them itself."""
        if self._template is None:
            return self._fixed  # type: ignore[return-value]
        if not ids:
            raise ValueError("a labelled replacement needs the region's secret ids (with_ids=True)")
        first = min(ids)
        if first >= DETECTED:
            return self._render(*self._detected[first - DETECTED])
        return self._labels[first]

    def _name_of(self, secret_id: int) -> str:
        if secret_id >= DETECTED:
            return self._detected[secret_id - DETECTED][0]
        return self._names[secret_id]

    def _splice_labelled(self, text: _S, regions: Sequence[Span]) -> _S:
        binary = not isinstance(text, str)
        parts: list[Any] = []
        for start, stop, ids in regions:
            rep = self.replacement_for(ids)
            parts.append((start, stop, rep.encode("utf-8") if binary else rep))
        return splice(text, parts)

    # -- matching ----------------------------------------------------------------------------

    def _new_snapshot(self, previous: _Snapshot | None) -> _Snapshot:
        engine = self.engine
        if engine == "auto" and not hyperscan_available():
            engine = "ahocorasick"
        if previous is not None and previous._engine == "ahocorasick":
            engine = "ahocorasick"  # Hyperscan failed for this redactor: do not retry each add
        threshold = max(AUTO_MIN_WORK, AUTO_WORK_PER_PATTERN_CHAR * self._pattern_chars)
        tables = (self._text_table, self._bytes_table)
        anchors = (self._anchor_text, self._anchor_bytes)
        fragments = (self._fragments, self.fragment_length)
        return _Snapshot(self._version, tables, engine, threshold, previous, anchors, fragments)

    def _current(self) -> _Snapshot:
        snap = self._snapshot
        if snap.version == self._version:
            return snap
        with self._build_lock:
            snap = self._snapshot
            if snap.version != self._version:
                with self._lock:
                    snap = self._new_snapshot(snap)
                self._snapshot = snap
        return snap

    # -- token detection ---------------------------------------------------------------------

    def _set_detectors(self) -> None:
        """The detectors' anchors as patterns for both tables: each distinct anchor once, with
        the reserved id ``-1 - k`` (see :mod:`redactor.engine.matchers`), and the detectors
        (indexes into ``detectors``) that anchor ``k`` starts."""
        by_anchor: dict[str, list[int]] = {}
        for index, detector in enumerate(self.detectors):
            for anchor in detector.anchors:
                by_anchor.setdefault(anchor, []).append(index)
        self._anchor_dets: tuple[tuple[int, ...], ...] = tuple(map(tuple, by_anchor.values()))
        self._anchor_text = [(a, -1 - k) for k, a in enumerate(by_anchor)]
        self._anchor_lengths = [len(a) for a in by_anchor]
        self._anchor_bytes = [(_latin1(a), -1 - k) for k, a in enumerate(by_anchor)]
        #: What a stream keeps of the text it emitted, for look-behind assertions: the longest
        #: look-behind any detector needs, and room for escape sequences before an anchor.
        self._lookbehind = max((d.lookbehind + ESC_CONTEXT for d in self.detectors), default=0)

    @property
    def max_hold(self) -> int:
        """The most a stream holds back for an open anchor: the largest ``max_length +
        lookahead`` of the enabled detectors (0 without detectors)."""
        return max((d.reach for d in self.detectors), default=0)

    @property
    def reach(self) -> int:
        """How far one match can reach, in characters: the longest pattern or detector window,
        plus the look-behind context before it. A reader that scans a long text in windows
        overlaps them by more than this (``redactor scan``, see :mod:`redactor.sinks.scan`)."""
        longest = self._current().matcher(False, 0).maxlen
        return max(longest, self.max_hold) + self._lookbehind

    def _find(
        self,
        snap: _Snapshot,
        matcher: Matcher,
        text: Any,
        binary: bool,
        with_ids: bool,
        learned: list[tuple[str, str]] | None = None,
    ) -> list[Span]:
        """The regions of one whole text: secret forms, verified tokens (their ``(kind,
        value)`` appended to ``learned``) and, when it holds ESC, matches across escapes."""
        if matcher.anchor_count:
            spans, hits = matcher.scan(text, with_ids)
            if hits:
                view = text.decode("latin-1") if isinstance(text, bytes) else text
                detections, _ = self._detect(view, hits, True, "")
                if detections:
                    spans = self._with_detections(
                        spans, view, detections, binary, with_ids, learned
                    )
        else:
            spans = matcher.spans(text, with_ids)
        # Text without ESC (a memchr) is matched as it is; with one, also across escape sequences.
        if not matcher.pattern_count or (ESC_BYTE if binary else ESC) not in text:
            return spans
        return across(text, spans, lambda size: snap.matcher(binary, size), with_ids)

    def _detect(
        self, view: str, hits: list[Hit], final: bool, before: str
    ) -> tuple[list[Detection], int]:
        """The verified tokens at the anchor ``hits`` (sorted) of ``view``, and where the first
        open anchor starts (one whose window reaches past the end of a text that is not
        ``final``; ``len(view)`` when none): a stream holds from there. ``before`` is the text
        that precedes ``view`` (a stream's emitted context), for look-behind assertions.

        Bytes are verified on their latin-1 view: one character per byte, so offsets are byte
        offsets, and tokens are ASCII, so their shapes are the same in both views."""
        detectors, by_anchor, allow = self.detectors, self._anchor_dets, self.allow
        anchor_lengths = self._anchor_lengths
        n = len(view)
        out: list[Detection] = []
        for at, k in hits:
            for index in by_anchor[k]:
                detector = detectors[index]
                if not final and at + detector.reach > n:
                    if not detector.closed(view, at, anchor_lengths[k]):
                        return out, at
                # The text before the anchor that look-behind may see: from the view, or (a
                # stream) partly from the text already emitted, which the stream keeps, so the
                # result is the one-shot result however the text was chunked.
                lb = detector.lookbehind
                reach = lb + ESC_CONTEXT
                if at >= reach:
                    pre = None  # view[at - reach : at], copied only when it holds an ESC
                    plain = view.find(ESC, at - reach, at) < 0
                elif before:
                    pre = (before + view[:at])[-reach:]
                    plain = at >= lb and ESC not in pre
                else:
                    pre = view[:at]
                    plain = ESC not in pre
                if plain:
                    found = detector.verify(view, at)
                else:
                    if pre is None:
                        pre = view[at - reach : at]
                    # Escape sequences before the anchor are taken out: look-behind sees what a
                    # reader sees (a token right after a colour code starts a word).
                    ctx = (strip_sequences(pre) if ESC in pre else pre)[-lb:] if lb else ""
                    found = detector.verify(ctx + view[at : at + detector.reach], len(ctx))
                    if found is not None:
                        shift = at - len(ctx)
                        found = Detection(found.kind, found.start + shift, found.stop + shift)
                if found is not None and not (allow and view[found.start : found.stop] in allow):
                    out.append(found)
        return out, n

    def _with_detections(
        self,
        spans: list[Span],
        view: str,
        detections: list[Detection],
        binary: bool,
        with_ids: bool,
        learned: list[tuple[str, str]] | None,
    ) -> list[Span]:
        """``spans`` merged with the detected tokens' regions (overlapping or touching ones
        become one region, as secret regions do)."""
        regions: list[Span] = []
        for d in detections:
            value = view[d.start : d.stop]
            if with_ids:
                ids: frozenset[int] | None = frozenset(
                    (self._detection_id(d.kind, _value_bytes(value, binary)),)
                )
            else:
                ids = None
            regions.append((d.start, d.stop, ids))
            if learned is not None:
                learned.append((d.kind, value))
        return merge_regions(spans + regions)

    def _detection_id(self, kind: str, data: bytes) -> int:
        """The region id of a detected token: one per distinct ``(kind, {hash})``, so the same
        token gets the same label everywhere (and the same as once it is learned)."""
        digest = self.secret_hash(data)
        key = (kind, digest)
        found = self._detected_ids.get(key)
        if found is None:
            with self._lock:
                found = self._detected_ids.get(key)
                if found is None:
                    found = self._detected_ids[key] = DETECTED + len(self._detected)
                    self._detected.append(key)
        return found

    def learn_tokens(self, found: Iterable[tuple[str, str]]) -> None:
        """Register detected ``(kind, value)`` pairs as secrets, as the call that found them
        would have at its end. For a caller that reads one text in several calls with
        :attr:`learn` off, so that no part sees what an earlier part taught (``redactor scan``'s
        windows over a large file), and then learns once; a no-op when :attr:`learn` is off."""
        self._learn(list(found), False)

    def _learn(self, learned: list[tuple[str, str]], binary: bool) -> None:
        """Register detected values as secrets named by their kind (each once; values too short
        to be registered are not learned, silently). Called after the output that detected
        them is made, so that output does not depend on it."""
        if not self.learn:
            return
        seen = self._bytes_seen if binary else self._text_seen
        for kind, value in learned:
            data = _value_bytes(value, binary)
            key = hmac.new(self._hash_key, data, hashlib.sha256).digest()
            if key in self._learned:
                continue
            self._learned.add(key)
            if value in seen:  # registered already (by its owner, or learned by a copy)
                continue
            secret = SecretValue.of(data) if binary else SecretValue.of(value)
            self._add_one(secret, kind, stacklevel=4, quiet=True)

    def matcher(self, binary: bool = False) -> Matcher:
        """The current matcher (text or bytes view); immutable, safe to keep for one operation.

        Reading it has no effect on the ``auto`` policy (see :meth:`announce`); it is built on
        first use and kept."""
        return self._current().matcher(binary, interim=False)

    def announce(self, size: int, *, batch: bool = False) -> None:
        """Say that about ``size`` characters (or bytes) are about to be scanned by other means
        than this redactor's own calls (a file read in chunks by a pump, a Spark partition), so
        that ``engine="auto"`` moves to the fast engine from the first chunk when the whole work
        pays for its compile, rather than after it has been done slowly. ``redact``, ``spans``
        and streams count their own work already. No effect under ``ahocorasick``.

        ``batch``: the work is a batch whose reader waits for all of it (a file on stdin, not a
        pipe whose lines someone watches): from WAIT_FOR_FAST_MIN bytes on, ``auto`` and
        ``hyperscan`` then wait for the Hyperscan compile after the first chunk instead of
        scanning with the reference while it runs in the background."""
        if size > 0:
            snap = self._current()
            if batch:
                snap.batch += size  # unlocked, as scanned: approximate is enough
            snap.announce(size)

    def prepare(self, *, text: bool = True, binary: bool = False) -> None:
        """Build the matchers now (once per Spark worker, before a fork) rather than at the
        first redact."""
        snap = self._current()
        for kind in [b for b, wanted in ((False, text), (True, binary)) if wanted]:
            snap.matcher(kind, interim=False)
            snap.settle(kind)  # no compile thread left running into a fork

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until a Hyperscan database that ``engine="auto"`` is compiling in the background
        for the current secrets is ready (or has failed), and return True; False if ``timeout``
        seconds ran out first. Never needed for correct output (the reference engine answers
        until the swap, with the same result); for measurements, tests, and before a fork."""
        snap = self._current()
        return snap.settle(False, timeout) and snap.settle(True, timeout)

    def spans(self, text: str | bytes, *, with_ids: bool = False) -> list[Region]:
        """The merged :class:`Region` s that :meth:`redact` (str) or :meth:`redact_bytes` (bytes)
        replaces, in characters or bytes: matches on the text and, when it holds escape
        sequences, across them (:mod:`redactor.engine.ansi`). The size scanned counts towards
        ``engine="auto"`` switching engines."""
        binary = not isinstance(text, str)
        if binary:
            if not isinstance(text, (bytes, bytearray, memoryview)):
                raise TypeError(f"spans() takes str or bytes, not {type(text).__name__}")
            text = bytes(text)
        if not text:
            return []
        snap = self._current()
        learned: list[tuple[str, str]] = []
        matcher = snap.matcher(binary, len(text), interim=len(text) <= INTERIM_MAX_TEXT)
        found = self._find(snap, matcher, text, binary, with_ids, learned)
        if learned:
            self._learn(learned, binary)
        # tuple.__new__ directly: 1.4 µs a region instead of 1.9 with Region._make (measured on
        # 20,000 regions), which only span-dense text notices; matching costs more than that.
        return [_tuple_new(Region, span) for span in found] if found else []

    def redact(self, text: str) -> str:
        """``text`` with every region covered by a secret form replaced once."""
        if not isinstance(text, str):
            raise TypeError(f"redact() takes str, not {type(text).__name__}")
        if not text:
            return text
        snap = self._current()
        matcher = snap.matcher(False, len(text), interim=len(text) <= INTERIM_MAX_TEXT)
        if len(text) > _WINDOW and matcher.windowed:
            return _windowed(self.stream(), text)
        labelled = self._template is not None
        learned: list[tuple[str, str]] = []
        spans = self._find(snap, matcher, text, False, labelled, learned)
        if not spans:
            return text
        out = self._splice_labelled(text, spans) if labelled else splice(text, spans, self._fixed)
        if learned:
            self._learn(learned, False)
        return out

    def redact_bytes(self, data: bytes) -> bytes:
        """The same on bytes: UTF-8 forms are matched, anything else passes through untouched."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"redact_bytes() takes bytes, not {type(data).__name__}")
        data = bytes(data)
        if not data:
            return data
        snap = self._current()
        matcher = snap.matcher(True, len(data), interim=len(data) <= INTERIM_MAX_TEXT)
        if len(data) > _WINDOW and matcher.windowed:
            return _windowed(self.bytes_stream(), data)
        labelled = self._template is not None
        learned: list[tuple[str, str]] = []
        spans = self._find(snap, matcher, data, True, labelled, learned)
        if not spans:
            return data
        if labelled:
            out = self._splice_labelled(data, spans)
        else:
            out = splice(data, spans, self._replacement_bytes)
        if learned:
            self._learn(learned, True)
        return out

    def redact_with_counts(self, text: str) -> tuple[str, Counter[str]]:
        """Like :meth:`redact`, and how many regions each secret (by name) was found in."""
        if not text:
            return text, Counter()
        spans = self.spans(text, with_ids=True)
        if not spans:
            return text, Counter()
        return self.splice(text, spans), self.count_names(spans)

    def count_names(self, spans: Sequence[Span]) -> Counter[str]:
        """How many of ``spans`` (regions from ``spans(..., with_ids=True)``) each secret, by
        name, was found in (a region counts once per name)."""
        counts: Counter[str] = Counter()
        name_of = self._name_of
        for _, _, ids in spans:
            for name in {name_of(i) for i in ids or ()}:
                counts[name] += 1
        return counts

    def names_of(self, region: Span) -> frozenset[str]:
        """The names of the secrets found in one region (from ``spans(..., with_ids=True)``); a
        detected token's name is its kind."""
        name_of = self._name_of
        return frozenset(name_of(i) for i in region[2] or ())

    def detected_kinds(self, region: Span) -> frozenset[str]:
        """The kinds of the tokens detected in one region (from ``spans(..., with_ids=True)``),
        empty when only registered secrets are in it: for a report of what detection found."""
        detected = self._detected
        return frozenset(detected[i - DETECTED][0] for i in region[2] or () if i >= DETECTED)

    def splice(self, text: _S, regions: Sequence[Span]) -> _S:
        """``text`` (str or bytes) with each region replaced by this redactor's replacement:
        what :meth:`redact` does with the regions :meth:`spans` found, for a sink that chose or
        shifted them itself."""
        if not regions:
            return text
        if self._template is not None:
            if any(not r[2] for r in regions):
                regions = self._with_ids(text, regions)
            return self._splice_labelled(text, regions)
        if isinstance(text, str):
            return splice(text, regions, self._fixed)
        return splice(text, regions, self._replacement_bytes)

    def _with_ids(self, text: str | bytes, regions: Sequence[Span]) -> list[Span]:
        """``regions`` with the ids of the matches that overlap each one, for a sink that asked
        for none (a region no match overlaps, chosen by the sink itself, gets them all)."""
        found = self.spans(text, with_ids=True)
        out: list[Span] = []
        for start, stop, ids in regions:
            if not ids:
                got: set[int] = set()
                for a, b, more in found:
                    if a < stop and start < b:
                        got |= more or frozenset()
                ids = frozenset(got or range(len(self._names)))
            out.append((start, stop, ids))
        return out

    def contains_secret(self, text: str) -> bool:
        return bool(text) and bool(self.spans(text))

    def stream(self, counts: Counter[str] | None = None) -> StreamRedactor:
        """A chunk-safe redactor for a text stream: ``feed()`` what arrives, ``flush()`` at the end.

        With ``counts``, each region is also counted there by secret name once it is closed.
        (:class:`redactor.engine.stream.Stream` offers the other options: bytes, following a
        redactor that may be replaced.)"""
        return StreamRedactor(self, counts)

    def bytes_stream(self, counts: Counter[str] | None = None) -> BytesStreamRedactor:
        """The same for a binary stream (a pipe, a log file)."""
        return BytesStreamRedactor(self, counts)

    # -- pickling ----------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        """Settings and registered forms, not locks or matchers: the receiver builds its own.

        The state holds every secret form, so a pickled Redactor is as sensitive as the secrets
        themselves (Spark ships it to executors once per job as a broadcast variable).
        """
        with self._lock:
            state = {k: v for k, v in self.__dict__.items() if k not in _UNPICKLED}
            for key in (
                "_names",
                "_text_table",
                "_bytes_table",
                "_fragments",
                "_digests",
                "_labels",
                "_detected",
            ):
                state[key] = list(state[key])
            state["_learned"] = set(state["_learned"])
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "_template" not in state:  # pickled before labelled replacements: plain, no hashes
            self._hash_key = _PROCESS_KEY
            self._digests = ["?" * 8] * len(self._names)
            self.allow = self.allow_names = frozenset()
            self._set_replacement(self.replacement)
        if "detectors" not in state:  # pickled before token detectors
            self.detectors, self.learn = (), True
            self._detected, self._learned = [], set()
        if "_fragments" not in state:  # pickled before fragments: their windows are in the tables
            self._fragments = []
        self._fragment_seen = {form for form, _ in self._fragments}
        self._detected_ids = {key: DETECTED + i for i, key in enumerate(self._detected)}
        self._set_detectors()
        self._text_seen = {form for form, _ in self._text_table}
        self._bytes_seen = {form for form, _ in self._bytes_table}
        if self._bytes_seen == self._text_seen:
            self._bytes_seen = self._text_seen  # one set while the tables hold the same forms
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._snapshot = self._new_snapshot(None)  # built here, with the engines found here

    def __repr__(self) -> str:
        return (
            f"<Redactor secrets={len(self._names)} patterns={self.pattern_count} "
            f"engine={self.engine}>"
        )


_UNPICKLED = frozenset(
    {
        "_lock",
        "_build_lock",
        "_snapshot",
        "_text_seen",
        "_bytes_seen",
        "_fragment_seen",
        "_detected_ids",
        "_anchor_text",
        "_anchor_bytes",
        "_anchor_dets",
        "_anchor_lengths",
        "_lookbehind",
    }
)


def parse_replacement(template: str) -> list[tuple[str, str | None]] | None:
    """``None`` for a plain replacement (no brace: used as it is, as always), else the template
    as ``(literal, field)`` pieces. ``{{`` and ``}}`` are literal braces; a field other than
    ``{name}`` or ``{hash}``, a format spec or an unbalanced brace is a ValueError here, at
    construction, not at the first secret found."""
    if not isinstance(template, str):
        raise TypeError(f"replacement must be str, not {type(template).__name__}")
    if "{" not in template and "}" not in template:
        return None
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"replacement {template!r} is not a valid template ({exc}); write {{{{ and }}}} "
            "for literal braces"
        ) from None
    pieces: list[tuple[str, str | None]] = []
    for literal, field, spec, conversion in parsed:
        if field is not None and (field not in REPLACEMENT_FIELDS or spec or conversion):
            raise ValueError(
                f"replacement {template!r} has an unknown field {{{field}"
                f"{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}: "
                "use {name} or {hash}, and {{ or }} for literal braces"
            )
        pieces.append((literal, field))
    return pieces


def _hash_key(key: str | bytes | None) -> bytes:
    if key is None:
        key = os.environ.get(ENV_HASH_KEY) or None
    if key is None:
        return _PROCESS_KEY
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not data:
        raise ValueError("hash_key must not be empty")
    return data


def _allowed(values: Iterable[str | bytes]) -> set[str]:
    if isinstance(values, (str, bytes)):
        values = [values]
    out: set[str] = set()
    for v in values:
        text = SecretValue.of(v).text
        if text is not None:
            out.update((text, text.strip()))
    out.discard("")
    return out


def _allowed_value(secret: SecretValue, allow: frozenset[str]) -> bool:
    return secret.text is not None and (secret.text in allow or secret.text.strip() in allow)


ENV_ENGINE = "REDACTOR_ENGINE"


def engine_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The engine named by ``REDACTOR_ENGINE`` (unchecked), or None: the one place that reads it
    (``redactor.config`` layers it between ``[tool.redactor]`` and the command line)."""
    env = os.environ if environ is None else environ
    return env.get(ENV_ENGINE, "").strip() or None


def resolve_engine(engine: str | None) -> str:
    """``engine`` or ``REDACTOR_ENGINE`` or ``"auto"``, checked: unknown names and a missing
    Hyperscan (when asked for by name) fail here, not at the first redact."""
    source = "engine"
    if engine is None:
        engine = engine_from_environment() or "auto"
        source = ENV_ENGINE
    engine = engine.lower()
    if engine not in ENGINES:
        raise ValueError(f"unknown {source} {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine == "hyperscan":
        import_hyperscan()
    return engine


def _value_bytes(value: str, binary: bool) -> bytes:
    """A detected value's bytes: a latin-1 view (bytes input) is its bytes, text is UTF-8."""
    return value.encode("latin-1") if binary else value.encode("utf-8", "surrogatepass")


def _windowed(stream, text):
    parts = [stream.feed(text[i : i + _WINDOW]) for i in range(0, len(text), _WINDOW)]
    parts.append(stream.flush())
    return text[:0].join(parts)


def splice(text, spans: Sequence[Span] | Sequence[tuple[int, int, Any]], replacement=None):
    """Replace each span of ``text`` (str or bytes) with ``replacement``; without one, each span
    is ``(start, stop, new)`` and carries its own."""
    parts = []
    pos = 0
    for start, stop, own in spans:
        parts.append(text[pos:start])
        parts.append(own if replacement is None else replacement)
        pos = stop
    parts.append(text[pos:])
    return text[:0].join(parts)
