"""Registering a secret got cheaper (issue 14's 50 ms at ``%load_ext``) and hides no less.

The oracle below is a copy of how the engine built a secret's patterns before that work (the
wrapped-base64 encoder, tiling, windows, the latin-1 view, the per-form table loop), but for the
fragments (issue 20): windows of ASCII forms without whitespace now match through anchors, so
the oracle sets them apart and the plan's patterns (forms and windows) are compared with them. For random
values, and the two long values measured (a 316-character session token and a 2,268-character
base64 PEM key), the patterns a Redactor registers, in its text and bytes tables and with the same
secret ids, are exactly the oracle's: the speed-up changed how they are built, not which.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.engine import encodings
from redactor.engine.encodings import (
    Encoding,
    SecretValue,
    forms_and_partials,
    get_encoding,
)
from redactor.engine.redactor import MAX_PATTERN
from redactor.engine.structure import secret_parts

pytestmark = pytest.mark.filterwarnings("ignore::redactor.engine.redactor.RedactorWarning")

# --- the old implementation, verbatim but for names -------------------------------------------

_B64_SKIP = (0, 2, 3)


def _old_b64_offset_forms(data: bytes) -> Iterator[str]:
    n = len(data)
    for offset in (0, 1, 2):
        enc = base64.b64encode(b"\0" * offset + data).decode("ascii")
        stop = ((offset + n) * 8) // 6
        yield enc[_B64_SKIP[offset] : stop]


def _old_wrapped_spans(enc: str) -> Iterator[tuple[str, int]]:
    """Each wrapped pattern of ``enc`` with the index just past its last character."""
    side, window, whole = 8, 32, 40
    n = len(enc)
    yield from ((enc[i : i + window], i + window) for i in range(0, n - window + 1, side))
    yield enc[-window:], n
    for p in range(1, n):
        left = enc[:p] if p < whole else enc[p - side : p]
        right, stop = (enc[p:], n) if n - p < whole else (enc[p : p + side], p + side)
        yield left + "\n" + right, stop
        yield left + "\r\n" + right, stop


def _old_base64_wrapped(v: SecretValue) -> Iterator[str]:
    if len(v.data) < 49:
        return
    for enc in _old_b64_offset_forms(v.data):
        yield from (pattern for pattern, _ in _old_wrapped_spans(enc))
    # Issue 19: a copy ending its blob at byte offset 0, 1 or 2, written here from its definition
    # (every pattern of the padded tail's wrapped forms that reaches its last character), not as
    # the encoder builds them.
    for offset in (0, 1, 2):
        if (offset + len(v.data)) % 3:
            end = base64.b64encode(b"\0" * offset + v.data).decode("ascii")[_B64_SKIP[offset] :]
            yield from (pattern for pattern, stop in _old_wrapped_spans(end) if stop == len(end))


def _old_tiles(forms: set[str]) -> set[str]:
    out: set[str] = set()
    for form in forms:
        n = len(form)
        if n <= MAX_PATTERN:
            out.add(form)
        else:
            out.update(form[i : i + MAX_PATTERN] for i in range(0, n - MAX_PATTERN, MAX_PATTERN))
            out.add(form[-MAX_PATTERN:])
    return out


def _old_windows(forms: set[str], length: int, min_length: int) -> set[str]:
    out: set[str] = set()
    for form in forms:
        if len(form) <= length:
            continue
        if form.isalnum() or not any(c.isspace() for c in form):
            out.update(form[i : i + length] for i in range(len(form) - length + 1))
            continue
        for i in range(len(form) - length + 1):
            window = form[i : i + length].strip()
            if len(window) >= min_length:
                out.add(window)
    return out


def _old_latin1(form: str) -> str:
    return form.encode("utf-8", "surrogatepass").decode("latin-1")


class Oracle:
    """The tables a Redactor with these settings built before, as sets of (form, secret id)."""

    def __init__(self, r: Redactor) -> None:
        self.min_length, self.fragment_length, self.allow = r.min_length, r.fragment_length, r.allow
        self.encodings = [
            Encoding(e, _old_base64_wrapped, "fragment")
            if e == "base64-wrapped"
            else get_encoding(e)
            for e in r.encodings
        ]
        self.text: dict[str, int] = {}
        self.bytes: dict[str, int] = {}
        self.fragments: set[str] = set()
        self.windows: set[str] = set()
        self.count = 0

    def add(self, value: str | bytes, name: str | None = None) -> None:
        secret = SecretValue.of(value)
        if self._add_one(secret) and secret.text is not None:
            for _, part in secret_parts(secret.text):
                self._add_one(SecretValue.of(part))

    def _add_one(self, secret: SecretValue) -> bool:
        if self.allow and secret.text is not None:
            if secret.text in self.allow or secret.text.strip() in self.allow:
                return False
        core = secret.text.strip() if secret.text is not None else secret.data
        if len(core) < self.min_length:
            return False
        all_forms, partials = forms_and_partials(secret, self.encodings)
        forms = {f for f in all_forms if len(f) >= self.min_length}
        bytes_forms = {_old_latin1(f) for f in forms}
        if secret.text is None:
            raw = secret.data.decode("utf-8", "surrogateescape")
            forms.add(raw)
            partials.add(raw)
            bytes_forms.add(secret.data.decode("latin-1"))
        if self.allow:
            forms -= self.allow
            bytes_forms -= {_old_latin1(a) for a in self.allow}
        forms, bytes_forms = _old_tiles(forms), _old_tiles(bytes_forms)
        if self.fragment_length is not None:
            # Since issue 20, an ASCII form without whitespace is kept whole as a fragment and
            # its windows are found through anchors (redactor.engine.plan): the same windows,
            # not in the tables.
            length = self.fragment_length
            fragments = {
                p
                for p in partials
                if len(p) > length and p.isascii() and not any(c.isspace() for c in p)
            }
            self.fragments |= fragments
            self.windows |= _old_windows(fragments, length, self.min_length)
            windows = _old_windows(partials - fragments, length, self.min_length)
            forms |= windows
            bytes_forms |= {w if w.isascii() else _old_latin1(w) for w in windows}
            if secret.text is None:
                raw_bytes = {secret.data.decode("latin-1")}
                bytes_forms |= _old_windows(raw_bytes, self.fragment_length, self.min_length)
        secret_id = self.count
        self.count += 1
        for table, new in ((self.text, forms), (self.bytes, bytes_forms)):
            for form in new:
                table.setdefault(form, secret_id)
        return True


def tables(r: Redactor) -> tuple[dict[str, int], dict[str, int]]:
    out = []
    for table in (r._text_table, r._bytes_table):
        d = dict(table)
        assert len(d) == len(table), "a form registered twice"
        out.append(d)
    return out[0], out[1]


def check(values: list[str | bytes], **kwargs: object) -> None:
    r = Redactor(**kwargs)  # type: ignore[arg-type]
    oracle = Oracle(r)
    for i, v in enumerate(values):
        r.add(v, f"s{i}")
        oracle.add(v)
    text, data = tables(r)
    assert text == oracle.text
    assert data == oracle.bytes
    assert {p for p, _ in r._fragments} == oracle.fragments
    # The plan matches exactly the old patterns: the forms and every window.
    for binary, table in ((False, text), (True, data)):
        assert set(r._current()._plan(binary).patterns()) == set(table) | oracle.windows
    assert len(r) == oracle.count
    assert r._pattern_chars == sum(map(len, text)) + sum(map(len, data))


# --- the two values measured (benchmarks/bench_discovery.py) ----------------------------------


def session_token() -> str:
    rng = random.Random(316)
    return "".join(rng.choice(string.ascii_letters + string.digits + "/+") for _ in range(316))


def kube_client_key() -> str:
    rng = random.Random(2268)
    lines = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(26)]
    pem = (
        "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----\n"
    )
    return base64.b64encode(pem.encode()).decode()[:2268]


@pytest.mark.parametrize("value", [session_token(), kube_client_key()], ids=["316", "2268"])
def test_long_values_register_exactly_the_old_patterns(value: str) -> None:
    check([value])
    check([value], fragment_length=None)


def test_the_pem_itself_and_its_lines_register_exactly_the_old_patterns() -> None:
    pem = base64.b64decode(kube_client_key()[:2264]).decode()
    check([pem, pem.encode(), "  " + pem + "\r\n"])


# --- random values ----------------------------------------------------------------------------

_chars = st.sampled_from(string.ascii_letters + string.digits + "+/=-_.'\"\\ \n\r\t&<>%é€😀")
_values = st.one_of(
    st.text(_chars, min_size=1, max_size=400),
    st.text(
        st.sampled_from(string.ascii_letters + string.digits + "+/"), min_size=40, max_size=700
    ),
    st.binary(min_size=1, max_size=200),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(_values, min_size=1, max_size=3),
    min_length=st.sampled_from([1, 8, 20]),
    fragment_length=st.sampled_from([16, None, 40]),
    allow=st.lists(st.text(_chars, min_size=1, max_size=12), max_size=2),
)
def test_random_values_register_exactly_the_old_patterns(
    values: list[str | bytes], min_length: int, fragment_length: int | None, allow: list[str]
) -> None:
    check(values, min_length=min_length, fragment_length=fragment_length, allow=allow)


@settings(max_examples=30, deadline=None)
@given(st.lists(_values, min_size=2, max_size=4), st.randoms(use_true_random=False))
def test_overlapping_secrets_keep_the_first_id_of_a_shared_form(
    values: list[str | bytes], rng: random.Random
) -> None:
    # A value and pieces of it: their forms overlap, and the first secret to register a form owns it.
    texts = [v for v in values if isinstance(v, str) and len(v) > 4]
    pieces = [t[: rng.randrange(1, len(t))] for t in texts]
    check(values + pieces + values, min_length=2)


# --- the per-character escapers, now one str.translate for ASCII text --------------------------

_OLD_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b"}
_OLD_JSON_SHORT["\f"] = "\\f"


def _old_json_escape(s: str, ascii: bool = True, upper: bool = False, extra: str = "") -> str:
    hex4 = "\\u{:04X}" if upper else "\\u{:04x}"
    out = []
    for c in s:
        o = ord(c)
        if c == "/" and "/" in extra:
            out.append("\\/")
        elif c in extra:
            out.append(hex4.format(o))
        elif c in _OLD_JSON_SHORT:
            out.append(_OLD_JSON_SHORT[c])
        elif o < 0x20 or (ascii and o > 0x7E):
            if o > 0xFFFF:
                o -= 0x10000
                out.append(hex4.format(0xD800 | (o >> 10)) + hex4.format(0xDC00 | (o & 0x3FF)))
            else:
                out.append(hex4.format(o))
        else:
            out.append(c)
    return "".join(out)


def _old_js_escape(s: str, style: str, upper: bool) -> str:
    out = []
    for c in s:
        o = ord(c)
        if c == "\\" and style != "all":
            out.append("\\\\")
        elif c in "'\"&<>=+/`\\" or (
            style == "all" and not c.isalnum() and o < 0x80 and c not in "_-."
        ):
            digits = f"{o:02X}" if style != "u" else f"{o:04X}"
            out.append(("\\x" if style != "u" else "\\u") + (digits if upper else digits.lower()))
        else:
            out.append(c)
    return "".join(out)


def _old_repr_body(value: str | bytes, quote: str = "'") -> str:
    if isinstance(value, str):
        parts = (repr(c)[1:-1] if c not in "'\"" else c for c in value)
    else:
        parts = (repr(bytes((b,)))[2:-1] if b not in b"'\"" else chr(b) for b in value)
    body = "".join(parts)
    return body.replace("'", "\\'") if quote == "'" else body


_all_chars = st.one_of(st.characters(max_codepoint=127), st.characters())


@settings(max_examples=300, deadline=None)
@given(st.text(_all_chars, max_size=40), st.binary(max_size=40))
def test_the_escapers_write_what_their_per_character_loops_wrote(s: str, data: bytes) -> None:
    for text in (s, s.encode("ascii", "replace").decode()):
        for ascii_only in (True, False):
            for upper in (False, True):
                for extra in ("", "<>&\u2028\u2029", "<>&='", "<>&'", "/"):
                    got = encodings.json_escape(text, ascii_only, upper, extra)
                    assert got == _old_json_escape(text, ascii_only, upper, extra)
        for style in ("x", "u", "all"):
            for upper in (False, True):
                got = encodings._js_escape(text, style, upper)
                assert got == _old_js_escape(text, style, upper)
        for q in ("'", '"'):
            assert encodings.repr_body(text, q) == _old_repr_body(text, q)
    for q in ("'", '"'):
        assert encodings.repr_body(data, q) == _old_repr_body(data, q)


def test_no_escaper_changes_a_letter_or_a_digit() -> None:
    # What lets their translate tables leave out letters and digits.
    for c in string.ascii_letters + string.digits:
        for ascii_only in (True, False):
            for upper in (False, True):
                for extra in ("", "<>&\u2028\u2029", "<>&='", "<>&'", "/"):
                    assert _old_json_escape(c, ascii_only, upper, extra) == c
        assert all(_old_js_escape(c, s, u) == c for s in ("x", "u", "all") for u in (False, True))
        assert _old_repr_body(c) == c
