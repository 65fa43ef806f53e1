"""Issue 16, findings 4 and 7: the local store's KDF parameters are bounded before use, a wrong
passphrase says nothing that helps a guess, and no exception the store raises leads back to a
value (chains, or locals of its frames in a traceback printed with locals).

Real store files, a real SQLite edit of the ``meta`` table, real CLI subprocesses.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import run_redactor

from redactor.sources.scopes import (
    InvalidValueError,
    KdfParamsError,
    LocalStore,
    MasterKeyError,
    ScopeNotFoundError,
    SecretsError,
    StoreCorruptError,
    TamperedError,
)
from redactor.sources.scopes.dbutils import dbutils
from redactor.sources.scopes.local import crypto, db
from redactor.sources.scopes.local import keys as _keys
from redactor.sources.scopes.local.kdf import check_kdf_params

PASSPHRASE = "correct horse battery staple 16"
VALUE = "Plaintext-Value-0042-never-shown"
LONE = "Surrogate-Value-0042-\ud800-tail"  # a str holding a lone surrogate
NOT_UTF8 = b"\xffNot-UTF8-Value-0042\xfe"


@contextlib.contextmanager
def _db(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def locked(tmp_path: Path) -> Path:
    """A store locked with a passphrase, holding kv/a."""
    home = tmp_path / "home"
    s = LocalStore(home, environ={"REDACTOR_PASSPHRASE": PASSPHRASE})
    s.create_scope("kv")
    s.put_secret("kv", "a", VALUE)
    return home


def _stored_kdf(home: Path) -> dict:
    with _db(home / "secrets.db") as conn:
        (text,) = conn.execute("SELECT value FROM meta WHERE name = 'kdf'").fetchone()
    return json.loads(text)


def _set_kdf(home: Path, kdf: dict) -> None:
    with _db(home / "secrets.db") as conn:
        conn.execute("UPDATE meta SET value = ? WHERE name = 'kdf'", (json.dumps(kdf),))


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    return {**env, "REDACTOR_HOME": str(home), **extra}


# -- finding 4: KDF parameters ------------------------------------------------------------------


def _changes(kdf: dict) -> list[tuple[dict, str]]:
    """(changed parameters, the field the error must name): lowered, raised, malformed."""
    if kdf["name"] == "argon2id":
        return [
            ({"memory_cost": 8}, "'memory_cost' is 8, outside the accepted 65536 to 262144"),
            ({"iterations": 1}, "'iterations' is 1, outside the accepted 3 to 12"),
            ({"lanes": 0}, "'lanes' is 0, outside the accepted 1 to 8"),
            ({"memory_cost": 2**32}, "'memory_cost' is 4294967296, outside"),
            ({"iterations": 10**9}, "'iterations' is 1000000000, outside"),
            ({"memory_cost": 262144, "iterations": 12}, "'memory_cost' x 'iterations' are"),
            ({"lanes": True}, "'lanes' is missing or not an integer"),
            ({"iterations": "3"}, "'iterations' is missing or not an integer"),
            ({"salt": "c2FsdA=="}, "'salt' is not 16 to 64 bytes of base64"),
            ({"name": "pbkdf2"}, "unknown passphrase KDF 'pbkdf2' in the store"),
        ]
    return [
        ({"n": 2**10}, "'n' is 1024, outside the accepted 131072 to 262144"),
        ({"n": 2**30}, "'n' is 1073741824, outside"),
        ({"n": 2**17 + 1}, "'n' is 131073, not a power of two"),
        ({"r": 1}, "'r' is 1, outside the accepted 8 to 16"),
        ({"p": 64}, "'p' is 64, outside the accepted 1 to 2"),
        ({"n": 2**18, "r": 16}, "need more than the accepted 256 MiB"),
        ({"name": "pbkdf2"}, "unknown passphrase KDF 'pbkdf2' in the store"),
    ]


def test_kdf_parameters_out_of_bounds_are_refused_before_use(locked: Path) -> None:
    stored = _stored_kdf(locked)
    assert check_kdf_params(stored) == stored  # the defaults are within bounds
    for change, message in _changes(stored):
        _set_kdf(locked, {**stored, **change})
        started = time.monotonic()
        store = LocalStore(locked, environ={"REDACTOR_PASSPHRASE": PASSPHRASE})
        with pytest.raises(KdfParamsError) as e:
            store.get_secret("kv", "a")
        # refused before any derivation: no hang, no MemoryError (one default derivation
        # takes 0.15 s idle; the bound is generous for a loaded machine)
        assert time.monotonic() - started < 5, change
        assert message in str(e.value), (change, str(e.value))
        assert isinstance(e.value, StoreCorruptError) and isinstance(e.value, MasterKeyError)
        assert e.value.__context__ is None and e.value.__cause__ is None
        # a prompt is never shown for a store whose parameters are refused
        asked: list[str] = []
        prompted = LocalStore(locked, environ={}, prompt=lambda p: asked.append(p) or PASSPHRASE)
        with pytest.raises(KdfParamsError):
            prompted.get_secret("kv", "a")
        assert asked == []
    _set_kdf(locked, stored)
    assert LocalStore(locked, environ={"REDACTOR_PASSPHRASE": PASSPHRASE}).get_secret(
        "kv", "a"
    ) == (VALUE)


def test_kdf_bounds_through_the_cli(locked: Path) -> None:
    stored = _stored_kdf(locked)
    field = "memory_cost" if stored["name"] == "argon2id" else "n"
    _set_kdf(locked, {**stored, field: 8})
    r = run_redactor(
        "secrets",
        "put-secret",
        "kv",
        "b",
        input=VALUE.encode(),
        env=_env(locked, REDACTOR_PASSPHRASE=PASSPHRASE),
    )
    err = r.stderr.decode()
    assert r.returncode == 2
    assert err.startswith(
        f"Error: DATA_LOSS: the store's passphrase KDF parameter '{field}' is 8, outside the "
        "accepted "
    )
    assert "Traceback" not in err and VALUE not in err


def test_kdf_at_the_ceiling_derives_in_a_few_seconds() -> None:
    """One derivation at the largest accepted Argon2id parameters (256 MiB x 3 passes): 3.0 s
    measured on the loaded 2-core CI machine; 60 s is a bound against a hang, not a timing."""
    salt = base64.b64encode(b"s" * 16).decode()
    kdf = (
        {"name": "argon2id", "salt": salt, "memory_cost": 262144, "iterations": 3, "lanes": 4}
        if _keys._argon2_available()
        else {"name": "scrypt", "salt": salt, "n": 2**18, "r": 8, "p": 1}
    )
    started = time.monotonic()
    assert len(_keys.derive_from_passphrase("x" * 20, kdf)) == 32
    assert time.monotonic() - started < 60


def test_wrong_passphrase_reveals_nothing_that_helps_a_guess(locked: Path) -> None:
    """The old message printed the key id (an HMAC under the key derived from the wrong
    passphrase): with the salt from the file, a cheap test of guesses near the typed one."""
    wrong_key_id = _keys.key_id_of(_keys.derive_from_passphrase("wrong horse", _stored_kdf(locked)))
    r = run_redactor(
        "secrets",
        "put-secret",
        "kv",
        "b",
        input=VALUE.encode(),
        env=_env(locked, REDACTOR_PASSPHRASE="wrong horse"),
    )
    assert (r.returncode, r.stdout, r.stderr.decode()) == (
        2,
        b"",
        f"Error: PERMISSION_DENIED: wrong passphrase for the store in {locked} "
        "(from REDACTOR_PASSPHRASE)\n",
    )
    with _db(locked / "secrets.db") as conn:
        stored_id = dict(conn.execute("SELECT name, value FROM meta").fetchall())["kek_id"]
    assert wrong_key_id not in r.stderr.decode() and stored_id not in r.stderr.decode()


# -- finding 7: no plaintext in exception chains or locals --------------------------------------


def _reachable_text(exc: BaseException) -> str:
    """Everything a traceback printed with locals shows, and the chain's ``object``s."""
    parts = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append(repr(e))
        parts.append(repr(getattr(e, "object", "")))
        e = e.__cause__ or e.__context__
    tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
    parts.append("".join(tb.format()))
    return "\n".join(parts)


