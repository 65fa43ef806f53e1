"""A secret added to a redactor whose matcher is built is matched by a small matcher of its own
patterns layered on that one (``LayeredMatcher``), until enough have been added for a full build.

The answers must be those of a redactor that got every secret at once: regions with their ids,
detected tokens, and what a stream holds back (so the same output for any chunking), after each
add. The whole module runs once per engine (tests/conftest.py).
"""

from __future__ import annotations

import pytest
from helpers.chunks import CUTS, SECRET_LISTS, TEXT_PARTS, assemble, register, split_at
from helpers.tokenfactory import github_token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor.engine.redactor as engine_module
from redactor import Redactor
from redactor.engine.matchers import LayeredMatcher

pytestmark = pytest.mark.usefixtures("each_engine")

TOKEN = github_token("a" * 10 + "B" * 10 + "7" * 10)


def answers(r: Redactor, text: str, cuts: list[int]) -> tuple:
    """Everything a sink sees of the matcher: text and bytes regions with ids, and a text and a
    bytes stream's pieces for these cuts (the hold-back shows in where the pieces end)."""
    data = text.encode("utf-8", "surrogatepass")
    stream, bstream = r.stream(), r.bytes_stream()
    pieces = [stream.feed(c) for c in split_at(text, cuts)] + [stream.flush()]
    bpieces = [bstream.feed(c) for c in split_at(data, cuts)] + [bstream.flush()]
    return r.spans(text, with_ids=True), r.spans(data, with_ids=True), pieces, bpieces


slow = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# A secret's line too short to register alone warns, for both redactors alike.
@pytest.mark.filterwarnings("ignore::redactor.RedactorWarning")
@slow
@given(SECRET_LISTS, SECRET_LISTS, TEXT_PARTS, CUTS, st.booleans())
def test_each_add_answers_as_all_at_once(first, later, parts, cuts, detect) -> None:
    layered = Redactor(detect=detect, learn=False)
    forms = register(first, layered)
    layered.matcher(False), layered.matcher(True)  # built: what the adds layer on
    for k, value in enumerate(later, start=len(first)):
        layered.add(value, f"s{k}")
        forms += register([value], Redactor())
        text = assemble(parts, forms) + f" {TOKEN} "
        whole = Redactor(detect=detect, learn=False)
        register([*first, *later[: k - len(first) + 1]], whole)
        assert answers(layered, text, cuts) == answers(whole, text, cuts)


def test_an_add_layers_on_the_built_matcher_then_a_full_build_takes_over(monkeypatch) -> None:
    r = Redactor()
    r.add("first-secret-value-01", "a")
    base = r.matcher(True)
    r.add("second-secret-value-02", "b")
    m = r.matcher(True)
    assert isinstance(m, LayeredMatcher) and m.base is base
    assert r.redact_bytes(b"x first-secret-value-01 second-secret-value-02") == (
        b"x [REDACTED] [REDACTED]"
    )
    # A secret whose every form is known adds no pattern: the same matcher answers.
    r.add("second-secret-value-02", "b again")
    assert r.matcher(True) is m
    # More patterns added than the cap: one full build, which the next add layers on.
    monkeypatch.setattr(engine_module, "LAYER_MIN", 0)
    monkeypatch.setattr(engine_module, "LAYER_SCALE", 0)
    r.add("third-secret-value-03", "c")
    full = r.matcher(True)
    assert not isinstance(full, LayeredMatcher)
    assert full.pattern_count > m.pattern_count
    monkeypatch.setattr(engine_module, "LAYER_MIN", 1_000)
    r.add("fourth-secret-value-04", "d")
    assert r.matcher(True).base is full  # type: ignore[attr-defined]


def test_a_region_across_base_and_added_secret_is_one_with_both_ids() -> None:
    r = Redactor(replacement="[{name}]")
    r.add("abcdef-secret", "old")
    r.matcher(False)
    r.add("secret-ghijkl", "new")
    assert isinstance(r.matcher(False), LayeredMatcher)
    fresh = Redactor(replacement="[{name}]")
    fresh.add("abcdef-secret", "old")
    fresh.add("secret-ghijkl", "new")
    text = "x abcdef-secret-ghijkl y secret-ghijkl"
    assert r.redact(text) == fresh.redact(text) == "x [old] y [new]"
    assert r.spans(text, with_ids=True) == [(2, 22, frozenset({0, 1})), (25, 38, frozenset({1}))]
