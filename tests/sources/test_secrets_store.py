"""The encrypted local store: real SQLite files, real key files, real processes."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from redactor.sources.scopes import (
    InvalidNameError,
    InvalidValueError,
    LimitExceededError,
    LocalStore,
    MasterKeyError,
    NewerFormatError,
    ReadOnlyScopeError,
    ScopeExistsError,
    ScopeNotFoundError,
    SecretNotFoundError,
    StoreCorruptError,
    TamperedError,
    UnsafePermissionsError,
    WrongMasterKeyError,
)
from redactor.sources.scopes.local import MAX_SECRETS_PER_SCOPE, MAX_VALUE_BYTES
from redactor.sources.scopes.local import keys as _keys

VALUE = "s3cr3t-Value-that-must-never-leak"
HEX_KEY = "11" * 32
OTHER_HEX_KEY = "22" * 32
HOME_FILES = ["secrets.audit.jsonl", "secrets.db"]  # the key and the counter live elsewhere
KEY_DIR_FILES = ["create.lock", "master.key", "store.counter"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> LocalStore:
    s = LocalStore(home, environ={})
    s.create_scope("kv-scope")
    return s


def _reopen(home: Path, **env: str) -> LocalStore:
    return LocalStore(home, environ=env)


def _no_leak(exc: BaseException, *values: str | bytes) -> None:
    text = str(exc) + repr(exc)
    for v in values:
        shown = v if isinstance(v, str) else v.decode("latin-1")
        assert shown not in text
    assert exc.__cause__ is None
    assert exc.__suppress_context__ or exc.__context__ is None


@contextlib.contextmanager
def _db(store: LocalStore) -> Iterator[sqlite3.Connection]:
    """A raw connection, closed afterwards (sqlite3's own context manager does not close)."""
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


# -- round trips and basic behaviour -------------------------------------------------------------


def test_put_get_list_delete_round_trip(store: LocalStore) -> None:
    before = int(time.time() * 1000)
    store.put_secret("kv-scope", "sql-db-user", "admin_user")
    store.put_secret("kv-scope", "blob", b"\x00\xff raw bytes")
    after = int(time.time() * 1000)
    assert store.get_secret("kv-scope", "sql-db-user") == "admin_user"
    assert store.get_secret("kv-scope", "blob") == b"\x00\xff raw bytes"
    listed = store.list_secrets("kv-scope")
    assert [s.key for s in listed] == ["blob", "sql-db-user"]
    assert all(before <= s.last_updated_timestamp <= after for s in listed)
    assert store.items("kv-scope") == [
        ("blob", b"\x00\xff raw bytes"),
        ("sql-db-user", "admin_user"),
    ]
    store.delete_secret("kv-scope", "blob")
    assert [s.key for s in store.list_secrets("kv-scope")] == ["sql-db-user"]
    # a fresh instance (another process, in effect) reads the same
    assert _reopen(store.home).get_secret("kv-scope", "sql-db-user") == "admin_user"


def test_names_are_case_insensitive_and_keep_their_spelling(store: LocalStore) -> None:
    store.put_secret("KV-Scope", "Sql-DB-User", "admin_user")
    assert store.get_secret("kv-scope", "sql-db-user") == "admin_user"
    store.put_secret("kv-scope", "SQL-DB-USER", "second-value")
    assert [s.key for s in store.list_secrets("kv-scope")] == ["SQL-DB-USER"]
    assert store.get_secret("kv-scope", "Sql-Db-User") == "second-value"
    with pytest.raises(ScopeExistsError, match="'KV-SCOPE' already exists"):
        store.create_scope("KV-SCOPE")
    assert [s.name for s in store.list_scopes()] == ["kv-scope"]


def test_missing_scope_and_key_name_both_never_a_value(store: LocalStore, home: Path) -> None:
    store.put_secret("kv-scope", "present", VALUE)
    with pytest.raises(ScopeNotFoundError, match=r"^secret scope 'nope' does not exist$"):
        store.get_secret("nope", "present")
    with pytest.raises(
        SecretNotFoundError, match=r"^secret 'absent' does not exist in scope 'kv-scope'$"
    ):
        store.get_secret("kv-scope", "absent")
    with pytest.raises(SecretNotFoundError):
        store.delete_secret("kv-scope", "absent")
    with pytest.raises(ScopeNotFoundError):
        store.delete_scope("nope")
    # No store at all: reads see nothing and create no file.
    empty = LocalStore(home.parent / "empty", environ={})
    assert empty.list_scopes() == []
    with pytest.raises(ScopeNotFoundError):
        empty.get_secret("kv-scope", "present")
    assert not (home.parent / "empty").exists()


def test_delete_scope_removes_its_secrets(store: LocalStore) -> None:
    store.put_secret("kv-scope", "a-key", VALUE)
    store.create_scope("other")
    store.put_secret("other", "b-key", "other-value")
    store.delete_scope("KV-SCOPE")
    assert [s.name for s in store.list_scopes()] == ["other"]
    with _db(store) as conn:
        assert conn.execute("SELECT scope_norm, key_norm FROM secrets").fetchall() == [
            ("other", "b-key")
        ]
    store.create_scope("kv-scope")
    assert store.list_secrets("kv-scope") == []


def test_keyvault_scope_is_read_only_here(store: LocalStore) -> None:
    store.create_scope(
        "akv", "AZURE_KEYVAULT", {"dns_name": "https://v.vault.azure.net/", "resource_id": "/x"}
    )
    info = store.get_scope("AKV")
    assert (info.name, info.backend, info.read_only) == ("akv", "AZURE_KEYVAULT", True)
    assert info.options == {"dns_name": "https://v.vault.azure.net/", "resource_id": "/x"}
    with pytest.raises(ReadOnlyScopeError, match="backed by Azure Key Vault and read-only"):
        store.put_secret("akv", "k", VALUE)
    with pytest.raises(ReadOnlyScopeError):
        store.delete_secret("akv", "k")
    with pytest.raises(InvalidValueError, match="unknown scope backend type"):
        store.create_scope("x", "SOMEWHERE")


# -- names and limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "A-b_c.d@e", "x" * 128, "user@example.com", "0", "..", "-"])
def test_valid_names(store: LocalStore, name: str) -> None:
    store.create_scope(name)
    key = name.replace("@", "_")  # '@' is allowed in scope names, not in keys (as Databricks)
    store.put_secret(name, key, "value-123")
    assert store.get_secret(name, key) == "value-123"


def test_at_sign_is_refused_in_keys(store: LocalStore) -> None:
    with pytest.raises(
        InvalidNameError,
        match=r"^invalid secret key: use letters, digits, '-', '_', '\.' \(at most 128\)$",
    ):
        store.put_secret("kv-scope", "user@example.com", "value-123")


@pytest.mark.parametrize(
    "name", ["", "x" * 129, "has space", "slash/name", "ünïcode", "tab\t", "new\nline", "a:b", "%"]
)
def test_invalid_names_are_refused_clearly(store: LocalStore, name: str) -> None:
    with pytest.raises(
        InvalidNameError,
        match=r"^invalid scope name: use letters, digits, '-', '_', '\.', '@' \(at most 128\)$",
    ):
        store.create_scope(name)
    with pytest.raises(InvalidNameError, match="invalid secret key"):
        store.put_secret("kv-scope", name, "value-123")
    with pytest.raises(InvalidNameError):
        store.get_secret(name, "k")


def test_name_must_be_a_string(store: LocalStore) -> None:
    with pytest.raises(InvalidNameError, match="must be a string, not int"):
        store.put_secret("kv-scope", 5, "v")  # type: ignore[arg-type]


def test_value_size_limit_is_128_kib_of_utf8(store: LocalStore) -> None:
    store.put_secret("kv-scope", "max-bytes", b"\x01" * MAX_VALUE_BYTES)
    assert store.get_secret("kv-scope", "max-bytes") == b"\x01" * MAX_VALUE_BYTES
    big = "é" * (MAX_VALUE_BYTES // 2)  # 2 bytes each: exactly the limit
    store.put_secret("kv-scope", "max-text", big)
    assert store.get_secret("kv-scope", "max-text") == big
    with pytest.raises(InvalidValueError, match="is 131073 bytes; the limit is 131072 bytes") as e:
        store.put_secret("kv-scope", "too-big", b"\x02" * (MAX_VALUE_BYTES + 1))
    _no_leak(e.value, b"\x02" * 20)
    with pytest.raises(InvalidValueError, match="is 131074 bytes"):
        store.put_secret("kv-scope", "too-big", big + "é")
    with pytest.raises(SecretNotFoundError):
        store.get_secret("kv-scope", "too-big")


def test_values_must_be_text_or_bytes(store: LocalStore) -> None:
    with pytest.raises(InvalidValueError, match="lone surrogates"):
        store.put_secret("kv-scope", "k", "bad\ud800surrogate")
    with pytest.raises(InvalidValueError, match="must be str or bytes, not int"):
        store.put_secret("kv-scope", "k", 12345)  # type: ignore[arg-type]
    store.put_secret("kv-scope", "empty", "")
    assert store.get_secret("kv-scope", "empty") == ""
    store.put_secret("kv-scope", "ba", bytearray(b"bytearray-value"))
    assert store.get_secret("kv-scope", "ba") == b"bytearray-value"


def test_at_most_1000_secrets_per_scope(store: LocalStore) -> None:
    # Fill the scope directly in one transaction (the limit, not 1000 fsyncs, is under test),
    # then cross it through the API.
    store.put_secret("kv-scope", "k0", "value-0")
    with _db(store) as conn:
        row = conn.execute(
            "SELECT kind, version, dek_id, nonce, ct, updated_ms FROM secrets WHERE key_norm='k0'"
        ).fetchone()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO secrets VALUES ('kv-scope', ?, ?, ?, ?, ?, ?, ?, ?)",
            [(f"k{i}", f"k{i}", *row) for i in range(1, MAX_SECRETS_PER_SCOPE)],
        )
        conn.execute("COMMIT")
    assert "scope 'kv-scope' rows changed outside redactor" in store.repair()  # accept the edit
    with pytest.raises(LimitExceededError, match="already holds 1000 secrets, the limit"):
        store.put_secret("kv-scope", "one-more", "value")
    store.put_secret("kv-scope", "k0", "overwrite-is-fine")  # not a new secret
    assert store.get_secret("kv-scope", "k0") == "overwrite-is-fine"
    store.create_scope("other")
    store.put_secret("other", "one-more", "value-in-another-scope")
    store.delete_secret("kv-scope", "k1")
    store.put_secret("kv-scope", "one-more", "now-there-is-room")


# -- what reaches the disk ----------------------------------------------------------------------


def test_modes_and_no_plaintext_on_disk(store: LocalStore, home: Path) -> None:
    marker = "PLAINTEXT-MARKER-7d1f0b"
    store.put_secret("kv-scope", "marker", marker)
    store.put_secret("kv-scope", "marker-bytes", marker.encode() * 3)
    # Keep a reader open so the WAL and shared-memory files stay on disk to be inspected.
    reader = sqlite3.connect(store.path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM secrets").fetchone()
    store.put_secret("kv-scope", "marker2", marker + "-2")
    try:
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        files = sorted(p.name for p in home.iterdir())
        assert {"secrets.db", "secrets.db-wal", "secrets.db-shm"} <= set(files)
        assert "master.key" not in files  # the key lives outside the data directory
        assert not [f for f in files if f.endswith(".tmp")]
        key_file = _keys.key_file_path(home)
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
        for p in [*home.iterdir(), key_file]:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
            data = p.read_bytes()
            for form in (
                marker.encode(),
                marker.encode("utf-16-le"),
                base64.b64encode(marker.encode()),
            ):
                assert form not in data, p.name
    finally:
        reader.close()


def test_fresh_nonce_on_every_write_and_aad_layout(store: LocalStore) -> None:
    store.put_secret("kv-scope", "a", VALUE)
    store.put_secret("kv-scope", "b", VALUE)
    with _db(store) as conn:
        first = conn.execute("SELECT key_norm, nonce, ct, version FROM secrets").fetchall()
    store.put_secret("kv-scope", "a", VALUE)
    with _db(store) as conn:
        again = conn.execute("SELECT nonce, ct, version FROM secrets WHERE key_norm='a'").fetchone()
    nonces = {bytes(r[1]) for r in first} | {bytes(again[0])}
    cts = {bytes(r[2]) for r in first} | {bytes(again[1])}
    assert len(nonces) == 3 and len(cts) == 3
    assert all(len(n) == 12 for n in nonces)
    assert all(len(c) == len(VALUE) + 16 for c in cts)  # GCM: plaintext length + 16-byte tag
    assert again[2] > max(r[3] for r in first)  # versions never repeat


# -- tampering ----------------------------------------------------------------------------------


def _edit(store: LocalStore, sql: str, *params: object) -> None:
    with _db(store) as conn:
        conn.execute(sql, params)


def _swap(store: LocalStore, sql: str, *params: object) -> None:
    """Edit a row behind the store's back; the store-wide check notices (test_integrity.py), and
    the edit is then accepted (repair), so that what follows tests each row's own AEAD."""
    with _db(store) as conn:
        conn.execute(sql, params)
    assert "rows changed outside redactor" in store.repair()


def test_ciphertext_moved_to_another_row_fails(store: LocalStore) -> None:
    store.create_scope("other")
    store.put_secret("kv-scope", "a", VALUE)
    store.put_secret("kv-scope", "b", "b-value-xyz")
    store.put_secret("other", "a", "other-a-value")
    # a's ciphertext (nonce, version) into b
    _swap(
        store,
        "UPDATE secrets SET (nonce, ct, version) = (SELECT nonce, ct, version FROM secrets "
        "WHERE scope_norm='kv-scope' AND key_norm='a') WHERE scope_norm='kv-scope' AND key_norm='b'",
    )
    with pytest.raises(TamperedError, match="'b' in scope 'kv-scope' failed authentication") as e:
        store.get_secret("kv-scope", "b")
    _no_leak(e.value, VALUE, "b-value-xyz")
    # the same key name in another scope
    _swap(
        store,
        "UPDATE secrets SET (nonce, ct, version) = (SELECT nonce, ct, version FROM secrets "
        "WHERE scope_norm='kv-scope' AND key_norm='a') WHERE scope_norm='other' AND key_norm='a'",
    )
    with pytest.raises(TamperedError):
        store.get_secret("other", "a")
    assert store.get_secret("kv-scope", "a") == VALUE
    # items() fails whole, never with a partial list
    with pytest.raises(TamperedError):
        store.items("kv-scope")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE secrets SET ct = substr(ct, 1, 3) || X'00' || substr(ct, 5)",
        "UPDATE secrets SET version = version + 1",
        "UPDATE secrets SET kind = 'bytes'",
        "UPDATE secrets SET nonce = zeroblob(12)",
        "UPDATE secrets SET ct = substr(ct, 1, length(ct) - 1)",
    ],
)
def test_tampered_row_fails(store: LocalStore, sql: str) -> None:
    store.put_secret("kv-scope", "a", VALUE)
    _swap(store, sql)
    with pytest.raises(TamperedError) as e:
        store.get_secret("kv-scope", "a")
    _no_leak(e.value, VALUE)


