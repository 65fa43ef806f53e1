"""Key wrapping and value encryption for the local store (envelope encryption).

Every value is encrypted with the store's random 256-bit data key (DEK) under a fresh 96-bit
nonce on every write; the associated data binds the ciphertext to the store, scope, key, write
version and value type, so a ciphertext copied into another row, scope or store fails to decrypt.
The data key is stored wrapped (AES-256-GCM, bound to the store and its id) by the master key
(the KEK, :mod:`.keys`), so changing the master key re-wraps one small blob.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from redactor.sources.scopes.errors import StoreCorruptError, TamperedError, WrongMasterKeyError
from redactor.sources.scopes.local import keys
from redactor.sources.scopes.local.db import SecretRow
from redactor.sources.scopes.local.kdf import check_kdf_params
from redactor.sources.scopes.local.plain import Plain

__all__ = [
    "NONCE_LEN",
    "DataKey",
    "decrypt_row",
    "describe_kind",
    "encrypt_value",
    "new_data_key",
    "unwrap_data_key",
    "wrap_fields",
    "wrapping_of",
]

NONCE_LEN = 12


@dataclass
class DataKey:
    """The unwrapped data key, kept in memory only, with the ids it was read under."""

    store_id: str
    dek_id: str
    aead: AESGCM
    kek_id: str
    raw: bytes = field(default=b"", repr=False)  # for subkeys (integrity MAC, audit key)

    def subkey(self, label: str) -> bytes:
        """A key derived from the data key for ``label`` (HKDF-SHA256, bound to the store): one
        key, one purpose, so the MAC key never doubles as an encryption key."""
        return derive_subkey(self.raw, self.store_id, label)


def derive_subkey(dek: bytes, store_id: str, label: str) -> bytes:
    info = json.dumps(["redactor/subkey/v1", store_id, label], separators=(",", ":")).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(dek)


def value_aad(store_id: str, scope_norm: str, key_norm: str, version: int, kind: str) -> bytes:
    return json.dumps(
        ["redactor/secret/v1", store_id, scope_norm, key_norm, version, kind],
        separators=(",", ":"),
    ).encode("utf-8")


def dek_aad(store_id: str, dek_id: str) -> bytes:
    return json.dumps(["redactor/data-key/v1", store_id, dek_id], separators=(",", ":")).encode()


def new_data_key() -> tuple[str, bytes]:
    """A fresh data key and its id."""
    return os.urandom(8).hex(), AESGCM.generate_key(bit_length=256)


def wrap_fields(master: keys.MasterKey, store_id: str, dek_id: str, dek: bytes) -> dict[str, str]:
    """The ``meta`` fields that record ``dek`` wrapped by ``master``."""
    nonce = os.urandom(NONCE_LEN)
    wrapped = AESGCM(master.key).encrypt(nonce, dek, dek_aad(store_id, dek_id))
    return {
        "dek_wrapped": base64.b64encode(nonce + wrapped).decode("ascii"),
        "kek_kind": master.kind,
        "kek_id": master.key_id,
        "kdf": keys.kdf_to_json(master.kdf),
    }


def wrapping_of(meta: dict[str, str]) -> keys.WrappingInfo:
    """What ``meta`` says about the key that wrapped the data key."""
    try:
        kdf = json.loads(meta["kdf"]) if meta["kdf"] else None
    except ValueError:
        raise StoreCorruptError("the store's passphrase KDF parameters are malformed") from None
    if meta["kek_kind"] == keys.KIND_PASSPHRASE:
        # Checked before a passphrase is asked for or derived (see .kdf).
        check_kdf_params(kdf)
    return keys.WrappingInfo(meta["kek_kind"], meta["kek_id"], kdf)


def describe_kind(kind: str) -> str:
    return {
        keys.KIND_FILE: "key file",
        keys.KIND_ENV: keys.ENV_MASTER_KEY,
        keys.KIND_PASSPHRASE: "passphrase",
        keys.KIND_KEYRING: "OS keychain",
    }.get(kind, f"{kind!r} key")


def unwrap_data_key(meta: dict[str, str], master: keys.MasterKey, home: Path, path: Path) -> bytes:
    """The data key of the store in ``home`` (file ``path``), unwrapped with ``master``."""
    wrapping = wrapping_of(meta)
    if master.key_id != wrapping.key_id and master.kind == keys.KIND_PASSPHRASE:
        # No key id here: the id of the key derived from a wrong passphrase would let whoever
        # reads this message test guesses of that passphrase (a typo of the right one) offline.
        raise WrongMasterKeyError(
            f"wrong passphrase for the store in {home} (from {master.source})"
            if wrapping.kind == keys.KIND_PASSPHRASE
            else f"wrong master key for the store in {home}: its data key is wrapped by the "
            f"{describe_kind(wrapping.kind)} (key id {wrapping.key_id}), not a passphrase "
            f"(from {master.source})"
        )
    if master.key_id != wrapping.key_id:
        raise WrongMasterKeyError(
            f"wrong master key for the store in {home}: its data key is wrapped by "
            f"the {describe_kind(wrapping.kind)} (key id {wrapping.key_id}), but the key "
            f"from {master.source} has key id {master.key_id}"
        )
    try:
        blob = base64.b64decode(meta["dek_wrapped"], validate=True)
        return AESGCM(master.key).decrypt(
            blob[:NONCE_LEN], blob[NONCE_LEN:], dek_aad(meta["store_id"], meta["dek_id"])
        )
    except (InvalidTag, ValueError):
        raise TamperedError(
            f"the wrapped data key in {path} failed authentication: the store was "
            "tampered with or damaged"
        ) from None


def encrypt_value(
    dk: DataKey, scope_norm: str, key_norm: str, version: int, kind: str, data: bytes | Plain
) -> tuple[bytes, bytes]:
    """``(nonce, ciphertext)`` of ``data`` (bytes, or a :class:`Plain` holding them) under a
    fresh nonce."""
    nonce = os.urandom(NONCE_LEN)
    aad = value_aad(dk.store_id, scope_norm, key_norm, version, kind)
    ct = dk.aead.encrypt(nonce, data.value if isinstance(data, Plain) else data, aad)  # type: ignore[arg-type]
    return nonce, ct


def decrypt_row(dk: DataKey, scope: str, row: SecretRow) -> tuple[str, str | bytes]:
    """``(key, value)`` of ``row``; :class:`TamperedError` unless it authenticates."""
    if row.dek_id != dk.dek_id or row.kind not in ("str", "bytes"):
        raise TamperedError(
            f"secret {row.key!r} in scope {scope!r} is damaged (encrypted under an unknown "
            "data key)"
        )
    try:
        data = dk.aead.decrypt(
            bytes(row.nonce),
            bytes(row.ct),
            value_aad(dk.store_id, row.scope_norm, row.key_norm, row.version, row.kind),
        )
    except (InvalidTag, ValueError, TypeError):
        raise TamperedError(
            f"secret {row.key!r} in scope {scope!r} failed authentication: its ciphertext was "
            "changed, or moved from another row or store"
        ) from None
    if row.kind == "bytes":
        return row.key, data
    text = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass  # raised below, outside this block: the error's `object` is the plaintext
    del data
    if text is None:
        raise TamperedError(f"secret {row.key!r} in scope {scope!r} is damaged")
    return row.key, text
