"""``dbutils.secrets`` over a local scope: the seed's example, registration, types, errors."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.seed import SEED, SEED_REDACTED
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor, RedactorWarning
from redactor.sources.load import SourceConfig, build_redactor
from redactor.sources.scopes import (
    MAX_VALUE_BYTES,
    InvalidNameError,
    LocalStore,
    ScopeNotFoundError,
    SecretMetadata,
    SecretNotFoundError,
    SecretScope,
    SecretsError,
    scope_items,
)

USER = "admin_user_0423"
PASSWORD = "Pa55w0rd!-sql-db-9f3c"


def _clean_env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in list(os.environ):
        if name.startswith("REDACTOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REDACTOR_HOME", str(home))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    _clean_env(monkeypatch, home)
    store = LocalStore(home)
    store.create_scope("kv-scope")
    store.put_secret("kv-scope", "sql-db-user", USER)
    store.put_secret("kv-scope", "sql-db-password", PASSWORD)
    return home


def test_seed_example_runs_unchanged_and_prints_redacted(
    home: Path, fresh_redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    from redactor import dbutils

    exec(SEED, {"dbutils": dbutils})
    printed = capsys.readouterr().out
    assert printed == f"{USER}\n{PASSWORD}\n" + SEED_REDACTED.split("\n", 2)[2].replace(
        "user=[REDACTED];password=[REDACTED]", f"user={USER};password={PASSWORD}"
    )
    assert redactor.redact(printed) == SEED_REDACTED
    stream = fresh_redactor.stream()
    out = "".join(stream.feed(c) for c in printed) + stream.flush()  # one char at a time
    assert out == SEED_REDACTED
    assert fresh_redactor.secret_names == ["kv-scope/sql-db-user", "kv-scope/sql-db-password"]


def test_seed_example_in_a_process_with_redaction_installed(home: Path) -> None:
    script = "import redactor\nredactor.install()\nfrom redactor import dbutils\n" + SEED
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SEED_REDACTED
    assert USER not in proc.stderr and PASSWORD not in proc.stderr


def test_value_is_registered_before_it_is_returned(home: Path) -> None:
    class Refusing(Redactor):
        def add(self, value, name=None):  # type: ignore[override]
            raise RuntimeError(f"refused {name}")

    from redactor import dbutils

    previous = redactor.set_redactor(Refusing())
    try:
        with pytest.raises(RuntimeError, match="refused kv-scope/sql-db-user"):
            dbutils.secrets.get("kv-scope", "sql-db-user")
        with pytest.raises(RuntimeError, match="refused kv-scope/sql-db-password"):
            dbutils.secrets.getBytes("kv-scope", "sql-db-password")
    finally:
        redactor.set_redactor(previous)  # type: ignore[arg-type]


def test_types_list_and_list_scopes(home: Path, fresh_redactor: Redactor) -> None:
    from redactor import dbutils

    store = LocalStore(home)
    store.create_scope("other@team.example")
    store.put_secret("kv-scope", "blob", b"\x00\x01binary\xfe\xff")
    store.put_secret("kv-scope", "utf8-bytes", "naïve-välue".encode())
    assert dbutils.secrets.getBytes("kv-scope", "sql-db-user") == USER.encode()
    assert dbutils.secrets.getBytes("kv-scope", "blob") == b"\x00\x01binary\xfe\xff"
    assert dbutils.secrets.get("kv-scope", "utf8-bytes") == "naïve-välue"
    with pytest.raises(SecretsError, match=r"not UTF-8 text; use dbutils.secrets.getBytes") as e:
        dbutils.secrets.get("kv-scope", "blob")
    assert "binary" not in str(e.value)
    assert fresh_redactor.redact_bytes(b"x\x00\x01binary\xfe\xffy") == b"x[REDACTED]y"
    keys = dbutils.secrets.list("kv-scope")
    assert keys == [
        SecretMetadata(key="blob"),
        SecretMetadata(key="sql-db-password"),
        SecretMetadata(key="sql-db-user"),
        SecretMetadata(key="utf8-bytes"),
    ]
    assert [k.key for k in keys] == ["blob", "sql-db-password", "sql-db-user", "utf8-bytes"]
    scopes = dbutils.secrets.listScopes()
    assert repr(scopes) == "[SecretScope(name='kv-scope'), SecretScope(name='other@team.example')]"
    assert [s.getName() for s in scopes] == ["kv-scope", "other@team.example"]
    assert isinstance(scopes[0], SecretScope) and scopes[0].name == "kv-scope"
    assert dbutils.secrets.list("other@team.example") == []


def test_errors_name_scope_and_key(home: Path, fresh_redactor: Redactor) -> None:
    from redactor import dbutils

    with pytest.raises(ScopeNotFoundError, match=r"^secret scope 'missing' does not exist$"):
        dbutils.secrets.get(scope="missing", key="sql-db-user")
    with pytest.raises(
        SecretNotFoundError, match=r"^secret 'nope' does not exist in scope 'kv-scope'$"
    ) as e:
        dbutils.secrets.get(scope="kv-scope", key="nope")
    assert (e.value.scope, e.value.key, e.value.error_code) == (
        "kv-scope",
        "nope",
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert isinstance(e.value, LookupError)
    with pytest.raises(ScopeNotFoundError):
        dbutils.secrets.list("missing")
    with pytest.raises(InvalidNameError, match=r"^invalid secret key: use letters"):
        dbutils.secrets.get("kv-scope", "a b")
    with pytest.raises(TypeError, match="key must be a str, not bytes"):
        dbutils.secrets.get("kv-scope", b"sql-db-user")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="scope must be a str, not NoneType"):
        dbutils.secrets.list(None)  # type: ignore[arg-type]
    assert fresh_redactor.secret_names == []


def test_short_value_warns_with_its_name_only(home: Path, fresh_redactor: Redactor) -> None:
    from redactor import dbutils

    LocalStore(home).put_secret("kv-scope", "pin", "4321")
    with pytest.warns(RedactorWarning, match="'kv-scope/pin' is too short") as record:
        assert dbutils.secrets.get("kv-scope", "pin") == "4321"
    assert all("4321" not in str(w.message) for w in record)


def test_repeated_gets_register_once(home: Path, fresh_redactor: Redactor) -> None:
    from redactor import dbutils

    for _ in range(50):
        dbutils.secrets.get("kv-scope", "sql-db-user")
    assert fresh_redactor.secret_names == ["kv-scope/sql-db-user"]
    LocalStore(home).put_secret("kv-scope", "sql-db-user", "rotated-user-name")
    assert dbutils.secrets.get("kv-scope", "sql-db-user") == "rotated-user-name"
    assert fresh_redactor.secret_names == ["kv-scope/sql-db-user", "kv-scope/sql-db-user"]
    assert fresh_redactor.redact(f"{USER} rotated-user-name") == "[REDACTED] [REDACTED]"


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    from redactor import dbutils

    dbutils.secrets.help()
    out = capsys.readouterr().out
    assert out.startswith("dbutils.secrets provides utilities for leveraging secrets")
    for name in ("get(scope", "getBytes(scope", "list(scope", "listScopes"):
        assert name in out
    dbutils.secrets.help("getBytes")
    assert capsys.readouterr().out.startswith("getBytes(scope: str, key: str) -> bytes")
    dbutils.help()
    assert "dbutils.secrets" in capsys.readouterr().out


def test_scope_items_feed_the_cli_sources(home: Path) -> None:
    LocalStore(home).put_secret("kv-scope", "blob", b"\xff\xfebinary-secret")
    assert list(scope_items("kv-scope")) == [
        ("blob", b"\xff\xfebinary-secret"),
        ("sql-db-password", PASSWORD),
        ("sql-db-user", USER),
    ]
    r = build_redactor(SourceConfig(scopes=["kv-scope"]))
    assert r.secret_names == ["kv-scope/blob", "kv-scope/sql-db-password", "kv-scope/sql-db-user"]
    assert r.redact(f"u={USER} p={PASSWORD}") == "u=[REDACTED] p=[REDACTED]"
    with pytest.raises(ScopeNotFoundError):
        list(scope_items("missing"))


# -- properties ---------------------------------------------------------------------------------


def _sized_text(s: str, n: int) -> str:
    out = (s * (n // max(len(s), 1) + 1))[:n] if s else ""
    while len(out.encode("utf-8")) > MAX_VALUE_BYTES:
        out = out[: len(out) // 2]
    return out


texts = st.one_of(
    st.text(max_size=300),
    st.builds(_sized_text, st.text(min_size=1, max_size=20), st.integers(0, MAX_VALUE_BYTES)),
)
blobs = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda b, n: (b * (n // len(b) + 1))[:n],
        st.binary(min_size=1, max_size=20),
        st.integers(0, MAX_VALUE_BYTES),
    ),
)
_counter = itertools.count()


@pytest.fixture(scope="module")
def prop_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStore]:
    home = tmp_path_factory.mktemp("prop") / "home"
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("REDACTOR_")}
    os.environ["REDACTOR_HOME"] = str(home)
    store = LocalStore(home)
    store.create_scope("prop")
    try:
        yield store
    finally:
        del os.environ["REDACTOR_HOME"]
        os.environ.update(saved)


@contextlib.contextmanager
def _quiet_redactor() -> Iterator[Redactor]:
    """A fresh process-wide redactor for one example; short-value warnings silenced."""
    r = Redactor()
    previous = redactor.set_redactor(r)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RedactorWarning)
            yield r
    finally:
        redactor.set_redactor(previous)  # type: ignore[arg-type]


def _survivors(out: str | bytes, value: str | bytes, repl: str | bytes) -> bool:
    return any(value in piece for piece in out.split(repl))  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=texts)
def test_text_values_round_trip(prop_store: LocalStore, value: str) -> None:
    from redactor import dbutils

    key = f"t{next(_counter)}"
    prop_store.put_secret("prop", key, value)
    with _quiet_redactor():
        got = dbutils.secrets.get("prop", key)
        assert dbutils.secrets.getBytes("prop", key) == value.encode("utf-8")
    assert got == value and type(got) is str


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=blobs)
def test_bytes_values_round_trip(prop_store: LocalStore, value: bytes) -> None:
    from redactor import dbutils

    key = f"b{next(_counter)}"
    prop_store.put_secret("prop", key, value)
    with _quiet_redactor():
        got = dbutils.secrets.getBytes("prop", key)
    assert got == value and type(got) is bytes
    assert LocalStore(prop_store.home).get_secret("prop", key) == value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=texts,
    prefix=st.text(max_size=30),
    suffix=st.text(max_size=30),
)
def test_fetched_text_never_survives_redaction(
    prop_store: LocalStore, value: str, prefix: str, suffix: str
) -> None:
    from redactor import dbutils

    key = f"r{next(_counter)}"
    prop_store.put_secret("prop", key, value)
    with _quiet_redactor() as r:
        dbutils.secrets.get("prop", key)
    assume(len(r) == 1)  # the engine refuses values under 6 characters once stripped
    out = r.redact(prefix + value + suffix)
    assert not _survivors(out, value, r.replacement)
    assert r.redact(prefix + suffix) == prefix + suffix or r.contains_secret(prefix + suffix)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=blobs,
    prefix=st.binary(max_size=30),
    suffix=st.binary(max_size=30),
)
def test_fetched_bytes_never_survive_redaction(
    prop_store: LocalStore, value: bytes, prefix: bytes, suffix: bytes
) -> None:
    from redactor import dbutils

    key = f"s{next(_counter)}"
    prop_store.put_secret("prop", key, value)
    with _quiet_redactor() as r:
        dbutils.secrets.getBytes("prop", key)
    assume(len(r) == 1)
    out = r.redact_bytes(prefix + value + suffix)
    assert not _survivors(out, value, r.replacement.encode())
