"""Streaming: any chunking gives exactly one-shot redact, and only a bounded tail is held back."""

from __future__ import annotations

import pytest
from helpers.chunks import split_at as chunked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

R = "[REDACTED]"

chars = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), include_characters="\n\"'\\"
)
secrets_st = st.text(chars, min_size=6, max_size=16).filter(lambda s: len(s.strip()) >= 6)


def build(secrets) -> Redactor:
    r = Redactor()
    for s in secrets:
        r.add(s)
    return r


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(secrets_st, min_size=1, max_size=3),
    st.lists(st.one_of(st.text(chars, max_size=20), st.integers(0, 2)), max_size=8),
    st.lists(st.integers(0, 10_000), max_size=10),
)
def test_any_chunking_equals_one_shot(secrets, parts, cuts) -> None:
    r = build(secrets)
    # Text made of random pieces and whole or partial secrets, back to back (adjacency matters).
    text = "".join(p if isinstance(p, str) else secrets[p % len(secrets)] for p in parts)
    s = r.stream()
    out = []
    for piece in chunked(text, cuts):
        out.append(s.feed(piece))
        assert s.pending < max(len(f) for f, _ in r._text_table)
    out.append(s.flush())
    assert "".join(out) == r.redact(text)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(secrets_st, min_size=1, max_size=3),
    st.lists(st.one_of(st.binary(max_size=12), st.integers(0, 2)), max_size=8),
    st.lists(st.integers(0, 10_000), max_size=10),
)
def test_bytes_stream_any_chunking(secrets, parts, cuts) -> None:
    r = build(secrets)
    data = b"".join(
        p if isinstance(p, bytes) else secrets[p % len(secrets)].encode() for p in parts
    )
    s = r.bytes_stream()
    out = b"".join(s.feed(piece) for piece in chunked(data, cuts)) + s.flush()
    assert out == r.redact_bytes(data)


def test_secret_split_over_three_chunks() -> None:
    r = build(["split-secret-value"])
    s = r.stream()
    assert s.feed("start split-") == "start "
    assert s.feed("secret-") == ""
    assert s.feed("value end") == f"{R} end"
    assert s.flush() == ""


def test_normal_text_flows_through_at_once() -> None:
    r = build(["zz-secret-zz"])
    s = r.stream()
    assert s.feed("hello world\n") == "hello world\n"
    assert s.pending == 0
    # Only a tail that could still become the secret is held back.
    assert s.feed("abc zz-sec") == "abc "
    assert s.pending == len("zz-sec")
    assert s.flush() == "zz-sec"


def test_adjacent_secrets_across_chunks_give_one_replacement() -> None:
    r = build(["abcdef-1", "abcdef-2"])
    s = r.stream()
    out = s.feed("x abcdef-1") + s.feed("abcdef-2 y") + s.flush()
    assert out == r.redact("x abcdef-1abcdef-2 y") == f"x {R} y"


def test_secret_added_mid_stream_applies_to_what_follows() -> None:
    r = Redactor()
    s = r.stream()
    assert s.feed("before late-secret\n") == "before late-secret\n"
    r.add("late-secret")
    assert s.feed("after late-secret\n") == f"after {R}\n"


def test_memory_bounded_on_a_long_line_without_newline() -> None:
    r = build(["bounded-secret-1234"])
    s = r.stream()
    total = 0
    for _ in range(2000):
        total += len(s.feed("x" * 1000 + "bounded-"))
        assert s.pending <= len("bounded-secret-1234") - 1
    total += len(s.flush())
    assert total == 2000 * 1008


def test_flush_then_reuse() -> None:
    r = build(["reuse-secret"])
    s = r.bytes_stream()
    assert s.feed(b"a reuse-") == b"a "
    assert s.flush() == b"reuse-"
    assert s.feed(b"reuse-secret!") == b"[REDACTED]!"
    assert s.flush() == b""


def test_large_inputs_are_scanned_in_windows_with_the_same_result(monkeypatch) -> None:
    import redactor.engine.redactor as engine

    monkeypatch.setattr(engine, "_WINDOW", 7)
    r = build(["window-secret", "other-secret"])
    text = "a window-secret b other-secretwindow-secret c " * 5
    assert r.redact(text) == ("a [REDACTED] b [REDACTED] c " * 5)
    assert r.redact_bytes(text.encode()) == ("a [REDACTED] b [REDACTED] c " * 5).encode()