def _assert_clean(exc: BaseException, *values: str | bytes) -> None:
    assert exc.__cause__ is None and exc.__context__ is None, repr(exc.__context__)
    text = _reachable_text(exc)
    for v in values:
        assert repr(v)[1:-1] not in text
        shown = v if isinstance(v, str) else v.decode("latin-1")
        assert shown.encode("utf-8", "replace").decode() not in text
    for marker in ("Value-0042",):
        assert marker not in text


def test_lone_surrogate_value_leaves_no_trace(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "home", environ={})
    store.create_scope("kv")
    with pytest.raises(InvalidValueError) as e:
        store.put_secret("kv", "s", LONE)
    assert str(e.value) == (
        "the value for kv/s is not valid Unicode text (it holds lone surrogates); store it as bytes"
    )
    _assert_clean(e.value, LONE)
    # through the scope API too (LocalScope.put, access.put_secret)
    from redactor.sources.scopes import put_secret

    os.environ["REDACTOR_HOME"] = str(tmp_path / "home")
    try:
        with pytest.raises(InvalidValueError) as e:
            put_secret("kv", "s", LONE)
    finally:
        del os.environ["REDACTOR_HOME"]
    _assert_clean(e.value, LONE)


def test_failures_after_the_value_was_read_show_no_locals(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "home", environ={})
    store.create_scope("kv")
    with pytest.raises(ScopeNotFoundError) as e:
        store.put_secret("missing", "k", VALUE)
    _assert_clean(e.value, VALUE)
    with pytest.raises(InvalidValueError) as e:
        store.put_secret("kv", "k", VALUE.encode() * 5000)
    _assert_clean(e.value, VALUE)
    # the key is refused after the value was encoded: the wrong master key
    store.put_secret("kv", "k", VALUE)
    other = LocalStore(tmp_path / "home", environ={"REDACTOR_MASTER_KEY": "33" * 32})
    with pytest.raises(MasterKeyError) as e:
        other.put_secret("kv", "k2", VALUE)
    _assert_clean(e.value, VALUE)


