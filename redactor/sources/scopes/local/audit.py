"""The local store's audit log: who read, wrote, deleted or rotated what, and when.

One JSON object per line in ``secrets.audit.jsonl`` beside the database (mode 0600), appended
after the operation (after the commit, for writes): time, user, uid, pid, operation, scope and
key, never a value. Each line carries ``mac`` = HMAC-SHA256(audit key, previous line's mac + this
line's other fields), so editing or deleting a line in the middle (or at the start) breaks the
chain from there on; ``redactor secrets audit --verify`` names the first broken line.
Removing lines at the *end* leaves an intact shorter chain: the log is evidence, not a barrier.

The audit key is a random key kept in the store's ``meta`` table encrypted under the data key
(not derived from it), so that the chain stays verifiable across ``rotate-key``, which replaces
the data key: rotation re-encrypts the audit key along with the values.

Appends use ``O_APPEND`` under an exclusive ``flock`` on the log, so concurrent processes never
interleave lines and each line chains to the one before it in the file. A failure to log never
undoes a store write that already committed: it is reported as a warning (see docs/secrets.md).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag

from redactor.sources.scopes.errors import AuditLogError, TamperedError
from redactor.sources.scopes.local import crypto

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "AUDIT_FILE_NAME",
    "AUDIT_KEY_FIELD",
    "AuditKey",
    "ChainResult",
    "append",
    "audit_key",
    "ensure_key",
    "read_entries",
    "rewrap_key",
    "verify_chain",
]

AUDIT_FILE_NAME = "secrets.audit.jsonl"
AUDIT_KEY_FIELD = "audit_key"
_TAIL = 65536  # a line is a few hundred bytes: the last one is always within this


def _aad(store_id: str) -> bytes:
    return json.dumps(["redactor/audit-key/v1", store_id], separators=(",", ":")).encode()


def _encrypt_key(dk: crypto.DataKey, key: bytes) -> str:
    nonce = os.urandom(crypto.NONCE_LEN)
    return (nonce + dk.aead.encrypt(nonce, key, _aad(dk.store_id))).hex()


@dataclass(frozen=True)
class AuditKey:
    """The audit key; its repr hides the bytes (tracebacks printed with locals show it)."""

    raw: bytes = field(repr=False)


def audit_key(meta: dict[str, str], dk: crypto.DataKey) -> AuditKey | None:
    """The audit key from ``meta``, or None if the store has none yet."""
    blob = meta.get(AUDIT_KEY_FIELD)
    if not blob:
        return None
    try:
        raw = bytes.fromhex(blob)
        return AuditKey(
            dk.aead.decrypt(raw[: crypto.NONCE_LEN], raw[crypto.NONCE_LEN :], _aad(dk.store_id))
        )
    except (ValueError, InvalidTag):
        raise TamperedError("the store's audit key failed authentication") from None


def ensure_key(conn: sqlite3.Connection, meta: dict[str, str], dk: crypto.DataKey) -> None:
    """Give the store an audit key if it has none (inside a write transaction)."""
    if not meta.get(AUDIT_KEY_FIELD):
        blob = _encrypt_key(dk, os.urandom(32))
        conn.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (AUDIT_KEY_FIELD, blob)
        )
        meta[AUDIT_KEY_FIELD] = blob


def rewrap_key(
    conn: sqlite3.Connection, meta: dict[str, str], old: crypto.DataKey, new: crypto.DataKey
) -> None:
    """Re-encrypt the audit key under a new data key (rotation), keeping the chain verifiable."""
    key = audit_key(meta, old)
    if key is not None:
        blob = _encrypt_key(new, key.raw)
        conn.execute("UPDATE meta SET value = ? WHERE name = ?", (blob, AUDIT_KEY_FIELD))
        meta[AUDIT_KEY_FIELD] = blob


# -- lines -----------------------------------------------------------------------------------------


def _canon(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _line_mac(key: AuditKey, fields: dict[str, Any]) -> str:
    body = {k: v for k, v in fields.items() if k != "mac"}
    return hmac.new(key.raw, _canon(body), hashlib.sha256).hexdigest()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def _last_line(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    start = max(0, size - _TAIL)
    data = os.pread(fd, size - start, start)
    lines = [x for x in data.split(b"\n") if x.strip()]
    return lines[-1] if lines else b""


@contextlib.contextmanager
def _locked_append(path: Path) -> Iterator[int]:
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def append(path: Path, key: AuditKey, events: list[tuple[str, str, str]]) -> None:
    """Append one line per ``(op, scope, key)`` event, chained to the log's last line."""
    with _locked_append(path) as fd:
        last = _last_line(fd)
        try:
            prev_fields = json.loads(last) if last else {}
            prev, seq = str(prev_fields.get("mac", "")), int(prev_fields.get("seq", 0))
        except (ValueError, TypeError, AttributeError):
            # A torn or edited last line: chain to its bytes; --verify reports it.
            prev, seq = hashlib.sha256(last).hexdigest(), 0
        out = []
        for op, scope, secret_key in events:
            seq += 1
            fields: dict[str, Any] = {
                "seq": seq,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
                + f".{int(time.time() * 1000) % 1000:03d}Z",
                "user": _user(),
                "uid": os.getuid() if hasattr(os, "getuid") else -1,
                "pid": os.getpid(),
                "op": op,
                "scope": scope,
                "key": secret_key,
                "prev": prev,
            }
            fields["mac"] = prev = _line_mac(key, fields)
            out.append(_canon(fields) + b"\n")
        os.write(fd, b"".join(out))
        # Changes are fsynced like the commit they follow; reads are not: measured on a loaded
        # 2-core machine, the fsync made a read 12 ms instead of 2 ms. A power cut may lose the
        # last read lines; the chain still verifies (lines are lost from the end only).
        if any(op != "read" for op, _, _ in events):
            os.fsync(fd)


# -- reading and verifying -------------------------------------------------------------------------


def read_entries(path: Path) -> list[dict[str, Any]]:
    """Every line of the log, parsed (a line that is not JSON becomes ``{"line": n, "bad": True}``)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditLogError(f"cannot read the audit log {path}: {exc.strerror}") from None
    entries: list[dict[str, Any]] = []
    for n, line in enumerate(raw.split(b"\n")[:-1] if raw.endswith(b"\n") else raw.split(b"\n"), 1):
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError
        except ValueError:
            item = {"line": n, "bad": True}
        entries.append(item)
    return entries


@dataclass(frozen=True)
class ChainResult:
    lines: int
    broken_at: int | None  # 1-based line number of the first line that fails, or None
    reason: str = ""


def verify_chain(path: Path, key: AuditKey) -> ChainResult:
    """Check every line's MAC and its link to the line before it."""
    entries = read_entries(path)
    prev = ""
    for n, item in enumerate(entries, 1):
        if item.get("bad"):
            return ChainResult(len(entries), n, "not a JSON object")
        if item.get("prev") != prev:
            return ChainResult(
                len(entries), n, "does not follow the line before it (a line was removed)"
            )
        mac = item.get("mac")
        if not isinstance(mac, str) or not hmac.compare_digest(mac, _line_mac(key, item)):
            return ChainResult(len(entries), n, "its MAC does not match (the line was changed)")
        if item.get("seq") != n:
            return ChainResult(len(entries), n, f"has sequence number {item.get('seq')}, not {n}")
        prev = mac
    return ChainResult(len(entries), None)
