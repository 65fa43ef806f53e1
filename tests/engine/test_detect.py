"""Token detection in the engine: anchors in the one automaton, verification in a bounded window,
streams exact for any chunking, labels, and learning detected values (issue 15).

Test-only detectors (``tst_`` + 20 alphanumerics, a ``pwd=`` value, a look-behind of three
characters) and the catalog's ``github-token`` keep these tests independent of the rest of the
catalog. The module runs once per engine (tests/conftest.py).
"""

from __future__ import annotations

import base64
import pickle
import re
import zlib
from collections import Counter

import pytest
from helpers.chunks import split_at
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import redactor.engine.redactor as engine_module
from redactor import Redactor, hyperscan_available
from redactor.engine.detect import Detector

pytestmark = pytest.mark.usefixtures("each_engine")
needs_hyperscan = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")

R = "[REDACTED]"
TST = Detector(
    kind="tst-token",
    anchors=("tst_",),
    pattern=r"(?<![A-Za-z0-9_])tst_[A-Za-z0-9]{20}(?![A-Za-z0-9_])",
    max_length=24,
    source="tests",
)
PWD = Detector(
    kind="tst-pwd",
    anchors=("pwd=",),
    pattern=r"pwd=(?P<secret>[A-Za-z0-9]{8,30})(?![A-Za-z0-9])",
    max_length=34,
    source="tests",
)
# A look-behind of three characters: "no tok_..." is not a token, "go tok_..." is.
TOK = Detector(
    kind="tst-tok",
    anchors=("tok_",),
    pattern=r"(?<!no )tok_[a-z]{10}",
    max_length=14,
    lookbehind=3,
    source="tests",
)
# Variable length, up to 100 characters, and a promise that no token holds a space, a newline or
# a quote: a stream releases it once one of those has arrived rather than after 100 characters.
VAR = Detector(
    kind="tst-var",
    anchors=("var_",),
    pattern=r"var_[a-z]{4,96}(?![a-z])",
    max_length=100,
    terminators=' \n"',
    source="tests",
)
DETECTORS = [TST, PWD, TOK, VAR, "github-token"]
TOKEN = "tst_ABCDEFGHIJ0123456789"


def gh_checksummed(token: str) -> str:
    """A ``ghp_`` token of 36 characters with its last 6 made GitHub's CRC32 checksum (base 62),
    so the catalog's checksum check (where it has one) accepts it; other lengths unchanged."""
    body = token[4:]
    if len(body) != 36:
        return token
    n, digits = zlib.crc32(body[:30].encode()), ""
    while n:
        n, r = divmod(n, 62)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[r] + digits
    return token[:4] + body[:30] + digits.rjust(6, "0")


GH = gh_checksummed("ghp_" + "aB3" * 12)


def make(**kw) -> Redactor:
    kw.setdefault("detect", DETECTORS)
    return Redactor(**kw)


def chunked(r: Redactor, text: str, cuts) -> str:
    s = r.stream()
    out = [s.feed(piece) for piece in split_at(text, cuts)]
    out.append(s.flush())
    return "".join(out)


def every_split(r: Redactor, text: str) -> None:
    """Every single cut and the one-character chunking give the one-shot output."""
    want = r.redact(text)
    for k in range(len(text) + 1):
        assert chunked(r, text, [k]) == want, k
    assert chunked(r, text, range(len(text))) == want


# -- exact outputs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {TOKEN} end", f"token {R} end"),
        (f'{{"token": "{TOKEN}", "n": 1}}', f'{{"token": "{R}", "n": 1}}'),
        (f"https://api.example.com/v1?key={TOKEN}&x=1", f"https://api.example.com/v1?key={R}&x=1"),
        (f"Authorization: token {GH}\n", f"Authorization: token {R}\n"),
        ("login pwd=Secr3tPassw0rd;", f"login pwd={R};"),  # the secret group only
        (f"{TOKEN}", R),
        (f"x{TOKEN}", f"x{TOKEN}"),  # look-behind: inside a word, not a token
        (f"{TOKEN}Z", f"{TOKEN}Z"),  # look-ahead: one more alphanumeric, not a token
        (f"{TOKEN[:-1]} tst_", f"{TOKEN[:-1]} tst_"),  # too short, a bare anchor
        ("go tok_abcdefghij.", f"go {R}."),
        ("no tok_abcdefghij.", "no tok_abcdefghij."),
        (f"\x1b[31m{TOKEN}\x1b[0m", f"\x1b[31m{R}\x1b[0m"),
        (f"{TOKEN} {TOKEN}", f"{R} {R}"),
    ],
)
def test_exact_outputs_one_shot_chunked_and_bytes(text: str, expected: str) -> None:
    r = make(learn=False)
    assert r.redact(text) == expected
    assert r.redact_bytes(text.encode()) == expected.encode()
    every_split(r, text)


