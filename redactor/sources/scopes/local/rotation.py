"""Master-key rotation for the local store: a new data key, every value re-encrypted.

By default one write transaction replaces the data key, re-encrypts every value under it, wraps
it under the new master key, re-encrypts the audit key and re-seals the store (:mod:`.integrity`),
so an old master key with an old copy of the database cannot read anything written afterwards.
``reencrypt=False`` (``--rewrap-only``) only re-wraps the old data key: cheap, but every old copy
of the database stays readable with the new key, and new values with the old key and an old copy.

Crash safety, step by step (each step has a ``crash_point`` the tests kill the process at):

1. ``rotate:pending-written``: a new key file is written beside the old one (``master.key.new``)
   *inside* the write transaction, so no other process can be between these two points; the
   database still uses the old key, and the next write or open removes the stale new file.
2. ``rotate:before-commit``: everything is changed but not committed; SQLite discards it.
3. ``rotate:after-commit``: the database uses the new key, the new key file is not yet in place:
   the next open moves it into place (the database says which key id it expects).
4. Moving away from a key file deletes it; the committed ``meta`` row ``retired_key_id`` names it,
   so a crash before the delete is finished on the next open, and no other key file is touched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redactor.sources.scopes.errors import InvalidValueError, MasterKeyError, SecretsError
from redactor.sources.scopes.local import audit, crypto, db, integrity, keys

if TYPE_CHECKING:  # store.py calls rotate_key with itself
    from redactor.sources.scopes.local.store import LocalStore

__all__ = [
    "RotationResult",
    "finish_interrupted",
    "new_master_key",
    "reencrypt_all",
    "remove_stale_pending",
    "rotate_key",
]

RETIRED_FIELD = "retired_key_id"


@dataclass(frozen=True)
class RotationResult:
    old_kind: str
    old_key_id: str
    new_kind: str
    new_key_id: str
    reencrypted: int  # values re-encrypted under a new data key (0 with rewrap-only)


def pending_path(home: Path) -> Path:
    return keys.key_file_path(home).with_name(keys.PENDING_KEY_FILE_NAME)


def new_master_key(
    store: LocalStore, target: str, new_key: bytes | None, passphrase: str | None
) -> keys.MasterKey:
    """The master key to rotate to; a new key file is written as ``master.key.new``."""
    if target == keys.KIND_FILE:
        pending = pending_path(store.home)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pending)  # a stale one from a rotation that never committed
        key = keys.create_key_file(pending)
        return keys.MasterKey(keys.KIND_FILE, key, f"key file {pending}")
    if target == keys.KIND_KEYRING:
        return keys.new_pending_key(store.home, target, store._environ)
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
    raise InvalidValueError(f"unknown key source {target!r}: use file, keyring, env or passphrase")


def reencrypt_all(conn: sqlite3.Connection, old: crypto.DataKey) -> tuple[int, crypto.DataKey]:
    """Re-encrypt every value under a new data key: ``(count, new data key)``."""
    new_id, new_dek = crypto.new_data_key()
    new = crypto.DataKey(old.store_id, new_id, AESGCM(new_dek), old.kek_id, new_dek)
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
    return len(rows), new


def _key_id_of_file(path: Path) -> str | None:
    try:
        return keys.key_id_of(keys.read_key_file(path))
    except (FileNotFoundError, MasterKeyError):
        return None


def finish_interrupted(home: Path, meta: dict[str, str]) -> bool:
    """Finish what a crashed rotation left, given the store's *verified* ``meta``: move a
    committed new key file into place, delete a retired old key file. True when a stale new key
    file (from a rotation that never committed) remains: :func:`remove_stale_pending`."""
    pending, key_file = pending_path(home), keys.key_file_path(home)
    kind, kid = meta.get("kek_kind"), meta.get("kek_id")
    changed = stale = False
    if pending.exists():
        if kind == keys.KIND_FILE and _key_id_of_file(pending) == kid:
            if _key_id_of_file(key_file) != kid:
                with contextlib.suppress(FileNotFoundError):  # another process finished it
                    os.replace(pending, key_file)
                changed = True
        else:
            stale = True
    retired = meta.get(RETIRED_FIELD)
    if kind != keys.KIND_FILE and retired and _key_id_of_file(key_file) == retired:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(key_file)
        changed = True
    if changed:
        with contextlib.suppress(OSError):
            keys.fsync_dir(key_file.parent)
    return stale


def remove_stale_pending(conn: sqlite3.Connection, home: Path) -> None:
    """Delete a new key file that no committed rotation uses. Under the write lock: a rotation
    writes its new key file only while holding it, so none is between writing and committing."""
    pending = pending_path(home)
    with db.transaction(conn, write=True):
        meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        if meta.get("kek_kind") == keys.KIND_FILE and _key_id_of_file(pending) == meta.get(
            "kek_id"
        ):
            return  # committed after all: finish_interrupted moves it into place
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pending)
    with contextlib.suppress(OSError):
        keys.fsync_dir(pending.parent)


def rotate_key(
    store: LocalStore,
    to: str | None = None,
    *,
    new_key: bytes | None = None,
    passphrase: str | None = None,
    reencrypt: bool = True,
) -> RotationResult:
    """See :meth:`LocalStore.rotate_key`."""
    pending = pending_path(store.home)
    key_file = keys.key_file_path(store.home)
    count = 0
    target = to
    try:
        with store._connect(create=False) as conn:
            if conn is None:
                raise SecretsError(f"there is no secret store in {store.home} yet")
            with store._checked(conn, write=True) as tx:
                old = crypto.wrapping_of(tx.meta)
                target = to or old.kind
                master = new_master_key(store, target, new_key, passphrase)
                integrity.crash_point("rotate:pending-written")
                if master.key_id == old.key_id and not reencrypt:
                    raise MasterKeyError("the new master key is the same as the current one")
                if reencrypt:
                    count, new_dk = reencrypt_all(conn, tx.dk)
                    audit.rewrap_key(conn, tx.meta, tx.dk, new_dk)
                    tx.dk = new_dk
                fields = {
                    "dek_id": tx.dk.dek_id,
                    **crypto.wrap_fields(master, tx.meta["store_id"], tx.dk.dek_id, tx.dk.raw),
                }
                if old.kind == keys.KIND_FILE and target != keys.KIND_FILE:
                    fields[RETIRED_FIELD] = old.key_id
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", fields.items()
                )
                tx.meta.update(fields)
                tx.events.append(("rotate-key", "", ""))
                integrity.crash_point("rotate:before-commit")
    except BaseException:
        if target == keys.KIND_FILE:
            # Not committed (or unknown): a new key file nothing uses. If the commit did happen
            # and only a later step failed, the next open would find no key: keep it then.
            with contextlib.suppress(OSError, SecretsError):
                wrapping = store.wrapping_info()
                if wrapping is not None and _key_id_of_file(pending) != wrapping.key_id:
                    os.unlink(pending)
        elif target == keys.KIND_KEYRING:
            with contextlib.suppress(OSError, SecretsError):
                wrapping = store.wrapping_info()
                if wrapping is None or wrapping.kind != keys.KIND_KEYRING:
                    keys.abandon_pending(store.home, target, store._environ)
        raise
    integrity.crash_point("rotate:after-commit")
    store.forget_key()
    finish_interrupted(store.home, tx.meta)
    if target == keys.KIND_KEYRING or old.kind == keys.KIND_KEYRING:
        # The keychain entries (the new one under its pending name, the retired one).
        keys.commit_pending(store.home, old.kind, target, store._environ)
    elif old.kind == keys.KIND_FILE:
        # A key file kept beside the database by an older redactor: it protects nothing now and
        # would keep old copies of the store readable.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(keys.legacy_key_file_path(store.home))
    with contextlib.suppress(OSError):
        keys.fsync_dir(key_file.parent)
    return RotationResult(old.kind, old.key_id, master.kind, master.key_id, count)
