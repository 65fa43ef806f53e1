"""The local secret store: one SQLite file of AES-256-GCM ciphertexts under an envelope key.

Layout (``REDACTOR_HOME``, mode 0700)::

    secrets.db     mode 0600; SQLite in WAL mode; application_id 'RDCT', user_version = format
    master.key     mode 0600; the master key, unless REDACTOR_MASTER_KEY or a passphrase is used

The store is also the catalogue of every scope, whatever its backend: a Key Vault-backed scope
is a row naming its vault, and its values never enter this file. The parts: the rows
(:mod:`.db`), value encryption and key wrapping (:mod:`.crypto`), the master key (:mod:`.keys`),
key rotation (:mod:`.rotation`).

Concurrency: every write is one ``BEGIN IMMEDIATE`` transaction with a busy timeout, WAL
journaling and ``synchronous=FULL``, so several processes can read and write at once, a committed
write is durable, and a crash mid-write loses nothing that was committed. A new store is built in
a temporary file and hard-linked into place, so ``secrets.db`` is always a complete store: an
empty or truncated file is reported as damaged rather than silently re-initialised.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import platformdirs
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redactor.sources.scopes.backend import (
    ScopeInfo,
    SecretInfo,
    backend_names,
    get_backend,
    validate_name,
)
from redactor.sources.scopes.errors import (
    InvalidValueError,
    LimitExceededError,
    ReadOnlyScopeError,
    ScopeExistsError,
    ScopeNotFoundError,
    SecretNotFoundError,
    SecretsError,
    StoreCorruptError,
)
from redactor.sources.scopes.local import crypto, db, keys, rotation
from redactor.sources.scopes.local.rotation import RotationResult

__all__ = [
    "BACKEND_LOCAL",
    "DB_NAME",
    "ENV_HOME",
    "FORMAT_VERSION",
    "MAX_SCOPES",
    "MAX_SECRETS_PER_SCOPE",
    "MAX_VALUE_BYTES",
    "LocalStore",
    "RotationResult",
    "default_home",
]

ENV_HOME = "REDACTOR_HOME"
DB_NAME = db.DB_NAME
FORMAT_VERSION = db.FORMAT_VERSION
# Databricks' limits, kept so that a scope moves between the two unchanged.
MAX_VALUE_BYTES = 128 * 1024
MAX_SECRETS_PER_SCOPE = 1000
MAX_SCOPES = 1000

# Databricks calls an encrypted-database scope "DATABRICKS"; we keep the name for CLI parity.
BACKEND_LOCAL = "DATABRICKS"


def default_home() -> Path:
    """``REDACTOR_HOME``, else the per-user data directory (e.g. ``~/.local/share/redactor``)."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("redactor", appauthor=False))


def now_ms() -> int:
    return int(time.time() * 1000)


