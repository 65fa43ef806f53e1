"""The local secret store: one SQLite file of AES-256-GCM ciphertexts under an envelope key.

Layout (``REDACTOR_HOME``, mode 0700)::

    secrets.db     mode 0600; SQLite in WAL mode; application_id 'RDCT', user_version = format
    master.key     mode 0600; the master key, unless REDACTOR_MASTER_KEY or a passphrase is used

Every value is encrypted with the store's random 256-bit data key under a fresh 96-bit nonce on
every write; the associated data binds the ciphertext to the store, scope, key, write version and
value type, so a ciphertext copied into another row, scope or store fails to decrypt. The data
key is stored wrapped (AES-256-GCM) by the master key, see :mod:`._keys`.

Concurrency: every write is one ``BEGIN IMMEDIATE`` transaction with a busy timeout, WAL
journaling and ``synchronous=FULL``, so several processes can read and write at once, a committed
write is durable, and a crash mid-write loses nothing that was committed. A new store is built in
a temporary file and hard-linked into place, so ``secrets.db`` is always a complete store: an
empty or truncated file is reported as damaged rather than silently re-initialised.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redactor.sources.scopes import keys as _keys
from redactor.sources.scopes.errors import (
    InvalidNameError,
    InvalidValueError,
    LimitExceededError,
    MasterKeyError,
    NewerFormatError,
    ReadOnlyScopeError,
    ScopeExistsError,
    ScopeNotFoundError,
    SecretNotFoundError,
    SecretsError,
    StoreCorruptError,
    TamperedError,
    WrongMasterKeyError,
)

__all__ = [
    "BACKEND_AZURE_KEYVAULT",
    "BACKEND_LOCAL",
    "DB_NAME",
    "FORMAT_VERSION",
    "MAX_SECRETS_PER_SCOPE",
    "MAX_VALUE_BYTES",
    "LocalStore",
    "RotationResult",
    "ScopeInfo",
    "SecretInfo",
    "default_home",
    "validate_name",
]

ENV_HOME = "REDACTOR_HOME"
DB_NAME = "secrets.db"
FORMAT_VERSION = 1
APPLICATION_ID = 0x52444354  # "RDCT"
NAME_RE = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
MAX_VALUE_BYTES = 128 * 1024
MAX_SECRETS_PER_SCOPE = 1000
MAX_SCOPES = 1000
BUSY_TIMEOUT_S = 30.0
NONCE_LEN = 12

# Databricks calls an encrypted-database scope "DATABRICKS"; we keep the name for CLI parity.
BACKEND_LOCAL = "DATABRICKS"
BACKEND_AZURE_KEYVAULT = "AZURE_KEYVAULT"
BACKENDS = (BACKEND_LOCAL, BACKEND_AZURE_KEYVAULT)

_SCHEMA = """
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE scopes (
    scope_norm TEXT PRIMARY KEY,          -- lower-cased: names are case-insensitive
    name       TEXT NOT NULL,             -- as created
    backend    TEXT NOT NULL,
    options    TEXT NOT NULL DEFAULT '{}',
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE secrets (
    scope_norm TEXT NOT NULL REFERENCES scopes(scope_norm) ON DELETE CASCADE,
    key_norm   TEXT NOT NULL,
    key        TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('str', 'bytes')),
    version    INTEGER NOT NULL,
    dek_id     TEXT NOT NULL,
    nonce      BLOB NOT NULL,
    ct         BLOB NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (scope_norm, key_norm)
);
"""

_META_REQUIRED = (
    "format",
    "store_id",
    "dek_id",
    "dek_wrapped",
    "kek_kind",
    "kek_id",
    "kdf",
    "write_counter",
)


def default_home() -> Path:
    """``REDACTOR_HOME``, else the per-user data directory (e.g. ``~/.local/share/redactor``)."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("redactor", appauthor=False))


