"""``engine="auto"`` compiles Hyperscan in a background thread and swaps it in when it is ready.

Until the swap the reference engine answers; the output is the same before, during and after
(streams holding back a tail across the swap included), a secret registered while a compile runs
is never lost, and an explicit ``engine="hyperscan"`` still compiles in the calling thread.

The compile is real (a real Hyperscan database in a real thread). To hold a compile "during" for
as long as a test needs, the snapshot's compile step is wrapped to wait for an event first; the
wrapped step is the real one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from helpers.chunks import CUTS, SECRET_LISTS, TEXT_PARTS, assemble, register, split_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor.engine.redactor as engine_module
from redactor import Redactor, hyperscan_available

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")

HUGE = 1 << 40  # announced work that crosses any threshold (not a batch: see the end)


@contextmanager
def gated_compiles() -> Iterator[threading.Event]:
    """Background compiles wait for the event that this yields before they start."""
    gate = threading.Event()
    real = engine_module._Snapshot._compile

    def held(self, binary: bool) -> None:
        assert gate.wait(60), "the gate was never opened"
        real(self, binary)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module._Snapshot, "_compile", held)
        try:
            yield gate
        finally:
            gate.set()  # no compile thread left waiting after the test


def pending(r: Redactor) -> bool:
    snap = r._current()
    with snap._compiler._cond:
        return snap._compiler.pending(snap, False) or snap._compiler.pending(snap, True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    SECRET_LISTS,
    TEXT_PARTS,
    CUTS,
    st.data(),
)
def test_output_is_identical_before_during_and_after_the_swap(secrets, parts, cuts, data) -> None:
    ref = Redactor(engine="ahocorasick")
    auto = Redactor(engine="auto")
    forms = register(secrets, ref, auto)
    text = assemble(parts, forms)
    pieces = split_at(text, sorted(cuts))
    # The threshold is crossed before piece `switch`, the database swapped in before `swap`.
    switch = data.draw(st.integers(0, len(pieces)), label="switch")
    swap = data.draw(st.integers(switch, len(pieces)), label="swap")
    with gated_compiles() as gate:
        s_ref, s_auto = ref.stream(), auto.stream()
        b_ref, b_auto = ref.bytes_stream(), auto.bytes_stream()
        for i, piece in enumerate([*pieces, ""]):
            if i == switch:
                auto.announce(HUGE)
            if i == swap:
                gate.set()
                auto.prepare(text=True, binary=True)  # asks for both databases, waits for them
            phase = "after" if i >= swap else "during" if i >= switch else "before"
            if i < len(pieces):
                assert s_auto.feed(piece) == s_ref.feed(piece), phase
                assert s_auto.pending == s_ref.pending, phase
                raw = piece.encode("utf-8", "surrogatepass")
                assert b_auto.feed(raw) == b_ref.feed(raw), phase
                assert b_auto.pending == b_ref.pending, phase
                assert auto.redact(piece) == ref.redact(piece), phase
                assert auto.redact_bytes(raw) == ref.redact_bytes(raw), phase
            expected = "hyperscan" if phase == "after" else "ahocorasick"
            assert auto.matcher().name == expected, phase
            assert auto.matcher(True).name == expected, phase
            if phase == "during":
                assert pending(auto)  # asked for, held at the gate
        assert s_auto.flush() == s_ref.flush()
        assert b_auto.flush() == b_ref.flush()
        assert auto.redact(text) == ref.redact(text)
        assert auto.redact_with_counts(text) == ref.redact_with_counts(text)


def test_a_secret_added_while_a_compile_runs_is_not_lost() -> None:
    r = Redactor(engine="auto")
    r.add("first-secret-value", name="one")
    with gated_compiles() as gate:
        r.announce(HUGE)
        assert r.redact("a first-secret-value") == "a [REDACTED]"  # asks for the compile
        assert pending(r) and r.matcher().name == "ahocorasick"
        old = r._current()
        r.add("second-secret-value", name="two")  # a new snapshot while the compile waits
        line = "first-secret-value second-secret-value"
        assert r.redact(line) == "[REDACTED] [REDACTED]"
        assert r.matcher().name == "ahocorasick"
        gate.set()
        assert r.settle(timeout=60)
    fast = r.matcher()
    assert fast.name == "hyperscan" and r._current() is not old
    both = Redactor(engine="ahocorasick")
    both.add("first-secret-value", name="one")
    both.add("second-secret-value", name="two")
    assert fast.pattern_count == both.matcher().pattern_count
    assert r.redact(line) == "[REDACTED] [REDACTED]"
    assert r.redact_bytes(line.encode()) == b"[REDACTED] [REDACTED]"


def test_secrets_added_from_one_thread_while_another_redacts_are_never_missed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real threads, real compiles, many swaps: whatever was added before a redact is redacted."""
    monkeypatch.setattr(engine_module, "AUTO_MIN_WORK", 1)
    monkeypatch.setattr(engine_module, "AUTO_WORK_PER_PATTERN_CHAR", 0)
    r = Redactor(engine="auto")
    values = [f"secret-number-{i:03d}-value" for i in range(60)]
    added = 0
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            known = added  # every secret whose add returned before this redact started
            line = " ".join(values[:known])
            out = r.redact(line)
            if out != " ".join(["[REDACTED]"] * known):
                errors.append(f"{known} secrets added, output {out!r}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i, value in enumerate(values):
            r.add(value, name=f"s{i}")
            added = i + 1
            if i % 20 == 19:
                assert r.settle(timeout=60)  # let some compiles land between adds
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert r.redact(" ".join(values)) == " ".join(["[REDACTED]"] * len(values))
    assert r.settle(timeout=60)  # the compile that the last redact asked for
    assert r.matcher().name == "hyperscan"
    assert r.redact(" ".join(values)) == " ".join(["[REDACTED]"] * len(values))


def test_an_explicit_hyperscan_engine_compiles_in_the_calling_thread() -> None:
    r = Redactor(engine="hyperscan")
    r.add("hunter2-password")
    with gated_compiles():  # a background compile would wait here forever: none is started
        assert r.redact("a hunter2-password") == "a [REDACTED]"
        assert r.matcher().name == "hyperscan"
        assert r._current()._compiler._thread is None


def test_auto_below_the_threshold_starts_no_compile() -> None:
    r = Redactor(engine="auto")
    r.add("hunter2-password")
    assert r.redact("a hunter2-password") == "a [REDACTED]"
    assert r.matcher().name == "ahocorasick"
    assert r._current()._compiler._thread is None and not pending(r)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_during_a_compile_compiles_its_own() -> None:
    r = Redactor(engine="auto")
    r.add("hunter2-password")
    with gated_compiles() as gate:
        r.announce(HUGE)
        assert r.redact("a hunter2-password") == "a [REDACTED]"
        assert pending(r)  # the parent's compile thread waits at the gate
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: no compile thread came along
            try:
                gate.set()
                out = r.redact("b hunter2-password")
                settled = r.settle(timeout=60)
                os.write(write, f"{out}|{settled}|{r.matcher().name}".encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as f:
            reported = f.read().decode()
        os.waitpid(pid, 0)
        assert reported == "b [REDACTED]|True|hyperscan"
        assert r.matcher().name == "ahocorasick"  # the parent's compile still waits
        gate.set()
        assert r.settle(timeout=60)
    assert r.matcher().name == "hyperscan"


# -- a large batch (a file on stdin) waits for Hyperscan ---------------------------------------------


def built(r: Redactor, binary: bool = False) -> list[str]:
    """The engines whose matcher the current snapshot holds for ``binary``."""
    return sorted(engine for engine, b in r._current()._matchers if b == binary)


def test_auto_with_a_large_batch_compiles_in_the_caller_and_never_builds_the_reference() -> None:
    r = Redactor(engine="auto")
    r.add("hunter2-password")
    r.announce(engine_module.WAIT_FOR_FAST_MIN, batch=True)
    with gated_compiles():  # a background compile would wait here forever: none is started
        assert r.redact("a hunter2-password") == "a [REDACTED]"
        assert r.redact_bytes(b"b hunter2-password") == b"b [REDACTED]"
        assert built(r) == built(r, True) == ["hyperscan"]
        assert r._current()._compiler._thread is None


def test_auto_with_a_smaller_batch_compiles_in_the_background() -> None:
    r = Redactor(engine="auto")
    r.add("hunter2-password")
    r.announce(engine_module.WAIT_FOR_FAST_MIN - 1, batch=True)
    with gated_compiles() as gate:
        assert r.redact("a hunter2-password") == "a [REDACTED]"
        assert built(r) == ["ahocorasick"] and pending(r)
        gate.set()
        assert r.settle(timeout=60)
    assert r.matcher().name == "hyperscan"


@pytest.mark.parametrize(
    "size", [engine_module.WAIT_FOR_FAST_MIN - 1, engine_module.WAIT_FOR_FAST_MIN]
)
def test_auto_takes_a_large_batch_as_fast_work_whatever_its_threshold(
    monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """The threshold (work per pattern byte) models a compile beside the reference; a batch
    that will wait for the compile pays for it from WAIT_FOR_FAST_MIN on (10,000 secrets: a
    100 MB file 4.75 s on the reference, 1.87 s waiting), however many patterns there are."""
    monkeypatch.setattr(engine_module, "AUTO_MIN_WORK", 1 << 40)  # a threshold never reached
    r = Redactor(engine="auto")
    r.add("hunter2-password")
    r.announce(size, batch=True)
    with gated_compiles():
        assert r.redact("a hunter2-password") == "a [REDACTED]"
        large = size >= engine_module.WAIT_FOR_FAST_MIN
        assert built(r) == (["hyperscan"] if large else ["ahocorasick"])
        assert not pending(r)


def test_auto_falls_back_to_the_reference_when_the_compile_in_the_caller_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redactor.engine.matchers as matchers_module

    class Failing:
        def __init__(self, *args: object, **options: object) -> None:
            raise MemoryError("hs_compile: 'hunter2-password'")  # a message may quote a pattern

    monkeypatch.setitem(matchers_module._CLASSES, "hyperscan", Failing)
    r = Redactor(engine="auto")
    r.add("hunter2-password")
    r.announce(engine_module.WAIT_FOR_FAST_MIN, batch=True)
    with pytest.warns(engine_module.RedactorWarning) as caught:
        assert r.redact("a hunter2-password") == "a [REDACTED]"
    assert [str(w.message) for w in caught] == [
        "the hyperscan engine failed (MemoryError); using the reference engine"
    ]
    assert built(r) == ["ahocorasick"] and r._current()._compiler.failed == "MemoryError"
    assert r.redact("b hunter2-password") == "b [REDACTED]"  # warned once


@pytest.mark.parametrize("announced", [0, 1 << 30])
def test_explicit_hyperscan_on_a_large_snapshot_waits_only_for_a_large_batch(
    monkeypatch: pytest.MonkeyPatch, announced: int
) -> None:
    """The first call is the IndexMatcher's either way; then a pipe (no batch) goes on with the
    reference while the databases compile, and a large file waits for them."""
    monkeypatch.setattr(engine_module, "INTERIM_MIN_PATTERNS", 1)
    r = Redactor(engine="hyperscan")
    r.add("hunter2-password")
    r.announce(announced, batch=True)
    with gated_compiles() as gate:
        assert r.redact("a hunter2-password") == "a [REDACTED]"
        assert built(r) == []  # the first call: the IndexMatcher, not kept
        assert r.redact("b hunter2-password") == "b [REDACTED]"
        if announced:
            assert built(r) == ["hyperscan"] and not pending(r)
        else:
            assert built(r) == ["ahocorasick"] and pending(r)
            gate.set()
            assert r.settle(timeout=60)
            assert built(r) == ["hyperscan"]


def test_only_a_build_the_caller_waits_for_compiles_its_databases_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In the background the reference scans on the other core: two compiles beside it were no
    faster and raised the filter's peak memory past 300 MB (matchers.HS_DB_LITERALS)."""
    import redactor.engine.matchers as matchers_module

    asked: list[tuple[bool, int | None]] = []

    class Recording(matchers_module.HyperscanMatcher):
        def __init__(
            self, *args: object, side_by_side: bool = False, db_literals: int | None = None
        ) -> None:
            asked.append((side_by_side, db_literals))
            super().__init__(*args, side_by_side=side_by_side, db_literals=db_literals)  # type: ignore[arg-type]

    monkeypatch.setitem(matchers_module._CLASSES, "hyperscan", Recording)
    background = Redactor(engine="auto")
    background.add("hunter2-password")
    background.announce(HUGE)
    assert background.redact("a hunter2-password") == "a [REDACTED]"
    assert background.settle(timeout=60) and background.matcher().name == "hyperscan"
    waited = Redactor(engine="auto")
    waited.add("hunter2-password")
    waited.announce(engine_module.WAIT_FOR_FAST_MIN, batch=True)
    assert waited.redact("a hunter2-password") == "a [REDACTED]"
    explicit = Redactor(engine="hyperscan")
    explicit.add("hunter2-password")
    assert explicit.redact("a hunter2-password") == "a [REDACTED]"
    # A batch of known size under SMALL_DBS_BATCH_MAX compiles smaller databases; a larger one,
    # and work of unknown size, the usual ones.
    huge = Redactor(engine="auto")
    huge.add("hunter2-password")
    huge.announce(matchers_module.SMALL_DBS_BATCH_MAX, batch=True)
    assert huge.redact("a hunter2-password") == "a [REDACTED]"
    small = matchers_module.HS_BATCH_DB_LITERALS
    assert asked == [(False, None), (True, small), (True, None), (True, None)]