def test_row_from_another_store_fails(tmp_path: Path) -> None:
    one = LocalStore(tmp_path / "one", environ={"REDACTOR_MASTER_KEY": HEX_KEY})
    two = LocalStore(tmp_path / "two", environ={"REDACTOR_MASTER_KEY": HEX_KEY})
    for s, v in ((one, VALUE), (two, "two-value-abc")):
        s.create_scope("kv-scope")
        s.put_secret("kv-scope", "a", v)
    with _db(one) as conn:
        row = conn.execute("SELECT nonce, ct, version, dek_id FROM secrets").fetchone()
    _swap(two, "UPDATE secrets SET nonce = ?, ct = ?, version = ?", *row[:3])
    with pytest.raises(TamperedError):
        two.get_secret("kv-scope", "a")
    _swap(two, "UPDATE secrets SET dek_id = ?", row[3])
    with pytest.raises(TamperedError, match="unknown data key"):
        two.get_secret("kv-scope", "a")


def test_tampered_wrapped_data_key(store: LocalStore) -> None:
    store.put_secret("kv-scope", "a", VALUE)
    with _db(store) as conn:
        (wrapped,) = conn.execute("SELECT value FROM meta WHERE name='dek_wrapped'").fetchone()
        raw = bytearray(base64.b64decode(wrapped))
        raw[20] ^= 1
        conn.execute(
            "UPDATE meta SET value = ? WHERE name='dek_wrapped'", (base64.b64encode(raw).decode(),)
        )
    with pytest.raises(TamperedError, match=r"wrapped data key .* failed authentication"):
        _reopen(store.home).get_secret("kv-scope", "a")