def validate_name(name: object, what: str = "name") -> str:
    """A scope or key name: letters, digits, ``-``, ``_``, ``.`` and ``@``, 1 to 128 characters."""
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} must be a string, not {type(name).__name__}")
    if not NAME_RE.fullmatch(name):
        shown = name if len(name) <= 140 else name[:140] + "..."
        raise InvalidNameError(
            f"invalid {what} {shown!r}: use 1 to 128 letters, digits, '-', '_', '.' or '@'"
        )
    return name


def _now_ms() -> int:
    return int(time.time() * 1000)


def _encode_value(scope: str, key: str, value: object) -> tuple[str, bytes]:
    if isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidValueError(
                f"the value for {scope}/{key} is not valid Unicode text (it holds lone "
                "surrogates); store it as bytes"
            ) from None
        kind = "str"
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data, kind = bytes(value), "bytes"
    else:
        raise InvalidValueError(
            f"the value for {scope}/{key} must be str or bytes, not {type(value).__name__}"
        )
    if len(data) > MAX_VALUE_BYTES:
        raise InvalidValueError(
            f"the value for {scope}/{key} is {len(data)} bytes; the limit is "
            f"{MAX_VALUE_BYTES} bytes (128 KiB)"
        )
    return kind, data


def _value_aad(store_id: str, scope_norm: str, key_norm: str, version: int, kind: str) -> bytes:
    return json.dumps(
        ["redactor/secret/v1", store_id, scope_norm, key_norm, version, kind],
        separators=(",", ":"),
    ).encode("utf-8")


def _dek_aad(store_id: str, dek_id: str) -> bytes:
    return json.dumps(["redactor/data-key/v1", store_id, dek_id], separators=(",", ":")).encode()


@dataclass(frozen=True)
class ScopeInfo:
    name: str
    backend: str = BACKEND_LOCAL
    options: dict[str, Any] = field(default_factory=dict)
    created_ms: int = 0

    @property
    def read_only(self) -> bool:
        return self.backend != BACKEND_LOCAL


@dataclass(frozen=True)
class SecretInfo:
    key: str
    last_updated_timestamp: int  # milliseconds since the epoch, as in the Databricks API


@dataclass(frozen=True)
class RotationResult:
    old_kind: str
    old_key_id: str
    new_kind: str
    new_key_id: str
    reencrypted: int  # values re-encrypted under a new data key (0 without --reencrypt)


@dataclass
class _DataKey:
    store_id: str
    dek_id: str
    aead: AESGCM
    kek_id: str


