"""The forms a secret takes (issue 12, items 2, 3, 5 and 6), engine-level, on both engines.

* repr() escapes that depend on the enclosing string (``\\'`` or ``'``), for str and bytes, and a
  repr inside a repr;
* partial copies of long secrets: every window of ``fragment_length`` characters is registered, so
  no such run survives and the whole visible piece becomes one ``[REDACTED]``;
* the escaping schemes real programs emit, each produced by the real library or tool.
"""

from __future__ import annotations

import base64
import email.base64mime
import json
import os
import random
import re
import shlex
import shutil
import string
import subprocess
import urllib.parse
from xml.sax import saxutils

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from redactor import Redactor

# Imported where used, so that this module also runs (and fails where it should) on older code.
_B64_SKIP = (0, 2, 3)  # base64 characters that depend on neighbouring bytes at offset 0, 1, 2


def body(value: str | bytes, quote: str) -> str:
    """repr()'s text between the quotes as if delimited by ``quote`` (checked against CPython in
    test_repr_body_is_what_cpython_shows_in_both_contexts)."""
    if isinstance(value, str):
        chars = [repr(c)[1:-1] if c not in "'\"" else c for c in value]
    else:
        chars = [repr(bytes((b,)))[2:-1] if b not in b"'\"" else chr(b) for b in value]
    return "".join(c.replace("'", "\\'") if quote == "'" else c for c in chars)


# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

R = "[REDACTED]"
F = 16
# A replacement that no generated secret contains, so a secret found in the output was left there.
MARK = "\U0001f512"

QUOTY = st.sampled_from(list("'\"\\ab9 é€\t\n\x00\x7f😀`$%&<>/=")) | st.characters(
    blacklist_categories=("Cs",), blacklist_characters=MARK
)


def secrets(min_size: int = 6, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(QUOTY, min_size=min_size, max_size=max_size).filter(
        lambda s: len(s.strip()) >= 6
    )


# -- 2. repr() in both quote contexts ------------------------------------------------------------


def test_issue_example_repr_of_a_quote_inside_a_double_quoted_value() -> None:
    r = Redactor()
    r.add("Tr0ub4dor'3xyzQ")
    assert r.redact(repr({"dsn": 'pw="Tr0ub4dor\'3xyzQ"'})) == "{'dsn': 'pw=\"" + R + "\"'}"
    # bytes, and the value alone (Python then picks the other quote and leaves ' alone)
    assert r.redact(repr([b'pw="Tr0ub4dor\'3xyzQ"'])) == "[b'pw=\"" + R + "\"']"
    assert r.redact(repr("Tr0ub4dor'3xyzQ")) == f'"{R}"'
    # a repr inside a repr (a logged %r of a message that holds a repr): backslashes doubled
    inner = repr({"dsn": 'pw="Tr0ub4dor\'3xyzQ"'})
    assert r.redact(repr(inner)) == repr("{'dsn': 'pw=\"" + R + "\"'}")
    assert r.redact(repr(repr(b"x'Tr0ub4dor'3xyzQ\""))) == "'b\\'x\\\\\\'" + R + "\"\\''"


@settings(max_examples=300, deadline=None)
@given(st.text(QUOTY, max_size=30))
def test_repr_body_is_what_cpython_shows_in_both_contexts(s: str) -> None:
    """The engine's repr bodies, checked against CPython: inside '...' when the string holds both
    quotes, inside "..." when it holds ' only (a body needs no other context)."""
    from redactor.engine.encodings import repr_body

    for q in ("'", '"'):
        assert body(s, q) == repr_body(s, q) and body(s.encode(), q) == repr_body(s.encode(), q)
    assert repr(s)[1:-1] == repr_body(s, repr(s)[0])
    assert repr(s + "'\"")[1:-1] == repr_body(s, "'") + "\\'\""
    if '"' not in s:
        assert repr(s + "'")[1:-1] == repr_body(s, '"') + "'"
    data = s.encode("utf-8")
    assert repr(data)[2:-1] == repr_body(data, repr(data)[1])
    assert repr(data + b"'\"")[2:-1] == repr_body(data, "'") + "\\'\""


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets(), before=st.text(QUOTY, max_size=12), after=st.text(QUOTY, max_size=12))
def test_repr_of_str_bytes_and_containers_never_shows_the_secret(
    secret: str, before: str, after: str
) -> None:
    r = Redactor(replacement=MARK)
    assert r.add(secret)
    value = before + secret + after
    data = value.encode("utf-8")
    shown = [
        repr(value),
        repr(data),
        repr({"k": [value, (data,)]}),
        repr(repr(value)),
        repr([repr(data)]),
        str({"nested": {"v": value}}),
        ascii(value),
    ]
    bodies = {secret.strip()} if secret.strip().isprintable() else set()
    for q in ("'", '"'):
        for once in (body(secret, q), body(secret.encode(), q)):
            bodies.add(once)
            bodies.update(body(once, q2) for q2 in ("'", '"'))
    for text in shown:
        out = r.redact(text)
        for shown_body in bodies:
            assert shown_body not in out, (text, out)