# -- damaged, foreign and newer stores ------------------------------------------------------------


def _filled(store: LocalStore) -> bytes:
    for i in range(40):
        store.put_secret("kv-scope", f"k{i}", os.urandom(2000))
    return store.path.read_bytes()


@pytest.mark.parametrize("fraction", [0.5, 0.2, 0.02, 0.0])
def test_truncated_store_is_reported_not_reinitialised(store: LocalStore, fraction: float) -> None:
    data = _filled(store)
    store.path.write_bytes(data[: int(len(data) * fraction)])
    fresh = _reopen(store.home)
    for op in (
        fresh.list_scopes,
        lambda: fresh.items("kv-scope"),
        lambda: fresh.create_scope("new-scope"),
        lambda: fresh.put_secret("kv-scope", "x", "value-x"),
    ):
        with pytest.raises(StoreCorruptError, match=str(store.path)):
            op()
    assert len(store.path.read_bytes()) == int(len(data) * fraction)  # nothing was rewritten


def test_garbage_and_foreign_files(store: LocalStore) -> None:
    store.path.write_bytes(os.urandom(8192))
    for f in ("-wal", "-shm"):
        Path(f"{store.path}{f}").unlink(missing_ok=True)
    with pytest.raises(StoreCorruptError, match="damaged or is not a redactor secret store"):
        _reopen(store.home).list_scopes()
    store.path.unlink()
    with _db(store) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('hello')")
    with pytest.raises(StoreCorruptError, match="is not a redactor secret store"):
        _reopen(store.home).create_scope("x")
    with _db(store) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("hello",)]


