"""Databricks workspace scopes: a local scope name linked to a secret scope in a workspace.

``redactor secrets create-scope NAME --scope-backend-type DATABRICKS --host https://WORKSPACE
[--profile P] [--remote-scope S]`` records only the link (catalogue type ``DATABRICKS_WORKSPACE``:
``DATABRICKS`` alone is the encrypted local store, as Databricks calls its own scopes). Reads,
lists, writes and deletes go through the official ``databricks-sdk``
(``WorkspaceClient(...).secrets``) with the SDK's unified authentication: ``DATABRICKS_TOKEN`` (and
the other ``DATABRICKS_*`` variables), a ``~/.databrickscfg`` profile named with ``--profile`` (or
``DATABRICKS_CONFIG_PROFILE``), OAuth machine-to-machine (``client_id``/``client_secret``), Azure
and Google identities. No credential is ever taken on the command line or recorded in the store.
Install with ``pip install 'redactor[databricks]'``.

The workspace enforces its scope ACLs (READ lists and reads, WRITE also puts and deletes, MANAGE
also changes ACLs); a refusal is raised as :class:`PermissionDeniedError` naming the scope and key.
A workspace scope backed by Azure Key Vault is read-only on the workspace side, which refuses put
and delete; redactor reports that refusal rather than guessing it beforehand.

``get`` returns what ``dbutils.secrets.get`` would: the API sends the value base64-encoded; it is
decoded and returned as ``str`` when it is UTF-8 text, as ``bytes`` otherwise.

Configuration (environment variables):

``REDACTOR_DATABRICKS_CACHE_TTL``
    Seconds a fetched value stays in this process's memory (default: the life of the process;
    ``0`` fetches every time). Values are never cached on disk. A put or delete through redactor
    forgets the cached value of that key.
``REDACTOR_DATABRICKS_RETRY_TIMEOUT``
    Seconds the SDK keeps retrying a workspace it cannot reach (default 30; the SDK's own default
    is 300, five minutes of a frozen notebook cell before the error).
``REQUESTS_CA_BUNDLE``
    A PEM file of CA certificates to trust instead of certifi's (a TLS-intercepting proxy, a
    private link, a test server). The SDK sends its requests through ``requests``, which reads it.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import configparser
import math
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from redactor.sources.scopes.backend import (
    Scope,
    ScopeBackend,
    ScopeInfo,
    SecretInfo,
    env_seconds,
    validate_name,
)
from redactor.sources.scopes.errors import (
    BackendError,
    InvalidValueError,
    LimitExceededError,
    MissingDependencyError,
    PermissionDeniedError,
    ReadOnlyScopeError,
    ScopeNotFoundError,
    SecretNotFoundError,
    SecretsError,
)

if TYPE_CHECKING:
    from redactor.sources.scopes.local.store import LocalStore

__all__ = [
    "BACKEND_DATABRICKS_WORKSPACE",
    "ENV_CACHE_TTL",
    "ENV_RETRY_TIMEOUT",
    "DatabricksWorkspaceBackend",
    "WorkspaceScope",
    "clear_cache",
    "configure",
    "reset",
    "validate_host",
]

BACKEND_DATABRICKS_WORKSPACE = "DATABRICKS_WORKSPACE"
ENV_CACHE_TTL = "REDACTOR_DATABRICKS_CACHE_TTL"
ENV_RETRY_TIMEOUT = "REDACTOR_DATABRICKS_RETRY_TIMEOUT"
DEFAULT_RETRY_TIMEOUT = 30.0
INSTALL_HINT = (
    "Databricks workspace scopes need the Databricks SDK: pip install 'redactor[databricks]'"
)
OPTIONS = ("host", "profile", "remote_scope")
ITEMS_WORKERS = 8  # concurrent gets when a whole scope is read (items(), --scope)

_lock = threading.Lock()
_clients: dict[tuple[str, str, int], Any] = {}
# (host, profile, remote scope lower, key lower) -> (value, monotonic expiry). The profile is part
# of the key: two profiles are two principals, and one must not read what the other's ACL allows.
_cache: dict[tuple[str, str, str, str], tuple[str | bytes, float]] = {}
_cache_ttl: float | None = None  # None: read ENV_CACHE_TTL


def configure(*, cache_ttl: float | None = None) -> None:
    """Set the cache lifetime in seconds (``math.inf``: the life of the process, ``0``: no
    cache). Clears the clients and the cache."""
    global _cache_ttl
    with _lock:
        if cache_ttl is not None:
            if cache_ttl < 0 or math.isnan(cache_ttl):
                raise ValueError("cache_ttl must be >= 0")
            _cache_ttl = float(cache_ttl)
        _clients.clear()
        _cache.clear()


def clear_cache() -> None:
    """Forget every fetched value and client (after rotating a secret in the workspace, or after
    changing credentials)."""
    with _lock:
        _clients.clear()
        _cache.clear()


def reset() -> None:
    """Back to the defaults: the TTL from the environment, no clients, no cached values."""
    global _cache_ttl
    with _lock:
        _cache_ttl = None
        _clients.clear()
        _cache.clear()


def _ttl() -> float:
    return _cache_ttl if _cache_ttl is not None else env_seconds(ENV_CACHE_TTL, math.inf)


def validate_host(url: str) -> str:
    """``https://host[:port]``: the workspace URL, without a path (tokens never go over HTTP)."""
    parts = urlsplit(str(url).strip())
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidValueError(
            f"the workspace host must be an https:// URL such as "
            f"https://adb-1234567890123456.7.azuredatabricks.net, not {url!r}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidValueError(
            f"the workspace host must be the workspace's base URL (https://WORKSPACE), not {url!r}"
        )
    return f"https://{parts.netloc.lower()}"


