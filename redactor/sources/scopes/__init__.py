"""Secret scopes: where secret values come from, and ``dbutils.secrets`` to read them.

Every scope is recorded in one local store (``REDACTOR_HOME``) with its backend type, as in
Databricks; the backend holds the values:

- ``DATABRICKS`` (local) scopes: values encrypted in the store itself (:mod:`.local`);
- ``AZURE_KEYVAULT`` scopes: values read from the vault (:mod:`.azure`);
- ``VAULT`` scopes: the fields of one KV v2 secret in HashiCorp Vault or OpenBao (:mod:`.vault`).
- ``DATABRICKS_WORKSPACE`` scopes: values in a scope of a Databricks workspace (:mod:`.databricks`).

Backends implement one interface (:mod:`.backend`) and are registered here by type; the
functions below (:mod:`.access`) go through whichever backend holds a scope. A new backend is
one module and one :func:`register_backend` line below.

``from redactor import dbutils`` then ``dbutils.secrets.get(scope="kv-scope", key="sql-db-user")``
returns the value after registering it with the process-wide redactor as ``kv-scope/sql-db-user``,
so every installed hook redacts it from then on. The functions here return values WITHOUT
registering them; they serve the CLI and :mod:`redactor.sources`.
"""

from __future__ import annotations

from redactor.sources.scopes.access import (
    create_scope,
    delete_secret,
    get_secret,
    get_store,
    list_scopes,
    list_secrets,
    open_scope,
    put_secret,
    scope_items,
)
from redactor.sources.scopes.azure import BACKEND_AZURE_KEYVAULT, AzureKeyVaultBackend
from redactor.sources.scopes.backend import (
    Scope,
    ScopeBackend,
    ScopeInfo,
    SecretInfo,
    backend_names,
    get_backend,
    register_backend,
    validate_name,
)
from redactor.sources.scopes.databricks import (
    BACKEND_DATABRICKS_WORKSPACE,
    DatabricksWorkspaceBackend,
)
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
    KdfParamsError,
    LimitExceededError,
    MasterKeyError,
    MissingDependencyError,
    NewerFormatError,
    PermissionDeniedError,
    ReadOnlyScopeError,
    ScopeExistsError,
    ScopeNotFoundError,
    SecretDisabledError,
    SecretNotFoundError,
    SecretsError,
    StoreCorruptError,
    StoreMissingError,
    TamperedError,
    UnsafePermissionsError,
    WrongMasterKeyError,
)
from redactor.sources.scopes.local import (
    BACKEND_LOCAL,
    MAX_SECRETS_PER_SCOPE,
    MAX_VALUE_BYTES,
    LocalBackend,
    LocalStore,
    default_home,
)
from redactor.sources.scopes.local.keys import ENV_MASTER_KEY, ENV_PASSPHRASE, parse_master_key
from redactor.sources.scopes.vault import BACKEND_VAULT, VaultBackend

__all__ = [
    "BACKEND_AZURE_KEYVAULT",
    "BACKEND_DATABRICKS_WORKSPACE",
    "BACKEND_LOCAL",
    "BACKEND_VAULT",
    "ENV_MASTER_KEY",
    "ENV_PASSPHRASE",
    "MAX_SECRETS_PER_SCOPE",
    "MAX_VALUE_BYTES",
    "AzureKeyVaultBackend",
    "BackendError",
    "DBUtils",
    "DatabricksWorkspaceBackend",
    "InvalidNameError",
    "InvalidValueError",
    "KdfParamsError",
    "LimitExceededError",
    "LocalBackend",
    "LocalStore",
    "MasterKeyError",
    "MissingDependencyError",
    "NewerFormatError",
    "PermissionDeniedError",
    "ReadOnlyScopeError",
    "Scope",
    "ScopeBackend",
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
    "StoreMissingError",
    "TamperedError",
    "UnsafePermissionsError",
    "VaultBackend",
    "WrongMasterKeyError",
    "backend_names",
    "create_scope",
    "dbutils",
    "default_home",
    "delete_secret",
    "get_backend",
    "get_secret",
    "get_store",
    "list_scopes",
    "list_secrets",
    "open_scope",
    "parse_master_key",
    "put_secret",
    "register_backend",
    "scope_items",
    "validate_name",
]

# The backends, by the type the catalogue records; the local store first (the default).
register_backend(LocalBackend())
register_backend(AzureKeyVaultBackend())
register_backend(VaultBackend())
register_backend(DatabricksWorkspaceBackend())