def test_newer_format_is_refused(store: LocalStore) -> None:
    store.put_secret("kv-scope", "a", VALUE)
    _edit(store, "PRAGMA user_version = 2")
    with pytest.raises(NewerFormatError, match="store format 2, written by a newer redactor"):
        _reopen(store.home).get_secret("kv-scope", "a")
    _edit(store, "PRAGMA user_version = 1")
    _edit(store, "UPDATE meta SET value = '7' WHERE name = 'format'")
    with pytest.raises(NewerFormatError, match="format 7"):
        _reopen(store.home).list_scopes()


def test_missing_metadata_is_damage(store: LocalStore) -> None:
    _edit(store, "DELETE FROM meta WHERE name IN ('dek_wrapped', 'store_id')")
    with pytest.raises(StoreCorruptError, match=r"lacks store metadata \(store_id, dek_wrapped\)"):
        _reopen(store.home).list_scopes()


# -- master keys --------------------------------------------------------------------------------


def test_key_file_created_0600_and_refused_when_readable_by_others(store: LocalStore) -> None:
    key_file = _keys.key_file_path(store.home)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    store.put_secret("kv-scope", "a", VALUE)
    for mode in (0o644, 0o640, 0o604, 0o620, 0o602):
        key_file.chmod(mode)
        with pytest.raises(
            MasterKeyError, match=rf"mode {mode:04o}\); refused. Run: chmod 600"
        ) as e:
            _reopen(store.home).get_secret("kv-scope", "a")
        _no_leak(e.value, VALUE, key_file.read_text().strip())
    key_file.chmod(0o400)
    assert _reopen(store.home).get_secret("kv-scope", "a") == VALUE


