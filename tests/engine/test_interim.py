"""The first call on a large snapshot is answered by an IndexMatcher while nothing else is built.

At 10,000 secrets the reference automaton takes seconds to build and the Hyperscan database
longer, so ``redactor filter`` used to write nothing until they were ready. From
``INTERIM_MIN_PATTERNS`` patterns on, the first call on a snapshot gets an IndexMatcher (exact,
built in a fraction of the time) and the real matcher is built from the second call on. The
output must not depend on it: the same text, regions and ids as the reference, through every
entry point, streams cut anywhere included (the matcher-level comparison is in
test_matchers.py). Real matchers throughout; the threshold is lowered so that small hypothesis
examples take the interim path.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator

import pytest
from helpers.chunks import CUTS, SECRET_LISTS, TEXT_PARTS, assemble, register, split_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor.engine.redactor as engine_module
from redactor import Redactor, hyperscan_available
from redactor.engine.matchers import LayeredMatcher

ENGINES = ["ahocorasick", "auto"] + (["hyperscan"] if hyperscan_available() else [])


@pytest.fixture
def low_threshold() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module, "INTERIM_MIN_PATTERNS", 1)
        yield


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(ENGINES),
    SECRET_LISTS,
    TEXT_PARTS,
    CUTS,
    st.booleans(),
)
def test_output_through_the_interim_matcher_is_the_reference_output(
    engine, secrets, parts, cuts, labelled
) -> None:
    replacement = "<{name}>" if labelled else "[REDACTED]"
    ref = Redactor(engine="ahocorasick", replacement=replacement, hash_key="k")
    forms = register(secrets, ref)
    text = assemble(parts, forms)
    data = text.encode("utf-8", "surrogatepass")
    want_text, want_bytes = ref.redact(text), ref.redact_bytes(data)
    want_spans = ref.spans(text, with_ids=True)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module, "INTERIM_MIN_PATTERNS", 1)

        def fresh() -> Redactor:
            r = Redactor(engine=engine, replacement=replacement, hash_key="k")
            for i, value in enumerate(secrets):
                r.add(value, f"s{i}")
            return r

        # each entry point as the first call on its snapshot (the interim's), then again
        for _ in range(2):
            assert fresh().redact(text) == want_text
            assert fresh().redact_bytes(data) == want_bytes
            assert fresh().spans(text, with_ids=True) == want_spans
        r = fresh()
        assert [r.redact(text) for _ in range(3)] == [want_text] * 3
        for binary, whole, want in ((False, text, want_text), (True, data, want_bytes)):
            r = fresh()
            stream = r.bytes_stream() if binary else r.stream()
            pieces = split_at(whole, cuts)
            out = [stream.feed(p) for p in pieces] + [stream.flush()]
            assert (b"" if binary else "").join(out) == want  # type: ignore[attr-defined]
        r.settle()


@pytest.mark.parametrize("engine", ENGINES)
def test_only_the_first_call_gets_the_interim_matcher(engine: str, low_threshold: None) -> None:
    r = Redactor(engine=engine)
    r.add("correct-horse-battery", "pw")
    snap = r._current()
    assert snap.matcher(False, 10).name == "index"
    if engine == "hyperscan":
        # A large snapshot's database compiles in the background, the reference answering.
        assert snap.matcher(False, 10).name in ("ahocorasick", "hyperscan")
        assert snap.settle(False)
        assert snap.matcher(False, 10).name == "hyperscan"
    else:
        assert snap.matcher(False, 10).name == ("ahocorasick" if engine == "auto" else engine)
    assert snap.matcher(True, 10).name == "index"  # text and bytes each have their first call
    assert snap.matcher(True, 10).name != "index"
    # A new snapshot of a few added patterns layers them on the built matcher: no interim.
    r.add("another-secret-value", "pw2")
    assert isinstance(r._current().matcher(False, 10), LayeredMatcher)
    # One that adds more than layering takes (LAYER_MIN) has its own first call.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module, "LAYER_MIN", 0)
        mp.setattr(engine_module, "LAYER_SCALE", 0)
        r.add("a-third-secret-value", "pw3")
        assert r._current().matcher(False, 10).name == "index"
    r.settle()


@pytest.mark.parametrize("engine", ENGINES)
def test_the_public_matcher_and_prepare_never_give_the_interim(
    engine: str, low_threshold: None
) -> None:
    r = Redactor(engine=engine)
    r.add("correct-horse-battery", "pw")
    assert r.matcher().name != "index"
    r.add("another-secret-value", "pw2")
    r.prepare(text=True, binary=True)
    snap = r._current()
    assert ("index", False) not in snap._matchers
    assert snap.matcher(False, 10).name != "index"  # built by prepare: no interim needed
    assert snap.matcher(True, 10).name != "index"


def test_below_the_threshold_the_real_matcher_comes_first() -> None:
    r = Redactor(engine="ahocorasick")
    r.add("correct-horse-battery", "pw")
    assert r.pattern_count < engine_module.INTERIM_MIN_PATTERNS
    assert r._current().matcher(False, 10).name == "ahocorasick"


def test_the_threshold_is_reached_by_real_secrets() -> None:
    """2,100 random 24-40 character tokens (every default encoding) cross the threshold: the
    first call gets the interim, whose answer is the reference's, and the second the reference."""
    rng = random.Random(20)
    alphabet = string.ascii_letters + string.digits + "-_"
    values = ["".join(rng.choices(alphabet, k=rng.randint(24, 40))) for _ in range(2100)]
    r = Redactor(engine="ahocorasick")
    for i, value in enumerate(values):
        r.add(value, f"s{i}")
    assert r.pattern_count >= engine_module.INTERIM_MIN_PATTERNS
    text = "log: " + values[7] + " and " + values[700][3:22] + " end\n"
    want = "log: [REDACTED] and [REDACTED] end\n"
    snap = r._current()
    first = snap.matcher(True, len(text))
    assert first.name == "index"
    assert r.redact_bytes(text.encode()).decode() == want  # the second call: the reference
    assert snap.matcher(True, 10).name == "ahocorasick"
    data = text.encode()
    assert first.spans(data, with_ids=True) == snap.matcher(True).spans(data, with_ids=True)
    for k in range(len(data) + 1):
        assert first.hold_length(data[:k]) == snap.matcher(True).hold_length(data[:k])


def test_whole_texts_over_the_limit_skip_the_interim(low_threshold: None) -> None:
    r = Redactor(engine="ahocorasick")
    r.add("correct-horse-battery", "pw")
    text = "x" * (engine_module.INTERIM_MAX_TEXT + 1) + " correct-horse-battery"
    assert r.redact(text).endswith(" [REDACTED]")
    assert ("ahocorasick", False) in r._current()._matchers  # built for that first call