# -- 3 and 6. partial copies of long secrets -----------------------------------------------------

TOKEN = "ghp_" + "".join(random.Random(12).choices(string.ascii_letters + string.digits, k=116))


def test_fragment_windows_hide_the_whole_visible_piece() -> None:
    r = Redactor()
    r.add(TOKEN, name="gh")
    assert len(TOKEN) == 120
    assert r.redact(f"| {TOKEN[:47]}... |") == f"| {R}... |"  # pandas' head
    assert r.redact(f"'{TOKEN[:20]}...{TOKEN[-20:]}'") == f"'{R}...{R}'"  # head and tail
    assert r.redact(f"<{TOKEN[50:66]}>") == f"<{R}>"  # any 16 characters
    assert r.redact(f"<{TOKEN[50:65]}>") == f"<{TOKEN[50:65]}>"  # 15 are below the bound
    assert r.redact(f"x{TOKEN}y") == f"x{R}y"  # a full copy is one region


def test_fragment_length_is_a_parameter_and_none_switches_windows_off() -> None:
    short = Redactor(fragment_length=8)
    short.add(TOKEN)
    assert short.redact(f"<{TOKEN[3:11]}>") == f"<{R}>"
    off = Redactor(fragment_length=None)
    off.add(TOKEN)
    assert off.redact(f"<{TOKEN[:47]}...>") == f"<{TOKEN[:47]}...>"
    assert off.redact(f"<{TOKEN}>") == f"<{R}>"
    on = Redactor()
    on.add(TOKEN)
    # the raw form is kept whole as a fragment; its plan matches its windows (one may coincide
    # with a pattern registered anyway) through a few anchors (redactor.engine.plan)
    assert on.pattern_count == off.pattern_count
    assert [p for p, _ in on._fragments] == [TOKEN]
    windows = len(on._current()._plan(False).patterns()) - len(
        off._current()._plan(False).patterns()
    )
    assert len(TOKEN) - F <= windows <= len(TOKEN) - F + 1
    assert Redactor(fragment_length=3).fragment_length == 6  # never below min_length
    assert Redactor(min_length=20).fragment_length == 20
    with pytest.raises(ValueError, match="fragment_length must be between"):
        Redactor(fragment_length=0)
    with pytest.raises(ValueError, match="fragment_length must be between"):
        Redactor(fragment_length=1000)


def test_a_long_secret_copied_in_part_without_an_aligned_tile() -> None:
    """The issue's case: 490 characters of a 1,000-character secret came through."""
    rnd = random.Random(5)
    secret = "".join(rnd.choices(string.ascii_letters + string.digits + "+/", k=1000))
    r = Redactor()
    r.add(secret, name="big")
    for start, stop in ((0, 255), (13, 503), (700, 1000), (255, 513), (990 - 17, 990)):
        assert r.redact(f"[{secret[start:stop]}]") == f"[{R}]", (start, stop)
        assert r.redact_bytes(f"[{secret[start:stop]}]".encode()) == f"[{R}]".encode()
    assert r.redact(secret + "\n" + secret) == f"{R}\n{R}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(QUOTY, min_size=F + 1, max_size=300),
    data=st.data(),
    before=st.text(QUOTY, max_size=10),
    after=st.text(QUOTY, max_size=10),
)
def test_no_run_of_fragment_length_survives(
    secret: str, data: st.DataObject, before: str, after: str
) -> None:
    assume(len(secret.strip()) > F)
    r = Redactor(replacement=MARK)
    assert r.add(secret)
    start = data.draw(st.integers(0, len(secret) - F))
    stop = data.draw(st.integers(start + F, len(secret)))
    out = r.redact(before + secret[start:stop] + after)
    for i in range(len(secret) - F + 1):
        window = secret[i : i + F].strip()
        if len(window) >= 6:
            assert window not in out
    # and the same through the bytes path
    out_b = r.redact_bytes((before + secret[start:stop] + after).encode("utf-8"))
    for i in range(len(secret) - F + 1):
        window = secret[i : i + F].strip().encode("utf-8")
        if len(window) >= 6:
            assert window not in out_b


