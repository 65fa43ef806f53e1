"""The exceptions of the secrets API.

Every message names scopes, keys, files and limits, never a secret value or key material, so an
exception can be printed, logged or shown in a notebook traceback safely. Each class carries the
error code the Databricks Secrets API uses for the same condition (``error_code``).
"""

from __future__ import annotations

from redactor.errors import SourceError

__all__ = [
    "BackendError",
    "InvalidNameError",
    "InvalidValueError",
    "KdfParamsError",
    "LimitExceededError",
    "MasterKeyError",
    "MissingDependencyError",
    "NewerFormatError",
    "PermissionDeniedError",
    "ReadOnlyScopeError",
    "ScopeExistsError",
    "ScopeNotFoundError",
    "SecretDisabledError",
    "SecretNotFoundError",
    "SecretsError",
    "StoreCorruptError",
    "StoreMissingError",
    "TamperedError",
    "UnsafePermissionsError",
    "WrongMasterKeyError",
]


class SecretsError(SourceError):
    """Base class; ``str(exc)`` never contains a secret value."""

    error_code = "INTERNAL_ERROR"


class InvalidNameError(SecretsError, ValueError):
    """A scope or key name breaks the naming rules."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidValueError(SecretsError, ValueError):
    """A value is too large, of the wrong type, or not encodable."""

    error_code = "INVALID_PARAMETER_VALUE"


class LimitExceededError(SecretsError):
    """Too many secrets in a scope, or too many scopes."""

    error_code = "RESOURCE_LIMIT_EXCEEDED"


class ScopeNotFoundError(SecretsError, LookupError):
    error_code = "RESOURCE_DOES_NOT_EXIST"

    def __init__(self, scope: str, detail: str = "") -> None:
        super().__init__(f"secret scope {scope!r} does not exist{detail}")
        self.scope = scope


class SecretNotFoundError(SecretsError, LookupError):
    error_code = "RESOURCE_DOES_NOT_EXIST"

    def __init__(self, scope: str, key: str, detail: str = "") -> None:
        super().__init__(f"secret {key!r} does not exist in scope {scope!r}{detail}")
        self.scope = scope
        self.key = key


class SecretDisabledError(SecretsError, LookupError):
    """The Key Vault secret exists but is disabled."""

    error_code = "PERMISSION_DENIED"

    def __init__(self, scope: str, key: str) -> None:
        super().__init__(f"secret {key!r} in scope {scope!r} is disabled in its Azure Key Vault")
        self.scope = scope
        self.key = key


class PermissionDeniedError(SecretsError):
    """A remote backend's access control (Vault policies, workspace ACLs) refused the request.

    The message names the scope, the key and where the server looked, never a value."""

    error_code = "PERMISSION_DENIED"

    def __init__(self, message: str, *, scope: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.scope = scope
        self.key = key


class ScopeExistsError(SecretsError):
    error_code = "RESOURCE_ALREADY_EXISTS"

    def __init__(self, scope: str) -> None:
        super().__init__(f"secret scope {scope!r} already exists")
        self.scope = scope


class ReadOnlyScopeError(SecretsError):
    """Azure Key Vault-backed scopes are read-only from this side, as in Databricks (whose API
    answers a write to one with ``BAD_REQUEST``)."""

    error_code = "BAD_REQUEST"


class MasterKeyError(SecretsError):
    """The master key cannot be had: bad key file permissions, malformed key, no passphrase."""


class WrongMasterKeyError(MasterKeyError):
    """The master key does not unwrap the store's data key."""

    error_code = "PERMISSION_DENIED"


class StoreCorruptError(SecretsError):
    """The store file is truncated, damaged or not a redactor store."""

    error_code = "DATA_LOSS"


class TamperedError(StoreCorruptError):
    """A ciphertext failed authentication: changed, or moved from another row or store."""


class NewerFormatError(SecretsError):
    """The store was written by a newer redactor."""


class BackendError(SecretsError):
    """A remote backend (Azure Key Vault) failed: sign-in, network, TLS, missing SDK."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class MissingDependencyError(BackendError):
    """A backend's library is not installed. A condition of this machine, not of the service, so
    it carries no API code (``TEMPORARILY_UNAVAILABLE`` would invite a retry that cannot help);
    the message names the extra to install."""

    error_code = "INTERNAL_ERROR"


class KdfParamsError(StoreCorruptError, MasterKeyError):
    """The store's passphrase KDF parameters are unknown or outside the accepted bounds
    (:mod:`redactor.sources.scopes.local.kdf`): checked before any passphrase is derived."""


class IntegrityError(StoreCorruptError):
    """The store as a whole failed its integrity check (rows, scopes or metadata changed outside
    redactor), or is older than its counter file (rolled back). Names what failed, never a value.
    """


class AuditLogError(SecretsError):
    """The audit log cannot be read, or its chain is broken."""


class UnsafePermissionsError(SecretsError):
    """A store directory, database or key file is owned by another user, writable by group or
    others, or a symbolic link the store did not create (ssh's StrictModes)."""

    error_code = "PERMISSION_DENIED"


class StoreMissingError(SecretsError):
    """``secrets.db`` is gone while its master key still exists: never silently re-created."""

    error_code = "DATA_LOSS"