def encode_value(scope: str, key: str, value: object) -> tuple[str, bytes]:
    """``(kind, data)``: the bytes to encrypt and whether they were text."""
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
        environ: Mapping[str, str] | None = None,
        prompt: Callable[[str], str] | None = None,
    ) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.path = self.home / DB_NAME
        self._environ = environ
        self._prompt = prompt
        self._dek: crypto.DataKey | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.home)!r})"

    # -- connections (also used by .rotation) ---------------------------------------------------

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
            conn = db.connect(self.path)
        except sqlite3.Error as exc:
            raise self._damaged(exc) from None
        try:
            try:
                db.check_header(conn, self.path)
                yield conn
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                    raise SecretsError(
                        f"the secret store {self.path} stayed locked by another process for "
                        f"{db.BUSY_TIMEOUT_S:.0f} s; try again"
                    ) from None
                raise self._damaged(exc) from None
        finally:
            conn.close()

    def _meta(self, conn: sqlite3.Connection) -> dict[str, str]:
        return db.read_meta(conn, self.path)

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
            store_id = os.urandom(16).hex()
            dek_id, dek = crypto.new_data_key()
            meta = {
                "format": str(FORMAT_VERSION),
                "store_id": store_id,
                "created_ms": str(now_ms()),
                "write_counter": "0",
                "dek_id": dek_id,
                **crypto.wrap_fields(master, store_id, dek_id, dek),
            }
            db.initialise(tmp, meta)
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
            self._dek = crypto.DataKey(store_id, dek_id, AESGCM(dek), master.key_id)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        with contextlib.suppress(OSError):
            keys.fsync_dir(self.home)

    # -- the data key -----------------------------------------------------------------------------

    def _resolve_master(self, wrapping: keys.WrappingInfo | None) -> keys.MasterKey:
        return keys.resolve_master_key(
            self.home, wrapping, environ=self._environ, prompt=self._prompt
        )

    def _unwrap(self, meta: dict[str, str], master: keys.MasterKey) -> bytes:
        return crypto.unwrap_data_key(meta, master, self.home, self.path)

    def _data_key(self, conn: sqlite3.Connection, meta: dict[str, str]) -> crypto.DataKey:
        with self._lock:
            cached = self._dek
            if (
                cached is not None
                and cached.store_id == meta["store_id"]
                and cached.dek_id == meta["dek_id"]
                and cached.kek_id == meta["kek_id"]
            ):
                return cached
            master = self._resolve_master(crypto.wrapping_of(meta))
            dek = self._unwrap(meta, master)
            self._dek = crypto.DataKey(
                meta["store_id"], meta["dek_id"], AESGCM(dek), meta["kek_id"]
            )
            return self._dek

    def forget_key(self) -> None:
        """Drop the unwrapped data key from memory."""
        with self._lock:
            self._dek = None

    # -- scopes -----------------------------------------------------------------------------------

    def create_scope(
        self, scope: str, backend: str = BACKEND_LOCAL, options: dict[str, Any] | None = None
    ) -> ScopeInfo:
        """Record a scope of ``backend`` with ``options`` as given (see
        :func:`redactor.sources.scopes.create_scope` for the checked form)."""
        validate_name(scope, "scope name")
        if backend not in backend_names():
            raise InvalidValueError(
                f"unknown scope backend type {backend!r}: use {' or '.join(backend_names())}"
            )
        info = ScopeInfo(scope, backend, dict(options or {}), now_ms())
        with self._connect(create=True) as conn:
            assert conn is not None
            with db.transaction(conn, write=True):
                self._meta(conn)
                if db.find_scope(conn, scope) is not None:
                    raise ScopeExistsError(scope)
                if db.count_scopes(conn) >= MAX_SCOPES:
                    raise LimitExceededError(
                        f"cannot create scope {scope!r}: the store already holds {MAX_SCOPES} "
                        "scopes, the limit"
                    )
                db.insert_scope(conn, info)
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
            with db.transaction(conn, write=write):
                meta = self._meta(conn)
                info = db.find_scope(conn, scope)
                if info is None:
                    raise ScopeNotFoundError(scope)
                yield conn, meta, info

    def delete_scope(self, scope: str) -> None:
        with self._scope_transaction(scope, write=True) as (conn, _, _):
            db.delete_scope(conn, scope)

    def list_scopes(self) -> list[ScopeInfo]:
        with self._connect(create=False) as conn:
            if conn is None:
                return []
            with db.transaction(conn, write=False):
                self._meta(conn)
                return db.all_scopes(conn)

    def get_scope(self, scope: str) -> ScopeInfo:
        with self._scope_transaction(scope, write=False) as (_, _, info):
            return info

    # -- secrets ----------------------------------------------------------------------------------

    @staticmethod
    def _require_local(info: ScopeInfo, verb: str) -> None:
        if info.backend != BACKEND_LOCAL:
            if info.backend in backend_names():
                raise get_backend(info.backend).read_only_error(info.name, verb)
            raise ReadOnlyScopeError(
                f"cannot {verb} in scope {info.name!r}: its values are not in this store"
            )

    @staticmethod
    def _require_local_read(info: ScopeInfo) -> None:
        if info.backend != BACKEND_LOCAL:
            title = info.backend
            if info.backend in backend_names():
                title = get_backend(info.backend).title
            raise SecretsError(
                f"scope {info.name!r} is backed by {title}: read it through "
                "redactor.sources.scopes (dbutils), not the local store"
            )

    def put_secret(self, scope: str, key: str, value: str | bytes) -> None:
        """Create or overwrite ``scope/key``; the value is encrypted before it leaves memory."""
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        kind, data = encode_value(scope, key, value)
        with self._scope_transaction(scope, write=True) as (conn, meta, info):
            self._require_local(info, "put a secret")
            dk = self._data_key(conn, meta)
            if not db.secret_exists(conn, scope, key):
                if db.count_secrets(conn, scope) >= MAX_SECRETS_PER_SCOPE:
                    raise LimitExceededError(
                        f"cannot add {key!r} to scope {info.name!r}: it already holds "
                        f"{MAX_SECRETS_PER_SCOPE} secrets, the limit"
                    )
            version = db.next_version(conn)
            s_norm, k_norm = scope.lower(), key.lower()
            nonce, ct = crypto.encrypt_value(dk, s_norm, k_norm, version, kind, data)
            row = db.SecretRow(s_norm, k_norm, key, kind, version, dk.dek_id, nonce, ct)
            db.write_secret(conn, row, now_ms())

    def get_secret(self, scope: str, key: str) -> str | bytes:
        """The value as stored: ``str`` for text, ``bytes`` for bytes."""
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        with self._scope_transaction(scope, write=False) as (conn, meta, info):
            self._require_local_read(info)
            row = db.secret_row(conn, scope, key)
            if row is None:
                raise SecretNotFoundError(info.name, key)
            dk = self._data_key(conn, meta)
        return crypto.decrypt_row(dk, info.name, row)[1]

    def items(self, scope: str) -> list[tuple[str, str | bytes]]:
        """Every ``(key, value)`` of a local scope, all decrypted before any is returned."""
        with self._scope_transaction(scope, write=False) as (conn, meta, info):
            self._require_local_read(info)
            rows = db.secret_rows(conn, scope)
            dk = self._data_key(conn, meta) if rows else None
        return [crypto.decrypt_row(dk, info.name, row) for row in rows] if dk else []

    def list_secrets(self, scope: str) -> list[SecretInfo]:
        with self._scope_transaction(scope, write=False) as (conn, _, info):
            self._require_local_read(info)
            rows = db.secret_keys(conn, scope)
        return [SecretInfo(k, t) for k, t in rows]

    def delete_secret(self, scope: str, key: str) -> None:
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        with self._scope_transaction(scope, write=True) as (conn, _, info):
            self._require_local(info, "delete a secret")
            if not db.delete_secret(conn, scope, key):
                raise SecretNotFoundError(info.name, key)

    # -- key rotation -----------------------------------------------------------------------------

    def wrapping_info(self) -> keys.WrappingInfo | None:
        """How the data key is wrapped (kind and key id), or None if there is no store yet."""
        with self._connect(create=False) as conn:
            if conn is None:
                return None
            with db.transaction(conn, write=False):
                return crypto.wrapping_of(self._meta(conn))

    def rotate_key(
        self,
        to: str | None = None,
        *,
        new_key: bytes | None = None,
        passphrase: str | None = None,
        reencrypt: bool = False,
    ) -> RotationResult:
        """Re-wrap the data key under a new master key; with ``reencrypt``, also replace the
        data key and re-encrypt every value, in one transaction (see :mod:`.rotation`).

        ``to`` is ``"file"`` (a new random key file, the default for key-file stores), ``"env"``
        (``new_key``, which the caller then puts in ``REDACTOR_MASTER_KEY``) or ``"passphrase"``.
        """
        return rotation.rotate_key(
            self, to, new_key=new_key, passphrase=passphrase, reencrypt=reencrypt
        )