def test_key_file_symlink_and_garbage_are_refused(store: LocalStore, tmp_path: Path) -> None:
    key_file = _keys.key_file_path(store.home)
    store.put_secret("kv-scope", "a", VALUE)
    real = tmp_path / "elsewhere.key"
    real.write_bytes(key_file.read_bytes())
    real.chmod(0o600)
    key_file.unlink()
    key_file.symlink_to(real)
    with pytest.raises(MasterKeyError, match="cannot open key file"):
        _reopen(store.home).get_secret("kv-scope", "a")
    key_file.unlink()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not a key\n")
    os.close(fd)
    with pytest.raises(MasterKeyError, match="must hold 32 bytes"):
        _reopen(store.home).get_secret("kv-scope", "a")
    key_file.unlink()
    with pytest.raises(MasterKeyError, match=r"key file .* is missing"):
        _reopen(store.home).get_secret("kv-scope", "a")


def test_create_key_file_never_clobbers(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    first = _keys.create_key_file(path)
    second = _keys.create_key_file(path)  # loses the race: reads the winner's key
    assert first == second and len(first) == 32
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]


def test_wrong_key_file(store: LocalStore) -> None:
    store.put_secret("kv-scope", "a", VALUE)
    key_file = _keys.key_file_path(store.home)
    key_file.unlink()
    _keys.create_key_file(key_file, bytes(range(32)))
    with pytest.raises(
        WrongMasterKeyError, match=r"wrong master key .* wrapped by the key file"
    ) as e:
        _reopen(store.home).get_secret("kv-scope", "a")
    _no_leak(e.value, VALUE, base64.b64encode(bytes(range(32))).decode())


@pytest.mark.parametrize(
    "text",
    [
        HEX_KEY,
        HEX_KEY.upper(),
        base64.b64encode(b"\x11" * 32).decode(),
        base64.urlsafe_b64encode(b"\x11" * 32).decode().rstrip("="),
        f"  {HEX_KEY}\n",
    ],
)
def test_master_key_formats(text: str) -> None:
    assert _keys.parse_master_key(text) == b"\x11" * 32


