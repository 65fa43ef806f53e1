"""Store-wide integrity: a MAC over everything that decides what a read returns, and a counter
kept outside the database so that a rolled-back file is noticed.

Each value's ciphertext authenticates itself (:mod:`.crypto`), but not the set of rows: an old
row restored from a backup, a deleted row re-inserted, or a scope's backend pointed at another
Key Vault would all be read without complaint. So every write transaction also stores, in the
``meta`` row ``integrity``, a *manifest* and its HMAC-SHA256 under a key derived from the data
key (HKDF, label ``store-mac``)::

    {"v": 1, "counter": N,                       # advanced by every write transaction
     "meta": sha256(every other meta row),
     "scopes": {scope_norm: {"scope": sha256(name, backend, options, created_ms),
                             "secrets": sha256(key, kind, version, dek_id, sha256(nonce),
                                               sha256(ct), updated_ms of every row)}}}

The per-scope digests let a failure say *what* changed (``scope 'prod' rows changed outside
redactor``) instead of a bare "MAC mismatch". Every open recomputes the manifest and checks the
MAC; an attacker without the data key cannot make a matching one.

A MAC cannot tell an old copy of the whole file from the current one, so the counter is also
written, after each commit, to ``store.counter`` beside the key file (``keys.key_file_path(home)``'s
directory, which for a store locked by ``REDACTOR_MASTER_KEY`` or a passphrase is the same
directory). A database counter below the file's is a rollback. One above it is a write whose
process has not written the file yet (still running, or killed between commit and file write):
it is MAC-authenticated, so it is accepted and the file is brought up to date. The file is only
ever advanced, under a lock on its directory, so concurrent writers never move it backwards, and
it is read *before* the transaction's snapshot so that a concurrent writer's newer value can never
look like a rollback.

Recovery from a failed check: restore the latest backup (of the database and the counter file),
or ``redactor secrets repair --accept`` to re-seal the store as it is now.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from redactor.engine.redactor import RedactorWarning
from redactor.sources.scopes.errors import IntegrityError, SecretsError
from redactor.sources.scopes.local import audit, crypto, db, keys

if TYPE_CHECKING:  # store.py calls upgrade and repair with itself
    from redactor.sources.scopes.local.store import LocalStore

try:  # POSIX; on Windows the counter file is written without the directory lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "COUNTER_FILE_NAME",
    "INTEGRITY_FIELD",
    "RECOVER",
    "CounterFiles",
    "Verified",
    "counter_path",
    "crash_point",
    "has_record",
    "publish_new_store",
    "read_counter",
    "refuse_recreate",
    "repair",
    "seal",
    "upgrade",
    "verify",
    "write_counter",
]

INTEGRITY_FIELD = "integrity"
COUNTER_FILE_NAME = "store.counter"
MAC_LABEL = "store-mac"
_COUNTER_MAGIC = "redactor-store-counter/v1"
RECOVER = (
    "restore the latest backup of the store, or, if you trust the store as it is now, run "
    "`redactor secrets repair --accept`"
)


def counter_path(home: Path) -> Path:
    """Where the store's counter lives: beside the key file (see the module docstring)."""
    return keys.key_file_path(home).with_name(COUNTER_FILE_NAME)


def _legacy_counter_path(home: Path) -> Path:
    # Where the counter lived while the key file sat in REDACTOR_HOME: still read, so a store
    # keeps opening when the key file's default location moves.
    return home / COUNTER_FILE_NAME


# -- the counter file -----------------------------------------------------------------------------


def _parse_counter(text: str, path: Path) -> tuple[str, int]:
    parts = text.split()
    if len(parts) != 3 or parts[0] != _COUNTER_MAGIC or not parts[2].isdigit():
        raise IntegrityError(f"the store's counter file {path} is malformed; {RECOVER}")
    return parts[1], int(parts[2])


def _read_one(candidate: Path) -> tuple[str, int] | None:
    try:
        with open(candidate, encoding="ascii") as f:
            return _parse_counter(f.read(64), candidate)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IntegrityError(
            f"cannot read the store's counter file {candidate}: "
            f"{getattr(exc, 'strerror', None) or type(exc).__name__}"
        ) from None


CounterFile = tuple[Path, tuple[str, int] | None]