def test_detection_merges_with_secret_regions_that_touch_or_overlap() -> None:
    r = make(learn=False)
    r.add("!!secret-value", name="db")
    r.add("GHIJ012345", name="inner")
    assert r.redact(f"a {TOKEN}!!secret-value b") == f"a {R} b"  # touching: one region
    assert r.redact(f"a {TOKEN} !!secret-value b") == f"a {R} {R} b"
    assert r.spans(f"{TOKEN}") == [(0, 24, None)]  # the secret inside the token: one region
    every_split(r, f"a {TOKEN}!!secret-value b {TOKEN}")


def test_labelled_replacements_name_the_kind_and_hash_the_token() -> None:
    r = make(learn=False, replacement="[{name}:{hash}]")
    r.add("!!secret-value", name="db")
    h = r.secret_hash(TOKEN)
    assert r.redact(f"a {TOKEN} b") == f"a [tst-token:{h}] b"
    assert r.redact_bytes(f"a {TOKEN} b".encode()) == f"a [tst-token:{h}] b".encode()
    assert r.redact(f"{GH}") == f"[github-token:{r.secret_hash(GH)}]"
    # Merged with a registered secret: the registered secret's label (the lowest id).
    assert r.redact(f"{TOKEN}!!secret-value") == f"[db:{r.secret_hash('!!secret-value')}]"
    every_split(r, f"a {TOKEN} b {TOKEN}!!secret-value pwd=abcdefgh12")
    regions = r.spans(f"{TOKEN}!!secret-value {GH} !!secret-value", with_ids=True)
    assert [r.detected_kinds(x) for x in regions] == [{"tst-token"}, {"github-token"}, set()]
    assert [r.names_of(x) for x in regions] == [{"db", "tst-token"}, {"github-token"}, {"db"}]
    text, counts = r.redact_with_counts(f"{TOKEN} {TOKEN} {GH}")
    assert counts == Counter({"tst-token": 2, "github-token": 1})
    assert text == f"[tst-token:{h}] [tst-token:{h}] [github-token:{r.secret_hash(GH)}]"
    s = r.stream(counts := Counter())
    assert s.feed(f"{TOKEN} x {GH}") + s.flush() == text.replace(" ", " x ", 1).replace(
        f"[tst-token:{h}] [github", "[github"
    )
    assert counts == Counter({"tst-token": 1, "github-token": 1})


def test_lookbehind_sees_the_same_characters_chunked_as_one_shot() -> None:
    r = make(learn=False)
    for text in ("no tok_abcdefghij", "go tok_abcdefghij", "xno tok_abcdefghijk no tok_abcdefghij"):
        every_split(r, text)
    s = r.stream()
    # "no " emitted long before the anchor arrives: the stream remembers it.
    assert s.feed("say no ") == "say no "
    assert s.feed("tok_abcde") == ""
    assert s.feed("fghij and go ") + s.feed("tok_abcdefghij!") + s.flush() == (
        f"tok_abcdefghij and go {R}!"
    )


def test_an_open_anchor_is_held_for_its_window_only() -> None:
    r = make(learn=False)
    s = r.stream()
    assert s.feed("hello tst_") == "hello "
    assert s.pending == 4
    assert s.feed("ABCDEFGHIJ0123456789") == ""  # the look-ahead character has not arrived
    assert s.feed(" and more ") == f"{R} and more "
    assert s.feed("tst_ABCDEFGHIJ0123456789") == ""
    assert s.flush() == R  # the end of the text is a boundary
    assert r.max_hold == 101  # tst-var: 100 + 1 character of look-ahead
    # A long run of anchors never holds more than the largest window.
    s = r.stream()
    out = []
    for _ in range(200):
        out.append(s.feed("tst_tst_"))
        assert s.pending <= r.max_hold
    assert "".join(out) + s.flush() == "tst_tst_" * 200


