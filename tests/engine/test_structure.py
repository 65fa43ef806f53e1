"""Structured secrets: the parts :func:`secret_parts` finds, and ``Redactor.add`` registering them.

Examples per kind assert the exact parts; the properties check, on both engines, that every part
is hidden wherever it appears alone, that the identifiers of the rule are not parts, and that an
unstructured value registers nothing but itself.
"""

from __future__ import annotations

import json
import string
import warnings
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.engine.redactor import RedactorWarning
from redactor.engine.structure import high_entropy, is_identifier_key, secret_parts

pytestmark = pytest.mark.usefixtures("each_engine")

R = "[REDACTED]"

GCP_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "-----END PRIVATE KEY-----\n"
)
GCP_SA = {
    "type": "service_account",
    "project_id": "acme-analytics-prod",
    "private_key_id": "3f2a9c1e4b7d8a6f0e5c2b1a9d8e7f6c5b4a3d2e",
    "private_key": GCP_KEY,
    "client_email": "etl-runner@acme-analytics-prod.iam.gserviceaccount.com",
    "client_id": "104857293847561029384",
    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
    "token_uri": "https://oauth2.googleapis.com/token",
    "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
    "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
    "etl-runner%40acme-analytics-prod.iam.gserviceaccount.com",
    "universe_domain": "googleapis.com",
}
AWS_JSON = {
    "Version": 1,
    "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
    "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "SessionToken": "FwoGZXIvYXdzEBYaDH7exampleSessionTokenQ==",
    "Expiration": "2026-12-01T07:00:00Z",
}

