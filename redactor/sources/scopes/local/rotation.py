"""Master-key rotation for the local store: re-wrap the data key, optionally replace it.

Re-wrapping changes one ``meta`` blob in one transaction; with ``reencrypt`` the same
transaction also replaces the data key and re-encrypts every value. A new key file is written
beside the old one (``master.key.new``) and renamed into place only after the transaction
committed; :func:`.keys.resolve_master_key` finishes a rename that a crash interrupted.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redactor.sources.scopes.errors import InvalidValueError, MasterKeyError, SecretsError
from redactor.sources.scopes.local import crypto, db, keys

if TYPE_CHECKING:  # store.py calls rotate_key with itself
    from redactor.sources.scopes.local.store import LocalStore

__all__ = ["RotationResult", "new_master_key", "reencrypt_all", "rotate_key"]


@dataclass(frozen=True)
class RotationResult:
    old_kind: str
    old_key_id: str
    new_kind: str
    new_key_id: str
    reencrypted: int  # values re-encrypted under a new data key (0 without --reencrypt)


def new_master_key(
    store: LocalStore, target: str, new_key: bytes | None, passphrase: str | None
) -> keys.MasterKey:
    """The master key to rotate to; a new key file is written as ``master.key.new``."""
    if target == keys.KIND_FILE:
        pending = store.home / keys.PENDING_KEY_FILE_NAME
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pending)  # a stale one from a rotation that never committed
        key = keys.create_key_file(pending)
        return keys.MasterKey(keys.KIND_FILE, key, f"key file {pending}")
    if target == keys.KIND_ENV:
        if new_key is None or len(new_key) != keys.KEY_LEN:
            raise MasterKeyError("rotating to REDACTOR_MASTER_KEY needs a new 32-byte key")
        return keys.MasterKey(keys.KIND_ENV, new_key, "the new key")
    if target == keys.KIND_PASSPHRASE:
        if not passphrase:
            raise MasterKeyError("rotating to a passphrase needs a new, non-empty passphrase")
        kdf = keys.new_kdf_params()
        return keys.MasterKey(
            keys.KIND_PASSPHRASE,
            keys.derive_from_passphrase(passphrase, kdf),
            "the new passphrase",
            kdf,
        )
    raise InvalidValueError(f"unknown key source {target!r}: use file, env or passphrase")


def reencrypt_all(
    conn: sqlite3.Connection, meta: dict[str, str], dek: bytes
) -> tuple[int, bytes, str]:
    """Re-encrypt every value under a new data key: ``(count, new key, new key id)``."""
    store_id = meta["store_id"]
    old = crypto.DataKey(store_id, meta["dek_id"], AESGCM(dek), meta["kek_id"])
    new_id, new_dek = crypto.new_data_key()
    new = crypto.DataKey(store_id, new_id, AESGCM(new_dek), meta["kek_id"])
    rows = db.secret_rows(conn)
    updated = []
    for row in rows:
        _, value = crypto.decrypt_row(old, row.scope_norm, row)
        data = value.encode("utf-8") if isinstance(value, str) else value
        nonce, ct = crypto.encrypt_value(
            new, row.scope_norm, row.key_norm, row.version, row.kind, data
        )
        updated.append((row.scope_norm, row.key_norm, nonce, ct))
    db.replace_ciphertexts(conn, new_id, updated)
    return len(rows), new_dek, new_id


def rotate_key(
    store: LocalStore,
    to: str | None = None,
    *,
    new_key: bytes | None = None,
    passphrase: str | None = None,
    reencrypt: bool = False,
) -> RotationResult:
    """See :meth:`LocalStore.rotate_key`."""
    with store._connect(create=False) as conn:
        if conn is None:
            raise SecretsError(f"there is no secret store in {store.home} yet")
        with db.transaction(conn, write=False):
            meta = store._meta(conn)
            old = crypto.wrapping_of(meta)
            dek = store._unwrap(meta, store._resolve_master(old))
    target = to or old.kind
    master = new_master_key(store, target, new_key, passphrase)
    if master.key_id == old.key_id and not reencrypt:
        raise MasterKeyError("the new master key is the same as the current one")
    pending = store.home / keys.PENDING_KEY_FILE_NAME
    count = 0
    try:
        with store._connect(create=False) as conn:
            assert conn is not None
            with db.transaction(conn, write=True):
                now = store._meta(conn)
                if now["dek_id"] != meta["dek_id"] or now["kek_id"] != meta["kek_id"]:
                    raise SecretsError(
                        "the store's keys changed during the rotation (another rotate-key?); "
                        "nothing was changed, try again"
                    )
                dek_id = meta["dek_id"]
                if reencrypt:
                    count, dek, dek_id = reencrypt_all(conn, meta, dek)
                fields = {
                    "dek_id": dek_id,
                    **crypto.wrap_fields(master, meta["store_id"], dek_id, dek),
                }
                db.update_meta(conn, fields)
    except BaseException:
        if target == keys.KIND_FILE:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(pending)
        raise
    key_file = store.home / keys.KEY_FILE_NAME
    if target == keys.KIND_FILE:
        os.replace(pending, key_file)
    elif old.kind == keys.KIND_FILE:
        # The old key file protects nothing any more; leaving it would keep old backups of
        # this store readable.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(key_file)
    with contextlib.suppress(OSError):
        keys.fsync_dir(store.home)
    store.forget_key()
    return RotationResult(old.kind, old.key_id, master.kind, master.key_id, count)
