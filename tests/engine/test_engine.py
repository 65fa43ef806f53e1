"""The engine against a brute-force oracle, plus its registration rules and thread safety."""

from __future__ import annotations

import threading
import warnings

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor, RedactorWarning
from redactor.engine.encodings import SecretValue, forms_of

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

R = "[REDACTED]"

# Secrets with what breaks naive maskers: non-ASCII, quotes, backslashes, newlines.
secret_chars = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), include_characters="\"'\\\n\r\t"
)
secrets_st = st.text(secret_chars, min_size=6, max_size=24).filter(lambda s: len(s.strip()) >= 6)
# No ESC: the oracle knows nothing of matching across escape sequences (test_ansi.py's job);
# "000000" + ESC + "000000" is one region there.
text_st = st.text(st.characters(codec="utf-8", exclude_characters="\x00\x1b"), max_size=60)


def all_forms(r: Redactor, value: str | bytes) -> set[str]:
    return {f for f in forms_of(SecretValue.of(value), r._encodings) if len(f) >= r.min_length}


def brute_force(text: str, forms: set[str], replacement: str) -> str:
    """The oracle: every occurrence of every form by str.find, intervals merged, spliced."""
    intervals = []
    for f in forms:
        i = text.find(f)
        while i != -1:
            intervals.append((i, i + len(f)))
            i = text.find(f, i + 1)
    intervals.sort()
    merged: list[list[int]] = []
    for s, e in intervals:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out += [text[pos:s], replacement]
        pos = e
    return "".join(out) + text[pos:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(secrets_st, min_size=1, max_size=3),
    st.lists(text_st, min_size=1, max_size=4),
    st.data(),
)
def test_redact_equals_brute_force_and_no_form_survives(secrets, pieces, data) -> None:
    r = Redactor(replacement="\x00")
    forms: set[str] = set()
    for i, s in enumerate(secrets):
        r.add(s, name=f"s{i}")
        forms |= all_forms(r, s)
    # Plant random forms of random secrets between random text.
    planted = [data.draw(st.sampled_from(sorted(forms))) for _ in pieces]
    text = "".join(p + f for p, f in zip(pieces, planted))
    out = r.redact(text)
    assert out == brute_force(text, forms, "\x00")
    # The replacement cannot occur in a secret, so nothing here is a form rebuilt by splicing.
    assert not any(f in out for f in forms)


@settings(max_examples=150, deadline=None)
@given(st.lists(secrets_st, min_size=1, max_size=3), text_st)
def test_text_without_secrets_is_unchanged(secrets, text) -> None:
    r = Redactor()
    forms: set[str] = set()
    for s in secrets:
        r.add(s)
        forms |= all_forms(r, s)
    assume(not any(f in text for f in forms))
    assert r.redact(text) is text or r.redact(text) == text
    assert r.redact_bytes(text.encode()) == text.encode()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(secrets_st, min_size=1, max_size=3),
    st.lists(text_st, min_size=1, max_size=4),
    st.data(),
)
def test_bytes_path_agrees_with_str_path(secrets, pieces, data) -> None:
    r = Redactor()
    forms: set[str] = set()
    for s in secrets:
        r.add(s)
        forms |= all_forms(r, s)
    planted = [data.draw(st.sampled_from(sorted(forms))) for _ in pieces]
    text = "".join(p + f for p, f in zip(pieces, planted))
    assert r.redact_bytes(text.encode()) == r.redact(text).encode()


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=80), st.binary(min_size=6, max_size=16))
def test_invalid_utf8_passes_through_except_matches(noise, secret) -> None:
    r = Redactor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedactorWarning)
        assume(r.add(secret, name="b"))
    data = noise + secret + noise
    out = r.redact_bytes(data)
    assert secret not in out
    # Oracle on the latin-1 view: one char per byte, so bytes that match nothing are kept as they are.
    patterns = {p for p, _ in r._bytes_table}
    assert out == brute_force(data.decode("latin-1"), patterns, R).encode("latin-1")


def test_overlapping_secrets_merge_into_one_region() -> None:
    r = Redactor(min_length=3)
    r.add("she")
    r.add("hers")
    # Non-overlapping leftmost matching would leave "rs" of "hers" visible in "ushers".
    assert r.redact("ushers") == f"u{R}"
    assert r.redact("she hers") == f"{R} {R}"
    # Adjacent matches merge too.
    assert r.redact("shehers!") == f"{R}!"


def test_min_length_and_empty_values_warn_with_the_name_only() -> None:
    r = Redactor(min_length=8)
    with pytest.warns(RedactorWarning) as rec:
        assert r.add("short", name="kv/pin") is False
        assert r.add("   \n ", name="kv/blank") is False
        assert r.add("  abcdefg  ", name="kv/padded") is False
    messages = [str(w.message) for w in rec]
    assert messages == [
        "secret 'kv/pin' is too short (fewer than 8 characters) and will not be redacted",
        "secret 'kv/blank' is empty or whitespace-only (fewer than 8 characters) and will not be redacted",
        "secret 'kv/padded' is too short (fewer than 8 characters) and will not be redacted",
    ]
    assert not any("short" in m.split("'")[1] for m in messages)
    assert len(r) == 0 and r.redact("short abcdefg") == "short abcdefg"


