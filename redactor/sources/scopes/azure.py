"""Azure Key Vault-backed scopes: reads through the official SDK, never written from here.

A scope created with ``--scope-backend-type AZURE_KEYVAULT --dns-name https://VAULT.vault.azure.net/
--resource-id ID`` records only the link in the local store. Reading ``dbutils.secrets.get(scope,
key)`` fetches the Key Vault secret named ``key`` (its latest version) with
``azure-keyvault-secrets`` and ``azure-identity``'s ``DefaultAzureCredential`` (environment,
workload identity, managed identity, Azure CLI, ...). Install with ``pip install 'redactor[azure]'``.

Key names map one to one: the Databricks key is the Key Vault secret name. Key Vault names allow
only letters, digits and ``-`` (1 to 127 characters), so keys with ``_``, ``.`` or ``@`` are
refused with a message that suggests the ``-`` spelling; nothing is renamed silently, since two
keys could then map to one secret. Names are case-insensitive on both sides.

Like Databricks, such scopes are read-only here: put and delete are refused; change the secrets
in the vault.

Configuration (environment variables; the defaults are the secure production settings):

``REDACTOR_AZURE_CACHE_TTL``
    Seconds a fetched value stays in this process's memory (default: the life of the process;
    ``0`` fetches every time). Values are never cached on disk.
``REDACTOR_AZURE_CA_BUNDLE``
    A PEM file of CA certificates to trust for the vault and the credential, instead of the
    system store (a TLS-intercepting proxy, a private endpoint, a test server).
``REDACTOR_AZURE_VERIFY_CHALLENGE_RESOURCE``
    ``0`` turns off the SDK's check that the vault's sign-in challenge names a
    ``*.vault.azure.net`` resource. Only for a vault emulator on ``https://127.0.0.1:PORT``; keep
    the default (on) for real vaults.
"""

from __future__ import annotations

import builtins
import math
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from redactor.sources.scopes.backend import (
    Scope,
    ScopeBackend,
    ScopeInfo,
    SecretInfo,
    env_seconds,
)
from redactor.sources.scopes.errors import (
    BackendError,
    InvalidNameError,
    InvalidValueError,
    MissingDependencyError,
    SecretDisabledError,
    SecretNotFoundError,
    SecretsError,
)

if TYPE_CHECKING:
    from redactor.sources.scopes.local.store import LocalStore

__all__ = [
    "BACKEND_AZURE_KEYVAULT",
    "ENV_CACHE_TTL",
    "ENV_CA_BUNDLE",
    "ENV_VERIFY_CHALLENGE_RESOURCE",
    "AzureKeyVaultBackend",
    "KeyVaultScope",
    "clear_cache",
    "configure",
    "keyvault_name",
    "validate_vault_url",
]

BACKEND_AZURE_KEYVAULT = "AZURE_KEYVAULT"
ENV_CA_BUNDLE = "REDACTOR_AZURE_CA_BUNDLE"
ENV_VERIFY_CHALLENGE_RESOURCE = "REDACTOR_AZURE_VERIFY_CHALLENGE_RESOURCE"
ENV_CACHE_TTL = "REDACTOR_AZURE_CACHE_TTL"
KV_NAME_RE = re.compile(r"[0-9A-Za-z-]{1,127}")
INSTALL_HINT = "Azure Key Vault-backed scopes need the Azure SDK: pip install 'redactor[azure]'"

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, bool], Any] = {}
_cache: dict[tuple[str, str], tuple[str, float]] = {}
_credential: Any = None
_cache_ttl: float | None = None  # None: read ENV_CACHE_TTL


def configure(*, credential: Any = None, cache_ttl: float | None = None) -> None:
    """Use ``credential`` (any azure-identity ``TokenCredential``) instead of
    ``DefaultAzureCredential``, and/or set the cache lifetime in seconds (``math.inf``: the life
    of the process, ``0``: no cache). Clears the clients and the cache."""
    global _credential, _cache_ttl
    with _lock:
        if credential is not None:
            _credential = credential
        if cache_ttl is not None:
            if cache_ttl < 0:
                raise ValueError("cache_ttl must be >= 0")
            _cache_ttl = float(cache_ttl)
        _clients.clear()
        _cache.clear()


def clear_cache() -> None:
    """Forget every fetched value and client (for example after rotating a secret in the vault)."""
    with _lock:
        _clients.clear()
        _cache.clear()


