"""Reading and changing scopes through whichever backend holds them.

The local store is the catalogue: it records every scope with its backend type and options.
Each function here looks the scope up there, then goes through the backend registered for its
type (:mod:`.backend`). Values are returned WITHOUT being registered with any redactor; that is
:mod:`.dbutils`'s job.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from redactor.sources.scopes.backend import (
    Scope,
    ScopeInfo,
    SecretInfo,
    backend_names,
    get_backend,
    validate_name,
)
from redactor.sources.scopes.errors import InvalidValueError
from redactor.sources.scopes.local import BACKEND_LOCAL, LocalStore, default_home

__all__ = [
    "create_scope",
    "delete_secret",
    "get_secret",
    "get_store",
    "list_scopes",
    "list_secrets",
    "open_scope",
    "put_secret",
    "scope_items",
]

_store_lock = threading.Lock()
_store: LocalStore | None = None


def get_store(home: Path | str | None = None) -> LocalStore:
    """The store in ``home`` (default: ``REDACTOR_HOME`` as it is now), kept per process so the
    data key is unwrapped once."""
    global _store
    path = Path(home).expanduser() if home is not None else default_home()
    with _store_lock:
        if _store is None or _store.home != path:
            _store = LocalStore(path)
        return _store


def open_scope(scope: str) -> Scope:
    """The scope named ``scope`` (case-insensitive), opened through its backend."""
    store = get_store()
    info = store.get_scope(scope)
    return get_backend(info.backend, info.name).open(info, store)


def create_scope(
    scope: str, backend: str = BACKEND_LOCAL, options: Mapping[str, Any] | None = None
) -> ScopeInfo:
    """Record a new scope of ``backend`` after the backend checked ``options``."""
    validate_name(scope, "scope name")
    if backend not in backend_names():
        raise InvalidValueError(
            f"unknown scope backend type {backend!r}: use {' or '.join(backend_names())}"
        )
    checked = get_backend(backend).check_options(scope, dict(options or {}))
    return get_store().create_scope(scope, backend, checked)


def get_secret(scope: str, key: str) -> str | bytes:
    """The value of ``scope/key`` from whichever backend holds the scope (not registered)."""
    validate_name(scope, "scope name")
    validate_name(key, "secret key")
    return open_scope(scope).get(key)


def put_secret(scope: str, key: str, value: str | bytes) -> None:
    """Create or overwrite ``scope/key`` (refused by read-only backends)."""
    box = [value]  # handed over from the stack: no local of this frame keeps the value
    del value
    validate_name(scope, "scope name")
    validate_name(key, "secret key")
    open_scope(scope).put(key, box.pop())


def delete_secret(scope: str, key: str) -> None:
    """Delete ``scope/key`` (refused by read-only backends)."""
    validate_name(scope, "scope name")
    validate_name(key, "secret key")
    open_scope(scope).delete(key)


def list_secrets(scope: str) -> list[SecretInfo]:
    """Keys and last-updated times of a scope (never values)."""
    return open_scope(scope).list()


def list_scopes() -> list[ScopeInfo]:
    return get_store().list_scopes()


def scope_items(scope: str) -> Iterator[tuple[str, str | bytes]]:
    """Every ``(key, value)`` of a scope, for ``--scope``; all fetched before the first is yielded,
    so an error never leaves a caller with part of a scope."""
    items = open_scope(scope).items()
    yield from items