@pytest.mark.parametrize(
    "text", ["", "11" * 31, "zz" * 32, base64.b64encode(b"x" * 31).decode(), "pass phrase"]
)
def test_bad_master_key_is_refused_without_echo(text: str) -> None:
    with pytest.raises(MasterKeyError, match="REDACTOR_MASTER_KEY must hold 32 bytes") as e:
        _keys.parse_master_key(text)
    if text:
        assert text not in str(e.value)


def test_env_master_key(home: Path) -> None:
    s = _reopen(home, REDACTOR_MASTER_KEY=HEX_KEY)
    s.create_scope("kv-scope")
    s.put_secret("kv-scope", "a", VALUE)
    assert not (home / "master.key").exists() and not _keys.key_file_path(home).exists()
    assert _reopen(home, REDACTOR_MASTER_KEY=HEX_KEY).get_secret("kv-scope", "a") == VALUE
    with pytest.raises(WrongMasterKeyError, match="wrapped by the REDACTOR_MASTER_KEY") as e:
        _reopen(home, REDACTOR_MASTER_KEY=OTHER_HEX_KEY).get_secret("kv-scope", "a")
    _no_leak(e.value, VALUE, HEX_KEY, OTHER_HEX_KEY)
    with pytest.raises(
        MasterKeyError, match=r"locked with REDACTOR_MASTER_KEY .* which is not set"
    ):
        _reopen(home).get_secret("kv-scope", "a")
    # listing needs the key too: the store-wide integrity check is keyed by the data key
    with pytest.raises(MasterKeyError, match="which is not set"):
        _reopen(home).list_secrets("kv-scope")
    assert [x.key for x in _reopen(home, REDACTOR_MASTER_KEY=HEX_KEY).list_secrets("kv-scope")] == [
        "a"
    ]


def test_passphrase_store(home: Path) -> None:
    s = _reopen(home, REDACTOR_PASSPHRASE="correct horse battery staple")
    s.create_scope("kv-scope")
    s.put_secret("kv-scope", "a", VALUE)
    with _db(s) as conn:
        meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    kdf = json.loads(meta["kdf"])
    assert meta["kek_kind"] == "passphrase"
    assert kdf["name"] in ("argon2id", "scrypt") and len(base64.b64decode(kdf["salt"])) == 16
    if kdf["name"] == "argon2id":
        assert (kdf["memory_cost"], kdf["iterations"], kdf["lanes"]) == (65536, 3, 4)
    assert "correct horse" not in json.dumps(meta)
    assert (
        _reopen(home, REDACTOR_PASSPHRASE="correct horse battery staple").get_secret(
            "kv-scope", "a"
        )
        == VALUE
    )
    with pytest.raises(WrongMasterKeyError) as e:
        _reopen(home, REDACTOR_PASSPHRASE="wrong horse").get_secret("kv-scope", "a")
    # issue 16 finding 4: nothing that helps an offline guess (no key id of the wrong key)
    assert str(e.value) == f"wrong passphrase for the store in {home} (from REDACTOR_PASSPHRASE)"
    _no_leak(e.value, VALUE, "wrong horse", "correct horse")
    # no passphrase and no terminal: a clear error; with a prompt: asked once per unwrap
    with pytest.raises(MasterKeyError, match="locked with a passphrase: set REDACTOR_PASSPHRASE"):
        _reopen(home).get_secret("kv-scope", "a")
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "correct horse battery staple"

    prompted = LocalStore(home, environ={}, prompt=prompt)
    assert prompted.get_secret("kv-scope", "a") == VALUE
    assert prompted.get_secret("kv-scope", "a") == VALUE
    assert asked == [f"passphrase for the secret store in {home}: "]


