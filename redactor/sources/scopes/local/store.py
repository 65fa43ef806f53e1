"""The local secret store: one SQLite file of AES-256-GCM ciphertexts under an envelope key.

Layout (``REDACTOR_HOME``, mode 0700)::

    secrets.db     mode 0600; SQLite in WAL mode; application_id 'RDCT', user_version = format
    secrets.audit.jsonl  mode 0600; the audit log (:mod:`.audit`)

The master key is elsewhere (:mod:`.keys`: the environment, a passphrase, the OS keychain or a
key file in the user's config directory, beside the store's write counter ``store.counter``,
:mod:`.integrity`), so a copy of the directory does not carry it. Owners
and modes are checked on every open (:mod:`.perms`), and a missing ``secrets.db`` whose key
still exists is an error, not a new store.

The store is also the catalogue of every scope, whatever its backend: a Key Vault-backed scope
is a row naming its vault, and its values never enter this file. The parts: the rows
(:mod:`.db`), value encryption and key wrapping (:mod:`.crypto`), the master key (:mod:`.keys`),
key rotation (:mod:`.rotation`), the store-wide integrity check (:mod:`.integrity`) and the
audit log (:mod:`.audit`).

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
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redactor.engine.redactor import RedactorWarning
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
    StoreMissingError,
)
from redactor.sources.scopes.local import audit, crypto, db, integrity, keys, perms, rotation
from redactor.sources.scopes.local.plain import Plain
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


def encode_value(scope: str, key: str, plain: Plain) -> str:
    """Replace ``plain``'s value by the bytes to encrypt; returns whether they were text.

    Every error is raised outside an ``except`` block and with no local holding the value: a
    ``UnicodeEncodeError`` as ``__context__`` would carry the whole string (its ``object``).
    """
    value = plain.value
    kind = "str" if isinstance(value, str) else "bytes"
    problem = ""
    if isinstance(value, str):
        try:
            plain.value = value.encode("utf-8")
        except UnicodeEncodeError:
            problem = "is not valid Unicode text (it holds lone surrogates); store it as bytes"
    elif isinstance(value, (bytes, bytearray, memoryview)):
        plain.value = bytes(value)
    else:
        problem = f"must be str or bytes, not {type(value).__name__}"
    del value
    if problem:
        raise InvalidValueError(f"the value for {scope}/{key} {problem}")
    size = len(plain.value)  # type: ignore[arg-type]
    if size > MAX_VALUE_BYTES:
        raise InvalidValueError(
            f"the value for {scope}/{key} is {size} bytes; the limit is "
            f"{MAX_VALUE_BYTES} bytes (128 KiB)"
        )
    return kind


@dataclass
class Tx:
    """One checked transaction: its connection, the store's metadata, the data key (replaced by a
    rotation before the seal) and the audit events to log once it has committed."""

    conn: sqlite3.Connection
    meta: dict[str, str]
    dk: crypto.DataKey
    events: list[tuple[str, str, str]] = field(default_factory=list)


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
        perms.enforce(perms.store_problems(self.home, DB_NAME), self._environ)
        if not os.path.lexists(self.path) and not self._create_if_absent(create):
            yield None
            return
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

    def _create_if_absent(self, create: bool) -> bool:
        """Whether the store exists now, after creating it if ``create``. A missing database
        whose key material still exists is an error, never a fresh store: an empty store in its
        place would hide the loss, and an old copy put back later would be taken as current."""
        with keys.creation_lock(self.home):
            if os.path.lexists(self.path):
                return True  # another process created it while we waited
            found = keys.key_material(self.home, self._environ)
            if found:
                what = ", ".join(name for name, _ in found)
                raise StoreMissingError(
                    f"{self.path} is missing, but what opens it exists ({what}): the store was "
                    "moved or deleted; restore secrets.db from the latest backup, or, to start "
                    "over with an empty store, remove them with: "
                    + "; ".join(cmd for _, cmd in found)
                )
            if not create:
                return False
            try:
                self._create()
            except OSError as exc:
                raise SecretsError(
                    f"cannot create the secret store in {self.home}: {exc.strerror or exc}"
                ) from None
            return True

    def _ensure_home(self) -> None:
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise SecretsError(f"cannot create {self.home}: {exc.strerror}") from None

    def _create(self) -> None:
        """Build a complete store in a temporary file, then link it into place (no clobber)."""
        self._ensure_home()
        integrity.refuse_recreate(self.home, self.path)
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
            dk = crypto.DataKey(store_id, dek_id, AESGCM(dek), master.key_id, dek)
            self._seal_new(tmp, dk)
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{tmp}{suffix}")

            def link() -> bool:
                try:
                    os.link(tmp, self.path)
                except FileExistsError:
                    return False  # another process created the store first: use theirs
                except OSError:
                    if self.path.exists():
                        return False
                    os.replace(tmp, self.path)
                return True

            if not integrity.publish_new_store(self.home, self.path, store_id, link):
                return
            self._dek = dk
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        with contextlib.suppress(OSError):
            keys.fsync_dir(self.home)

    @staticmethod
    def _seal_new(path: Path, dk: crypto.DataKey) -> None:
        conn = db.connect(path)
        try:
            with db.transaction(conn, write=True):
                audit.ensure_key(conn, {}, dk)
                integrity.seal(conn, dk, 0)
        finally:
            conn.close()

    # -- the integrity check and the audit log (see .integrity and .audit) ------------------------

    @contextlib.contextmanager
    def _checked(self, conn: sqlite3.Connection, *, write: bool) -> Iterator[Tx]:
        """A transaction on a store whose integrity was checked; a write one is re-sealed with
        the counter advanced before it commits, and the counter file is advanced after."""
        if not integrity.has_record(conn):
            self._upgrade(conn)
        counter_file = integrity.read_counter(self.home)  # before the snapshot: see .integrity
        with db.transaction(conn, write=write):
            meta = self._meta(conn)
            dk = self._data_key(conn, meta)
            state = integrity.verify(conn, dk, meta["store_id"], self.path, counter_file)
            stale_key_file = rotation.finish_interrupted(self.home, meta)
            tx = Tx(conn, meta, dk)
            yield tx
            if write:
                audit.ensure_key(conn, tx.meta, tx.dk)
                integrity.seal(conn, tx.dk, state.counter + 1)
        integrity.crash_point("commit:before-counter")
        if write or state.file_behind:
            self._advance_counter(meta["store_id"], state.counter + int(write))
        if tx.events:
            self._log_events(tx.meta, tx.dk, tx.events)
        if stale_key_file:
            rotation.remove_stale_pending(conn, self.home)

    def _advance_counter(self, store_id: str, value: int) -> None:
        try:
            integrity.write_counter(self.home, store_id, value)
        except OSError as exc:
            # The commit stands; the next open finds the database ahead of the file and
            # brings the file up to date.
            warnings.warn(
                f"could not update the store's counter file {integrity.counter_path(self.home)}: "
                f"{exc.strerror or exc}",
                RedactorWarning,
                stacklevel=4,
            )

    def _log_events(
        self, meta: dict[str, str], dk: crypto.DataKey, events: list[tuple[str, str, str]]
    ) -> None:
        path = self.audit_path
        try:
            key = audit.audit_key(meta, dk)
            if key is None:
                raise OSError("the store has no audit key")
            audit.append(path, key, events)
        except (OSError, SecretsError) as exc:
            # Decided: the operation already happened (a write committed); failing it now would
            # only hide that. A warning says the log missed it.
            warnings.warn(
                f"could not write the audit log {path} ({getattr(exc, 'strerror', None) or exc}): "
                f"{', '.join(op for op, _, _ in events)} not logged",
                RedactorWarning,
                stacklevel=4,
            )

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        integrity.upgrade(self, conn)

    def repair(self) -> str:
        """Re-seal the store as it is now, after a failed integrity check the user accepted;
        returns what the check said (or "" if it passed). See :func:`.integrity.repair`."""
        return integrity.repair(self)

    @property
    def audit_path(self) -> Path:
        return self.home / audit.AUDIT_FILE_NAME

    def audit_entries(self) -> list[dict[str, Any]]:
        """The audit log's lines, oldest first (no key needed: they hold no values)."""
        return audit.read_entries(self.audit_path)

    def verify_audit_log(self) -> audit.ChainResult:
        """Check the audit log's HMAC chain under the store's audit key."""
        with self._connect(create=False) as conn:
            if conn is None:
                raise SecretsError(f"there is no secret store in {self.home}")
            with self._checked(conn, write=False) as tx:
                key = audit.audit_key(tx.meta, tx.dk)
        if key is None:
            raise SecretsError(f"the store in {self.home} has no audit key yet")
        return audit.verify_chain(self.audit_path, key)

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
                meta["store_id"], meta["dek_id"], AESGCM(dek), meta["kek_id"], dek
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
            with self._checked(conn, write=True) as tx:
                if db.find_scope(conn, scope) is not None:
                    raise ScopeExistsError(scope)
                if db.count_scopes(conn) >= MAX_SCOPES:
                    raise LimitExceededError(
                        f"cannot create scope {scope!r}: the store already holds {MAX_SCOPES} "
                        "scopes, the limit"
                    )
                db.insert_scope(conn, info)
                tx.events.append(("create-scope", info.name, ""))
        return info

    @contextlib.contextmanager
    def _scope_transaction(self, scope: str, *, write: bool) -> Iterator[tuple[Tx, ScopeInfo]]:
        """One checked transaction on an existing scope, and the scope. A store that does not
        exist yet has no scope either."""
        validate_name(scope, "scope name")
        with self._connect(create=False) as conn:
            if conn is None:
                raise ScopeNotFoundError(scope)
            with self._checked(conn, write=write) as tx:
                info = db.find_scope(conn, scope)
                if info is None:
                    raise ScopeNotFoundError(scope)
                yield tx, info

    def delete_scope(self, scope: str) -> None:
        with self._scope_transaction(scope, write=True) as (tx, info):
            db.delete_scope(tx.conn, scope)
            tx.events.append(("delete-scope", info.name, ""))

    def list_scopes(self) -> list[ScopeInfo]:
        with self._connect(create=False) as conn:
            if conn is None:
                return []
            with self._checked(conn, write=False):
                return db.all_scopes(conn)

    def get_scope(self, scope: str) -> ScopeInfo:
        with self._scope_transaction(scope, write=False) as (_, info):
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
        """Create or overwrite ``scope/key``; the value is encrypted before it leaves memory.

        The value is moved into a :class:`Plain` at once and cleared when the call ends, so no
        frame of the store shows it in a traceback with locals (see :mod:`.plain`)."""
        plain = Plain(value)
        del value
        try:
            self._put_plain(scope, key, plain)
        finally:
            plain.clear()

    def _put_plain(self, scope: str, key: str, plain: Plain) -> None:
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        kind = encode_value(scope, key, plain)
        with self._scope_transaction(scope, write=True) as (tx, info):
            conn, dk = tx.conn, tx.dk
            self._require_local(info, "put a secret")
            if not db.secret_exists(conn, scope, key):
                if db.count_secrets(conn, scope) >= MAX_SECRETS_PER_SCOPE:
                    raise LimitExceededError(
                        f"cannot add {key!r} to scope {info.name!r}: it already holds "
                        f"{MAX_SECRETS_PER_SCOPE} secrets, the limit"
                    )
            version = db.next_version(conn)
            s_norm, k_norm = scope.lower(), key.lower()
            nonce, ct = crypto.encrypt_value(dk, s_norm, k_norm, version, kind, plain)
            row = db.SecretRow(s_norm, k_norm, key, kind, version, dk.dek_id, nonce, ct)
            db.write_secret(conn, row, now_ms())
            tx.events.append(("write", info.name, key))

    def get_secret(self, scope: str, key: str) -> str | bytes:
        """The value as stored: ``str`` for text, ``bytes`` for bytes."""
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        with self._scope_transaction(scope, write=False) as (tx, info):
            self._require_local_read(info)
            row = db.secret_row(tx.conn, scope, key)
            if row is None:
                raise SecretNotFoundError(info.name, key)
            dk = tx.dk
            tx.events.append(("read", info.name, key))
        return crypto.decrypt_row(dk, info.name, row)[1]

    def items(self, scope: str) -> list[tuple[str, str | bytes]]:
        """Every ``(key, value)`` of a local scope, all decrypted before any is returned."""
        with self._scope_transaction(scope, write=False) as (tx, info):
            self._require_local_read(info)
            rows = db.secret_rows(tx.conn, scope)
            dk = tx.dk
            tx.events.append(("read", info.name, "*"))
        out: list[tuple[str, str | bytes]] = []
        try:
            for row in rows:
                out.append(crypto.decrypt_row(dk, info.name, row))
        except BaseException:
            out.clear()  # the values decrypted so far: not in a traceback's locals
            raise
        return out

    def list_secrets(self, scope: str) -> list[SecretInfo]:
        with self._scope_transaction(scope, write=False) as (tx, info):
            self._require_local_read(info)
            rows = db.secret_keys(tx.conn, scope)
        return [SecretInfo(k, t) for k, t in rows]

    def delete_secret(self, scope: str, key: str) -> None:
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        with self._scope_transaction(scope, write=True) as (tx, info):
            self._require_local(info, "delete a secret")
            if not db.delete_secret(tx.conn, scope, key):
                raise SecretNotFoundError(info.name, key)
            tx.events.append(("delete", info.name, key))

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
        reencrypt: bool = True,
    ) -> RotationResult:
        """Replace the data key, re-encrypt every value and wrap the new data key under a new
        master key, in one transaction (see :mod:`.rotation`); ``reencrypt=False`` only re-wraps
        the old data key (old copies of the database stay readable with the old master key).

        ``to`` is ``"file"`` (a new random key file, the default for key-file stores), ``"env"``
        (``new_key``, which the caller then puts in ``REDACTOR_MASTER_KEY``) or ``"passphrase"``.
        """
        return rotation.rotate_key(
            self, to, new_key=new_key, passphrase=passphrase, reencrypt=reencrypt
        )
