"""The rows of the local store: the SQLite schema, connections, header checks and the queries.

Nothing here encrypts or decrypts: values arrive as ciphertexts (:mod:`.crypto`), and the rows
hold only ciphertexts, nonces and names. Every query takes a connection inside a transaction the
caller opened with :func:`transaction`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from redactor.sources.scopes.backend import ScopeInfo
from redactor.sources.scopes.errors import NewerFormatError, StoreCorruptError

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_S",
    "DB_NAME",
    "FORMAT_VERSION",
    "SecretRow",
    "check_header",
    "connect",
    "initialise",
    "read_meta",
    "transaction",
]

DB_NAME = "secrets.db"
FORMAT_VERSION = 1
APPLICATION_ID = 0x52444354  # "RDCT"
BUSY_TIMEOUT_S = 30.0

SCHEMA = """
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

META_REQUIRED = (
    "format",
    "store_id",
    "dek_id",
    "dek_wrapped",
    "kek_kind",
    "kek_id",
    "kdf",
    "write_counter",
)


class SecretRow(NamedTuple):
    """One encrypted value as stored (``scope_norm``/``key_norm`` are lower-cased)."""

    scope_norm: str
    key_norm: str
    key: str
    kind: str
    version: int
    dek_id: str
    nonce: bytes
    ct: bytes


_ROW = "scope_norm, key_norm, key, kind, version, dek_id, CAST(nonce AS BLOB), CAST(ct AS BLOB)"


# -- connections ---------------------------------------------------------------------------------


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the store's settings: durable commits, secure delete, no temp files."""
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


def check_header(conn: sqlite3.Connection, path: Path) -> None:
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    (fmt,) = conn.execute("PRAGMA user_version").fetchone()
    if app_id != APPLICATION_ID:
        raise StoreCorruptError(
            f"{path} is not a redactor secret store (another SQLite database, or an "
            "empty or truncated file)"
        )
    if fmt > FORMAT_VERSION:
        raise NewerFormatError(
            f"{path} has store format {fmt}, written by a newer redactor; this one "
            f"reads format {FORMAT_VERSION}: upgrade redactor"
        )
    if fmt < 1:
        raise StoreCorruptError(f"{path} has no valid store format number")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, *, write: bool) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def initialise(path: Path, meta: Mapping[str, str]) -> None:
    """Write the schema, ``meta`` and the header into the new, empty database ``path``."""
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", meta.items())
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        conn.execute("COMMIT")
    finally:
        conn.close()


# -- metadata ------------------------------------------------------------------------------------


def read_meta(conn: sqlite3.Connection, path: Path) -> dict[str, str]:
    """The store's metadata, checked for completeness and format."""
    meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    missing = [k for k in META_REQUIRED if k not in meta]
    if missing:
        raise StoreCorruptError(f"{path} lacks store metadata ({', '.join(missing)})")
    try:
        fmt = int(meta["format"])
    except ValueError:
        raise StoreCorruptError(f"{path} has a malformed format number") from None
    if fmt > FORMAT_VERSION:
        raise NewerFormatError(
            f"{path} has store format {fmt}, written by a newer redactor: upgrade redactor"
        )
    return meta


def update_meta(conn: sqlite3.Connection, fields: Mapping[str, str]) -> None:
    conn.executemany(
        "UPDATE meta SET value = ? WHERE name = ?", [(v, k) for k, v in fields.items()]
    )