def _config_profiles() -> dict[str, str | None]:
    """Each profile of ``~/.databrickscfg`` (or ``DATABRICKS_CONFIG_FILE``) and the host it names.

    Read as the SDK reads it: ``[DEFAULT]`` is a profile like the others, not defaults that the
    other profiles inherit."""
    path = Path(os.environ.get("DATABRICKS_CONFIG_FILE") or "~/.databrickscfg").expanduser()
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00none")
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return {}
    return {name: parser.get(name, "host", fallback=None) or None for name in parser.sections()}


def _same_host(url: str | None, host: str) -> bool:
    try:
        return url is not None and validate_host(url) == host
    except InvalidValueError:
        return False


def _first_line(exc: BaseException, limit: int = 300) -> str:
    """The server's message, without the SDK's appended "Config: ... Env: ..." debug details
    (the caller's own configuration is not what a denial or a missing key is about)."""
    lines = str(exc).strip().splitlines()
    line = lines[0].split(" Config: ")[0] if lines else type(exc).__name__
    return line if len(line) <= limit else line[:limit] + "..."


def _message(exc: BaseException, limit: int = 2000) -> str:
    """The SDK's whole message (a sign-in error lists what it tried and which variables it saw,
    with the secret ones masked), bounded."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


class DatabricksWorkspaceBackend(ScopeBackend):
    """Scopes whose values are the secrets of a scope in a Databricks workspace."""

    name = BACKEND_DATABRICKS_WORKSPACE
    title = "a Databricks workspace"
    read_only = False

    def open(self, info: ScopeInfo, store: LocalStore) -> WorkspaceScope:
        host = info.options.get("host")
        if not host:
            raise SecretsError(f"scope {info.name!r} is workspace-backed but records no host")
        return WorkspaceScope(
            info.name,
            host,
            profile=info.options.get("profile"),
            remote_scope=info.options.get("remote_scope"),
            backend=self,
        )

    def check_options(self, scope: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """``host`` (required: the workspace's https:// URL), ``profile`` (a ``~/.databrickscfg``
        profile) and ``remote_scope`` (the workspace scope's name; default: ``scope``)."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise InvalidValueError(
                f"a {self.name} scope takes host, profile and remote_scope, not {', '.join(unknown)}"
            )
        if not options.get("host"):
            raise InvalidValueError(
                f"a {self.name} scope needs the workspace host, such as https://WORKSPACE"
            )
        checked: dict[str, Any] = {"host": validate_host(str(options["host"]))}
        if options.get("profile"):
            profile = str(options["profile"])
            if not profile.strip() or any(c in profile for c in "[]\r\n"):
                raise InvalidValueError(f"invalid profile name {profile!r}")
            checked["profile"] = profile
        if options.get("remote_scope"):
            checked["remote_scope"] = validate_name(options["remote_scope"], "remote scope name")
        return checked