def test_forms_shorter_than_min_length_are_not_registered() -> None:
    r = Redactor(min_length=6)
    r.add("line-one\nab\nline-three", name="multi")
    # "ab" is a line of the value but too short to be a pattern on its own.
    assert r.redact("ab line-one") == f"ab {R}"


def test_type_errors_do_not_echo_values() -> None:
    r = Redactor()
    with pytest.raises(TypeError, match="secret 'x' must be str or bytes, not int"):
        r.add(12345678, name="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"redact\(\) takes str, not bytes"):
        r.redact(b"abc")  # type: ignore[arg-type]


def test_counts_per_secret_name() -> None:
    r = Redactor()
    r.add("alpha-secret", name="a")
    r.add("bravo-secret", name="b")
    out, counts = r.redact_with_counts("alpha-secret bravo-secret alpha-secret none")
    assert out == f"{R} {R} {R} none"
    assert dict(counts) == {"a": 2, "b": 1}
    assert r.secret_names == ["a", "b"]


def test_add_after_redact_takes_effect_immediately() -> None:
    r = Redactor()
    assert r.redact("token-123456") == "token-123456"
    r.add("token-123456")
    assert r.redact("token-123456") == R


def test_concurrent_add_and_redact_never_raise_or_leak() -> None:
    r = Redactor()
    values = [f"concurrent-secret-{i:04d}-xyz" for i in range(200)]
    errors: list[BaseException] = []
    leaks: list[int] = []

    def adder(chunk: list[str]) -> None:
        try:
            for v in chunk:
                r.add(v)
                # Once add returned, every later redact must catch it.
                if v in r.redact(f"[{v}]"):
                    leaks.append(1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for i in range(300):
                r.redact(f"line {i} {values[i % len(values)]} end")
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=adder, args=(values[i::4],)) for i in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and leaks == []
    text = " ".join(values)
    assert r.redact(text) == " ".join([R] * len(values))


def test_process_wide_default() -> None:
    previous = redactor.set_redactor(Redactor())
    try:
        assert redactor.add_secret("process-wide-secret", name="pw") is True
        assert redactor.redact("x process-wide-secret") == f"x {R}"
        assert redactor.get_redactor().secret_names == ["pw"]
    finally:
        redactor.set_redactor(previous)  # type: ignore[arg-type]


def test_no_secret_value_in_repr() -> None:
    r = Redactor()
    r.add("repr-secret-value", name="n")
    assert "repr-secret-value" not in repr(r)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert repr(r).startswith("<Redactor secrets=1 patterns=")


def test_long_values_are_tiled_and_still_replaced_whole() -> None:
    import base64
    import os

    from redactor.engine.redactor import MAX_PATTERN

    blob = base64.b64encode(os.urandom(3000)).decode()  # a 4,000-character secret
    r = Redactor()
    r.add(blob, name="big")
    assert r.matcher().maxlen == MAX_PATTERN
    assert r.redact(f"<{blob}>") == f"<{R}>"
    assert r.redact_bytes(f"<{blob}>".encode()) == f"<{R}>".encode()
    assert r.redact(json_dumps_inner(blob + "\n")) == R + "\\n"
    # A truncated copy is redacted whole by the fragment windows (tests/test_forms.py has more);
    # without them, tile by tile: at most one tile's worth stays visible.
    assert r.redact(f"<{blob[7 : len(blob) // 2]}...") == f"<{R}..."
    tiled = Redactor(fragment_length=None)
    tiled.add(blob, name="big")
    assert tiled.redact(f"<{blob}>") == f"<{R}>"
    out = tiled.redact(blob[: len(blob) // 2])
    assert out.startswith(R) and len(out) < len(R) + MAX_PATTERN


def json_dumps_inner(s: str) -> str:
    import json

    return json.dumps(s)[1:-1]


def test_large_periodic_value() -> None:
    # 128 KB and periodic: with whole-length patterns pyahocorasick's scan went quadratic here.
    value = b"ab\x00c" * 32_000
    r = Redactor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedactorWarning)
        r.add(value, name="periodic")
    assert r.redact_bytes(b"<" + value + b">") == b"<[REDACTED]>"
    assert r.redact_bytes(b"x" * 1000) == b"x" * 1000
    assert r.matcher(binary=True).maxlen <= 256


def test_pickled_redactor_redacts_the_same_and_keeps_growing() -> None:
    import pickle

    r = Redactor(min_length=8, replacement="<hidden>")
    r.add("hunter2-password", name="db/password")
    r.redact("warm the matcher: hunter2-password")
    copy = pickle.loads(pickle.dumps(r))
    text = "a hunter2-password, aHVudGVyMi1wYXNzd29yZA== and hunter2%2Dpassword"
    assert copy.redact(text) == r.redact(text) == "a <hidden>, <hidden> and hunter2%2Dpassword"
    assert copy.secret_names == ["db/password"] and copy.min_length == 8
    assert copy.pattern_count == r.pattern_count
    copy.add("second-secret-value", name="other")
    assert copy.redact("second-secret-value") == "<hidden>"
    assert r.redact("second-secret-value") == "second-secret-value"