@settings(max_examples=100, deadline=None)
@given(
    secret=st.text(string.ascii_letters + string.digits + "-_", min_size=F + 1, max_size=200),
    data=st.data(),
)
def test_the_whole_visible_piece_becomes_one_region(secret: str, data: st.DataObject) -> None:
    r = Redactor()
    r.add(secret)
    start = data.draw(st.integers(0, len(secret) - F))
    stop = data.draw(st.integers(start + F, len(secret)))
    assert r.redact(f"<{secret[start:stop]}...>") == f"<{R}...>"


# -- 5. escapes real programs emit ---------------------------------------------------------------


def whole_forms() -> Redactor:
    """Windows off: each test below shows that the encoder's whole form matches by itself."""
    try:
        return Redactor(fragment_length=None)
    except TypeError:  # code older than fragment windows has none to switch off
        return Redactor()


def assert_redacted(secret: str, encoded: str, redactor: Redactor | None = None) -> None:
    r = redactor or whole_forms()
    r.add(secret, name="s")
    assert encoded != secret
    assert r.redact(f"before {encoded} after") == f"before {R} after"


URL_SECRET = "p@ss w/rd:1+2~*(x)!é;$&"


def test_urllib_quote_with_its_default_safe_slash() -> None:
    assert_redacted(URL_SECRET, urllib.parse.quote(URL_SECRET))
    assert_redacted(URL_SECRET, urllib.parse.quote(URL_SECRET).lower())
    assert_redacted(URL_SECRET, urllib.parse.urlencode({"p": URL_SECRET}).split("=", 1)[1])


def test_requests_requote_uri() -> None:
    requests_utils = pytest.importorskip("requests.utils")
    for secret in (URL_SECRET, "50%off sale pw=x", "a%41b c[d]#e"):
        r = whole_forms()
        r.add(secret)
        url = requests_utils.requote_uri("https://h/p?x=" + secret)
        assert r.redact(url) == f"https://h/p?x={R}", url


@pytest.mark.skipif(not shutil.which("node"), reason="node is not on PATH")
def test_javascript_uri_json_and_inspect_forms_from_node() -> None:
    secret = 'it\'s "é" <a&b>/~*()!`x'
    script = (
        "const s = process.argv[1]; const u = require('util');"
        "process.stdout.write([encodeURIComponent(s), encodeURI(s), JSON.stringify(s).slice(1, -1),"
        " u.inspect(s).slice(1, -1)].join('\\n'))"
    )
    out = subprocess.run(
        ["node", "-e", script, secret], capture_output=True, text=True, check=True
    ).stdout
    forms = out.split("\n")
    assert forms[3] == 'it\\\'s "é" <a&b>/~*()!`x'  # util.inspect inside '...': \'
    for form in forms:
        assert_redacted(secret, form)


def test_markupsafe_and_pandas_styler() -> None:
    markupsafe = pytest.importorskip("markupsafe")
    secret = "Tr0ub4dor'3\"<x>&"
    escaped = str(markupsafe.escape(secret))
    assert "&#34;" in escaped and "&#39;" in escaped
    assert_redacted(secret, escaped)
    pd = pytest.importorskip("pandas")
    r = whole_forms()
    r.add(secret)
    html = pd.DataFrame({"pw": [secret]}).style.format(escape="html").to_html()
    assert escaped in html
    assert escaped not in r.redact(html) and R in r.redact(html)


