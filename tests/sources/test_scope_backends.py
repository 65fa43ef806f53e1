"""The scope-backend interface: the registry, the facade going through it, and a new backend.

A backend added here is a real one (values in a dict in this process), registered the way
:mod:`redactor.sources.scopes` registers the two built-in ones; nothing is mocked.
"""

from __future__ import annotations

import builtins
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from redactor import Redactor, dbutils
from redactor.sources import scopes
from redactor.sources.scopes import (
    InvalidValueError,
    LocalStore,
    NewerFormatError,
    ReadOnlyScopeError,
    Scope,
    ScopeBackend,
    ScopeInfo,
    SecretInfo,
    SecretNotFoundError,
    backend_names,
    create_scope,
    delete_secret,
    get_backend,
    get_secret,
    list_scopes,
    list_secrets,
    open_scope,
    put_secret,
    register_backend,
    scope_items,
)
from redactor.sources.scopes import backend as backend_module

VALUE = "in-memory-secret-value-7d1e"
R = "[REDACTED]"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("REDACTOR_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("REDACTOR_HOME", str(home))
    return home


class MemoryScope(Scope):
    def __init__(self, backend: MemoryBackend, info: ScopeInfo) -> None:
        super().__init__(backend, info)
        self.values = backend.vaults.setdefault(info.options["vault"], {})

    def get(self, key: str) -> str | bytes:
        try:
            return self.values[key]
        except KeyError:
            raise SecretNotFoundError(self.name, key) from None

    def list(self) -> builtins.list[SecretInfo]:
        return [SecretInfo(k, 0) for k in sorted(self.values, key=str.lower)]

    def items(self) -> builtins.list[tuple[str, str | bytes]]:
        return sorted(self.values.items())

    def put(self, key: str, value: str | bytes) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        if self.values.pop(key, None) is None:
            raise SecretNotFoundError(self.name, key)


class MemoryBackend(ScopeBackend):
    """What a new backend module holds: a name, a title, open() and its options."""

    name = "MEMORY"
    title = "process memory"
    read_only = False

    def __init__(self) -> None:
        self.vaults: dict[str, dict[str, str | bytes]] = {}

    def open(self, info: ScopeInfo, store: LocalStore) -> MemoryScope:
        return MemoryScope(self, info)

    def check_options(self, scope: str, options: Mapping[str, Any]) -> dict[str, Any]:
        if set(options) != {"vault"}:
            raise InvalidValueError("a MEMORY scope needs exactly the option 'vault'")
        return {"vault": str(options["vault"])}


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryBackend]:
    monkeypatch.setattr(backend_module, "_registry", dict(backend_module._registry))
    yield register_backend(MemoryBackend())  # type: ignore[misc]


def test_the_built_in_backends_are_registered_local_first() -> None:
    assert backend_names() == ("DATABRICKS", "AZURE_KEYVAULT", "VAULT", "DATABRICKS_WORKSPACE")
    assert (get_backend("DATABRICKS").read_only, get_backend("AZURE_KEYVAULT").read_only) == (
        False,
        True,
    )
    assert get_backend("VAULT").read_only is False
    assert (scopes.BACKEND_LOCAL, scopes.BACKEND_AZURE_KEYVAULT) == ("DATABRICKS", "AZURE_KEYVAULT")
    assert scopes.BACKEND_VAULT == "VAULT"
    with pytest.raises(NewerFormatError, match="backend type 'SOMEWHERE', which this redactor"):
        get_backend("SOMEWHERE")


def test_a_new_backend_is_one_class_and_one_registration(
    home: Path, memory: MemoryBackend, fresh_redactor: Redactor
) -> None:
    assert backend_names() == (
        "DATABRICKS",
        "AZURE_KEYVAULT",
        "VAULT",
        "DATABRICKS_WORKSPACE",
        "MEMORY",
    )
    info = create_scope("Mem", "MEMORY", {"vault": "v1"})
    assert (info.name, info.backend, info.options, info.read_only) == (
        "Mem",
        "MEMORY",
        {"vault": "v1"},
        False,
    )
    put_secret("mem", "api-token", VALUE)
    put_secret("mem", "other", b"\x00bytes-value-xyz")
    assert memory.vaults == {"v1": {"api-token": VALUE, "other": b"\x00bytes-value-xyz"}}
    assert get_secret("MEM", "api-token") == VALUE
    assert [s.key for s in list_secrets("mem")] == ["api-token", "other"]
    assert list(scope_items("mem")) == [("api-token", VALUE), ("other", b"\x00bytes-value-xyz")]
    assert [(s.name, s.backend) for s in list_scopes()] == [("Mem", "MEMORY")]
    # dbutils goes through it too, and registers what it returns
    assert dbutils.secrets.get("mem", "api-token") == VALUE
    assert fresh_redactor.redact(f"token={VALUE}") == f"token={R}"
    assert fresh_redactor.secret_names == ["mem/api-token"]
    delete_secret("mem", "api-token")
    with pytest.raises(SecretNotFoundError, match="'api-token' does not exist in scope 'Mem'"):
        get_secret("mem", "api-token")
    with pytest.raises(InvalidValueError, match="exactly the option 'vault'"):
        create_scope("mem2", "MEMORY", {})


