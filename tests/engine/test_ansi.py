"""Colours: secrets are found across terminal escape sequences, in one shot and in streams."""

from __future__ import annotations

from collections import Counter

import pytest
from helpers.chunks import split_at as chunked
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from redactor import Redactor

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

R = "[REDACTED]"
# redactor.engine.ansi's bounds (spelled out, so that this module also runs against older code)
GAP_MAX = 1024
STRING_MAX = 512
SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("ANSI_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Secrets with quotes, digits only, unicode; fillers share no character with them.
secret_chars = st.characters(
    codec="utf-8", categories=("L", "N"), include_characters="\"'\\_-/+=", exclude_characters="~"
)
secrets_st = st.one_of(
    st.text(secret_chars, min_size=6, max_size=40),
    st.text("0123456789", min_size=6, max_size=20),
    st.text(secret_chars, min_size=257, max_size=600),  # long: tiled
)
FILLER = " .,:~\n\t|()"
fillers = st.text(FILLER, max_size=12)

sgr = st.lists(st.integers(0, 255), max_size=6).map(
    lambda ps: "\x1b[" + ";".join(map(str, ps)) + "m"
)
csi = st.tuples(
    st.text("0123456789;:<=>?", max_size=10),
    st.text(" !\"#$%&'()*+,-./", max_size=2),
    st.sampled_from("@ABCDHJKSTfhlmnsu~"),
).map(lambda t: "\x1b[" + "".join(t))
osc = st.tuples(st.text("abc:/.=;8 ", max_size=40), st.sampled_from(["\x07", "\x1b\\"])).map(
    lambda t: "\x1b]8;;" + t[0] + t[1]
)
two = st.sampled_from(["\x1b(B", "\x1b7", "\x1b8", "\x1bc", "\x1b=", "\x1b>", "\x1b)0"])
escapes = st.one_of(sgr, csi, osc, two)
# Also what is not a (complete) sequence: an ESC alone, or followed by anything.
junk = st.one_of(
    escapes,
    st.text(FILLER + "[];m0123456789\x1b\x07", min_size=1, max_size=6).map(lambda t: "\x1b" + t),
)


def build(*secrets: str) -> Redactor:
    r = Redactor()
    for i, s in enumerate(secrets):
        r.add(s, name=f"s{i}")
    return r


def occurrences(text: str, secret: str) -> list[int]:
    """Where ``secret`` starts in ``text``, overlapping occurrences included."""
    found, at = [], text.find(secret)
    while at >= 0:
        found.append(at)
        at = text.find(secret, at + 1)
    return found


def colour(secret: str, cuts: list[int], codes: list[str]) -> str:
    """``secret`` with ``codes`` inserted strictly inside it, at ``cuts`` (mod its inner gaps)."""
    points = sorted({1 + c % (len(secret) - 1) for c in cuts})
    out, last = [], 0
    for p, code in zip(points, codes):
        out += [secret[last:p], code]
        last = p
    out.append(secret[last:])
    return "".join(out)


@SETTINGS
@given(
    secrets_st,
    fillers,
    fillers,
    st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
    st.lists(st.lists(escapes, min_size=1, max_size=3).map("".join), min_size=6, max_size=6),
    st.lists(escapes, max_size=3).map("".join),
    st.lists(escapes, max_size=3).map("".join),
)
def test_colour_codes_inside_a_secret_are_hidden_with_it(
    secret, before, after, cuts, codes, lead, trail
) -> None:
    r = build(secret)
    text = before + lead + colour(secret, cuts, codes) + trail + after
    # Sequences are made of digits, letters and punctuation too: one around the secret that
    # spells a form of it ("\x1b[000000@") or joins its first or last characters ("\x1b)0" before
    # "00000", an OSC's closing backslash before the quote of "'0000...") is a copy of that form
    # in the bytes, rightly hidden in the sequence's place, and not this test's case.
    start, stop = len(before + lead), len(text) - len(trail + after)
    forms = r._current()._plan(False).patterns()
    assume(not any(at < start or at + len(f) > stop for f in forms for at in occurrences(text, f)))
    expected = before + lead + R + trail + after  # the colours around it stay
    assert r.redact(text) == expected
    assert r.redact_bytes(text.encode()) == expected.encode()
    assert r.redact_with_counts(text) == (expected, Counter({"s0": 1}))
    assert r.contains_secret(text)
    assert r.spans(text) == [(len(before + lead), len(text) - len(trail + after), None)]


@SETTINGS
@given(
    st.lists(secrets_st, min_size=1, max_size=3),
    st.lists(
        st.one_of(
            st.text(FILLER, max_size=10),
            junk,
            st.tuples(st.integers(0, 2), st.lists(st.integers(0, 999), max_size=3), escapes),
        ),
        max_size=10,
    ),
    st.lists(st.integers(0, 100_000), max_size=12),
)
def test_any_chunking_equals_one_shot_with_escape_sequences(secrets, parts, cuts) -> None:
    r = build(*secrets)
    pieces = []
    for p in parts:
        if isinstance(p, str):
            pieces.append(p)
        else:  # a secret, whole or cut short, coloured inside
            k, where, code = p
            s = secrets[k % len(secrets)]
            pieces.append(colour(s, where, [code] * 3) if where else s)
    text = "".join(pieces)
    one_shot = r.redact(text)
    stream = r.stream(counts := Counter())
    out = [stream.feed(piece) for piece in chunked(text, cuts)]
    out.append(stream.flush())
    assert "".join(out) == one_shot
    assert counts == r.redact_with_counts(text)[1]
    data = text.encode()
    bstream = r.bytes_stream()
    bout = b"".join(bstream.feed(piece) for piece in chunked(data, cuts)) + bstream.flush()
    # (not compared with the str result: a partial copy of a tiled long secret is cut into
    # tiles by characters on one path and by UTF-8 bytes on the other)
    assert bout == r.redact_bytes(data)


# No character of these is in any sequence or junk above, nor in the fillers.
clean_secrets = st.text("αβγδεζηθQWEVRZ\"'", min_size=6, max_size=30)


@SETTINGS
@given(
    st.lists(clean_secrets, min_size=1, max_size=2),
    st.lists(st.one_of(st.text(FILLER, max_size=10), junk), max_size=12),
    st.lists(st.integers(0, 10_000), max_size=8),
)
def test_text_without_secrets_is_unchanged(secrets, parts, cuts) -> None:
    r = build(*secrets)
    text = "".join(parts)
    assert r.redact(text) == text
    assert r.redact_bytes(text.encode()) == text.encode()
    assert not r.contains_secret(text)
    assert r.spans(text) == []
    s = r.stream()
    assert "".join(s.feed(p) for p in chunked(text, cuts)) + s.flush() == text


def test_adjacent_secrets_joined_by_escapes_are_one_region() -> None:
    r = build("first-secret", "second-secret")
    text = "a first-secret\x1b[0m\x1b[1msecond-secret b"
    assert r.redact(text) == f"a {R} b"
    # with text between them, they are two, and the colours between stay
    assert r.redact("first-secret\x1b[0m:second-secret") == f"{R}\x1b[0m:{R}"


def test_kinds_of_sequences() -> None:
    r = build("hunter2-password")
    cases = {
        "hunter2\x1b[38;2;255;0;0m-password": R,  # SGR truecolour
        "hunt\x1b[2Ker2-password": R,  # CSI erase line
        "hunter2-\x1b]8;;https://x.example/\x1b\\pass\x1b]8;;\x1b\\word": R,  # OSC 8 hyperlink
        "hunter2-pass\x1b]0;title\x07word": R,  # OSC with BEL
        "hunter2\x1b(B\x1b[m-password": R,  # tput sgr0
        "hunter2\x1b7-password": R,
    }
    for text, expected in cases.items():
        assert r.redact(text) == expected, repr(text)
    # ESC that starts no sequence is an ordinary character: it still splits the secret
    assert r.redact("hunter2\x1b-password") == "hunter2\x1b-password"
    assert r.redact("hunter2\x1b[1;\n-password") == "hunter2\x1b[1;\n-password"
    # too long to be a sequence here
    long_osc = "\x1b]" + "x" * (STRING_MAX + 1) + "\x07"
    assert r.redact("hunter2" + long_osc + "-password").startswith("hunter2\x1b]")


def test_a_long_run_of_escapes_breaks_a_match() -> None:
    r = build("hunter2-password")
    short = "\x1b[0m" * (GAP_MAX // 4)
    long = short + "\x1b[0m"
    assert r.redact(f"hunter2{short}-password") == R
    assert r.redact(f"hunter2{long}-password") == f"hunter2{long}-password"


def test_stream_holds_an_unfinished_sequence_and_releases_colours_at_once() -> None:
    r = build("hunter2-password")
    s = r.stream()
    assert s.feed("\x1b[31mred text\x1b[0m\n") == "\x1b[31mred text\x1b[0m\n"
    assert s.pending == 0
    assert s.feed("x hunter2\x1b[3") == "x "
    assert s.feed("1m-pass") == ""
    assert s.feed("word\x1b[0m ok") == f"{R}\x1b[0m ok"
    assert s.flush() == ""
    # A region followed by escapes stays open (holding them) until what follows is known. With
    # the raw form only, a whole match at the end is not held back itself.
    r = Redactor(encodings=[])
    r.add("hunter2-password")
    s = r.stream()
    assert s.feed("hunter2-password+\x1b[0m") == f"{R}+\x1b[0m"
    assert s.feed("hunter2-password\x1b[0m") == R
    assert s.pending == len("\x1b[0m")
    assert s.feed("\x1b[1m") == ""
    assert s.feed("hunter2-password!") == "!"  # one region with the first
    assert s.feed("hunter2-password\x1b[0m") == R
    assert s.feed("!") == "\x1b[0m!"
    assert s.flush() == ""


def test_stream_memory_is_bounded_with_endless_escapes() -> None:
    r = build("hunter2-password")
    s = r.stream()
    total = 0
    for _ in range(500):
        total += len(s.feed("hunter2-pass" + "\x1b[0m" * 100))
        assert s.pending <= 16 * (GAP_MAX + 1)
    total += len(s.flush())
    assert total == 500 * (12 + 400)


def test_spans_takes_bytes_and_counts_ids() -> None:
    r = build("hunter2-password", "other-secret")
    data = "é hunter2\x1b[1m-password".encode()
    assert r.spans(data, with_ids=True) == [(3, len(data), frozenset({0}))]
    assert r.spans(b"") == []
    with pytest.raises(TypeError):
        r.spans(42)  # type: ignore[arg-type]