def test_xml_escape_quoteattr_and_character_references() -> None:
    secret = "a<b>&c\"d'e\tf"
    assert_redacted(secret, saxutils.escape(secret))
    attr = saxutils.quoteattr(secret)  # both quotes: &quot; and a literal ', \t as &#9;
    r = whole_forms()
    r.add(secret)
    assert r.redact(f"<x k={attr}/>") == f'<x k="{R}"/>'
    only_double = 'pw"with<only>double'
    r.add(only_double)
    assert r.redact(f"<x k={saxutils.quoteattr(only_double)}/>") == f"<x k='{R}'/>"
    assert_redacted(secret, saxutils.escape(secret, {"'": "&apos;", '"': "&quot;"}))
    refs = {c: f"&#{ord(c)};" for c in "&<>\"'"}
    assert_redacted(secret, "".join(refs.get(c, c) for c in secret))
    assert_redacted(secret, "".join(f"&#x{ord(c):x};" if c in refs else c for c in secret))
    assert_redacted(secret, "".join(f"&#x{ord(c):X};" if c in refs else c for c in secret))
    assert_redacted("pässwörd<1>", "p&#228;ssw&#246;rd&lt;1&gt;")  # xmlcharrefreplace


JSON_SECRET = "pé</x>&'=\u2028\"q"


def test_json_upper_case_escapes_and_html_safe_variants() -> None:
    # Python's json with ensure_ascii, hex digits upper-cased as Jackson and Java write them
    upper = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), json.dumps("pé!x"))
    assert upper == '"p\\u00E9!x"'
    assert_redacted("pé!xyz", upper[1:-1] + "yz")
    # Go's encoding/json: <, >, & and U+2028 escaped, non-ASCII kept (documented output)
    go = "p\u00e9\\u003c/x\\u003e\\u0026'=\\u2028\\\"q"
    assert_redacted(JSON_SECRET, go)
    # Gson: also ' and = (documented output)
    assert_redacted(JSON_SECRET, 'p\u00e9\\u003c/x\\u003e\\u0026\\u0027\\u003d\u2028\\"q')
    # Jinja's |tojson: <, >, & and ' as \u003c ... \u0027
    jinja2 = pytest.importorskip("jinja2")
    tojson = jinja2.Environment().from_string("{{ s|tojson }}").render(s=JSON_SECRET)
    assert "\\u0027" in tojson
    assert_redacted(JSON_SECRET, tojson[1:-1])


