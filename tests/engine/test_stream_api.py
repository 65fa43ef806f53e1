"""The engine's public API for sinks: the one Stream (text or bytes, counts, following a source),
the silence timer, announcing bulk work, and the Region type."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from helpers.chunks import split_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor, Region, SilenceTimer, Stream, get_redactor, hyperscan_available
from redactor.engine import redactor as engine_module

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

R = "[REDACTED]"
RED = "\x1b[31m"
RESET = "\x1b[0m"

chars = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))
secrets_st = st.text(chars, min_size=6, max_size=14).filter(lambda s: len(s.strip()) >= 6)
# Pieces of text: random text, a whole or partial secret, or a colour code (matched across).
piece_st = st.one_of(
    st.text(chars, max_size=12),
    st.integers(0, 5),
    st.sampled_from([RED, RESET, "\x1b[1;32m", "\n"]),
)


def build(secrets: list[str]) -> Redactor:
    r = Redactor()
    for i, s in enumerate(secrets):
        r.add(s, name=f"s{i}")
    return r


def compose(secrets: list[str], parts: list) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
        else:
            s = secrets[p % len(secrets)]
            out.append(s if p < 3 else s[: len(s) // 2] + RED + s[len(s) // 2 :])
    return "".join(out)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(secrets_st, min_size=1, max_size=3),
    st.lists(piece_st, max_size=8),
    st.lists(st.integers(0, 10_000), max_size=8),
    st.booleans(),
)
def test_any_chunking_with_counts_and_colours_equals_one_shot(secrets, parts, cuts, binary):
    r = build(secrets)
    text = compose(secrets, parts)
    whole: str | bytes = text.encode("utf-8") if binary else text
    counts: Counter[str] = Counter()
    stream = Stream(r, binary=binary, counts=counts)
    out = [stream.feed(piece) for piece in split_at(whole, cuts)]
    out.append(stream.flush())
    if binary:
        assert b"".join(out) == r.redact_bytes(whole)  # type: ignore[arg-type]
    else:
        assert "".join(out) == r.redact(text)
    assert counts == r.count_names(r.spans(whole, with_ids=True))
    assert stream.pending == 0


def test_text_and_bytes_streams_of_the_redactor_are_the_one_stream() -> None:
    r = build(["hunter2-password"])
    counts: Counter[str] = Counter()
    for s in (r.stream(counts), r.bytes_stream(counts)):
        assert isinstance(s, Stream)
    text, data = r.stream(counts), r.bytes_stream(counts)
    assert text.feed("pw=hunter2-pa") == "pw="
    assert data.feed(b"pw=hunter2-pa") == b"pw="
    assert text.feed("ssword.") == R + "."
    assert data.feed(b"ssword.") == b"[REDACTED]."
    assert counts == Counter({"s0": 2})
    assert (text.binary, data.binary) == (False, True)


def test_a_following_stream_switches_when_the_default_is_replaced(fresh_redactor) -> None:
    first = fresh_redactor
    first.add("first-secret-value", name="one")
    counts: Counter[str] = Counter()
    stream = Stream(get_redactor, counts=counts)
    assert stream.following and stream.redactor is None
    assert stream.feed("a first-secret-value b first-sec") == f"a {R} b "
    assert stream.redactor is first
    second = Redactor()
    second.add("second-secret-value", name="two")
    redactor.set_redactor(second)
    # What the old stream held goes out through the old redactor (a prefix of its secret, which
    # can no longer grow into one there: written as it is); the rest uses the new redactor only.
    assert stream.feed(" first-secret-value second-secret-value.") == (
        f"first-sec first-secret-value {R}."
    )
    assert stream.flush() == ""
    assert stream.redactor is second
    assert counts == Counter({"one": 1, "two": 1})


def test_a_stream_on_a_callable_follows_whatever_it_returns() -> None:
    a, b = build(["alpha-secret-1"]), build(["bravo-secret-2"])
    current = [a]
    stream: Stream[bytes] = Stream(lambda: current[0], binary=True)
    assert stream.feed(b"alpha-secret-1 bravo-secret-2 ") == b"[REDACTED] bravo-secret-2 "
    current[0] = b
    assert stream.feed(b"alpha-secret-1 bravo-secret-2 .") == b"alpha-secret-1 [REDACTED] ."
    assert stream.flush() == b""


def test_pin_keeps_the_held_tail_and_take_raw_hands_it_over() -> None:
    r = build(["hunter2-password"])
    copy = Redactor()
    copy.add("hunter2-password", name="s0")
    stream = Stream(lambda: r)
    assert stream.feed("x hunter2-pass") == "x "
    stream.pin(copy)
    assert not stream.following and stream.redactor is copy
    assert stream.feed("word y") == R + " y"
    assert stream.feed("z hunter2") == "z "
    assert stream.take_raw() == "hunter2"
    assert stream.pending == 0 and stream.flush() == ""


# -- announcing bulk work ------------------------------------------------------------------------


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_reading_the_matcher_has_no_effect_and_announce_moves_auto(monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "AUTO_MIN_WORK", 1000)
    monkeypatch.setattr(engine_module, "AUTO_WORK_PER_PATTERN_CHAR", 0)
    r = Redactor(engine="auto")
    r.add("hunter2-password")
    for _ in range(50):
        assert r.matcher().name == "ahocorasick"
        assert r.matcher(True).name == "ahocorasick"
    r.announce(999)
    assert r.matcher().name == "ahocorasick"
    r.announce(1)
    r.matcher(), r.matcher(True)  # ask for both databases, compiled in the background
    assert r.settle(timeout=60)
    assert r.matcher().name == "hyperscan"
    assert r.matcher(True).name == "hyperscan"
    assert r.redact("a hunter2-password") == "a " + R


def test_announce_does_nothing_under_a_fixed_engine(each_engine) -> None:
    r = Redactor(engine=each_engine)
    r.add("hunter2-password")
    r.announce(1 << 40)
    r.announce(0)
    r.announce(-5)
    assert r.matcher().name == each_engine
    r.prepare(text=True, binary=True)
    assert r.matcher(True).name == each_engine


# -- regions -----------------------------------------------------------------------------------


def test_regions_are_named_tuples_that_sinks_splice() -> None:
    r = build(["hunter2-password", "other-secret-99"])
    text = "a hunter2-password b other-secret-99hunter2-password c"
    regions = r.spans(text, with_ids=True)
    assert regions == [(2, 18, frozenset({0})), (21, 52, frozenset({0, 1}))]
    first = regions[0]
    assert isinstance(first, Region)
    assert (first.start, first.stop, first.ids) == (2, 18, frozenset({0}))
    start, stop, ids = first
    assert ids == first.ids
    assert text[start:stop] == "hunter2-password"
    assert [r.names_of(x) for x in regions] == [frozenset({"s0"}), frozenset({"s0", "s1"})]
    assert r.count_names(regions) == Counter({"s0": 2, "s1": 1})
    assert r.splice(text, regions) == r.redact(text) == f"a {R} b {R} c"
    data = text.encode()
    assert r.splice(data, r.spans(data)) == r.redact_bytes(data)
    assert r.spans(text)[0].ids is None
    assert r.splice(text, []) is text


# -- the silence timer -------------------------------------------------------------------------


class _WatchedLock:
    """A lock that says when another thread starts waiting for it (to order the test's steps
    by events, not by sleeping)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = threading.Event()
        self.owner: int | None = None

    def __enter__(self) -> _WatchedLock:
        if threading.get_ident() != self.owner:
            self.waiting.set()
        self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _timer_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_silence_timer_fires_once_after_silence_and_runs_the_rest_outside_the_lock() -> None:
    lock = threading.Lock()
    fired = threading.Event()
    seen: list[str] = []

    def after() -> None:
        seen.append("after, lock free" if lock.acquire(blocking=False) else "after, lock held")
        lock.release()
        fired.set()

    def action():
        seen.append("action, lock held" if lock.locked() else "action, lock free")
        return after

    timer = SilenceTimer(0.01, action, lock, name="redactor-test-fire")
    with lock:
        timer.restart()
        assert timer.armed
    assert fired.wait(30)
    for t in _timer_threads("redactor-test-fire"):
        t.join(30)
    assert seen == ["action, lock held", "after, lock free"]
    assert not timer.armed


def test_a_restart_or_cancel_under_the_lock_beats_a_timer_already_firing() -> None:
    watched = _WatchedLock()
    calls: list[int] = []
    done = threading.Event()

    def action() -> None:
        calls.append(1)
        done.set()

    timer = SilenceTimer(0.0, action, watched, name="redactor-test-race")
    watched.owner = threading.get_ident()
    with watched:
        timer.restart()
        # The timer fired and waits for the lock: a cancel now must win.
        assert watched.waiting.wait(30)
        timer.cancel()
    watched.owner = None
    for t in _timer_threads("redactor-test-race"):
        t.join(30)
    assert calls == [] and not timer.armed
    watched.waiting.clear()
    watched.owner = threading.get_ident()
    with watched:
        timer.restart()
        assert watched.waiting.wait(30)
        timer.restart()  # more output: the first arming is stale, the second one fires
    watched.owner = None
    assert done.wait(30)
    for t in _timer_threads("redactor-test-race"):
        t.join(30)
    assert calls == [1]