def test_kdfs_are_deterministic_and_distinct() -> None:
    argon = {
        "name": "argon2id",
        "salt": base64.b64encode(b"s" * 16).decode(),
        "memory_cost": 65536,
        "iterations": 3,
        "lanes": 4,
    }
    scrypt = {
        "name": "scrypt",
        "salt": base64.b64encode(b"s" * 16).decode(),
        "n": 2**17,
        "r": 8,
        "p": 1,
    }
    a1 = _keys.derive_from_passphrase("pässwörd", argon)
    assert a1 == _keys.derive_from_passphrase("pa\u0308sswo\u0308rd", argon)  # NFC
    s1 = _keys.derive_from_passphrase("pässwörd", scrypt)
    assert len(a1) == len(s1) == 32 and a1 != s1
    assert s1 == _keys.derive_from_passphrase("pässwörd", scrypt)
    with pytest.raises(MasterKeyError, match="unknown passphrase KDF 'pbkdf9'"):
        _keys.derive_from_passphrase("x", {**argon, "name": "pbkdf9"})
    with pytest.raises(MasterKeyError, match="KDF parameter 'salt' is not 16 to 64 bytes"):
        _keys.derive_from_passphrase("x", {"name": "scrypt"})
    with pytest.raises(MasterKeyError, match="empty"):
        _keys.derive_from_passphrase("", argon)


# -- rotation -----------------------------------------------------------------------------------


def _ciphertexts(store: LocalStore) -> list[tuple]:
    with _db(store) as conn:
        return conn.execute("SELECT key_norm, dek_id, nonce, ct FROM secrets ORDER BY 1").fetchall()


def test_rotate_key_file_rewraps_only(store: LocalStore) -> None:
    store.put_secret("kv-scope", "a", VALUE)
    store.put_secret("kv-scope", "b", b"bytes-value")
    key_file = _keys.key_file_path(store.home)
    old_key = key_file.read_text()
    before = _ciphertexts(store)
    result = store.rotate_key(reencrypt=False)
    assert (result.old_kind, result.new_kind, result.reencrypted) == ("file", "file", 0)
    assert result.old_key_id != result.new_key_id
    new_key = key_file.read_text()
    assert new_key != old_key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _ciphertexts(store) == before  # values untouched
    assert _reopen(store.home).items("kv-scope") == [("a", VALUE), ("b", b"bytes-value")]
    with pytest.raises(WrongMasterKeyError):
        _reopen(store.home, REDACTOR_MASTER_KEY=old_key).get_secret("kv-scope", "a")
    assert sorted(p.name for p in store.home.iterdir()) == HOME_FILES
    assert sorted(p.name for p in key_file.parent.iterdir()) == KEY_DIR_FILES


def test_rotate_with_reencrypt_replaces_data_key(store: LocalStore) -> None:
    store.create_scope("other")
    store.put_secret("kv-scope", "a", VALUE)
    store.put_secret("other", "b", b"\xff\xfe bytes")
    before = _ciphertexts(store)
    result = store.rotate_key(reencrypt=True)
    assert result.reencrypted == 2
    after = _ciphertexts(store)
    assert all(x[1] != y[1] and x[2] != y[2] and x[3] != y[3] for x, y in zip(before, after))
    fresh = _reopen(store.home)
    assert fresh.get_secret("kv-scope", "a") == VALUE
    assert fresh.get_secret("other", "b") == b"\xff\xfe bytes"
    # the same instance notices the new data key too
    assert store.get_secret("kv-scope", "a") == VALUE


def test_rotate_between_sources(store: LocalStore) -> None:
    store.put_secret("kv-scope", "a", VALUE)
    r = store.rotate_key("env", new_key=bytes.fromhex(HEX_KEY))
    assert (r.old_kind, r.new_kind) == ("file", "env")
    assert not _keys.key_file_path(store.home).exists()  # the retired key file is removed
    assert _reopen(store.home, REDACTOR_MASTER_KEY=HEX_KEY).get_secret("kv-scope", "a") == VALUE
    env_store = _reopen(store.home, REDACTOR_MASTER_KEY=HEX_KEY)
    env_store.rotate_key("passphrase", passphrase="new pass phrase")
    pp = _reopen(store.home, REDACTOR_PASSPHRASE="new pass phrase")
    assert pp.get_secret("kv-scope", "a") == VALUE
    with pytest.raises(WrongMasterKeyError):
        _reopen(store.home, REDACTOR_MASTER_KEY=HEX_KEY).get_secret("kv-scope", "a")
    pp.rotate_key("file")
    assert _reopen(store.home).get_secret("kv-scope", "a") == VALUE
    with pytest.raises(MasterKeyError, match="needs a new 32-byte key"):
        store.rotate_key("env")
    with pytest.raises(MasterKeyError, match="non-empty passphrase"):
        store.rotate_key("passphrase", passphrase="")