def test_terminators_close_an_open_anchor_early() -> None:
    r = make(learn=False)
    s = r.stream()
    assert s.feed("a var_abcdef") == "a "
    assert s.feed("gh") == ""
    assert s.feed(" ") == f"{R} "  # a terminator: the token cannot grow any more
    assert s.feed("b\n") == "b\n"
    assert s.flush() == ""
    every_split(r, 'x var_abcdefgh "var_abcd" var_abc var_' + "q" * 120 + " end")


@pytest.mark.parametrize(
    ("pattern", "inferred"),
    [
        (TST.pattern, " \t\r\n\"'<>`"),
        (r"x.y", "\n"),
        (r"(?s)x.y", ""),
        (r"x(?s:.)", ""),
        (r"x\S+", " \t\r\n"),
        (r"x[^/@]+", ""),
        (r"x(?:y|[^\"])+", '"'),
        (r"(x)\1", ""),  # a back-reference: nothing inferred
        (r"x\w+(?=[^@]*@)", ""),  # a look-ahead that reads over anything
        (r"x\w+(?![^@\s])", " \t\r\n"),
        (r"(?<=[ ])x\w+", " \t\r\n\"'<>`"),  # a look-behind reads back only
    ],
)
def test_terminators_inferred_from_the_pattern(pattern: str, inferred: str) -> None:
    from redactor.engine.detect import _unmatchable

    assert _unmatchable(re.compile(pattern)) == inferred


def test_inferred_terminators_release_a_short_token_early() -> None:
    r = make(learn=False)
    s = r.stream()
    assert s.feed("a tst_ABC") == "a "
    assert s.feed(" x") == "tst_ABC x"  # a space: no tst token holds one
    assert s.feed("\n") + s.flush() == "\n"


def test_detect_off_by_default_and_the_default_set() -> None:
    assert Redactor().detectors == ()
    assert Redactor().redact(GH) == GH
    assert "github-token" in [d.kind for d in Redactor(detect=True).detectors]
    assert Redactor(detect=None).detectors == Redactor(detect=True).detectors
    assert Redactor(detect=True).redact(f"x {GH} y") == f"x {R} y"


def test_allowed_tokens_stay_visible() -> None:
    r = make(learn=False, allow=[TOKEN])
    assert r.redact(f"{TOKEN} {GH}") == f"{TOKEN} {R}"


def test_detectors_survive_pickling_and_with_replacement() -> None:
    r = make(learn=False)
    for copy in (pickle.loads(pickle.dumps(r)), r.with_replacement("[{name}]")):
        assert [d.kind for d in copy.detectors] == [d.kind for d in r.detectors]
        assert copy.learn is False
    assert pickle.loads(pickle.dumps(r)).redact(TOKEN) == R
    assert r.with_replacement("[{name}]").redact(f"{TOKEN} {GH}") == "[tst-token] [github-token]"


# -- learning -----------------------------------------------------------------------------------


def test_a_detected_value_is_learned_after_the_call() -> None:
    r = make()
    b64 = base64.b64encode(TOKEN.encode()).decode()
    # In the call that detects it, the token's base64 is not hidden yet: one-shot and chunked
    # give the same output.
    text = f"{TOKEN} {b64}"
    fresh = make()
    s = fresh.stream()
    chunked_out = s.feed(text[:10]) + s.feed(text[10:])
    assert fresh.secret_names == []  # a stream learns at flush, the end of its text
    chunked_out += s.flush()
    assert r.redact(text) == f"{R} {b64}" == chunked_out
    # From then on it is a secret named by its kind, in every encoding.
    for red in (r, fresh):
        assert red.secret_names == ["tst-token"]
        assert red.redact(f"see {b64}") == f"see {R}"
        assert red.redact_with_counts(b64)[1] == Counter({"tst-token": 1})
    r.redact(TOKEN)  # learned once only
    assert r.secret_names == ["tst-token"]


def test_learning_bytes_and_labels_agree() -> None:
    r = make(replacement="[{name}:{hash}]")
    first = r.redact_bytes(f"{GH}\xff".encode("latin-1"))
    assert first == f"[github-token:{r.secret_hash(GH)}]\xff".encode("latin-1")
    assert r.secret_names == ["github-token"]
    # The learned secret's label is the detection's label.
    assert r.redact(GH[:20]) == f"[github-token:{r.secret_hash(GH)}]"  # a fragment window


def test_learn_false_does_not_register() -> None:
    r = make(learn=False)
    b64 = base64.b64encode(TOKEN.encode()).decode()
    assert r.redact(TOKEN) == R
    assert r.secret_names == []
    assert r.redact(b64) == b64


