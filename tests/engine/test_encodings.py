"""Every default encoding, by example: the form a secret takes in real output is replaced exactly."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote, quote_plus

import pytest

from redactor import Encoding, Redactor, default_encodings, register_encoding, registry
from redactor.engine.encodings import SecretValue, forms_of, get_encoding

PW = "Tr0ub4dor&3\"horse's/+é"
# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

R = "[REDACTED]"


@pytest.fixture
def r() -> Redactor:
    red = Redactor()
    red.add(PW, name="kv-scope/sql-db-password")
    return red


def test_default_registry_names() -> None:
    assert default_encodings() == [
        "plain",
        "lines",
        "newlines",
        "base64",
        "base64-wrapped",
        "url",
        "json",
        "repr",
        "html",
        "hex",
        "quotes",
        "shell",
        "js",
    ]
    assert all(registry()[n].description for n in default_encodings())


@pytest.mark.parametrize(
    "encoded",
    [
        PW,
        base64.b64encode(PW.encode()).decode(),
        base64.b64encode(PW.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(PW.encode()).decode(),
        base64.urlsafe_b64encode(PW.encode()).decode().rstrip("="),
        quote(PW, safe=""),
        quote_plus(PW),
        json.dumps(PW)[1:-1],
        json.dumps(PW, ensure_ascii=False)[1:-1],
        json.dumps(json.dumps(PW)[1:-1])[1:-1],
        repr(PW)[1:-1],
        repr(PW.encode())[2:-1],
        html.escape(PW),
        html.escape(PW).replace("&#x27;", "&#39;"),
        html.escape(PW, quote=False).replace("'", "&apos;"),  # XML in a '...' attribute
        # ending a blob at byte offset 2, through the padding (issue 19)
        base64.b64encode(b"a:" + PW.encode()).decode()[3:],
        base64.urlsafe_b64encode(b"a:" + PW.encode()).decode()[3:].rstrip("="),
        PW.encode().hex(),
        PW.encode().hex().upper(),
        PW.replace('"', '\\"'),
        PW.replace("'", "''"),
    ],
)
def test_each_form_is_replaced_inside_text(r: Redactor, encoded: str) -> None:
    assert r.redact(f"before {encoded} after") == f"before {R} after"


def test_lower_case_percent_encoding(r: Redactor) -> None:
    lowered = (
        quote(PW, safe="").replace("%2F", "%2f").replace("%2B", "%2b").replace("%C3%A9", "%c3%a9")
    )
    assert r.redact(f"?p={lowered}&x=1") == f"?p={R}&x=1"


def test_trimmed_and_unquoted_value() -> None:
    red = Redactor()
    red.add('  "quoted-secret-value"\n', name="s")
    assert red.redact("a quoted-secret-value b") == f"a {R} b"
    assert red.redact('a "quoted-secret-value" b') == f"a {R} b"  # the trimmed value has quotes
    assert red.redact('x  "quoted-secret-value"\n y') == f"x{R} y"


def test_http_basic_auth_header_hides_the_password() -> None:
    red = Redactor()
    red.add("s3cr3t-Pa55!", name="api/password")
    for user in ("a", "ab", "abc", "admin", "etl_service"):
        header = (
            "Authorization: Basic " + base64.b64encode(f"{user}:s3cr3t-Pa55!".encode()).decode()
        )
        out = red.redact(header)
        assert R in out, user
        # The part left visible encodes only the user name (and at most the colon's bits).
        visible = out.split("Basic ", 1)[1].split(R)[0]
        assert len(visible) <= (len(user) + 1) * 4 // 3 + 1
        assert "s3cr3t" not in base64.b64decode(visible + "==", validate=False).decode("latin-1")


def test_jdbc_url_from_the_seed_example() -> None:
    red = Redactor()
    red.add("etl_user_prod", name="kv-scope/sql-db-user")
    red.add("P@ss;word=42!", name="kv-scope/sql-db-password")
    jdbc = (
        "jdbc:sqlserver://srv.database.windows.net;databaseName=sales;"
        "user=etl_user_prod;password=P@ss;word=42!"
    )
    assert red.redact(jdbc) == (
        f"jdbc:sqlserver://srv.database.windows.net;databaseName=sales;user={R};password={R}"
    )
    # The same URL inside a JSON log line and URL-encoded in a query string.
    assert red.redact(json.dumps({"url": jdbc})) == json.dumps(
        {
            "url": f"jdbc:sqlserver://srv.database.windows.net;databaseName=sales;user={R};password={R}"
        }
    )
    assert (
        red.redact("conn=" + quote(jdbc, safe=""))
        == "conn="
        + quote("jdbc:sqlserver://srv.database.windows.net;databaseName=sales;user=", safe="")
        + R
        + quote(";password=", safe="")
        + R
    )


PEM = """-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu
NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ
-----END PRIVATE KEY-----
"""


def test_multiline_pem_key() -> None:
    red = Redactor()
    red.add(PEM, name="certs/key")
    # Whole value, CRLF variant, JSON-escaped, and each line as a logger prefixing lines shows it.
    assert red.redact("key:\n" + PEM) == f"key:\n{R}"
    assert red.redact(PEM.replace("\n", "\r\n")) == R
    assert red.redact(json.dumps({"k": PEM})) == json.dumps({"k": R})
    logged = "\n".join(f"ERROR | {line}" for line in PEM.splitlines())
    assert red.redact(logged) == "\n".join(f"ERROR | {R}" for _ in PEM.splitlines())


def test_bytes_value_that_is_not_utf8() -> None:
    red = Redactor()
    key = bytes(range(200, 216))
    red.add(key, name="raw/key")
    assert red.redact_bytes(b"k=" + key + b";") == b"k=[REDACTED];"
    assert red.redact(f"k={key!r}") == f"k=b'{R}'"
    assert red.redact("hex " + key.hex()) == f"hex {R}"
    assert red.redact("b64 " + base64.b64encode(key).decode()) == f"b64 {R}"


def test_switching_encoders_off_and_adding_one() -> None:
    only_plain = Redactor(encodings=["plain"])
    only_plain.add("plain-secret-1", name="s")
    assert (
        only_plain.redact(base64.b64encode(b"plain-secret-1").decode())
        == base64.b64encode(b"plain-secret-1").decode()
    )
    assert only_plain.encodings == ["plain"]

    reverse = Encoding(
        "reversed", lambda v: [v.text[::-1]] if v.text else [], "transform", "reversed"
    )
    register_encoding(reverse)  # registered, but not switched on by default
    assert "reversed" not in default_encodings()
    red = Redactor(encodings=[*default_encodings(), "reversed"])
    red.add("abcdef-secret", name="s")
    assert red.redact("x terces-fedcba y") == f"x {R} y"


def test_an_encoder_whose_callable_cannot_be_hashed_still_registers_its_forms() -> None:
    class Upper:  # defines __eq__ without __hash__: unhashable, as callable objects may be
        def __eq__(self, other: object) -> bool:
            return isinstance(other, Upper)

        def __call__(self, v: SecretValue) -> list[str]:
            return [v.text.upper()] if v.text else []

    register_encoding(Encoding("upper-object", Upper(), "transform", "upper case"))
    red = Redactor(encodings=["plain", "upper-object"])
    red.add("abcdef-secret", name="s")
    assert red.redact("x ABCDEF-SECRET y abcdef-secret") == f"x {R} y {R}"


def test_unknown_encoding_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown encoding 'rot13'; known encodings: base64"):
        Redactor(encodings=["rot13"])
    with pytest.raises(ValueError):
        get_encoding("nope")


def test_forms_are_deduplicated_and_include_offsets() -> None:
    forms = forms_of(SecretValue.of("abcdefgh"), [get_encoding("base64")])
    full = base64.b64encode(b"abcdefgh").decode()
    assert full in forms and full.rstrip("=") in forms
    # At byte offset 1 inside a blob the first two characters depend on the previous byte.
    assert base64.b64encode(b"\0abcdefgh").decode()[2 : (9 * 8) // 6] in forms
    assert base64.b64encode(b"\0\0abcdefgh").decode()[3 : (10 * 8) // 6] in forms