def test_rotate_crash_after_commit_is_finished_on_next_open(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put_secret("kv-scope", "a", VALUE)
    real_replace = os.replace

    def crash(src, dst, *a, **k):  # the process dies between the commit and the rename
        if str(src).endswith("master.key.new"):
            raise KeyboardInterrupt
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.rotate_key()
    monkeypatch.setattr(os, "replace", real_replace)
    key_dir = _keys.key_file_path(store.home).parent
    assert (key_dir / "master.key.new").exists()
    assert _reopen(store.home).get_secret("kv-scope", "a") == VALUE
    assert sorted(p.name for p in store.home.iterdir()) == HOME_FILES
    assert sorted(p.name for p in key_dir.iterdir()) == KEY_DIR_FILES


# -- processes ----------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from redactor.sources.scopes import LocalStore, ScopeExistsError
    home, me, n, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    while not go.exists():
        time.sleep(0.001)
    store = LocalStore(home, environ={})
    for scope in ("shared", f"p{me}"):
        try:
            store.create_scope(scope)
        except ScopeExistsError:
            pass
    for j in range(n):
        own = f"p{me}-value-{j}-" + "x" * (j * 37 % 500)
        store.put_secret(f"p{me}", f"k{j}", own)
        store.put_secret("shared", f"p{me}-k{j}", own.encode())
        store.put_secret("shared", "common", f"p{me}-common-{j}")
        assert store.get_secret(f"p{me}", f"k{j}") == own
        assert store.get_secret("shared", f"p{me}-k{j}") == own.encode()
        assert store.get_secret("shared", "common").endswith(tuple(f"-common-{i}" for i in range(n)))
    print("done", me)
    """
)


def test_four_processes_write_and_read_one_store(tmp_path: Path) -> None:
    home, go, n = tmp_path / "home", tmp_path / "go", 30
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(home), str(i), str(n), str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    time.sleep(0.3)  # let all four import and wait at the start line, with no store yet
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1][-2000:] for o in outs]
    assert sorted(o[0].strip() for o in outs) == [f"done {i}" for i in range(4)]
    store = LocalStore(home, environ={})
    assert sorted(s.name for s in store.list_scopes()) == ["p0", "p1", "p2", "p3", "shared"]
    for i in range(4):
        expected = [(f"k{j}", f"p{i}-value-{j}-" + "x" * (j * 37 % 500)) for j in range(n)]
        assert sorted(store.items(f"p{i}")) == sorted(expected)
    shared = dict(store.items("shared"))
    assert len(shared) == 4 * n + 1
    for i in range(4):
        for j in range(n):
            assert shared[f"p{i}-k{j}"] == (f"p{i}-value-{j}-" + "x" * (j * 37 % 500)).encode()
    assert shared["common"] in {f"p{i}-common-{n - 1}" for i in range(4)}
    with _db(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (counter,) = conn.execute("SELECT value FROM meta WHERE name='write_counter'").fetchone()
    assert int(counter) == 4 * n * 3  # every write committed exactly once
    assert sorted(p.name for p in home.iterdir()) == HOME_FILES
    assert _keys.key_file_path(home).exists()


CHURN = textwrap.dedent(
    """
    import sys
    from redactor.sources.scopes import LocalStore
    store = LocalStore(sys.argv[1], environ={})
    i = 0
    store.put_secret("kv-scope", "churn", f"churn-value-{i:08d}")
    print("ready", flush=True)
    while True:
        i += 1
        store.put_secret("kv-scope", "churn", f"churn-value-{i:08d}")
        store.put_secret("kv-scope", f"n{i % 50}", f"numbered-{i:08d}")
    """
)


def test_crash_mid_write_loses_nothing_committed(store: LocalStore) -> None:
    for i in range(5):
        store.put_secret("kv-scope", f"keep{i}", f"keep-value-{i}")
    for delay in (0.15, 0.35, 0.6):
        p = subprocess.Popen(
            [sys.executable, "-c", CHURN, str(store.home)], stdout=subprocess.PIPE, text=True
        )
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        fresh = _reopen(store.home)
        items = dict(fresh.items("kv-scope"))
        assert all(items[f"keep{i}"] == f"keep-value-{i}" for i in range(5))
        assert items["churn"].startswith("churn-value-") and len(items["churn"]) == 20
        fresh.put_secret("kv-scope", "after-crash", "still-writable")  # no stale lock
    with _db(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_home_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    s = LocalStore(tmp_path / "file", environ={})
    for op in (lambda: s.create_scope("kv-scope"), s.list_scopes):
        with pytest.raises(
            UnsafePermissionsError,
            match=r"^REDACTOR_HOME .*/file is not a directory; refused\. Set REDACTOR_HOME",
        ):
            op()