def test_local_scopes_through_the_facade(home: Path) -> None:
    create_scope("local")
    put_secret("local", "k", VALUE)
    scope = open_scope("LOCAL")
    assert (type(scope).__name__, scope.name, scope.read_only) == ("LocalScope", "local", False)
    assert (scope.get("K"), [s.key for s in scope.list()], scope.items()) == (
        VALUE,
        ["k"],
        [("k", VALUE)],
    )
    assert LocalStore(home).get_secret("local", "k") == VALUE  # the same store file
    delete_secret("local", "k")
    assert scope.items() == []
    with pytest.raises(InvalidValueError, match="a DATABRICKS scope takes no options"):
        create_scope("other", "DATABRICKS", {"dns_name": "https://v.vault.azure.net/"})
    with pytest.raises(
        InvalidValueError,
        match="unknown scope backend type 'SOMEWHERE': use DATABRICKS or AZURE_KEY",
    ):
        create_scope("other", "SOMEWHERE")
    assert [s.name for s in list_scopes()] == ["local"]


def test_read_only_backends_refuse_changes_before_any_request(home: Path) -> None:
    info = create_scope(
        "akv", "AZURE_KEYVAULT", {"dns_name": "HTTPS://V.vault.azure.net", "resource_id": "/r"}
    )
    assert info.options == {"dns_name": "https://v.vault.azure.net/", "resource_id": "/r"}
    assert info.read_only
    scope = open_scope("akv")
    assert (type(scope).__name__, scope.read_only) == ("KeyVaultScope", True)
    message = "backed by Azure Key Vault and read-only here; change its secrets in the vault"
    with pytest.raises(ReadOnlyScopeError, match=message):
        put_secret("akv", "k", VALUE)
    with pytest.raises(ReadOnlyScopeError, match=message):
        delete_secret("akv", "k")
    for options, error in [
        ({}, "needs a DNS name"),
        ({"dns_name": "http://v.vault.azure.net/"}, "must be an https:// URL"),
        ({"dns_name": "https://v.vault.azure.net/", "tenant": "t"}, "not tenant"),
    ]:
        with pytest.raises(InvalidValueError, match=error):
            create_scope("akv2", "AZURE_KEYVAULT", options)


def test_a_scope_of_a_backend_this_redactor_does_not_know(home: Path) -> None:
    """A store shared with a newer redactor may list a scope of a newer backend type: it is
    listed, refused with a clear error, and never read as a local scope."""
    store = LocalStore(home)
    store.create_scope("local")
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        conn.execute(
            "INSERT INTO scopes (scope_norm, name, backend, options, created_ms) "
            "VALUES ('vault', 'Vault', 'HASHICORP_VAULT', '{}', ?)",
            (int(time.time() * 1000),),
        )
    finally:
        conn.close()
    store.repair()  # the newer redactor seals what it writes (test_store_integrity.py)
    assert [(s.name, s.backend, s.read_only) for s in list_scopes()] == [
        ("local", "DATABRICKS", False),
        ("Vault", "HASHICORP_VAULT", True),
    ]
    with pytest.raises(
        NewerFormatError,
        match="scope 'Vault' has backend type 'HASHICORP_VAULT', which this redactor does not "
        r"know \(known: DATABRICKS, AZURE_KEYVAULT, VAULT, DATABRICKS_WORKSPACE\): upgrade "
        r"redactor",
    ):
        get_secret("vault", "k")
    with pytest.raises(ReadOnlyScopeError, match="its values are not in this store"):
        store.put_secret("vault", "k", VALUE)
    with pytest.raises(scopes.SecretsError, match="backed by HASHICORP_VAULT: read it through"):
        store.get_secret("vault", "k")