class CounterFiles(NamedTuple):
    """The counter files that may speak for a store, read before its transaction begins."""

    own: CounterFile  # its place (or the legacy place), and what it records
    # When there is none: the counters beside other store locations' keys under
    # keys.keys_root(). A store moved to another directory gets a new location id, so its counter
    # is found there by its store id (as its key file is found by its key id).
    moved: tuple[tuple[Path, tuple[str, int]], ...] = ()

    def pick(self, store_id: str) -> CounterFile:
        """The counter file of the store ``store_id``: its own, else the highest moved one."""
        path, recorded = self.own
        if recorded is None:
            mine = [m for m in self.moved if m[1][0] == store_id]
            if mine:
                return max(mine, key=lambda m: m[1][1])
        return path, recorded


def _moved_counters(own: Path) -> tuple[tuple[Path, tuple[str, int]], ...]:
    try:
        dirs = sorted(keys.keys_root().iterdir())
    except OSError:
        return ()
    found = []
    for d in dirs:
        candidate = d / COUNTER_FILE_NAME
        if candidate == own:
            continue
        try:
            recorded = _read_one(candidate)
        except IntegrityError:
            continue  # another location's problem, reported when that store opens
        if recorded is not None:
            found.append((candidate, recorded))
    return tuple(found)


def read_counter(home: Path) -> CounterFiles:
    """The counter files of the store in ``home`` (see :class:`CounterFiles`)."""
    path = counter_path(home)
    for candidate in (path, _legacy_counter_path(home)):
        recorded = _read_one(candidate)
        if recorded is not None:
            return CounterFiles((candidate, recorded))
    return CounterFiles((path, None), _moved_counters(path))