def test_short_detected_values_are_not_learned_and_do_not_warn(recwarn) -> None:
    short = Detector(
        kind="tst-short", anchors=("k=",), pattern=r"k=(?P<secret>\d{3})", max_length=5, source="t"
    )
    r = Redactor(detect=[short])
    assert r.redact("k=123") == f"k={R}"
    assert r.secret_names == []
    assert not recwarn.list


# -- properties ---------------------------------------------------------------------------------

noise_chars = st.sampled_from("ab Z_09-=\n\"'/:;{}é€\x1b[m")


def _token(prefix: str, alphabet: str, exact: int) -> st.SearchStrategy[str]:
    """Tokens of the exact length mostly, one short or long sometimes, between separators (a
    colour code included) or glued to the text around."""
    size = st.sampled_from([exact] * 4 + [exact - 1, exact + 1])
    body = size.flatmap(lambda n: st.text(st.sampled_from(alphabet), min_size=n, max_size=n))
    around = st.sampled_from(["", " ", '"', "=", "\x1b[1m", "\n", "x"])
    return st.builds(lambda a, b, c: a + prefix + b + c, around, body, around)


tokens = st.one_of(
    _token("tst_", "AZaz09", 20),
    _token("pwd=", "Aa0", 12),
    _token("tok_", "abz", 10).map(lambda t: t.replace("tok_", "no tok_", 1) if "z" in t else t),
    _token("var_", "ab", 6),
    _token("var_", "ab", 99),
    _token("ghp_", "aB3", 36).map(
        lambda t: (
            t.replace(m, gh_checksummed(m))
            if (m := t[t.index("ghp_") : t.index("ghp_") + 40])
            else t
        )
    ),
    st.sampled_from(["tst_", "pwd=", "tok_", "ghp_", "var_", "gh", "ts"]),
)
secrets = st.lists(
    st.text(st.sampled_from("ABCab012!-"), min_size=6, max_size=14).filter(
        lambda s: s.strip() == s
    ),
    max_size=2,
)
pieces = st.lists(
    st.one_of(st.text(noise_chars, max_size=8), tokens, st.integers(0, 1)), max_size=10
)
props = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assemble(parts: list, values: list[str]) -> str:
    return "".join(
        p if isinstance(p, str) else values[p % len(values)] if values else "" for p in parts
    )


@props
@given(
    st.text(st.characters(codec="utf-8"), max_size=200), st.lists(st.integers(0, 300), max_size=6)
)
def test_text_with_no_anchor_comes_back_unchanged(text, cuts) -> None:
    assume(
        not any(
            a in text
            for a in ("tst_", "pwd=", "tok_", "var_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_")
        )
    )
    r = make()
    assert r.redact(text) == text
    assert chunked(r, text, cuts) == text
    assert r.redact_bytes(text.encode("utf-8", "surrogatepass")) == text.encode(
        "utf-8", "surrogatepass"
    )
    assert r.secret_names == []


@props
@given(secrets, pieces, st.lists(st.integers(0, 10_000), max_size=10), st.booleans())
def test_any_chunking_equals_one_shot(values, parts, cuts, labelled) -> None:
    r = make(learn=False, replacement="<{name}>" if labelled else R)
    for i, v in enumerate(values):
        r.add(v, f"s{i}")
    text = assemble(parts, values)
    want = r.redact(text)
    assert chunked(r, text, cuts) == want
    # What a stream holds: a partial pattern, or an open anchor's window (the larger bound).
    bound = max(r.matcher().maxlen, r.max_hold) - 1
    stream, out_text = r.stream(), []
    for piece in split_at(text, cuts):
        out_text.append(stream.feed(piece))
        if "\x1b" not in text:
            assert stream.pending <= bound
    assert "".join(out_text) + stream.flush() == want
    data = text.encode()
    s = r.bytes_stream()
    out = [s.feed(p) for p in split_at(data, cuts)]
    out.append(s.flush())
    assert b"".join(out) == r.redact_bytes(data) == want.encode()


@props
@given(secrets, pieces, st.lists(st.integers(0, 10_000), max_size=6))
def test_learning_never_changes_the_output_of_the_call(values, parts, cuts) -> None:
    text = assemble(parts, values)
    one, two, off = make(), make(), make(learn=False)
    for r in (one, two, off):
        for i, v in enumerate(values):
            r.add(v, f"s{i}")
    want = off.redact(text)
    assert one.redact(text) == want
    assert chunked(two, text, cuts) == want
    assert one.secret_names == two.secret_names


