"""``rotate-key`` (issue 16, finding 6): a new data key and every value re-encrypted by default, and
crash-safe: a real ``redactor secrets rotate-key`` process killed at each step (``os._exit`` at the
points ``REDACTOR_TEST_CRASH_AT`` names) leaves a store that opens with the old or the new key and
no stale key file."""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from helpers.cli import run_redactor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor.sources.scopes import LocalStore
from redactor.sources.scopes.local import crypto, keys

OLD, NEW = "before-Rotation-value-01", "after-Rotation-value-02"
ENV_KEY = "cd" * 32
HOME_FILES = ["secrets.audit.jsonl", "secrets.db"]  # the key and the counter live elsewhere
KEY_FILES = ["master.key", "store.counter"]


def _key_files(home: Path) -> list[str]:
    """The store's files in its key directory (the creation lock aside)."""
    folder = keys.key_file_path(home).parent
    return sorted(p.name for p in folder.iterdir() if p.name != "create.lock")


def _meta(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT name, value FROM meta").fetchall())
    finally:
        conn.close()


def _rows(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT scope_norm, key_norm, kind, version, nonce, ct FROM secrets"
        ).fetchall()
    finally:
        conn.close()


def _dek(meta: dict[str, str], key: bytes) -> bytes:
    blob = base64.b64decode(meta["dek_wrapped"])
    return AESGCM(key).decrypt(
        blob[:12], blob[12:], crypto.dek_aad(meta["store_id"], meta["dek_id"])
    )


def test_old_master_key_and_old_copy_cannot_read_values_written_after_rotation(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path / "home", environ={})
    store.create_scope("prod")
    store.put_secret("prod", "a", OLD)
    stolen = tmp_path / "stolen"  # a backup of the whole directory, taken before the rotation
    shutil.copytree(store.home, stolen)
    stolen_key = keys.read_key_file(keys.key_file_path(store.home))  # and the old key file
    result = store.rotate_key()  # the default
    store.put_secret("prod", "a", NEW)
    store.put_secret("prod", "b", NEW)
    # The attacker has the old key file, the old database and (later) the current database.
    old_dek = _dek(_meta(stolen / "secrets.db"), stolen_key)
    store_id = _meta(store.path)["store_id"]
    for scope_norm, key_norm, kind, version, nonce, ct in _rows(store.path):
        aad = crypto.value_aad(store_id, scope_norm, key_norm, version, kind)
        with pytest.raises(InvalidTag):
            AESGCM(old_dek).decrypt(nonce, ct, aad)
    assert LocalStore(store.home, environ={}).get_secret("prod", "b") == NEW
    assert result.reencrypted == 1


def test_rewrap_only_keeps_the_old_data_key(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "home", environ={})
    store.create_scope("prod")
    store.put_secret("prod", "a", OLD)
    before = _meta(store.path)["dek_id"]
    assert store.rotate_key(reencrypt=False).reencrypted == 0
    assert _meta(store.path)["dek_id"] == before


POINTS = ["rotate:pending-written", "rotate:before-commit", "rotate:after-commit"]


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("target", ["file", "env"])
def test_rotation_killed_at_each_step_leaves_a_store_that_opens(
    tmp_path: Path, point: str, target: str
) -> None:
    home = tmp_path / "home"
    store = LocalStore(home, environ={})
    store.create_scope("prod")
    store.put_secret("prod", "a", OLD)
    store.put_secret("prod", "b", b"\x00bytes\xff")
    old_id = keys.key_id_of(keys.read_key_file(keys.key_file_path(home)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    env["REDACTOR_TEST_CRASH_AT"] = point
    args = ["secrets", "rotate-key", "--home", str(home)]
    r = run_redactor(
        *args,
        *(["--to", "env"] if target == "env" else []),
        input=(ENV_KEY + "\n").encode(),
        env=env,
    )
    assert r.returncode == 137, r.stderr
    committed = point == "rotate:after-commit"
    wrapping = _meta(home / "secrets.db")
    expected_kind = target if committed else "file"
    assert wrapping["kek_kind"] == expected_kind
    environ = {"REDACTOR_MASTER_KEY": ENV_KEY} if expected_kind == "env" else {}
    reopened = LocalStore(home, environ=environ)
    assert sorted(reopened.items("prod")) == [("a", OLD), ("b", b"\x00bytes\xff")]
    assert sorted(p.name for p in home.iterdir()) == HOME_FILES
    files = _key_files(home)
    if expected_kind == "env":
        assert files == ["store.counter"]  # the retired key is gone
    else:
        assert files == KEY_FILES  # no master.key.new left behind
        now_id = keys.key_id_of(keys.read_key_file(keys.key_file_path(home)))
        assert now_id == wrapping["kek_id"]
        assert (now_id == old_id) is not committed
    # and the store is fully usable: write, rotate again
    reopened.put_secret("prod", "c", NEW)
    reopened.rotate_key("file")
    assert LocalStore(home, environ={}).get_secret("prod", "c") == NEW
    assert sorted(p.name for p in home.iterdir()) == HOME_FILES
    assert _key_files(home) == KEY_FILES


VALUES = st.one_of(
    st.text(min_size=0, max_size=300).filter(
        lambda t: not any(0xD800 <= ord(c) < 0xE000 for c in t)
    ),
    st.binary(min_size=0, max_size=300),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(VALUES, min_size=1, max_size=6))
def test_every_value_round_trips_through_rotation(tmp_path: Path, values: list) -> None:
    home = tmp_path / os.urandom(6).hex()
    store = LocalStore(home, environ={})
    store.create_scope("prop")
    for i, v in enumerate(values):
        store.put_secret("prop", f"k{i}", v)
    store.rotate_key()
    expected = [(f"k{i}", v) for i, v in enumerate(values)]
    assert sorted(LocalStore(home, environ={}).items("prop")) == sorted(expected)
    assert LocalStore(home, environ={}).verify_audit_log().broken_at is None