def test_non_utf8_bytes_through_get_leave_no_trace(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = LocalStore(home, environ={})
    store.create_scope("kv")
    store.put_secret("kv", "raw", NOT_UTF8)
    os.environ["REDACTOR_HOME"] = str(home)
    try:
        with pytest.raises(SecretsError, match="holds bytes that are not UTF-8 text") as e:
            dbutils.secrets.get("kv", "raw")
    finally:
        del os.environ["REDACTOR_HOME"]
    _assert_clean(e.value, NOT_UTF8)
    # a "str" row whose plaintext is not UTF-8 (written with the data key, as a bug or an
    # attacker holding the key could): the decoding error carries the plaintext as `object`
    # Through the store's own checked transaction, so the integrity record is re-sealed and the
    # read below gets past the store-wide check to the value's decoding.
    with store._connect(create=False) as conn:
        assert conn is not None
        with store._checked(conn, write=True) as tx:
            version = db.next_version(conn)
            nonce, ct = crypto.encrypt_value(tx.dk, "kv", "bad", version, "str", NOT_UTF8)
            db.write_secret(
                conn, db.SecretRow("kv", "bad", "bad", "str", version, tx.dk.dek_id, nonce, ct), 0
            )
    with pytest.raises(TamperedError, match=r"^secret 'bad' in scope 'kv' is damaged$") as e:
        store.get_secret("kv", "bad")
    _assert_clean(e.value, NOT_UTF8)
    with pytest.raises(TamperedError) as e:
        store.items("kv")
    _assert_clean(e.value, NOT_UTF8, VALUE)


def test_cli_errors_have_no_chain(tmp_path: Path) -> None:
    """The CLI turns a store error into ``Error: CODE: message`` outside the handler, so even
    with a traceback printed (python -X dev, a debugger) nothing chains back to the value."""
    code = f"""
import sys, traceback
from redactor.cli.main import main
from redactor.cli.commands import secrets
from redactor.cli.errors import ApiError
import argparse
args = argparse.Namespace(home={str(tmp_path / "home")!r}, unexpected=[], verb="put-secret")
from redactor.sources.scopes import LocalStore
def body():
    LocalStore().put_secret("missing", "k", {VALUE!r})
try:
    secrets._run(args, body)
except ApiError as exc:
    assert exc.__context__ is None and exc.__cause__ is None
    text = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    print({VALUE!r} in text, str(exc))
"""
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(tmp_path / "home"),
        timeout=60,
        check=False,
    )
    assert (r.stdout, r.stderr) == (
        "False RESOURCE_DOES_NOT_EXIST: secret scope 'missing' does not exist\n",
        "",
    )