def reset() -> None:
    """Back to the defaults: DefaultAzureCredential and the TTL from the environment."""
    global _credential, _cache_ttl
    with _lock:
        _credential = None
        _cache_ttl = None
        _clients.clear()
        _cache.clear()


def _ttl() -> float:
    return _cache_ttl if _cache_ttl is not None else env_seconds(ENV_CACHE_TTL, math.inf)


def validate_vault_url(url: str) -> str:
    """``https://host[:port]/``: Key Vault's sign-in is refused by the SDK over plain HTTP."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidValueError(
            f"the Key Vault DNS name must be an https:// URL such as "
            f"https://my-vault.vault.azure.net/, not {url!r}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidValueError(
            f"the Key Vault DNS name must be the vault's base URL (https://my-vault.vault.azure.net/), "
            f"not {url!r}"
        )
    return f"https://{parts.netloc.lower()}/"


def keyvault_name(scope: str, key: str) -> str:
    """The Key Vault secret name for a Databricks key: the same name, if Key Vault allows it."""
    if not KV_NAME_RE.fullmatch(key):
        suggestion = re.sub(r"[^0-9A-Za-z-]", "-", key)[:127]
        raise InvalidNameError(
            f"key {key!r} cannot name a secret in Azure Key Vault-backed scope {scope!r}: "
            f"Key Vault secret names allow only letters, digits and '-' (1 to 127 characters); "
            f"did you mean {suggestion!r}?"
        )
    return key


def _verify_challenge_resource() -> bool:
    raw = os.environ.get(ENV_VERIFY_CHALLENGE_RESOURCE, "1").strip().lower()
    return raw not in ("0", "false", "no", "off")


def _ca_bundle() -> str | None:
    path = os.environ.get(ENV_CA_BUNDLE) or None
    if path is not None and not os.path.isfile(path):
        raise BackendError(f"{ENV_CA_BUNDLE} names {path!r}, which is not a file")
    return path


def _message(exc: BaseException, limit: int = 4000) -> str:
    """The SDK's whole message (sign-in errors list every credential tried), bounded."""
    text = str(getattr(exc, "message", None) or exc).strip() or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:300] + "..."