class LocalStore:
    """The encrypted SQLite store in ``home`` (default :func:`default_home`).

    Cheap to create: nothing is opened until used. Each operation opens its own connection, so
    one instance is safe to share between threads and survives ``fork``. The data key is
    unwrapped once and kept in memory (never on disk) until the store's wrapping changes.
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        environ: Any = None,
        prompt: Any = None,
    ) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.path = self.home / DB_NAME
        self._environ = environ
        self._prompt = prompt
        self._dek: _DataKey | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.home)!r})"

    # -- connections ---------------------------------------------------------------------------

    def _raw_connect(self, path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _damaged(self, exc: BaseException) -> StoreCorruptError:
        return StoreCorruptError(
            f"{self.path} is damaged or is not a redactor secret store "
            f"(SQLite: {exc}); restore it from a backup"
        )

    @contextlib.contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection | None]:
        """A checked connection; None when the store does not exist and ``create`` is false."""
        if not self.path.exists():
            if not create:
                yield None
                return
            try:
                self._create()
            except OSError as exc:
                raise SecretsError(
                    f"cannot create the secret store in {self.home}: {exc.strerror or exc}"
                ) from None
        if not os.access(self.path, os.R_OK | os.W_OK):
            raise SecretsError(f"cannot read and write {self.path}: permission denied")
        try:
            conn = self._raw_connect(self.path)
        except sqlite3.Error as exc:
            raise self._damaged(exc) from None
        try:
            try:
                self._check_header(conn)
                yield conn
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                    raise SecretsError(
                        f"the secret store {self.path} stayed locked by another process for "
                        f"{BUSY_TIMEOUT_S:.0f} s; try again"
                    ) from None
                raise self._damaged(exc) from None
        finally:
            conn.close()

    def _check_header(self, conn: sqlite3.Connection) -> None:
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        (fmt,) = conn.execute("PRAGMA user_version").fetchone()
        if app_id != APPLICATION_ID:
            raise StoreCorruptError(
                f"{self.path} is not a redactor secret store (another SQLite database, or an "
                "empty or truncated file)"
            )
        if fmt > FORMAT_VERSION:
            raise NewerFormatError(
                f"{self.path} has store format {fmt}, written by a newer redactor; this one "
                f"reads format {FORMAT_VERSION}: upgrade redactor"
            )
        if fmt < 1:
            raise StoreCorruptError(f"{self.path} has no valid store format number")

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection, *, write: bool) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _meta(self, conn: sqlite3.Connection) -> dict[str, str]:
        meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        missing = [k for k in _META_REQUIRED if k not in meta]
        if missing:
            raise StoreCorruptError(f"{self.path} lacks store metadata ({', '.join(missing)})")
        try:
            fmt = int(meta["format"])
        except ValueError:
            raise StoreCorruptError(f"{self.path} has a malformed format number") from None
        if fmt > FORMAT_VERSION:
            raise NewerFormatError(
                f"{self.path} has store format {fmt}, written by a newer redactor: upgrade redactor"
            )
        return meta

    # -- creation --------------------------------------------------------------------------------

    def _ensure_home(self) -> None:
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise SecretsError(f"cannot create {self.home}: {exc.strerror}") from None

    def _create(self) -> None:
        """Build a complete store in a temporary file, then link it into place (no clobber)."""
        self._ensure_home()
        master = self._resolve_master(None)
        tmp = self.home / f".{DB_NAME}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        try:
            conn = self._raw_connect(tmp)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                store_id = os.urandom(16).hex()
                dek = AESGCM.generate_key(bit_length=256)
                dek_id = os.urandom(8).hex()
                meta = {
                    "format": str(FORMAT_VERSION),
                    "store_id": store_id,
                    "created_ms": str(_now_ms()),
                    "write_counter": "0",
                    "dek_id": dek_id,
                    **self._wrap_fields(master, store_id, dek_id, dek),
                }
                conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", meta.items())
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
                conn.execute("COMMIT")
            finally:
                conn.close()
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{tmp}{suffix}")
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                return  # another process created the store first: use theirs
            except OSError:
                if not self.path.exists():
                    os.replace(tmp, self.path)
            self._dek = _DataKey(store_id, dek_id, AESGCM(dek), master.key_id)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        with contextlib.suppress(OSError):
            _keys._fsync_dir(self.home)

    @staticmethod
    def _wrap_fields(master: _keys.MasterKey, store_id: str, dek_id: str, dek: bytes) -> dict:
        nonce = os.urandom(NONCE_LEN)
        wrapped = AESGCM(master.key).encrypt(nonce, dek, _dek_aad(store_id, dek_id))
        return {
            "dek_wrapped": base64.b64encode(nonce + wrapped).decode("ascii"),
            "kek_kind": master.kind,
            "kek_id": master.key_id,
            "kdf": _keys.kdf_to_json(master.kdf),
        }

    # -- the data key -----------------------------------------------------------------------------

    def _resolve_master(self, wrapping: _keys.WrappingInfo | None) -> _keys.MasterKey:
        return _keys.resolve_master_key(
            self.home, wrapping, environ=self._environ, prompt=self._prompt
        )

    @staticmethod
    def _wrapping(meta: dict[str, str]) -> _keys.WrappingInfo:
        try:
            kdf = json.loads(meta["kdf"]) if meta["kdf"] else None
        except ValueError:
            raise StoreCorruptError("the store's passphrase KDF parameters are malformed") from None
        return _keys.WrappingInfo(meta["kek_kind"], meta["kek_id"], kdf)

    def _unwrap(self, meta: dict[str, str], master: _keys.MasterKey) -> bytes:
        wrapping = self._wrapping(meta)
        if master.key_id != wrapping.key_id:
            raise WrongMasterKeyError(
                f"wrong master key for the store in {self.home}: its data key is wrapped by "
                f"the {_describe_kind(wrapping.kind)} (key id {wrapping.key_id}), but the key "
                f"from {master.source} has key id {master.key_id}"
            )
        try:
            blob = base64.b64decode(meta["dek_wrapped"], validate=True)
            return AESGCM(master.key).decrypt(
                blob[:NONCE_LEN], blob[NONCE_LEN:], _dek_aad(meta["store_id"], meta["dek_id"])
            )
        except (InvalidTag, ValueError):
            raise TamperedError(
                f"the wrapped data key in {self.path} failed authentication: the store was "
                "tampered with or damaged"
            ) from None

    def _data_key(self, conn: sqlite3.Connection, meta: dict[str, str]) -> _DataKey:
        with self._lock:
            cached = self._dek
            if (
                cached is not None
                and cached.store_id == meta["store_id"]
                and cached.dek_id == meta["dek_id"]
                and cached.kek_id == meta["kek_id"]
            ):
                return cached
            master = self._resolve_master(self._wrapping(meta))
            dek = self._unwrap(meta, master)
            self._dek = _DataKey(meta["store_id"], meta["dek_id"], AESGCM(dek), meta["kek_id"])
            return self._dek

    def forget_key(self) -> None:
        """Drop the unwrapped data key from memory."""
        with self._lock:
            self._dek = None

    # -- scopes -----------------------------------------------------------------------------------

    @staticmethod
    def _scope_row(row: tuple) -> ScopeInfo:
        name, backend, options, created = row
        try:
            opts = json.loads(options) if options else {}
        except ValueError:
            opts = {}
        return ScopeInfo(name, backend, opts, created)

    def _find_scope(self, conn: sqlite3.Connection, scope: str) -> ScopeInfo:
        row = conn.execute(
            "SELECT name, backend, options, created_ms FROM scopes WHERE scope_norm = ?",
            (scope.lower(),),
        ).fetchone()
        if row is None:
            raise ScopeNotFoundError(scope)
        return self._scope_row(row)

    def create_scope(
        self, scope: str, backend: str = BACKEND_LOCAL, options: dict[str, Any] | None = None
    ) -> ScopeInfo:
        validate_name(scope, "scope name")
        if backend not in BACKENDS:
            raise InvalidValueError(
                f"unknown scope backend type {backend!r}: use {' or '.join(BACKENDS)}"
            )
        info = ScopeInfo(scope, backend, dict(options or {}), _now_ms())
        with self._connect(create=True) as conn:
            assert conn is not None
            with self._transaction(conn, write=True):
                self._meta(conn)
                if conn.execute(
                    "SELECT 1 FROM scopes WHERE scope_norm = ?", (scope.lower(),)
                ).fetchone():
                    raise ScopeExistsError(scope)
                (count,) = conn.execute("SELECT count(*) FROM scopes").fetchone()
                if count >= MAX_SCOPES:
                    raise LimitExceededError(
                        f"cannot create scope {scope!r}: the store already holds {MAX_SCOPES} "
                        "scopes, the limit"
                    )
                conn.execute(
                    "INSERT INTO scopes (scope_norm, name, backend, options, created_ms) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        scope.lower(),
                        scope,
                        backend,
                        json.dumps(info.options, sort_keys=True),
                        info.created_ms,
                    ),
                )
        return info

    @contextlib.contextmanager
    def _scope_transaction(
        self, scope: str, *, write: bool
    ) -> Iterator[tuple[sqlite3.Connection, dict[str, str], ScopeInfo]]:
        """One transaction on an existing scope: the connection, the store's metadata (checked)
        and the scope. A store that does not exist yet has no scope either."""
        validate_name(scope, "scope name")
        with self._connect(create=False) as conn:
            if conn is None:
                raise ScopeNotFoundError(scope)
            with self._transaction(conn, write=write):
                meta = self._meta(conn)
                yield conn, meta, self._find_scope(conn, scope)

    def delete_scope(self, scope: str) -> None:
        with self._scope_transaction(scope, write=True) as (conn, _, _):
            conn.execute("DELETE FROM secrets WHERE scope_norm = ?", (scope.lower(),))
            conn.execute("DELETE FROM scopes WHERE scope_norm = ?", (scope.lower(),))

    def list_scopes(self) -> list[ScopeInfo]:
        with self._connect(create=False) as conn:
            if conn is None:
                return []
            with self._transaction(conn, write=False):
                self._meta(conn)
                rows = conn.execute(
                    "SELECT name, backend, options, created_ms FROM scopes ORDER BY scope_norm"
                ).fetchall()
        return [self._scope_row(r) for r in rows]

    def get_scope(self, scope: str) -> ScopeInfo:
        with self._scope_transaction(scope, write=False) as (_, _, info):
            return info

    # -- secrets ----------------------------------------------------------------------------------

    @staticmethod
    def _require_local(info: ScopeInfo, verb: str) -> None:
        if info.backend != BACKEND_LOCAL:
            raise ReadOnlyScopeError(
                f"cannot {verb} in scope {info.name!r}: it is backed by Azure Key Vault and "
                "read-only here; change its secrets in the vault"
            )

    def put_secret(self, scope: str, key: str, value: str | bytes) -> None:
        """Create or overwrite ``scope/key``; the value is encrypted before it leaves memory."""
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        kind, data = _encode_value(scope, key, value)
        with self._scope_transaction(scope, write=True) as (conn, meta, info):
            self._require_local(info, "put a secret")
            dk = self._data_key(conn, meta)
            s_norm, k_norm = scope.lower(), key.lower()
            exists = conn.execute(
                "SELECT 1 FROM secrets WHERE scope_norm = ? AND key_norm = ?",
                (s_norm, k_norm),
            ).fetchone()
            if not exists:
                (count,) = conn.execute(
                    "SELECT count(*) FROM secrets WHERE scope_norm = ?", (s_norm,)
                ).fetchone()
                if count >= MAX_SECRETS_PER_SCOPE:
                    raise LimitExceededError(
                        f"cannot add {key!r} to scope {info.name!r}: it already holds "
                        f"{MAX_SECRETS_PER_SCOPE} secrets, the limit"
                    )
            conn.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'write_counter'"
            )
            (version,) = conn.execute(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'write_counter'"
            ).fetchone()
            nonce = os.urandom(NONCE_LEN)
            ct = dk.aead.encrypt(
                nonce, data, _value_aad(dk.store_id, s_norm, k_norm, version, kind)
            )
            conn.execute(
                "INSERT OR REPLACE INTO secrets "
                "(scope_norm, key_norm, key, kind, version, dek_id, nonce, ct, updated_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (s_norm, k_norm, key, kind, version, dk.dek_id, nonce, ct, _now_ms()),
            )

    def _decrypt_row(self, dk: _DataKey, scope: str, row: tuple) -> tuple[str, str | bytes]:
        s_norm, k_norm, key, kind, version, dek_id, nonce, ct = row
        if dek_id != dk.dek_id or kind not in ("str", "bytes"):
            raise TamperedError(
                f"secret {key!r} in scope {scope!r} is damaged (encrypted under an unknown "
                "data key)"
            )
        try:
            data = dk.aead.decrypt(
                bytes(nonce), bytes(ct), _value_aad(dk.store_id, s_norm, k_norm, version, kind)
            )
        except (InvalidTag, ValueError, TypeError):
            raise TamperedError(
                f"secret {key!r} in scope {scope!r} failed authentication: its ciphertext was "
                "changed, or moved from another row or store"
            ) from None
        if kind == "bytes":
            return key, data
        try:
            return key, data.decode("utf-8")
        except UnicodeDecodeError:
            raise TamperedError(f"secret {key!r} in scope {scope!r} is damaged") from None

    _ROW = "scope_norm, key_norm, key, kind, version, dek_id, CAST(nonce AS BLOB), CAST(ct AS BLOB)"

    def get_secret(self, scope: str, key: str) -> str | bytes:
        """The value as stored: ``str`` for text, ``bytes`` for bytes."""
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        with self._scope_transaction(scope, write=False) as (conn, meta, info):
            self._require_local_read(info)
            row = conn.execute(
                f"SELECT {self._ROW} FROM secrets WHERE scope_norm = ? AND key_norm = ?",  # noqa: S608 (a constant)
                (scope.lower(), key.lower()),
            ).fetchone()
            if row is None:
                raise SecretNotFoundError(info.name, key)
            dk = self._data_key(conn, meta)
        return self._decrypt_row(dk, info.name, row)[1]

    @staticmethod
    def _require_local_read(info: ScopeInfo) -> None:
        if info.backend != BACKEND_LOCAL:
            raise SecretsError(
                f"scope {info.name!r} is backed by Azure Key Vault: read it through "
                "redactor.sources.scopes (dbutils), not the local store"
            )

    def items(self, scope: str) -> list[tuple[str, str | bytes]]:
        """Every ``(key, value)`` of a local scope, all decrypted before any is returned."""
        with self._scope_transaction(scope, write=False) as (conn, meta, info):
            self._require_local_read(info)
            rows = conn.execute(
                f"SELECT {self._ROW} FROM secrets WHERE scope_norm = ? ORDER BY key_norm",  # noqa: S608 (a constant)
                (scope.lower(),),
            ).fetchall()
            dk = self._data_key(conn, meta) if rows else None
        return [self._decrypt_row(dk, info.name, row) for row in rows] if dk else []

    def list_secrets(self, scope: str) -> list[SecretInfo]:
        with self._scope_transaction(scope, write=False) as (conn, _, info):
            self._require_local_read(info)
            rows = conn.execute(
                "SELECT key, updated_ms FROM secrets WHERE scope_norm = ? ORDER BY key_norm",
                (scope.lower(),),
            ).fetchall()
        return [SecretInfo(k, t) for k, t in rows]

    def delete_secret(self, scope: str, key: str) -> None:
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        with self._scope_transaction(scope, write=True) as (conn, _, info):
            self._require_local(info, "delete a secret")
            cur = conn.execute(
                "DELETE FROM secrets WHERE scope_norm = ? AND key_norm = ?",
                (scope.lower(), key.lower()),
            )
            if cur.rowcount == 0:
                raise SecretNotFoundError(info.name, key)

    # -- key rotation -----------------------------------------------------------------------------

    def wrapping_info(self) -> _keys.WrappingInfo | None:
        """How the data key is wrapped (kind and key id), or None if there is no store yet."""
        with self._connect(create=False) as conn:
            if conn is None:
                return None
            with self._transaction(conn, write=False):
                return self._wrapping(self._meta(conn))

    def rotate_key(
        self,
        to: str | None = None,
        *,
        new_key: bytes | None = None,
        passphrase: str | None = None,
        reencrypt: bool = False,
    ) -> RotationResult:
        """Re-wrap the data key under a new master key; with ``reencrypt``, also replace the
        data key and re-encrypt every value, in one transaction.

        ``to`` is ``"file"`` (a new random key file, the default for key-file stores), ``"env"``
        (``new_key``, which the caller then puts in ``REDACTOR_MASTER_KEY``) or ``"passphrase"``.
        """
        with self._connect(create=False) as conn:
            if conn is None:
                raise SecretsError(f"there is no secret store in {self.home} yet")
            with self._transaction(conn, write=False):
                meta = self._meta(conn)
                old = self._wrapping(meta)
                dek = self._unwrap(meta, self._resolve_master(old))
        target = to or old.kind
        pending = self.home / _keys.PENDING_KEY_FILE_NAME
        if target == _keys.KIND_FILE:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(pending)  # a stale one from a rotation that never committed
            key = _keys.create_key_file(pending)
            master = _keys.MasterKey(_keys.KIND_FILE, key, f"key file {pending}")
        elif target == _keys.KIND_ENV:
            if new_key is None or len(new_key) != _keys.KEY_LEN:
                raise MasterKeyError("rotating to REDACTOR_MASTER_KEY needs a new 32-byte key")
            master = _keys.MasterKey(_keys.KIND_ENV, new_key, "the new key")
        elif target == _keys.KIND_PASSPHRASE:
            if not passphrase:
                raise MasterKeyError("rotating to a passphrase needs a new, non-empty passphrase")
            kdf = _keys.new_kdf_params()
            master = _keys.MasterKey(
                _keys.KIND_PASSPHRASE,
                _keys.derive_from_passphrase(passphrase, kdf),
                "the new passphrase",
                kdf,
            )
        else:
            raise InvalidValueError(f"unknown key source {target!r}: use file, env or passphrase")
        if master.key_id == old.key_id and not reencrypt:
            raise MasterKeyError("the new master key is the same as the current one")
        count = 0
        try:
            with self._connect(create=False) as conn:
                assert conn is not None
                with self._transaction(conn, write=True):
                    now = self._meta(conn)
                    if now["dek_id"] != meta["dek_id"] or now["kek_id"] != meta["kek_id"]:
                        raise SecretsError(
                            "the store's keys changed during the rotation (another rotate-key?); "
                            "nothing was changed, try again"
                        )
                    dek_id = meta["dek_id"]
                    if reencrypt:
                        count, dek, dek_id = self._reencrypt_all(conn, meta, dek)
                    fields = {
                        "dek_id": dek_id,
                        **self._wrap_fields(master, meta["store_id"], dek_id, dek),
                    }
                    conn.executemany(
                        "UPDATE meta SET value = ? WHERE name = ?",
                        [(v, k) for k, v in fields.items()],
                    )
        except BaseException:
            if target == _keys.KIND_FILE:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(pending)
            raise
        key_file = self.home / _keys.KEY_FILE_NAME
        if target == _keys.KIND_FILE:
            os.replace(pending, key_file)
        elif old.kind == _keys.KIND_FILE:
            # The old key file protects nothing any more; leaving it would keep old backups of
            # this store readable.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(key_file)
        with contextlib.suppress(OSError):
            _keys._fsync_dir(self.home)
        with self._lock:
            self._dek = None
        return RotationResult(old.kind, old.key_id, master.kind, master.key_id, count)

    def _reencrypt_all(
        self, conn: sqlite3.Connection, meta: dict[str, str], dek: bytes
    ) -> tuple[int, bytes, str]:
        store_id = meta["store_id"]
        old = _DataKey(store_id, meta["dek_id"], AESGCM(dek), meta["kek_id"])
        new_dek = AESGCM.generate_key(bit_length=256)
        new = AESGCM(new_dek)
        new_id = os.urandom(8).hex()
        rows = conn.execute(
            "SELECT scope_norm, key_norm, key, kind, version, dek_id, CAST(nonce AS BLOB), CAST(ct AS BLOB) FROM secrets"
        ).fetchall()
        for row in rows:
            s_norm, k_norm, _key, kind, version = row[:5]
            _, value = self._decrypt_row(old, s_norm, row)
            data = value.encode("utf-8") if isinstance(value, str) else value
            nonce = os.urandom(NONCE_LEN)
            ct = new.encrypt(nonce, data, _value_aad(store_id, s_norm, k_norm, version, kind))
            conn.execute(
                "UPDATE secrets SET dek_id = ?, nonce = ?, ct = ? "
                "WHERE scope_norm = ? AND key_norm = ?",
                (new_id, nonce, ct, s_norm, k_norm),
            )
        return len(rows), new_dek, new_id


def _describe_kind(kind: str) -> str:
    return {
        _keys.KIND_FILE: "key file",
        _keys.KIND_ENV: _keys.ENV_MASTER_KEY,
        _keys.KIND_PASSPHRASE: "passphrase",
    }.get(kind, f"{kind!r} key")
