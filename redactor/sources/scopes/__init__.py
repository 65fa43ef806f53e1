"""Secret scopes: where secret values come from, and ``dbutils.secrets`` to read them.

Two kinds of scope, as in Databricks, listed in one local store (``REDACTOR_HOME``):

- local ("DATABRICKS") scopes, whose values are encrypted in the store itself
  (:class:`~redactor.sources.scopes.store.LocalStore`);
- Azure Key Vault-backed scopes, whose values are read from the vault (:mod:`.azure`).

``from redactor import dbutils`` then ``dbutils.secrets.get(scope="kv-scope", key="sql-db-user")``
returns the value after registering it with the process-wide redactor as ``kv-scope/sql-db-user``,
so every installed hook redacts it from then on. The functions here return values WITHOUT
registering them; they serve the CLI and :mod:`redactor.sources`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from redactor.sources.scopes.dbutils import (
    DBUtils,
    SecretMetadata,
    SecretScope,
    SecretsUtil,
    dbutils,
)
from redactor.sources.scopes.errors import (
    BackendError,
    InvalidNameError,
    InvalidValueError,
    LimitExceededError,
    MasterKeyError,
    NewerFormatError,
    ReadOnlyScopeError,
    ScopeExistsError,
    ScopeNotFoundError,
    SecretDisabledError,
    SecretNotFoundError,
    SecretsError,
    StoreCorruptError,
    TamperedError,
    WrongMasterKeyError,
)
from redactor.sources.scopes.store import (
    BACKEND_AZURE_KEYVAULT,
    BACKEND_LOCAL,
    MAX_SECRETS_PER_SCOPE,
    MAX_VALUE_BYTES,
    LocalStore,
    ScopeInfo,
    SecretInfo,
    default_home,
    validate_name,
)

__all__ = [
    "BACKEND_AZURE_KEYVAULT",
    "BACKEND_LOCAL",
    "MAX_SECRETS_PER_SCOPE",
    "MAX_VALUE_BYTES",
    "BackendError",
    "DBUtils",
    "InvalidNameError",
    "InvalidValueError",
    "LimitExceededError",
    "LocalStore",
    "MasterKeyError",
    "NewerFormatError",
    "ReadOnlyScopeError",
    "ScopeExistsError",
    "ScopeInfo",
    "ScopeNotFoundError",
    "SecretDisabledError",
    "SecretInfo",
    "SecretMetadata",
    "SecretNotFoundError",
    "SecretScope",
    "SecretsError",
    "SecretsUtil",
    "StoreCorruptError",
    "TamperedError",
    "WrongMasterKeyError",
    "dbutils",
    "default_home",
    "get_secret",
    "get_store",
    "list_scopes",
    "list_secrets",
    "scope_items",
    "validate_name",
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


def _keyvault(info: ScopeInfo):  # -> azure.KeyVaultScope
    from redactor.sources.scopes.azure import KeyVaultScope

    url = info.options.get("dns_name")
    if not url:
        raise SecretsError(f"scope {info.name!r} is Key Vault-backed but records no DNS name")
    return KeyVaultScope(info.name, url, info.options.get("resource_id"))


def get_secret(scope: str, key: str) -> str | bytes:
    """The value of ``scope/key`` from whichever backend holds the scope (not registered)."""
    validate_name(scope, "scope name")
    validate_name(key, "secret key")
    store = get_store()
    info = store.get_scope(scope)
    if info.backend == BACKEND_AZURE_KEYVAULT:
        return _keyvault(info).get(key)
    return store.get_secret(scope, key)


def list_secrets(scope: str) -> list[SecretInfo]:
    """Keys and last-updated times of a scope (never values)."""
    store = get_store()
    info = store.get_scope(scope)
    if info.backend == BACKEND_AZURE_KEYVAULT:
        return _keyvault(info).list()
    return store.list_secrets(scope)


def list_scopes() -> list[ScopeInfo]:
    return get_store().list_scopes()


def scope_items(scope: str) -> Iterator[tuple[str, str | bytes]]:
    """Every ``(key, value)`` of a scope, for ``--scope``; all fetched before the first is yielded,
    so an error never leaves a caller with part of a scope."""
    store = get_store()
    info = store.get_scope(scope)
    if info.backend == BACKEND_AZURE_KEYVAULT:
        items: list[tuple[str, str | bytes]] = list(_keyvault(info).items())
    else:
        items = store.items(scope)
    yield from items