class AzureKeyVaultBackend(ScopeBackend):
    """Scopes whose values are secrets of an Azure Key Vault, read-only as in Databricks."""

    name = BACKEND_AZURE_KEYVAULT
    title = "Azure Key Vault"
    read_only = True
    change_hint = "change its secrets in the vault"

    def open(self, info: ScopeInfo, store: LocalStore) -> KeyVaultScope:
        url = info.options.get("dns_name")
        if not url:
            raise SecretsError(f"scope {info.name!r} is Key Vault-backed but records no DNS name")
        return KeyVaultScope(info.name, url, info.options.get("resource_id"), backend=self)

    def check_options(self, scope: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """``dns_name`` (required: the vault's https:// base URL) and ``resource_id``."""
        unknown = sorted(set(options) - {"dns_name", "resource_id"})
        if unknown:
            raise InvalidValueError(
                f"an {self.name} scope takes dns_name and resource_id, not {', '.join(unknown)}"
            )
        if not options.get("dns_name"):
            raise InvalidValueError(
                f"an {self.name} scope needs a DNS name such as https://VAULT.vault.azure.net/"
            )
        checked: dict[str, Any] = {"dns_name": validate_vault_url(str(options["dns_name"]))}
        if options.get("resource_id"):
            checked["resource_id"] = str(options["resource_id"])
        return checked


class KeyVaultScope(Scope):
    """One Key Vault-backed scope: ``name`` (as created) and ``vault_url``."""

    def __init__(
        self,
        name: str,
        vault_url: str,
        resource_id: str | None = None,
        *,
        backend: AzureKeyVaultBackend | None = None,
    ) -> None:
        self.vault_url = validate_vault_url(vault_url)
        self.resource_id = resource_id
        options = {"dns_name": self.vault_url}
        if resource_id:
            options["resource_id"] = resource_id
        backend = backend or AzureKeyVaultBackend()  # stateless: any instance serves
        super().__init__(backend, ScopeInfo(name, backend.name, options))

    def __repr__(self) -> str:
        return f"KeyVaultScope({self.name!r}, {self.vault_url!r})"

    def _client(self) -> Any:
        ca = _ca_bundle()
        verify = _verify_challenge_resource()
        ident = (self.vault_url, ca, verify)
        with _lock:
            client = _clients.get(ident)
            if client is not None:
                return client
            try:
                from azure.keyvault.secrets import SecretClient
            except ImportError:
                raise MissingDependencyError(INSTALL_HINT) from None
            transport: dict[str, Any] = {"connection_verify": ca} if ca else {}
            credential = _credential
            if credential is None:
                try:
                    from azure.identity import DefaultAzureCredential
                except ImportError:
                    raise MissingDependencyError(INSTALL_HINT) from None
                credential = DefaultAzureCredential(**transport)
            client = SecretClient(
                vault_url=self.vault_url,
                credential=credential,
                verify_challenge_resource=verify,
                **transport,
            )
            _clients[ident] = client
            return client

    def _error(self, exc: BaseException, key: str | None) -> Exception:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
        )

        where = f"Azure Key Vault {self.vault_url} (scope {self.name!r})"
        if isinstance(exc, ResourceNotFoundError) and key is not None:
            return SecretNotFoundError(self.name, key, f" (Key Vault {self.vault_url})")
        if isinstance(exc, ClientAuthenticationError):
            return BackendError(f"cannot sign in to {where}: {_message(exc)}")
        if isinstance(exc, HttpResponseError) and exc.status_code == 403:
            inner = ""
            error = getattr(exc, "error", None)
            inner_error = getattr(error, "innererror", None) or {}
            if isinstance(inner_error, dict):
                inner = str(inner_error.get("code", ""))
            if key is not None and (inner == "SecretDisabled" or "disabled" in str(exc).lower()):
                return SecretDisabledError(self.name, key)
            return BackendError(
                f"access denied by {where}: the signed-in identity needs the Get and List "
                "permissions on secrets"
            )
        if isinstance(exc, ValueError):
            # The SDK refuses a sign-in challenge for a resource other than *.vault.azure.net.
            hint = ""
            if "challenge" in str(exc).lower():
                hint = (
                    f" (only for a vault emulator on a local address: set "
                    f"{ENV_VERIFY_CHALLENGE_RESOURCE}=0)"
                )
            return BackendError(f"{where} refused: {_first_line(exc)}{hint}")
        if isinstance(exc, ServiceRequestError):
            return BackendError(f"cannot reach {where}: {_first_line(exc)}")
        return BackendError(f"{where} failed: {type(exc).__name__}: {_first_line(exc)}")

    def get(self, key: str) -> str:
        """The latest version of secret ``key``; cached in memory for the configured TTL."""
        name = keyvault_name(self.name, key)
        ident = (self.vault_url, name.lower())
        ttl = _ttl()
        now = time.monotonic()
        if ttl > 0:
            with _lock:
                hit = _cache.get(ident)
            if hit is not None and hit[1] > now:
                return hit[0]
        from azure.core.exceptions import AzureError

        try:
            secret = self._client().get_secret(name)
        except (AzureError, ValueError) as exc:
            raise self._error(exc, key) from None
        value = secret.value if secret.value is not None else ""
        if ttl > 0:
            with _lock:
                _cache[ident] = (value, now + ttl)
        return value

    def _properties(self) -> builtins.list[Any]:
        from azure.core.exceptions import AzureError

        try:
            return [
                p for p in self._client().list_properties_of_secrets() if p.enabled is not False
            ]
        except (AzureError, ValueError) as exc:
            raise self._error(exc, None) from None

    def list(self) -> builtins.list[SecretInfo]:
        """Names and last-updated times of the vault's enabled secrets (never values)."""
        out = []
        for p in self._properties():
            updated = p.updated_on or p.created_on
            out.append(SecretInfo(p.name, int(updated.timestamp() * 1000) if updated else 0))
        return sorted(out, key=lambda s: s.key.lower())

    def items(self) -> builtins.list[tuple[str, str | bytes]]:
        """Every enabled secret's ``(name, value)``; a secret disabled meanwhile is skipped."""
        out: builtins.list[tuple[str, str | bytes]] = []
        for info in self.list():
            try:
                out.append((info.key, self.get(info.key)))
            except (SecretDisabledError, SecretNotFoundError):
                continue
        return out