@props
@given(secrets, pieces, st.booleans())
@needs_hyperscan
def test_engines_agree(values, parts, labelled) -> None:
    rep = "<{name}:{hash}>" if labelled else R
    ref = make(engine="ahocorasick", learn=False, replacement=rep, hash_key="k")
    fast = make(engine="hyperscan", learn=False, replacement=rep, hash_key="k")
    for r in (ref, fast):
        for i, v in enumerate(values):
            r.add(v, f"s{i}")
    text = assemble(parts, values)
    assert fast.redact(text) == ref.redact(text)
    assert fast.redact_bytes(text.encode()) == ref.redact_bytes(text.encode())
    assert fast.spans(text, with_ids=True) == ref.spans(text, with_ids=True)
    assert fast.matcher().hold_length(text) == ref.matcher().hold_length(text)


# -- windows and engines ------------------------------------------------------------------------


def test_windowed_scanning_of_long_texts_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    r = make(engine="ahocorasick", learn=False, replacement="<{name}>")
    r.add("!!secret-value", name="db")
    line = f"a {TOKEN} b go tok_abcdefghij {TOKEN}!!secret-value pwd=abcdefgh123 {GH}\n"
    text = line * 7
    want = r.redact(text)
    assert want.count("<tst-token>") == 7 and want.count("<github-token>") == 7
    for window in (17, 24, 25, 40, 41, 64):
        monkeypatch.setattr(engine_module, "_WINDOW", window)
        assert r.redact(text) == want, window
        assert r.redact_bytes(text.encode()) == want.encode(), window


@needs_hyperscan
def test_auto_switches_engines_mid_stream_without_changing_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_module, "AUTO_MIN_WORK", 200)
    monkeypatch.setattr(engine_module, "AUTO_WORK_PER_PATTERN_CHAR", 0)
    auto, ref = make(engine="auto", learn=False), make(engine="ahocorasick", learn=False)
    for r in (auto, ref):
        r.add("!!secret-value", name="db")
    assert auto.matcher().name == "ahocorasick"
    line = f"x {TOKEN}!!secret-value no tok_abcdefghij go tok_abcdefghij {GH}\n"
    s_auto, s_ref = auto.stream(), ref.stream()
    for i in range(10):
        piece = line[: 20 + 3 * i] if i % 2 else line
        assert s_auto.feed(piece) == s_ref.feed(piece)
        assert auto.redact(piece) == ref.redact(piece)
        if i == 6:
            assert auto.settle(timeout=60)  # the background compile, asked for by now
    assert auto.matcher().name == "hyperscan"
    assert s_auto.flush() == s_ref.flush()


@props
@given(
    st.lists(
        st.text(st.sampled_from("ab_é€"), min_size=1, max_size=5),
        min_size=1,
        max_size=4,
        unique=True,  # the engine's tables hold each form once
    ),
    st.lists(st.text(st.sampled_from("ab_é€"), min_size=1, max_size=4), min_size=1, max_size=3),
    st.lists(st.text(st.sampled_from("ab_é€x"), max_size=12), max_size=4),
    st.booleans(),
)
@needs_hyperscan
def test_matchers_agree_on_regions_and_anchor_hits(forms, anchors, noise, binary) -> None:
    """Anchors (negative ids) next to secret forms, an anchor that is also a form included: the
    same regions and the same hits from both engines, text and bytes."""
    from redactor.engine.matchers import AhoCorasickMatcher, HyperscanMatcher

    def view(s: str) -> str:
        return s.encode().decode("latin-1") if binary else s

    pairs = [(view(f), i) for i, f in enumerate(forms)]
    pairs += [(view(a), -1 - k) for k, a in enumerate(dict.fromkeys(anchors))]
    ref, fast = AhoCorasickMatcher(pairs, binary), HyperscanMatcher(pairs, binary)
    text = view("".join(x for pair in zip(noise + [""] * 4, forms + anchors) for x in pair))
    assert fast.scan(text, with_ids=True) == ref.scan(text, with_ids=True)
    assert fast.spans(text) == ref.spans(text) == ref.scan(text)[0]
    assert fast.anchor_count == ref.anchor_count
    for k in range(len(text) + 1):
        assert fast.hold_length(text[:k]) == ref.hold_length(text[:k])