EXAMPLES = [
    (json.dumps(GCP_SA, indent=2), [("#private_key", GCP_KEY)]),
    (
        json.dumps(AWS_JSON),
        [
            ("#SecretAccessKey", AWS_JSON["SecretAccessKey"]),
            ("#SessionToken", AWS_JSON["SessionToken"]),
        ],
    ),
    (
        '{"credentials": {"token": "tok-1", "user": "etl"}, "keys": ["xK9mQ2vL7pR4nT8wZ1bY"]}',
        [("#credentials.token", "tok-1"), ("#keys[0]", "xK9mQ2vL7pR4nT8wZ1bY")],
    ),
    (
        '{"DATABASE_URL": "postgres://etl:s3cret-pw@db:5432/sales"}',
        [("#DATABASE_URL#password", "s3cret-pw")],
    ),
    (
        "jdbc:sqlserver://db.example.com:1433;databaseName=sales;user=etl;"
        "password={P@ss;w}}ord=42!};encrypt=true",
        [("#password", "P@ss;w}ord=42!")],
    ),
    (
        "jdbc:postgresql://db:5432/sales?user=etl&password=hunter22x&ssl=true",
        [("#password", "hunter22x")],
    ),
    (
        "Server=tcp:db.example.com,1433;Initial Catalog=sales;User ID=etl;"
        "Password='s3cr;et''pw';Encrypt=True",
        [("#Password", "s3cr;et'pw")],
    ),
    (
        "Driver={ODBC Driver 18};Server=db;UID=etl;PWD={a;b}}c-pw};",
        [("#PWD", "a;b}c-pw")],
    ),
    (
        "host=db.example.com port=5432 dbname=sales user=etl password='pa ss\\'word' sslmode=require",
        [("#password", "pa ss'word")],
    ),
    (
        "postgres://etl:p%40ssw0rd%21@db.example.com:5432/sales?sslmode=require",
        [("#password", "p%40ssw0rd%21"), ("#password", "p@ssw0rd!")],
    ),
    (
        "# comment\nexport DB_PASSWORD='hunter2-pw'\nAPI_KEY=sk-live-abcdef123456 # note\n"
        "REGION=us-east-1\n",
        [
            ("#DB_PASSWORD", "hunter2-pw"),
            ("#API_KEY", "sk-live-abcdef123456"),
            ("#REGION", "us-east-1"),
        ],
    ),
    (
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n[prod]\ntoken = abcdefgh\n",
        [
            ("#default.aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
            ("#default.aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG"),
            ("#prod.token", "abcdefgh"),
        ],
    ),
    (
        "database:\n  host: db.example.com\n  credentials:\n    user: etl\n"
        '    token: "tok-abcdef-123456"\nother: value123\n',
        [
            ("#database.host", "db.example.com"),
            ("#database.credentials.user", "etl"),
            ("#database.credentials.token", "tok-abcdef-123456"),
            ("#other", "value123"),
        ],
    ),
    (GCP_KEY, []),  # PEM: the lines encoder's job
    # a PEM block inside a blob hides its own lines only; the fields around it are parsed
    (
        'DB_PASSWORD=hunter2-db-pass\nTLS_KEY="'
        + GCP_KEY.rstrip("\n")
        + '"\nAPI_TOKEN=tok-9f8e7d6c\n',
        [("#DB_PASSWORD", "hunter2-db-pass"), ("#API_TOKEN", "tok-9f8e7d6c")],
    ),
    (
        "tls:\n  key: |\n"
        + "".join("    " + line + "\n" for line in GCP_KEY.splitlines())
        + "  password: s3cr3t-pass\n",
        [("#tls.password", "s3cr3t-pass")],
    ),
    # "-----BEGIN" that is no PEM header is a value like any other (Hypothesis found this one)
    ("A=00000000\nJ=-----BEGIN", [("#A", "00000000"), ("#J", "-----BEGIN")]),
    ("password=-----BEGIN PRIVATE KEY-----", []),
    ("plain-token-abcdef123456", []),
    ("P@ss;word=42!", []),
    ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", []),
]


@pytest.mark.parametrize(("value", "parts"), EXAMPLES)
def test_secret_parts_examples(value: str, parts: list[tuple[str, str]]) -> None:
    assert secret_parts(value) == parts


def test_service_account_parts_are_registered_by_name_and_hidden_reformatted() -> None:
    r = Redactor()
    assert r.add(json.dumps(GCP_SA), name="kv-scope/sa-json")
    assert r.secret_names == ["kv-scope/sa-json", "kv-scope/sa-json#private_key"]
    reformatted = json.dumps(GCP_SA, indent=4, sort_keys=True)
    out = r.redact(reformatted)
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj" not in out
    assert "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu" not in out
    assert r.redact(f"key: {GCP_KEY}") == f"key: {R}"


def test_parts_of_a_connection_string_are_hidden_alone() -> None:
    r = Redactor()
    r.add("Server=db;User ID=etl;Password=Tr0ub4dor&3x;", name="sql")
    assert r.secret_names == ["sql", "sql#Password"]
    assert r.redact("login failed for password Tr0ub4dor&3x") == f"login failed for password {R}"


def test_a_dotenv_holding_a_pem_hides_its_fields_alone_and_the_key_lines() -> None:
    blob = f'DB_PASSWORD=hunter2-db-pass\nTLS_KEY="{GCP_KEY.rstrip()}"\nAPI_TOKEN=tok-9f8e7d6c\n'
    r = Redactor()
    r.add(blob, name="env")
    assert r.secret_names == ["env", "env#DB_PASSWORD", "env#API_TOKEN"]
    body = GCP_KEY.splitlines()[1]
    assert (
        r.redact(f"pw hunter2-db-pass, tok tok-9f8e7d6c, key {body}") == f"pw {R}, tok {R}, key {R}"
    )


def test_short_parts_are_skipped_with_the_usual_warning_by_name() -> None:
    r = Redactor()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert r.add("postgres://etl:abc@db.example.com/sales", name="db-url")
    assert [str(w.message) for w in caught if w.category is RedactorWarning] == [
        "secret 'db-url#password' is too short (fewer than 6 characters) and will not be redacted"
    ]
    assert r.secret_names == ["db-url"]


def test_unnamed_structured_value_names_parts_by_label() -> None:
    r = Redactor()
    r.add("postgres://etl:s3cret-pw@db/sales")
    assert r.secret_names == ["<unnamed>", "#password"]


def test_bytes_values_are_split_when_utf8() -> None:
    r = Redactor()
    r.add(b'{"api_key": "k-0123456789"}', name="b")
    assert r.secret_names == ["b", "b#api_key"]


def test_refused_whole_registers_no_parts() -> None:
    r = Redactor(min_length=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not r.add('{"password": "hunter2-long-enough"}', name="x")
    assert r.secret_names == []


def test_rule_helpers() -> None:
    for key in ("type", "project_id", "client_email", "client_id", "token_uri", "auth_uri",
                "region", "private_key_id", "AccessKeyId"):  # fmt: skip
        assert is_identifier_key(key)
    assert high_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert not high_entropy("https://oauth2.googleapis.com/token")
    assert not high_entropy("etl-runner@acme-analytics-prod.iam.gserviceaccount.com")
    assert not high_entropy("/home/etl/.config/gcloud/application_default.json")
    assert not high_entropy("short-Xy9!")


# -- properties ----------------------------------------------------------------------------------

SECRET_CHARS = string.ascii_letters + string.digits + "!@#$%^*-_+/"
secret_values = st.text(alphabet=SECRET_CHARS, min_size=8, max_size=40)
SECRET_KEY_NAMES = ["private_key", "password", "PASSWD", "pwd", "token", "access_token",
                    "refresh_token", "client_secret", "api_key", "apikey", "SecretAccessKey",
                    "SessionToken", "db_password", "secret"]  # fmt: skip
IDENTIFIERS = {
    "type": "service_account",
    "project_id": "acme-prod",
    "client_email": "etl@acme.iam",
    "client_id": "1048572938",
    "region": "eu-west-1",
}


@st.composite
def json_documents(draw: st.DrawFn) -> tuple[dict[str, object], list[str]]:
    keys = draw(st.lists(st.sampled_from(SECRET_KEY_NAMES), min_size=1, max_size=4, unique=True))
    values = draw(st.lists(secret_values, min_size=len(keys), max_size=len(keys), unique=True))
    for v in values:
        assume(all(v not in w for w in values if w != v))
        assume(all(v not in i and i not in v for i in IDENTIFIERS.values()))
    doc: dict[str, object] = dict(IDENTIFIERS)
    nested = draw(st.booleans())
    inner = dict(zip(keys, values, strict=True))
    doc.update({"credentials": inner} if nested else inner)
    return doc, values


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_documents(), st.sampled_from([None, 1, 4]), st.booleans())
def test_json_parts_hidden_alone_and_reformatted(
    drawn: tuple[dict[str, object], list[str]], indent: int | None, sort: bool
) -> None:
    doc, values = drawn
    r = Redactor()
    r.add(json.dumps(doc), name="doc")
    assert sorted(p for _, p in secret_parts(json.dumps(doc))) == sorted(values)
    for v in values:
        assert r.redact(f"the value is {v} here") == f"the value is {R} here"
    out = r.redact(json.dumps(doc, indent=indent, sort_keys=sort))
    assert not any(v in out for v in values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_documents())
def test_identifiers_are_not_parts_nor_hidden(drawn: tuple[dict[str, object], list[str]]) -> None:
    doc, _ = drawn
    parts = {p for _, p in secret_parts(json.dumps(doc))}
    assert not parts & set(IDENTIFIERS.values())
    # fragment_length=None: the whole document's own 16-character windows would cover a long
    # identifier copied alone; that is the fragment rule, not a part (docs/concepts.md).
    r = Redactor(fragment_length=None)
    r.add(json.dumps(doc), name="doc")
    for ident in IDENTIFIERS.values():
        assert r.redact(f"id {ident} here") == f"id {ident} here"


password_values = st.text(
    alphabet=string.ascii_letters + string.digits + "!@#$%^*-_+/", min_size=8, max_size=30
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(password_values, st.sampled_from(["jdbc", "adonet", "odbc", "libpq", "url", "query"]))
def test_connection_string_password_hidden_alone(password: str, kind: str) -> None:
    assume("db" not in password and "etl" not in password)
    value = {
        "jdbc": f"jdbc:sqlserver://db:1433;user=etl;password={password};encrypt=true",
        "adonet": f"Server=db;User ID=etl;Password={password};",
        "odbc": f"Driver={{ODBC}};UID=etl;PWD={{{password}}};",
        "libpq": f"host=db user=etl password={password} sslmode=require",
        "url": f"postgresql://etl:{quote(password, safe='')}@db:5432/sales",
        "query": f"jdbc:postgresql://db/sales?user=etl&password={quote(password, safe='')}",
    }[kind]
    assert password in [p for _, p in secret_parts(value)]
    r = Redactor()
    r.add(value, name="conn")
    assert r.redact(f"password {password} rejected") == f"password {R} rejected"


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + "-_.+/", min_size=6, max_size=60))
def test_unstructured_values_register_no_parts(token: str) -> None:
    assert secret_parts(token) == []
    r = Redactor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        accepted = r.add(token, name="tok")
    assert r.secret_names == (["tok"] if accepted else [])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True),
            st.text(
                alphabet=string.ascii_letters + string.digits + "!@$%^*-_+/",
                min_size=8,
                max_size=30,
            ),
        ),
        min_size=2,
        max_size=5,
        unique_by=(lambda kv: kv[0].lower(), lambda kv: kv[1]),
    ),
    st.sampled_from(["dotenv", "ini", "yaml"]),
)
def test_blob_values_hidden_alone(pairs: list[tuple[str, str]], kind: str) -> None:
    values = [v for _, v in pairs]
    for v in values:
        assume(all(v not in w for w in values if w != v))
    blob = {
        "dotenv": "\n".join(f"{k}={v}" for k, v in pairs),
        "ini": "[main]\n" + "\n".join(f"{k} = {v}" for k, v in pairs),
        "yaml": "root:\n" + "\n".join(f'  {k}: "{v}"' for k, v in pairs),
    }[kind]
    assert [p for _, p in secret_parts(blob)] == values
    r = Redactor()
    r.add(blob, name="blob")
    for v in values:
        assert r.redact(f"saw {v} there") == f"saw {R} there"