@contextlib.contextmanager
def _dir_lock(directory: Path):
    fd = os.open(directory, os.O_RDONLY)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _replace_counter(path: Path, store_id: str, value: int) -> None:
    tmp = path.with_name(f".{COUNTER_FILE_NAME}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, f"{_COUNTER_MAGIC} {store_id} {value}\n".encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    keys.fsync_dir(path.parent)


def write_counter(home: Path, store_id: str, value: int, *, force: bool = False) -> None:
    """Advance the counter file to ``value`` (atomically, fsynced); never moves it backwards
    for the same store unless ``force`` (repair)."""
    path = counter_path(home)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _dir_lock(path.parent):
        if not force:
            try:
                with open(path, encoding="ascii") as f:
                    old_id, old = _parse_counter(f.read(64), path)
                if old_id == store_id and old >= value:
                    return
            except (OSError, IntegrityError):
                pass  # missing or malformed: replaced below
        _replace_counter(path, store_id, value)


def publish_new_store(home: Path, db_path: Path, store_id: str, link: Callable[[], bool]) -> bool:
    """Write a new store's counter file (at 0), then ``link`` its database into place, both under
    the counter directory's lock: a database is never visible without its counter file (else
    a reader racing the creator and a first writer would see a missing counter), and two
    creators never overwrite each other's counter. False if another process's store won."""
    path = counter_path(home)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _dir_lock(path.parent):
        if db_path.exists():
            return False
        _replace_counter(path, store_id, 0)
        return link()


# -- the manifest ---------------------------------------------------------------------------------


def _canon(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _h(obj: Any) -> str:
    return hashlib.sha256(_canon(obj)).hexdigest()


def manifest_of(conn: sqlite3.Connection, counter: int) -> dict[str, Any]:
    """The manifest of the store as it is in ``conn``'s transaction, at ``counter``."""
    meta = sorted(
        (n, v) for n, v in conn.execute("SELECT name, value FROM meta") if n != INTEGRITY_FIELD
    )
    scopes: dict[str, dict[str, Any]] = {}
    for norm, name, backend, options, created in conn.execute(
        "SELECT scope_norm, name, backend, options, created_ms FROM scopes ORDER BY scope_norm"
    ):
        scopes[norm] = {"scope": _h([norm, name, backend, options, created]), "secrets": None}
    hashers: dict[str, Any] = {}
    for s_norm, k_norm, key, kind, version, dek_id, nonce, ct, updated in conn.execute(
        "SELECT scope_norm, key_norm, key, kind, version, dek_id, CAST(nonce AS BLOB), "
        "CAST(ct AS BLOB), updated_ms FROM secrets ORDER BY scope_norm, key_norm"
    ):
        h = hashers.get(s_norm)
        if h is None:
            h = hashers[s_norm] = hashlib.sha256()
        digests = [hashlib.sha256(bytes(b or b"")).hexdigest() for b in (nonce, ct)]
        h.update(_canon([k_norm, key, kind, version, dek_id, *digests, updated]) + b"\n")
    for s_norm, h in hashers.items():
        scopes.setdefault(s_norm, {"scope": None, "secrets": None})["secrets"] = h.hexdigest()
    return {"v": 1, "counter": counter, "meta": _h(meta), "scopes": scopes}


def _mac(dk: crypto.DataKey, manifest: dict[str, Any]) -> str:
    # The MAC key is derived here and never held by a caller's frame, so a traceback printed
    # with locals (pytest --showlocals, IPython's verbose mode) shows the DataKey, whose repr
    # hides the key, and never key bytes.
    return hmac.new(dk.subkey(MAC_LABEL), _canon(manifest), hashlib.sha256).hexdigest()


def seal(conn: sqlite3.Connection, dk: crypto.DataKey, counter: int) -> None:
    """Record the manifest of the store as it now is, at ``counter``, with its MAC."""
    manifest = manifest_of(conn, counter)
    record = json.dumps({"manifest": manifest, "mac": _mac(dk, manifest)})
    conn.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (INTEGRITY_FIELD, record)
    )


def has_record(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute("SELECT 1 FROM meta WHERE name = ?", (INTEGRITY_FIELD,)).fetchone() is not None
    )


# -- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    counter: int  # the database's counter
    file_behind: bool  # the counter file records less: bring it up to date


def _failed(what: str) -> IntegrityError:
    return IntegrityError(f"store integrity check failed: {what}; {RECOVER}")


def _scope_name(conn: sqlite3.Connection, norm: str) -> str:
    row = conn.execute("SELECT name FROM scopes WHERE scope_norm = ?", (norm,)).fetchone()
    return str(row[0]) if row else norm


def check_record(conn: sqlite3.Connection, dk: crypto.DataKey, path: Path) -> int:
    """The counter of an authentic store; :class:`IntegrityError` naming the first difference."""
    row = conn.execute("SELECT value FROM meta WHERE name = ?", (INTEGRITY_FIELD,)).fetchone()
    if row is None:
        raise _failed(f"the integrity record of {path} was removed outside redactor")
    try:
        record = json.loads(row[0])
        stored, mac = record["manifest"], record["mac"]
        counter = stored["counter"]
        if not isinstance(mac, str) or not isinstance(counter, int):
            raise TypeError
    except (ValueError, TypeError, KeyError):
        raise _failed(f"the integrity record of {path} is malformed") from None
    if not hmac.compare_digest(mac, _mac(dk, stored)):
        raise _failed(f"the integrity record of {path} was changed outside redactor")
    current = manifest_of(conn, counter)
    if current["meta"] != stored["meta"]:
        raise _failed("the store's metadata (keys, write counter, format) changed outside redactor")
    was, now = stored["scopes"], current["scopes"]
    for norm in sorted(set(was) | set(now)):
        a, b = was.get(norm), now.get(norm)
        if a == b:
            continue
        name = _scope_name(conn, norm)
        if b is None:
            raise _failed(f"scope {name!r} was deleted outside redactor")
        if b["scope"] is None and a is not None and a["scope"] is not None:
            raise _failed(f"scope {name!r} was deleted outside redactor")
        if b["scope"] is None:
            raise _failed(f"rows of a deleted scope {name!r} were re-inserted outside redactor")
        if a is None or a["scope"] is None:
            raise _failed(f"scope {name!r} was added outside redactor")
        if a["scope"] != b["scope"]:
            raise _failed(
                f"scope {name!r} settings (backend, vault URL, options) changed outside redactor"
            )
        raise _failed(f"scope {name!r} rows changed outside redactor")
    return counter


def verify(
    conn: sqlite3.Connection,
    dk: crypto.DataKey,
    store_id: str,
    path: Path,
    counter_files: CounterFiles,
) -> Verified:
    """Check the MAC and the counter (``counter_files`` as read before the transaction began)."""
    counter = check_record(conn, dk, path)
    cpath, recorded = counter_files.pick(store_id)
    if recorded is None or recorded[0] != store_id:
        if counter == 0:  # a store that was never written: nothing to roll back to
            return Verified(counter, True)
        what = "is missing" if recorded is None else "belongs to another store"
        raise IntegrityError(
            f"the store's counter file {cpath} {what} (deleted, or the store was copied here "
            f"without it), so a rollback of {path} cannot be ruled out; {RECOVER}"
        )
    if counter < recorded[1]:
        raise IntegrityError(
            f"store is older than its counter (rolled back?): {path} is at write {counter}, "
            f"but {cpath} records write {recorded[1]}; {RECOVER}"
        )
    return Verified(counter, counter > recorded[1] or cpath != counter_path(path.parent))


# -- crash injection (tests only) -----------------------------------------------------------------

ENV_CRASH_AT = "REDACTOR_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """End the process at once (no cleanup, like a power cut) when ``REDACTOR_TEST_CRASH_AT`` is
    ``name``: set only by the tests that prove every step of a write or rotation is crash-safe."""
    if os.environ.get(ENV_CRASH_AT) == name:
        os._exit(137)


def refuse_recreate(home: Path, path: Path) -> None:
    """Refuse to create a new store where the counter file says one was written: a missing
    database next to its counter is a store moved or deleted, never a reason to start afresh."""
    cpath, recorded = read_counter(home).own  # first: a counter > 0 implies the file was linked
    if recorded is not None and recorded[1] > 0 and not path.exists():
        raise IntegrityError(
            f"{path} is missing, but its counter file {cpath} records write {recorded[1]}: the "
            "store was moved or deleted; restore it from the latest backup, or, to start a new, "
            f"empty store, delete {cpath}"
        )


# -- upgrade and repair ---------------------------------------------------------------------------


def upgrade(store: LocalStore, conn: sqlite3.Connection) -> None:
    """Give a store written before the integrity check its first integrity record, with a note."""
    counter_file = read_counter(store.home)
    with db.transaction(conn, write=True):
        if has_record(conn):
            return  # another process upgraded it
        meta = store._meta(conn)
        dk = store._data_key(conn, meta)
        recorded = counter_file.pick(meta["store_id"])[1]
        if recorded is not None and recorded[0] == meta["store_id"]:
            # A counter file means this store had a record: it was removed to look old.
            raise _failed(f"the integrity record of {store.path} was removed outside redactor")
        audit.ensure_key(conn, meta, dk)
        seal(conn, dk, 1)
    store._advance_counter(meta["store_id"], 1)
    warnings.warn(
        f"the secret store {store.path} had no integrity record (written by an older "
        "redactor): added one; from now on changes made outside redactor are detected",
        RedactorWarning,
        stacklevel=6,
    )


def repair(store: LocalStore) -> str:
    """Re-seal the store as it is now and set its counter (file) past both the database's and
    the file's; returns what the check said before ("" if it passed). The data key must unwrap:
    repair accepts changed rows, never a store this master key does not open."""
    with store._connect(create=False) as conn:
        if conn is None:
            raise SecretsError(f"there is no secret store in {store.home}")
        counter_file = read_counter(store.home)
        with db.transaction(conn, write=True):
            meta = store._meta(conn)
            dk = store._data_key(conn, meta)
            problem, counter = "", 0
            try:
                if not has_record(conn):
                    raise IntegrityError("the store had no integrity record")
                counter = verify(conn, dk, meta["store_id"], store.path, counter_file).counter
            except IntegrityError as exc:
                problem = str(exc).removesuffix(f"; {RECOVER}")
            recorded = counter_file.pick(meta["store_id"])[1]
            if recorded is not None and recorded[0] != meta["store_id"]:
                recorded = None  # another store's counter: this store's own count starts here
            counter = max(counter, recorded[1] if recorded else 0) + 1
            audit.ensure_key(conn, meta, dk)
            seal(conn, dk, counter)
    write_counter(store.home, meta["store_id"], counter, force=True)
    store._log_events(meta, dk, [("repair", "", "")])
    return problem