def test_json_escaped_slash_from_perl_json_pp() -> None:
    if not shutil.which("perl"):
        pytest.skip("perl is not on PATH")
    secret = "key/é</script>"
    out = subprocess.run(
        [
            "perl",
            "-CA",
            "-MJSON::PP",
            "-e",
            "print JSON::PP->new->ascii->escape_slash->allow_nonref->encode($ARGV[0])",
            secret,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == '"key\\/\\u00e9<\\/script>"'
    assert_redacted(secret, out[1:-1])


def test_javascript_hex_and_unicode_punctuation_escapes() -> None:
    # Go html/template's JavaScript string escaper writes ' " & < > = + / as \x27 ...
    assert_redacted("it's<a&b>=c", "it\\x27s\\x3ca\\x26b\\x3e\\x3dc")
    assert_redacted("it's<a&b>=c", "it\\x27s\\x3Ca\\x26b\\x3E\\x3Dc")
    assert_redacted("it's<a&b>=c", "it\\u0027s\\u003ca\\u0026b\\u003e\\u003dc")


SHELL_SECRET = 'it\'s a $ecret; (x) & "y" ~z'


def test_shlex_quote() -> None:
    quoted = shlex.quote(SHELL_SECRET)
    r = whole_forms()
    r.add(SHELL_SECRET)
    assert r.redact(f"ssh host {quoted}") == f"ssh host '{R}'"


def test_bash_set_x_trace() -> None:
    trace = subprocess.run(
        ["bash", "-c", 'set -x; : "$1"', "_", SHELL_SECRET], capture_output=True, text=True
    ).stderr
    assert "'\\''" in trace
    r = whole_forms()
    r.add(SHELL_SECRET)
    assert r.redact(trace) == f"+ : '{R}'\n"


def test_bash_printf_q() -> None:
    from redactor.engine.encodings import printf_q

    for secret in (SHELL_SECRET, "~home/p!w[1]{2}", "#hash|pipe^x,y"):
        out = subprocess.run(
            ["bash", "-c", 'printf "%q" "$1"', "_", secret], capture_output=True, text=True
        ).stdout
        assert out == printf_q(secret)
        r = whole_forms()
        r.add(secret)
        assert r.redact(f"cmd {out} done") == f"cmd {R} done"
        assert r.redact(f"x=a{out[1:] if out.startswith(chr(92)) else out}") == f"x=a{R}"


@settings(max_examples=60, deadline=None)
@given(st.text(string.printable.strip("\n\r\x0b\x0c"), min_size=6, max_size=30))
def test_printf_q_matches_bash(secret: str) -> None:
    from redactor.engine.encodings import printf_q

    assume(secret.isprintable() and "\t" not in secret)
    out = subprocess.run(
        ["bash", "-c", 'printf "%q" "$1"', "_", secret], capture_output=True, text=True
    ).stdout
    assert out == printf_q(secret)


# -- wrapped base64 -------------------------------------------------------------------------------


def _expected_wrapped(prefix: int, secret: bytes, blob_b64: str, width: int, eol: str) -> str:
    """The blob's wrapped base64 with exactly the secret's own characters replaced once: through
    the padding when the secret ends the blob (its last, partial character is then its alone)."""
    n = len(secret)
    blob = base64.b64decode(blob_b64)
    start = 4 * (prefix // 3) + _B64_SKIP[prefix % 3]
    stop = ((prefix + n) * 8) // 6
    if prefix + n == len(blob):
        stop = len(blob_b64)
    elif (prefix + n) % 3 and start // width == stop // width:
        # On one line the unwrapped padless form (value through its partial character, as if it
        # ended the blob) matches where the bits after the value happen to be zeros.
        if blob_b64[stop] == base64.b64encode(blob[: prefix + n]).decode()[stop]:
            stop += 1

    def at(i: int) -> int:  # index in the wrapped text of character i of the unwrapped base64
        return i + (i // width) * len(eol)

    wrapped = eol.join(blob_b64[i : i + width] for i in range(0, len(blob_b64), width)) + eol
    return wrapped[: at(start)] + R + wrapped[at(stop - 1) + 1 :]


@pytest.mark.parametrize("size", [49, 58, 120, 400])
def test_base64_wrapped_at_76_and_64_columns_at_any_offset(size: int) -> None:
    rnd = random.Random(size)
    secret = bytes(rnd.getrandbits(8) for _ in range(size))
    r = Redactor()
    r.add(secret, name="blob")
    for prefix in [*rnd.sample(range(0, 200), 12), 0, 1, 2, 3, 4, 5]:
        for suffix in (rnd.randrange(1, 90), 0):  # inside a blob, and ending it
            blob = rnd.randbytes(prefix) + secret + rnd.randbytes(suffix)
            flat = base64.b64encode(blob).decode()
            mime = base64.encodebytes(blob).decode()  # 76 columns, \n
            at = (prefix, suffix)
            assert r.redact(mime) == _expected_wrapped(prefix, secret, flat, 76, "\n"), at
            crlf = email.base64mime.body_encode(blob, eol="\r\n")
            assert r.redact(crlf) == _expected_wrapped(prefix, secret, flat, 76, "\r\n"), at
            pem = "".join(flat[i : i + 64] + "\n" for i in range(0, len(flat), 64))
            assert r.redact(pem) == _expected_wrapped(prefix, secret, flat, 64, "\n"), at


def test_base64_w76_and_openssl_tools(tmp_path) -> None:
    rnd = random.Random(9)
    secret = "".join(rnd.choices(string.ascii_letters, k=100))
    blob = os.urandom(37) + secret.encode() + os.urandom(11)
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    r = Redactor()
    r.add(secret, name="s")
    flat = base64.b64encode(blob).decode()
    out = subprocess.run(["base64", "-w76", str(path)], capture_output=True, text=True, check=True)
    assert r.redact(out.stdout) == _expected_wrapped(37, secret.encode(), flat, 76, "\n")
    if shutil.which("openssl"):
        out = subprocess.run(
            ["openssl", "base64", "-in", str(path)], capture_output=True, text=True, check=True
        )
        assert r.redact(out.stdout) == _expected_wrapped(37, secret.encode(), flat, 64, "\n")


# -- base64 ending a blob at byte offset 1 or 2 (issue 19) -----------------------------------------

# actions/runner @258d6c8, src/Test/L0/HostContextL0.cs DefaultSecretMaskers (L82-103): the
# secrets it adds and its base64 vectors, base64(prefix + "Password123!") and what the runner logs.
RUNNER_SECRETS = [
    "Password123!",
    'Pass"word"123!',
    "Pass word 123!",
    "Pass<word>123!",
    "Pass'word'123!",
    '"Password123!!"',
    '"short"',
]
RUNNER_BASE64 = [  # (prefix, the runner's output, ours)
    (":", "OlBh***", "Ol" + R),
    ("a:", "YTpQ***", "YTp" + R),
    ("ab:", "YWI6***", "YWI6" + R),
    ("abc:", "YWJjOlBh***", "YWJjOl" + R),
    ("abcd:", "YWJjZDpQ***", "YWJjZDp" + R),
    ("abcde:", "YWJjZGU6***", "YWJjZGU6" + R),
]


@pytest.mark.parametrize(("prefix", "runner", "ours"), RUNNER_BASE64)
def test_the_github_runners_base64_vectors(prefix: str, runner: str, ours: str) -> None:
    from helpers.ci_runners import SecretMasker, _github_encoders

    blob = base64.b64encode(f"{prefix}Password123!".encode()).decode()
    github = SecretMasker(_github_encoders())
    r = Redactor()
    for secret in RUNNER_SECRETS:
        github.add_value(secret)
        r.add(secret)
    assert github.mask(blob) == runner  # the port agrees with the runner's own test
    # The secret ends the blob: hidden through the padding, as the runner does (we had left
    # "YTp[REDACTED]E=": the E holds the last 4 bits of the "!"), and from the first character
    # that holds only the secret's bits, where the runner's shifted copies start 1 or 2 later.
    assert r.redact(blob) == ours
    assert runner.startswith(ours[: -len(R)])
    # The same inside a longer blob: the character after the secret depends on what follows.
    longer = base64.b64encode(f"{prefix}Password123!+tail".encode()).decode()
    out = r.redact(longer)
    assert out.startswith(ours) and longer.endswith(out[len(ours) :])


def test_base64_ending_a_blob_in_every_alphabet_and_padding() -> None:
    secret = b"\xfbs3cr\xff\xfe-t0ken?"  # its base64 holds "+" and "/", its URL-safe "-" and "_"
    r = Redactor()
    r.add(secret, name="s")
    for prefix in (b"", b"u", b"us", b"use", b"user", b"user:"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            blob = encode(prefix + secret).decode()
            start = 4 * (len(prefix) // 3) + _B64_SKIP[len(prefix) % 3]
            kept = blob[:start]
            assert r.redact(blob) == kept + R, (prefix, blob)
            assert r.redact(blob.rstrip("=")) == kept + R, (prefix, blob)
            assert r.redact(f'{{"auth": "{blob}"}}') == f'{{"auth": "{kept}{R}"}}'
    # Basic auth, the usual case: "user:" puts the password at offset 2 (5 bytes).
    header = "Authorization: Basic " + base64.b64encode(b"user:" + secret).decode()
    assert r.redact(header) == "Authorization: Basic dXNlcjr" + R


def test_base64_forms_are_the_inside_forms_and_the_ending_ones() -> None:
    # For each alphabet: the whole value padded and not, the three inside forms, and now the
    # ending forms, padded and not, at offsets 1 and 2 unless the value then ends a 3-byte group
    # (no partial character): at most 8, 4, 4 more by length mod 3.
    from redactor.engine.encodings import SecretValue, forms_of, get_encoding

    rnd = random.Random(19)
    for size, most in ((30, 8), (31, 4), (32, 4)):
        data = rnd.randbytes(size)
        old: set[str] = set()
        ends: set[str] = set()
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            full = encode(data).decode()
            old |= {full, full.rstrip("=")}
            for offset in (0, 1, 2):
                enc = encode(b"\0" * offset + data).decode()
                old.add(enc[_B64_SKIP[offset] : ((offset + size) * 8) // 6])
                if offset and (offset + size) % 3:
                    ends |= {enc[_B64_SKIP[offset] :], enc[_B64_SKIP[offset] :].rstrip("=")}
        assert forms_of(SecretValue.of(data), [get_encoding("base64")]) == old | ends
        assert 0 < len(ends - old) <= most


def _b64_core(prefix: int, n: int, suffix: int, b64: str) -> tuple[int, int]:
    """The characters of ``b64`` (the base64 of prefix + secret + suffix bytes) that only the
    secret's bits determine: through the end when nothing follows the secret."""
    start = 4 * (prefix // 3) + _B64_SKIP[prefix % 3]
    stop = len(b64) if suffix == 0 else ((prefix + n) * 8) // 6
    return start, stop


ENCODERS = {
    "std": base64.b64encode,
    "std-nopad": lambda b: base64.b64encode(b).rstrip(b"="),
    "url": base64.urlsafe_b64encode,
    "url-nopad": lambda b: base64.urlsafe_b64encode(b).rstrip(b"="),
}


@pytest.mark.filterwarnings("ignore::redactor.engine.redactor.RedactorWarning")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.binary(min_size=6, max_size=60) | secrets().map(lambda s: s.encode("utf-8")),
    prefix=st.binary(max_size=5),
    suffix=st.binary(max_size=12),
    encoding=st.sampled_from(sorted(ENCODERS)),
)
def test_no_secret_character_survives_in_a_base64_blob(
    secret: bytes, prefix: bytes, suffix: bytes, encoding: str
) -> None:
    r = Redactor(replacement=MARK)
    assume(r.add(secret))
    b64 = ENCODERS[encoding](prefix + secret + suffix).decode()
    start, stop = _b64_core(len(prefix), len(secret), len(suffix), b64)
    out = r.redact(b64)
    # What is left before the first replacement and after the last is the blob's own text, and
    # none of it is a character that only the secret's bits determine.
    head, _, rest = out.partition(MARK)
    tail = rest.rpartition(MARK)[2]
    assert MARK in out
    assert b64.startswith(head) and len(head) <= start
    assert b64.endswith(tail) and len(tail) <= len(b64) - stop


@pytest.mark.filterwarnings("ignore::redactor.engine.redactor.RedactorWarning")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.binary(max_size=8),
    size=st.integers(8, 40),
    prefix=st.binary(max_size=5),
    suffix=st.binary(max_size=12),
    encoding=st.sampled_from(sorted(ENCODERS)),
)
def test_a_random_secret_in_a_base64_blob_hides_exactly_its_own_characters(
    seed: bytes, size: int, prefix: bytes, suffix: bytes, encoding: str
) -> None:
    import hashlib

    secret = hashlib.shake_128(seed).digest(size)  # random bytes that hypothesis cannot steer
    r = Redactor(replacement=MARK)
    assume(r.add(secret))  # unless it is UTF-8 of fewer than 6 characters (the minimum length)
    encode = ENCODERS[encoding]
    b64 = encode(prefix + secret + suffix).decode()
    start, stop = _b64_core(len(prefix), len(secret), len(suffix), b64)
    if suffix and (len(prefix) + size) % 3:
        # The padless form as if the secret ended the blob matches where the bits after it
        # happen to be zeros, and takes that character, which holds the secret's last bits.
        if b64[stop] == encode(prefix + secret).decode()[stop]:
            stop += 1
    assert r.redact(b64) == b64[:start] + MARK + b64[stop:]
    # Clean text: the same blob with one byte of the secret changed is left alone. (Not the
    # secret's ends cut off: hypothesis rebuilt them from the prefix and suffix bytes, and a blob
    # holding all of a secret's bits but the 4 no form covers was rightly redacted.)
    mid = size // 2
    changed = secret[:mid] + bytes([secret[mid] ^ 0xFF]) + secret[mid + 1 :]
    clean = encode(prefix + changed + suffix).decode()
    assert r.redact(clean) == clean


# -- XML's &apos; (issue 19) ---------------------------------------------------------------------


def test_xml_apos_in_a_single_quoted_attribute() -> None:
    # A '...' attribute escapes only its own quote (.NET's XmlTextWriter with QuoteChar '\'',
    # saxutils.escape with {"'": "&apos;"}): the secret's " stays as it is.
    secret = 'it\'s "the" <key> & more'
    attr = saxutils.escape(secret, {"'": "&apos;"})
    assert attr == 'it&apos;s "the" &lt;key&gt; &amp; more'
    r = whole_forms()
    r.add(secret, name="s")
    assert r.redact(f"<add key='password' value='{attr}'/>") == f"<add key='password' value='{R}'/>"
    # the double-quoted attribute and the element text, as before
    both = saxutils.escape(secret, {"'": "&apos;", '"': "&quot;"})
    assert r.redact(f'<x v="{both}">{both}</x>') == f'<x v="{R}">{R}</x>'
    # The GitHub runner's XmlDataEscape (SecurityElement.Escape) writes the same &apos;
    from helpers.ci_runners import SecretMasker, _github_encoders

    github = SecretMasker(_github_encoders())
    github.add_value(secret)
    assert github.mask(f"<x>{both}</x>") == "<x>***</x>"
    assert r.redact(f"<x>{both}</x>") == f"<x>{R}</x>"
