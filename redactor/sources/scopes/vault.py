"""HashiCorp Vault / OpenBao-backed scopes: one KV version 2 secret per scope, read and written
through ``hvac``.

``redactor secrets create-scope app --scope-backend-type VAULT --vault-addr https://vault:8200
--mount secret --path teams/etl/app`` records only the link in the local store. The mapping:

- a **scope** is one secret (a path) in a KV version 2 mount: ``--mount`` (default ``secret``)
  and ``--path`` (default: the scope's name);
- a **key** is a field of that secret: ``dbutils.secrets.get("app", "sql-db-password")`` reads
  the field ``sql-db-password`` of ``secret/data/teams/etl/app``;
- ``--secret-version N`` pins version N of the secret; such a scope is read-only, since a write
  would create a version it does not read.

One read of the secret serves every key of the scope, so listing a scope or reading all of it
(``--scope``) is one request whatever the number of fields. Writes are JSON merge patches of one
field (``PATCH``, the ``patch`` capability), which the server applies atomically, so two writers
never lose each other's field; a token without ``patch`` falls back to reading the whole secret
and writing it back (``read`` and ``update``) with check-and-set, as ``bao kv patch`` does.

Authentication comes from the environment only, never from the command line or the scope
record, in this order: ``VAULT_TOKEN``; AppRole (``VAULT_ROLE_ID`` and ``VAULT_SECRET_ID``,
mount ``VAULT_APPROLE_MOUNT``, default ``approle``); JWT/OIDC (``VAULT_JWT`` or the file named by
``VAULT_JWT_FILE``, with ``VAULT_JWT_ROLE``, mount ``VAULT_JWT_MOUNT``, default ``jwt``); the
token file ``~/.vault-token`` that ``bao login`` / ``vault login`` write. ``VAULT_NAMESPACE``,
``VAULT_CACERT`` / ``VAULT_CAPATH`` (the CA to trust) and ``VAULT_CLIENT_TIMEOUT`` are read
as the Vault CLI reads them. Every ``VAULT_*`` variable may be spelled ``BAO_*`` instead, as the
OpenBao CLI does (``VAULT_*`` wins when both are set). Policies are enforced by the server; a denial is reported as
:class:`PermissionDeniedError` naming the scope, the key and the path, never a value.

``REDACTOR_VAULT_CACHE_TTL``
    Seconds a fetched secret stays in this process's memory (default: the life of the process,
    as for Key Vault; ``0`` reads every time). Values are never cached on disk.

Install with ``pip install 'redactor[vault]'``.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from redactor.sources.scopes.backend import (
    Scope,
    ScopeBackend,
    ScopeInfo,
    SecretInfo,
    env_seconds,
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
    "BACKEND_VAULT",
    "DEFAULT_MOUNT",
    "ENV_CACHE_TTL",
    "VaultBackend",
    "VaultScope",
    "clear_cache",
    "configure",
    "reset",
    "validate_mount",
    "validate_path",
    "validate_vault_addr",
]

BACKEND_VAULT = "VAULT"
DEFAULT_MOUNT = "secret"
ENV_CACHE_TTL = "REDACTOR_VAULT_CACHE_TTL"
INSTALL_HINT = "Vault / OpenBao-backed scopes need hvac: pip install 'redactor[vault]'"
TITLE = "HashiCorp Vault / OpenBao"
# A bounded number of check-and-set retries when another writer changed the secret between our
# read and our write (each retry is one read and one write, after a short random pause). Only
# the whole-secret writes need it (creating the secret, the read-and-write-back fallback, a mount
# with cas_required): a merge patch of one field is applied atomically by the server. Four
# threads writing 15 fields each into one secret (tests/sources/test_vault_scopes.py) never
# needed more than a few.
CAS_RETRIES = 20
LOOPBACK = ("127.0.0.1", "localhost", "::1")

_lock = threading.Lock()
_clients: dict[tuple[str, ...], Any] = {}
_mounts: dict[tuple[str, ...], None] = {}  # (client ident, mount) checked to be KV v2
# (client identity..., mount, path, version) -> (secret, expiry): one token never reads what
# another token's policies allowed.
_cache: dict[tuple[Any, ...], tuple[_Secret, float]] = {}
_cache_ttl: float | None = None  # None: read ENV_CACHE_TTL


@dataclass(frozen=True)
class _Secret:
    """One read of a KV v2 secret: its fields and the version they belong to."""

    data: dict[str, Any]
    version: int
    updated_ms: int
    deleted: bool = False  # the version is deleted (soft) or destroyed: no data


def configure(*, cache_ttl: float | None = None) -> None:
    """Set the cache lifetime in seconds (``math.inf``: the life of the process, ``0``: no
    cache) instead of ``REDACTOR_VAULT_CACHE_TTL``. Clears the clients and the cache."""
    global _cache_ttl
    with _lock:
        if cache_ttl is not None:
            if cache_ttl < 0 or math.isnan(cache_ttl):
                raise ValueError("cache_ttl must be >= 0")
            _cache_ttl = float(cache_ttl)
        _clients.clear()
        _mounts.clear()
        _cache.clear()


def clear_cache() -> None:
    """Forget every fetched value, login and mount check (after a rotation in Vault, say)."""
    with _lock:
        _clients.clear()
        _mounts.clear()
        _cache.clear()


def reset() -> None:
    """Back to the defaults: the TTL from the environment, no client, no cache."""
    global _cache_ttl
    with _lock:
        _cache_ttl = None
    clear_cache()


def _ttl() -> float:
    return _cache_ttl if _cache_ttl is not None else env_seconds(ENV_CACHE_TTL, math.inf)


# -- the options a scope records ------------------------------------------------------------------


def validate_vault_addr(addr: str) -> str:
    """``https://host[:port]`` (``http://`` only on a loopback address, where a dev server
    listens): a token sent over plain HTTP to another host could be read on the way."""
    parts = urlsplit(str(addr).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValueError(
            f"the Vault address must be a URL such as https://vault.example.com:8200, not {addr!r}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidValueError(
            f"the Vault address must be the server's base URL (https://vault.example.com:8200), "
            f"not {addr!r}"
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise InvalidValueError(
            f"the Vault address {addr!r} is plain http:// to another host, where the token could "
            "be read on the way: use https:// (http:// is accepted only on 127.0.0.1, localhost "
            "and ::1)"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _segments(text: str, what: str) -> str:
    cleaned = str(text).strip().strip("/")
    parts = cleaned.split("/")
    if not cleaned or any(p in ("", ".", "..") for p in parts):
        raise InvalidValueError(
            f"invalid Vault {what} {text!r}: use names separated by '/', without empty, '.' or "
            "'..' parts"
        )
    if any(c in cleaned for c in "?#%\\") or any(ord(c) < 32 for c in cleaned):
        raise InvalidValueError(
            f"invalid Vault {what} {text!r}: '?', '#', '%' and '\\' are refused"
        )
    return cleaned


def validate_mount(mount: str) -> str:
    """The KV v2 mount's path, without slashes at either end (``secret``, ``teams/kv``)."""
    return _segments(mount, "mount")