def next_version(conn: sqlite3.Connection) -> int:
    """The store-wide write counter, advanced: each write's ciphertext is bound to its own."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'write_counter'")
    (version,) = conn.execute(
        "SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'write_counter'"
    ).fetchone()
    return int(version)


# -- scopes --------------------------------------------------------------------------------------


def _scope_info(row: tuple) -> ScopeInfo:
    name, backend, options, created = row
    try:
        opts = json.loads(options) if options else {}
    except ValueError:
        opts = {}
    return ScopeInfo(name, backend, opts, created)


def find_scope(conn: sqlite3.Connection, scope: str) -> ScopeInfo | None:
    row = conn.execute(
        "SELECT name, backend, options, created_ms FROM scopes WHERE scope_norm = ?",
        (scope.lower(),),
    ).fetchone()
    return None if row is None else _scope_info(row)


def all_scopes(conn: sqlite3.Connection) -> list[ScopeInfo]:
    rows = conn.execute(
        "SELECT name, backend, options, created_ms FROM scopes ORDER BY scope_norm"
    ).fetchall()
    return [_scope_info(r) for r in rows]


def count_scopes(conn: sqlite3.Connection) -> int:
    (count,) = conn.execute("SELECT count(*) FROM scopes").fetchone()
    return int(count)


def insert_scope(conn: sqlite3.Connection, info: ScopeInfo) -> None:
    conn.execute(
        "INSERT INTO scopes (scope_norm, name, backend, options, created_ms) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            info.name.lower(),
            info.name,
            info.backend,
            json.dumps(info.options, sort_keys=True),
            info.created_ms,
        ),
    )


def delete_scope(conn: sqlite3.Connection, scope: str) -> None:
    conn.execute("DELETE FROM secrets WHERE scope_norm = ?", (scope.lower(),))
    conn.execute("DELETE FROM scopes WHERE scope_norm = ?", (scope.lower(),))


# -- secrets -------------------------------------------------------------------------------------


def secret_exists(conn: sqlite3.Connection, scope: str, key: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM secrets WHERE scope_norm = ? AND key_norm = ?",
            (scope.lower(), key.lower()),
        ).fetchone()
        is not None
    )


def count_secrets(conn: sqlite3.Connection, scope: str) -> int:
    (count,) = conn.execute(
        "SELECT count(*) FROM secrets WHERE scope_norm = ?", (scope.lower(),)
    ).fetchone()
    return int(count)


def write_secret(conn: sqlite3.Connection, row: SecretRow, updated_ms: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO secrets "
        "(scope_norm, key_norm, key, kind, version, dek_id, nonce, ct, updated_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*row, updated_ms),
    )


def secret_row(conn: sqlite3.Connection, scope: str, key: str) -> SecretRow | None:
    row = conn.execute(
        f"SELECT {_ROW} FROM secrets WHERE scope_norm = ? AND key_norm = ?",  # noqa: S608 (a constant)
        (scope.lower(), key.lower()),
    ).fetchone()
    return None if row is None else SecretRow(*row)


def secret_rows(conn: sqlite3.Connection, scope: str | None = None) -> list[SecretRow]:
    """The rows of ``scope`` sorted by key, or of every scope (None)."""
    if scope is None:
        rows = conn.execute(f"SELECT {_ROW} FROM secrets").fetchall()  # noqa: S608 (a constant)
    else:
        rows = conn.execute(
            f"SELECT {_ROW} FROM secrets WHERE scope_norm = ? ORDER BY key_norm",  # noqa: S608 (a constant)
            (scope.lower(),),
        ).fetchall()
    return [SecretRow(*r) for r in rows]


def secret_keys(conn: sqlite3.Connection, scope: str) -> list[tuple[str, int]]:
    """``(key, updated_ms)`` of every secret of ``scope``, sorted by key."""
    rows = conn.execute(
        "SELECT key, updated_ms FROM secrets WHERE scope_norm = ? ORDER BY key_norm",
        (scope.lower(),),
    ).fetchall()
    return [(k, t) for k, t in rows]


def delete_secret(conn: sqlite3.Connection, scope: str, key: str) -> bool:
    """Whether a row was deleted."""
    cur = conn.execute(
        "DELETE FROM secrets WHERE scope_norm = ? AND key_norm = ?", (scope.lower(), key.lower())
    )
    return cur.rowcount > 0


def replace_ciphertexts(
    conn: sqlite3.Connection, dek_id: str, rows: Iterable[tuple[str, str, bytes, bytes]]
) -> None:
    """Store new ``(scope_norm, key_norm, nonce, ct)`` under data key ``dek_id``."""
    conn.executemany(
        "UPDATE secrets SET dek_id = ?, nonce = ?, ct = ? WHERE scope_norm = ? AND key_norm = ?",
        [(dek_id, nonce, ct, s, k) for s, k, nonce, ct in rows],
    )
