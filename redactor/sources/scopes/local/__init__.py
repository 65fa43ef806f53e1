"""The local backend: scopes whose values are encrypted in the local store.

The store (:mod:`.store`) is built from the rows (:mod:`.db`), value encryption and key wrapping
(:mod:`.crypto`), the master key (:mod:`.keys`) and key rotation (:mod:`.rotation`).
"""

from __future__ import annotations

import builtins

from redactor.sources.scopes.backend import Scope, ScopeBackend, ScopeInfo, SecretInfo
from redactor.sources.scopes.local.rotation import RotationResult
from redactor.sources.scopes.local.store import (
    BACKEND_LOCAL,
    MAX_SCOPES,
    MAX_SECRETS_PER_SCOPE,
    MAX_VALUE_BYTES,
    LocalStore,
    default_home,
)

__all__ = [
    "BACKEND_LOCAL",
    "MAX_SCOPES",
    "MAX_SECRETS_PER_SCOPE",
    "MAX_VALUE_BYTES",
    "LocalBackend",
    "LocalScope",
    "LocalStore",
    "RotationResult",
    "default_home",
]


class LocalScope(Scope):
    """A scope whose values live, encrypted, in ``store``."""

    def __init__(self, backend: LocalBackend, info: ScopeInfo, store: LocalStore) -> None:
        super().__init__(backend, info)
        self.store = store

    def get(self, key: str) -> str | bytes:
        return self.store.get_secret(self.name, key)

    def list(self) -> builtins.list[SecretInfo]:
        return self.store.list_secrets(self.name)

    def items(self) -> builtins.list[tuple[str, str | bytes]]:
        return self.store.items(self.name)

    def put(self, key: str, value: str | bytes) -> None:
        # Handed over from the stack, so that this frame keeps no local holding the value
        # while the store works (a traceback with locals would show it).
        box = [value]
        del value
        self.store.put_secret(self.name, key, box.pop())

    def delete(self, key: str) -> None:
        self.store.delete_secret(self.name, key)


class LocalBackend(ScopeBackend):
    """The encrypted local store ("DATABRICKS", as Databricks names its own encrypted scopes)."""

    name = BACKEND_LOCAL
    title = "the local secret store"
    read_only = False

    def open(self, info: ScopeInfo, store: LocalStore) -> LocalScope:
        return LocalScope(self, info, store)