def validate_path(path: str) -> str:
    """The secret's path inside the mount (``app``, ``teams/etl/app``), without ``data/``."""
    return _segments(path, "path")


def _version(raw: Any) -> int:
    try:
        version = int(raw)
    except (TypeError, ValueError):
        version = 0
    if isinstance(raw, bool) or version < 1 or str(raw).strip() != str(version):
        raise InvalidValueError(f"the secret version must be a whole number >= 1, not {raw!r}")
    return version


# -- authentication from the environment -----------------------------------------------------------


def _getenv(name: str) -> str:
    """``VAULT_<name>``, else ``BAO_<name>`` (the OpenBao CLI's spelling), else ``""``."""
    return (os.environ.get(f"VAULT_{name}") or os.environ.get(f"BAO_{name}") or "").strip()


def _read_file(path: str, what: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BackendError(f"cannot read {what} {path!r}: {type(exc).__name__}") from None


def _auth_from_env() -> tuple[str, dict[str, str]]:
    """The sign-in the environment asks for: ``(method, parameters)``; see the module docstring
    for the order. Parameters hold credentials: never put them in a message."""
    if _getenv("TOKEN"):
        return "token", {"token": _getenv("TOKEN")}
    if _getenv("ROLE_ID"):
        params = {
            "role_id": _getenv("ROLE_ID"),
            "mount": (_getenv("APPROLE_MOUNT") or "approle").strip("/"),
        }
        if _getenv("SECRET_ID"):
            params["secret_id"] = _getenv("SECRET_ID")
        return "approle", params
    jwt = _getenv("JWT")
    if not jwt and _getenv("JWT_FILE"):
        jwt = _read_file(_getenv("JWT_FILE"), "VAULT_JWT_FILE")
    if jwt:
        role = _getenv("JWT_ROLE")
        if not role:
            raise BackendError(
                "VAULT_JWT / VAULT_JWT_FILE needs VAULT_JWT_ROLE, the role to log in as"
            )
        mount = (_getenv("JWT_MOUNT") or "jwt").strip("/")
        return "jwt", {"jwt": jwt, "role": role, "mount": mount}
    token_file = Path("~/.vault-token").expanduser()
    if token_file.is_file():
        token = _read_file(str(token_file), "the token file")
        if token:
            return "token", {"token": token}
    raise BackendError(
        "no Vault credentials in the environment: set VAULT_TOKEN, or VAULT_ROLE_ID and "
        "VAULT_SECRET_ID (AppRole), or VAULT_JWT / VAULT_JWT_FILE and VAULT_JWT_ROLE, or log in "
        "with `bao login` / `vault login` (~/.vault-token)"
    )


def _verify() -> bool | str:
    """TLS trust as the Vault CLI reads it: ``VAULT_CACERT`` over ``VAULT_CAPATH``, else the
    system store; ``VAULT_SKIP_VERIFY`` is deliberately not honoured (fail closed)."""
    for var in ("CACERT", "CAPATH"):
        path = _getenv(var)
        if path:
            if not os.path.exists(path):
                raise BackendError(f"VAULT_{var} names {path!r}, which does not exist")
            return path
    return True


def _timeout() -> float:
    raw = _getenv("CLIENT_TIMEOUT").rstrip("s")
    try:
        return float(raw) if raw else 30.0
    except ValueError:
        raise BackendError(f"VAULT_CLIENT_TIMEOUT must be seconds, not {raw!r}") from None


def _first_line(exc: BaseException) -> str:
    """hvac's error list (Vault's own words), else the exception's first line, bounded."""
    errors = getattr(exc, "errors", None)
    if errors:
        text = "; ".join(" ".join(str(e).split()) for e in errors)
    else:
        lines = str(exc).strip().splitlines()
        text = lines[0].strip() if lines else ""
    text = text or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


# -- the backend --------------------------------------------------------------------------------------


class VaultBackend(ScopeBackend):
    """Scopes whose values are the fields of one KV v2 secret in Vault or OpenBao."""

    name = BACKEND_VAULT
    title = TITLE
    read_only = False

    def open(self, info: ScopeInfo, store: LocalStore) -> VaultScope:
        addr = info.options.get("vault_addr")
        if not addr:
            raise SecretsError(f"scope {info.name!r} is Vault-backed but records no address")
        return VaultScope(
            info.name,
            addr,
            mount=info.options.get("mount", DEFAULT_MOUNT),
            path=info.options.get("path") or info.name,
            version=info.options.get("secret_version"),
            backend=self,
        )

    def check_options(self, scope: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """``vault_addr`` (default ``VAULT_ADDR``), ``mount`` (default ``secret``), ``path``
        (default: the scope's name) and ``secret_version`` (optional)."""
        known = {"vault_addr", "mount", "path", "secret_version"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidValueError(
                f"a {self.name} scope takes {', '.join(sorted(known))}, not {', '.join(unknown)}"
            )
        addr = options.get("vault_addr") or _getenv("ADDR")
        if not addr:
            raise InvalidValueError(
                f"a {self.name} scope needs the server's address: --vault-addr "
                "https://vault.example.com:8200 (or VAULT_ADDR)"
            )
        checked: dict[str, Any] = {
            "vault_addr": validate_vault_addr(addr),
            "mount": validate_mount(options.get("mount") or DEFAULT_MOUNT),
            "path": validate_path(options.get("path") or scope),
        }
        if options.get("secret_version") is not None:
            checked["secret_version"] = _version(options["secret_version"])
        return checked


class VaultScope(Scope):
    """One Vault-backed scope: the secret ``mount``/``path`` at ``addr`` (pinned to ``version``
    if given); its keys are the secret's fields."""

    def __init__(
        self,
        name: str,
        addr: str,
        *,
        mount: str = DEFAULT_MOUNT,
        path: str | None = None,
        version: int | None = None,
        backend: VaultBackend | None = None,
    ) -> None:
        self.addr = validate_vault_addr(addr)
        self.mount = validate_mount(mount)
        self.path = validate_path(path or name)
        self.version = _version(version) if version is not None else None
        options: dict[str, Any] = {"vault_addr": self.addr, "mount": self.mount, "path": self.path}
        if self.version is not None:
            options["secret_version"] = self.version
        backend = backend or VaultBackend()  # stateless: any instance serves
        super().__init__(backend, ScopeInfo(name, backend.name, options))

    def __repr__(self) -> str:
        pinned = f", version={self.version}" if self.version is not None else ""
        return f"VaultScope({self.name!r}, {self.addr!r}, {self.mount}/{self.path}{pinned})"

    @property
    def read_only(self) -> bool:
        """A scope pinned to a version is read-only: a write would make a version it never reads."""
        return self.version is not None

    @property
    def where(self) -> str:
        """For messages: the server and the secret's API path."""
        pinned = f" version {self.version}" if self.version is not None else ""
        return f"{TITLE} {self.addr}, {self.mount}/data/{self.path}{pinned}"

    # -- client, login, mount check -----------------------------------------------------------

    def _client(self) -> tuple[tuple[str, ...], Any]:
        """An authenticated ``hvac.Client`` for this address and the environment's credentials,
        kept per process (a login is one request); and its identity, for the caches."""
        try:
            import hvac
        except ImportError:
            raise MissingDependencyError(INSTALL_HINT) from None
        method, params = _auth_from_env()
        verify = _verify()
        namespace = _getenv("NAMESPACE") or None
        # Credentials go into the identity only as a digest, so the key holds no secret.
        digest = hashlib.sha256(json.dumps([method, params], sort_keys=True).encode()).hexdigest()
        ident = (self.addr, str(verify), namespace or "", method, digest)
        with _lock:
            client = _clients.get(ident)
        if client is not None:
            return ident, client
        client = hvac.Client(
            url=self.addr,
            token=params.get("token", ""),
            verify=verify,
            namespace=namespace,
            timeout=_timeout(),
        )
        if method != "token":
            self._login(client, method, params)
        with _lock:
            _clients[ident] = client
        return ident, client

    def _login(self, client: Any, method: str, params: dict[str, str]) -> None:
        import hvac.exceptions
        import requests

        what = "AppRole" if method == "approle" else "JWT"
        where = f"{TITLE} {self.addr} (auth mount {params['mount']!r}, scope {self.name!r})"
        try:
            if method == "approle":
                client.auth.approle.login(
                    role_id=params["role_id"],
                    secret_id=params.get("secret_id"),
                    mount_point=params["mount"],
                )
            else:
                client.auth.jwt.jwt_login(
                    role=params["role"], jwt=params["jwt"], path=params["mount"]
                )
        except hvac.exceptions.InvalidRequest as exc:
            raise PermissionDeniedError(
                f"{what} login refused by {where}: {_first_line(exc)}", scope=self.name
            ) from None
        except hvac.exceptions.Forbidden as exc:
            # OpenBao answers 403, not 404, for a login at a mount where nothing is enabled.
            raise PermissionDeniedError(
                f"{what} login refused by {where}: {_first_line(exc)} (is {what} enabled at "
                f"that mount? set VAULT_{'APPROLE' if method == 'approle' else 'JWT'}_MOUNT)",
                scope=self.name,
            ) from None
        except hvac.exceptions.InvalidPath:
            raise BackendError(
                f"cannot log in with {what} at {where}: no such auth method is enabled there "
                f"(set VAULT_{'APPROLE' if method == 'approle' else 'JWT'}_MOUNT)"
            ) from None
        except hvac.exceptions.VaultError as exc:
            raise BackendError(f"{what} login at {where} failed: {_first_line(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise BackendError(f"cannot reach {where}: {_first_line(exc)}") from None

    def _check_mount(self, ident: tuple[str, ...], client: Any) -> None:
        """Refuse a mount that is not KV version 2, once per client and mount, with the fix.

        ``sys/internal/ui/mounts/PATH`` is what the Vault CLI's ``kv`` commands ask: any token
        with a capability under the mount may read it, so no ``sys/mounts`` access is needed."""
        import hvac.exceptions

        key = (*ident, self.mount)
        with _lock:
            if key in _mounts:
                return
        try:
            info = client.adapter.get(f"/v1/sys/internal/ui/mounts/{quote(self.mount)}")
        except hvac.exceptions.Forbidden:
            raise PermissionDeniedError(
                f"scope {self.name!r}: {TITLE} {self.addr} has no mount {self.mount!r} this "
                "token may use (no such mount, no policy grants anything under it, or the token "
                "is invalid or expired)",
                scope=self.name,
            ) from None
        except hvac.exceptions.InvalidPath:
            raise ScopeNotFoundError(
                self.name, f" ({TITLE} {self.addr} has no mount {self.mount!r})"
            ) from None
        data = (info or {}).get("data") or {}
        kind = data.get("type")
        version = str((data.get("options") or {}).get("version") or "1")
        mounted = str(data.get("path") or "").strip("/")
        if mounted and mounted != self.mount:
            raise InvalidValueError(
                f"scope {self.name!r}: {self.mount!r} is not a mount of {self.addr}; the mount is "
                f"{mounted!r}: create the scope with --mount {mounted} and the rest in --path"
            )
        if kind not in ("kv", "generic"):
            raise InvalidValueError(
                f"scope {self.name!r}: mount {self.mount!r} of {self.addr} is a {kind!r} secrets "
                "engine, not a KV version 2 store"
            )
        if version != "2":
            raise InvalidValueError(
                f"scope {self.name!r}: mount {self.mount!r} of {self.addr} is KV version "
                f"{version}; redactor's Vault scopes need KV version 2 (upgrade it with "
                f"`bao kv enable-versioning {self.mount}`, or mount one with "
                f"`bao secrets enable -path=NAME kv-v2`)"
            )
        with _lock:
            _mounts[key] = None

    def _call(self, key: str | None, verb: str, fn: Any, on_invalid: Any = None) -> Any:
        """Run ``fn(client)`` after the mount check, mapping hvac's and requests' errors to the
        scope errors (naming scope, key and path, never a value). A login-derived token that
        was refused is dropped and the call retried once with a fresh login (it may have
        expired). ``on_invalid(exc)`` maps a 400 (the server refused the request itself)."""
        import hvac.exceptions
        import requests

        for attempt in (0, 1):
            ident, client = self._client()
            try:
                self._check_mount(ident, client)
                return fn(client)
            except hvac.exceptions.Forbidden as exc:
                if attempt == 0 and ident[3] != "token":
                    with _lock:
                        _clients.pop(ident, None)
                    continue
                raise self._denied(key, verb, exc) from None
            except hvac.exceptions.Unauthorized as exc:
                raise self._denied(key, verb, exc) from None
            except hvac.exceptions.VaultDown:
                raise BackendError(
                    f"{self.where} (scope {self.name!r}) is sealed or down"
                ) from None
            except hvac.exceptions.RateLimitExceeded:
                raise BackendError(
                    f"{self.where} (scope {self.name!r}) refused the request: rate limit exceeded"
                ) from None
            except hvac.exceptions.InvalidRequest as exc:
                if on_invalid is not None:
                    raise on_invalid(exc) from None
                raise BackendError(
                    f"{self.where} (scope {self.name!r}) refused to {verb}: {_first_line(exc)}"
                ) from None
            except hvac.exceptions.VaultError as exc:
                raise BackendError(
                    f"{self.where} (scope {self.name!r}) failed to {verb}: "
                    f"{type(exc).__name__}: {_first_line(exc)}"
                ) from None
            except requests.exceptions.RequestException as exc:
                raise BackendError(
                    f"cannot reach {TITLE} {self.addr} (scope {self.name!r}): "
                    f"{type(exc).__name__}: {_first_line(exc)}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _denied(self, key: str | None, verb: str, exc: BaseException) -> PermissionDeniedError:
        target = f"secret {key!r} in scope {self.name!r}" if key else f"scope {self.name!r}"
        return PermissionDeniedError(
            f"permission denied: cannot {verb} {target} ({self.where}): the token's policies do "
            f"not allow it, or the token is invalid or expired ({_first_line(exc)})",
            scope=self.name,
            key=key,
        )

    # -- reads -------------------------------------------------------------------------------------

    def _read(self, client: Any, include_deleted: bool = False) -> _Secret | None:
        """The secret as stored now (None: no secret at the path, or its version is deleted;
        with ``include_deleted``, a deleted version is returned, without data, for its number)."""
        import hvac.exceptions

        try:
            response = client.secrets.kv.v2.read_secret_version(
                path=self.path,
                version=self.version,
                mount_point=self.mount,
                raise_on_deleted_version=False,
            )
        except hvac.exceptions.InvalidPath:
            return None
        data = (response or {}).get("data") or {}
        metadata = data.get("metadata") or {}
        if data.get("data") is None or metadata.get("deletion_time") or metadata.get("destroyed"):
            if include_deleted and metadata.get("version"):
                return _Secret({}, int(metadata["version"]), 0, deleted=True)
            return None
        return _Secret(
            dict(data["data"]),
            int(metadata.get("version") or 0),
            _ms(metadata.get("created_time")),
        )

    def _secret(self, key: str | None) -> _Secret:
        """The secret, from the cache while its TTL lasts; ``key`` names the caller's key in
        errors. A missing secret raises (SecretNotFoundError for a key, else ScopeNotFound)."""
        ttl = _ttl()
        ident = (*self._client()[0], self.mount, self.path, self.version)
        now = time.monotonic()
        if ttl > 0:
            with _lock:
                hit = _cache.get(ident)
            if hit is not None and hit[1] > now:
                return hit[0]
        secret = self._call(key, "read", self._read)
        if secret is None:
            detail = f" (no secret at {self.where}, or that version is deleted)"
            if key is not None:
                raise SecretNotFoundError(self.name, key, detail)
            raise ScopeNotFoundError(self.name, detail)
        if ttl > 0:
            with _lock:
                _cache[ident] = (secret, now + ttl)
        return secret

    def _forget(self) -> None:
        with _lock:
            stale = [i for i in _cache if i[0] == self.addr and i[-3:-1] == (self.mount, self.path)]
            for ident in stale:
                del _cache[ident]

    def get(self, key: str) -> str:
        """Field ``key`` of the secret (case-insensitively, as Databricks keys are); a field
        that is not a string is returned as its JSON text."""
        secret = self._secret(key)
        field = _field(secret.data, key)
        if field is None:
            raise SecretNotFoundError(self.name, key, f" (no field {key!r} at {self.where})")
        return _text(secret.data[field])

    def list(self) -> builtins.list[SecretInfo]:
        """The secret's fields with its version's time (never values), case-insensitively sorted."""
        secret = self._secret(None)
        return [
            SecretInfo(k, secret.updated_ms) for k in sorted(secret.data, key=lambda s: s.lower())
        ]

    def items(self) -> builtins.list[tuple[str, str | bytes]]:
        """Every ``(field, value)`` from one read."""
        secret = self._secret(None)
        return [(k, _text(secret.data[k])) for k in sorted(secret.data, key=lambda s: s.lower())]

    # -- writes ------------------------------------------------------------------------------------

    def _refuse_if_pinned(self, verb: str) -> None:
        if self.version is not None:
            raise self.read_only_error(verb)

    def read_only_error(self, verb: str) -> ReadOnlyScopeError:
        if self.version is not None:
            return ReadOnlyScopeError(
                f"cannot {verb} in scope {self.name!r}: it reads version {self.version} of "
                f"{self.mount}/{self.path}, pinned, and is read-only here; link a scope without "
                "--secret-version to change the secret"
            )
        return super().read_only_error(verb)

    def put(self, key: str, value: str | bytes) -> None:
        """Create or overwrite field ``key`` (an existing field of another case is overwritten,
        since keys are case-insensitive); creates the secret if there is none."""
        self._refuse_if_pinned("put a secret")
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidValueError(
                    f"cannot put {key!r} in scope {self.name!r}: KV v2 fields hold JSON text, "
                    "and this value is bytes that are not UTF-8"
                ) from None
        if not isinstance(value, str):
            raise InvalidValueError(f"the value of {key!r} must be str or bytes")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # JSON would carry it as \udXXX and the server would store U+FFFD instead
            raise InvalidValueError(
                f"cannot put {key!r} in scope {self.name!r}: the value is not valid Unicode "
                "text (it holds lone surrogates)"
            ) from None
        text = value
        self._write(key, "put", lambda data: _field(data, key) or key, text)

    def delete(self, key: str) -> None:
        """Remove field ``key`` from the secret (a new version without it)."""
        self._refuse_if_pinned("delete a secret")
        self._write(key, "delete", lambda data: _field(data, key), None)

    def _write(self, key: str, verb: str, name_of: Any, value: str | None) -> None:
        """Merge ``{field: value}`` (``None`` removes the field) into the secret: PATCH with
        check-and-set on the version read; without the ``patch`` capability, read-modify-write."""
        import hvac.exceptions

        def attempt(client: Any) -> None:
            for n in range(CAS_RETRIES):
                if n:
                    time.sleep(random.uniform(0, 0.005 * n))  # desynchronise competing writers
                current = self._read(client, include_deleted=True)
                if current is None or current.deleted:
                    if value is None:
                        raise SecretNotFoundError(self.name, key, f" (no secret at {self.where})")
                    # a new secret, or a new version over a deleted one
                    data: dict[str, Any] = {key: value}
                    if self._post(client, data, cas=current.version if current else 0):
                        return
                    continue
                field = name_of(current.data)
                if field is None:
                    raise SecretNotFoundError(
                        self.name, key, f" (no field {key!r} at {self.where})"
                    )
                try:
                    ok = self._patch(client, {field: value}, current.version, cas_required=n > 0)
                except hvac.exceptions.Forbidden:
                    # no `patch` capability: write the whole secret back, as `bao kv patch` does
                    data = dict(current.data)
                    if value is None:
                        del data[field]
                    else:
                        data[field] = value
                    ok = self._post(client, data, cas=current.version)
                if ok:
                    return
            raise BackendError(
                f"cannot {verb} {key!r} in scope {self.name!r}: {self.where} kept changing "
                f"({CAS_RETRIES} check-and-set attempts)"
            )

        try:
            self._call(
                key,
                "write" if value is not None else "delete",
                attempt,
                on_invalid=lambda exc: self._refused(key, verb, exc, value),
            )
        finally:
            self._forget()

    def _patch(
        self, client: Any, data: dict[str, Any], version: int, cas_required: bool = False
    ) -> bool:
        """One JSON merge patch of the fields in ``data``, applied atomically by the server, so
        no check-and-set is sent unless the mount requires one (``cas_required``); then False
        when check-and-set found a newer version."""
        import hvac.exceptions

        body: dict[str, Any] = {"data": data}
        if cas_required:
            body["options"] = {"cas": version}
        try:
            client.adapter.request(
                "patch",
                f"/v1/{quote(self.mount)}/data/{quote(self.path)}",
                json=body,
                headers={"Content-Type": "application/merge-patch+json"},
            )
        except hvac.exceptions.InvalidRequest as exc:
            if _cas_mismatch(exc):  # a mismatch, or "check-and-set parameter required"
                return False
            raise
        return True

    def _post(self, client: Any, data: dict[str, Any], cas: int) -> bool:
        """Write the whole secret; False when check-and-set found another version."""
        import hvac.exceptions

        try:
            client.secrets.kv.v2.create_or_update_secret(
                path=self.path, secret=data, cas=cas, mount_point=self.mount
            )
        except hvac.exceptions.InvalidRequest as exc:
            if _cas_mismatch(exc):
                return False
            raise
        return True

    def _refused(self, key: str, verb: str, exc: BaseException, value: str | None) -> SecretsError:
        message = _first_line(exc)
        if value and value in message:  # never echo a value, whatever the server says
            message = message.replace(value, "[REDACTED]")
        if "maximum number of strings" in message or "high complexity" in message:
            return LimitExceededError(
                f"cannot {verb} {key!r} in scope {self.name!r}: {self.where} refused the request "
                f"as too complex ({message}); the token lacks the `patch` capability, so the "
                "whole secret was written back, which an OpenBao listener refuses above 499 "
                "fields by default (max_request_json_strings = 1000): grant `patch`, or split "
                "the secret"
            )
        return InvalidValueError(
            f"cannot {verb} {key!r} in scope {self.name!r}: {self.where} refused: {message}"
        )


def _cas_mismatch(exc: BaseException) -> bool:
    return "check-and-set" in _first_line(exc)


def _field(data: Mapping[str, Any], key: str) -> str | None:
    """The field that ``key`` names: the exact name, else the one field equal but for case."""
    if key in data:
        return key
    matches = [k for k in data if k.lower() == key.lower()]
    if len(matches) > 1:
        raise InvalidValueError(
            f"key {key!r} matches several fields that differ only in case "
            f"({', '.join(sorted(matches))}); keys are case-insensitive, so rename one in Vault"
        )
    return matches[0] if matches else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _ms(stamp: Any) -> int:
    """RFC 3339 with nanoseconds (``2026-12-02T00:02:45.518048725Z``) -> ms since the epoch."""
    if not stamp:
        return 0
    text = str(stamp).replace("Z", "+00:00")
    head, _, tail = text.partition(".")
    if tail:
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        return 0