class WorkspaceScope(Scope):
    """One workspace-backed scope: the local ``name``, the workspace ``host``, the ``profile``
    whose credentials reach it (None: the SDK's default chain) and the ``remote_scope``."""

    def __init__(
        self,
        name: str,
        host: str,
        *,
        profile: str | None = None,
        remote_scope: str | None = None,
        backend: DatabricksWorkspaceBackend | None = None,
    ) -> None:
        self.host = validate_host(host)
        self.profile = profile or None
        self.remote_scope = remote_scope or name
        options: dict[str, Any] = {"host": self.host}
        if self.profile:
            options["profile"] = self.profile
        if remote_scope:
            options["remote_scope"] = remote_scope
        backend = backend or DatabricksWorkspaceBackend()  # stateless: any instance serves
        super().__init__(backend, ScopeInfo(name, backend.name, options))

    def __repr__(self) -> str:
        via = f", profile {self.profile!r}" if self.profile else ""
        return f"WorkspaceScope({self.name!r} -> {self.host} scope {self.remote_scope!r}{via})"

    @property
    def _where(self) -> str:
        remote = (
            "" if self.remote_scope == self.name else f", workspace scope {self.remote_scope!r}"
        )
        return f"Databricks workspace {self.host} (scope {self.name!r}{remote})"

    # -- the SDK client ---------------------------------------------------------------------------

    def _client(self) -> Any:
        retry = env_seconds(ENV_RETRY_TIMEOUT, DEFAULT_RETRY_TIMEOUT)
        ident = (self.host, self.profile or "", math.ceil(min(retry, 86400.0)))
        with _lock:
            client = _clients.get(ident)
        if client is not None:
            return client
        try:
            from databricks.sdk import WorkspaceClient
            from databricks.sdk.config import Config
        except ImportError:
            raise MissingDependencyError(INSTALL_HINT) from None
        profiles = _config_profiles()
        profile = self.profile
        if profile:
            named = profiles.get(profile)
            if named is not None and not _same_host(named, self.host):
                raise BackendError(
                    f"profile {profile!r} is for {named}, not {self._where}: its "
                    "credentials are not sent to another host; fix the profile or the scope"
                )
        elif not os.environ.get("DATABRICKS_CONFIG_PROFILE"):
            # Given a host, the SDK reads no profile at all unless one is named; as the Databricks
            # CLI does, use the profile for this host: DEFAULT if it is, else the only one.
            matching = [name for name, url in profiles.items() if _same_host(url, self.host)]
            if "DEFAULT" in matching:
                profile = "DEFAULT"
            elif len(matching) == 1:
                profile = matching[0]
        kwargs: dict[str, Any] = {"host": self.host, "retry_timeout_seconds": ident[2] or 1}
        if profile:
            kwargs["profile"] = profile
        try:
            config = Config(product="redactor", product_version=_version(), **kwargs)
            client = WorkspaceClient(config=config)
        except ValueError as exc:  # the SDK found no usable credentials, or a bad profile
            raise BackendError(
                f"cannot sign in to {self._where}: {_message(exc)} (set DATABRICKS_TOKEN, "
                "name a ~/.databrickscfg profile with --profile, or configure OAuth M2M with "
                "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET)"
            ) from None
        except Exception as exc:
            raise self._error(exc, None) from None
        with _lock:
            _clients[ident] = client
        return client

    def _error(self, exc: BaseException, key: str | None, verb: str = "read") -> Exception:
        """The scope error for an SDK failure; names scope and key, never a value."""
        try:
            from databricks.sdk.errors import DatabricksError
        except ImportError:  # pragma: no cover - the SDK is there if a call failed in it
            DatabricksError = ()  # type: ignore[assignment,misc]
        what = (
            f"secret {key!r} in scope {self.name!r}" if key is not None else f"scope {self.name!r}"
        )
        if isinstance(exc, SecretsError):
            return exc
        if isinstance(exc, DatabricksError):
            code = str(getattr(exc, "error_code", "") or "")
            kind = type(exc).__name__
            detail = f" ({self._where}: {_first_line(exc)})"
            if code == "RESOURCE_DOES_NOT_EXIST" or kind in ("NotFound", "ResourceDoesNotExist"):
                if key is None:
                    return ScopeNotFoundError(self.name, detail)
                return SecretNotFoundError(self.name, key, detail)
            if code == "PERMISSION_DENIED" or kind == "PermissionDenied":
                return PermissionDeniedError(
                    f"permission denied on {what} by {self._where}: the workspace's ACL on scope "
                    f"{self.remote_scope!r} does not let this identity {verb} ({_first_line(exc)})",
                    scope=self.name,
                    key=key,
                )
            if code in ("UNAUTHENTICATED", "401") or kind == "Unauthenticated":
                return BackendError(f"cannot sign in to {self._where}: {_first_line(exc)}")
            if code == "RESOURCE_LIMIT_EXCEEDED":
                return LimitExceededError(f"cannot change {what}{detail}")
            if code == "INVALID_PARAMETER_VALUE":
                return InvalidValueError(f"{self._where} refused {what}: {_first_line(exc)}")
            if code in ("BAD_REQUEST", "INVALID_STATE") and verb in ("put", "delete"):
                return ReadOnlyScopeError(
                    f"cannot {verb} {what}: {self._where} refused it ({_first_line(exc)}); "
                    "a workspace scope backed by Azure Key Vault is read-only"
                )
            return BackendError(
                f"{self._where} failed on {what}: {code or kind}: {_first_line(exc)}"
            )
        if isinstance(exc, ValueError) and "json" not in type(exc).__name__.lower():
            # an OAuth token the SDK could not obtain (invalid_client, a refused refresh, ...)
            return BackendError(f"cannot sign in to {self._where}: {_first_line(exc)}")
        if isinstance(exc, TimeoutError):
            cause = exc.__cause__ or exc.__context__
            reason = _first_line(cause) if cause is not None else _first_line(exc)
            retry = env_seconds(ENV_RETRY_TIMEOUT, DEFAULT_RETRY_TIMEOUT)
            return BackendError(
                f"cannot reach {self._where}: {reason} (gave up after {retry:g} seconds of "
                f"retries; {ENV_RETRY_TIMEOUT} sets how long)"
            )
        if isinstance(exc, OSError):  # requests' ConnectionError and SSLError are OSErrors
            return BackendError(f"cannot reach {self._where}: {_first_line(exc)}")
        return BackendError(
            f"{self._where} failed on {what}: {type(exc).__name__}: {_first_line(exc)}"
        )

    def _ident(self, key: str) -> tuple[str, str, str, str]:
        return (self.host, self.profile or "", self.remote_scope.lower(), key.lower())

    def _forget(self, key: str) -> None:
        with _lock:
            _cache.pop(self._ident(key), None)

    # -- the Scope interface ----------------------------------------------------------------------

    def get(self, key: str) -> str | bytes:
        """The value of ``key`` (``str`` when it is UTF-8 text, else ``bytes``); cached in memory
        for the configured TTL."""
        validate_name(key, "secret key")
        ident = self._ident(key)
        ttl = _ttl()
        now = time.monotonic()
        if ttl > 0:
            with _lock:
                hit = _cache.get(ident)
            if hit is not None and hit[1] > now:
                return hit[0]
        try:
            response = self._client().secrets.get_secret(scope=self.remote_scope, key=key)
        except Exception as exc:
            raise self._error(exc, key) from None
        try:
            data = base64.b64decode(response.value or "", validate=True)
        except (binascii.Error, ValueError):
            raise BackendError(
                f"{self._where} sent a value for {key!r} that is not base64"
            ) from None
        value: str | bytes
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            value = data
        if ttl > 0:
            with _lock:
                _cache[ident] = (value, now + ttl)
        return value

    def list(self) -> builtins.list[SecretInfo]:
        """Keys and last-updated times of the workspace scope (never values); needs READ."""
        try:
            found = builtins.list(self._client().secrets.list_secrets(scope=self.remote_scope))
        except Exception as exc:
            raise self._error(exc, None, "list") from None
        out = [SecretInfo(m.key, int(m.last_updated_timestamp or 0)) for m in found if m.key]
        return sorted(out, key=lambda s: s.key.lower())

    def items(self) -> builtins.list[tuple[str, str | bytes]]:
        """Every ``(key, value)``; a secret deleted between the listing and its read is skipped.

        The API has no batch read, so a scope of N secrets is N requests; they run
        ``ITEMS_WORKERS`` at a time, which hides the round trip to a remote workspace (the SDK's
        connection pool holds 20; throttling answers, 429, are retried by the SDK)."""

        def one(key: str) -> tuple[str, str | bytes] | None:
            try:
                return (key, self.get(key))
            except SecretNotFoundError:
                return None

        keys = [info.key for info in self.list()]
        if len(keys) <= 1:
            found = [one(k) for k in keys]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(ITEMS_WORKERS, len(keys))) as pool:
                found = builtins.list(pool.map(one, keys))
        return [item for item in found if item is not None]

    def put(self, key: str, value: str | bytes) -> None:
        """Create or overwrite ``key`` in the workspace (needs WRITE or MANAGE there)."""
        validate_name(key, "secret key")
        if isinstance(value, str):
            kwargs = {"string_value": value}
        elif isinstance(value, (bytes, bytearray)):
            kwargs = {"bytes_value": base64.b64encode(bytes(value)).decode("ascii")}
        else:
            raise InvalidValueError(
                f"a secret value must be str or bytes, not {type(value).__name__}"
            )
        self._forget(key)
        try:
            self._client().secrets.put_secret(scope=self.remote_scope, key=key, **kwargs)
        except Exception as exc:
            raise self._error(exc, key, "put") from None
        finally:
            self._forget(key)

    def delete(self, key: str) -> None:
        """Delete ``key`` in the workspace (needs WRITE or MANAGE there)."""
        validate_name(key, "secret key")
        try:
            self._client().secrets.delete_secret(scope=self.remote_scope, key=key)
        except Exception as exc:
            raise self._error(exc, key, "delete") from None
        finally:
            self._forget(key)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("redactor")
    except Exception:
        return "0"
