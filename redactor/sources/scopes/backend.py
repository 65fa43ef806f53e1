"""The interface every scope backend implements, and the registry keyed by backend type.

A scope is recorded in the local store's catalogue with its backend type (``DATABRICKS`` for the
encrypted local store, ``AZURE_KEYVAULT``, ...) and that backend's options. Reading or changing
it goes through the backend registered under that type: :func:`get_backend` then
:meth:`ScopeBackend.open`, which gives a :class:`Scope`. A new backend is one module with a
:class:`ScopeBackend` subclass, registered in :mod:`redactor.sources.scopes` with
:func:`register_backend`; nothing else dispatches on the type.
"""

from __future__ import annotations

import abc
import builtins
import math
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from redactor.sources.scopes.errors import (
    BackendError,
    InvalidNameError,
    InvalidValueError,
    NewerFormatError,
    ReadOnlyScopeError,
)

if TYPE_CHECKING:  # the catalogue a backend receives; local/ imports this module
    from redactor.sources.scopes.local.store import LocalStore

__all__ = [
    "KEY_RE",
    "NAME_RE",
    "Scope",
    "ScopeBackend",
    "ScopeInfo",
    "SecretInfo",
    "backend_names",
    "env_seconds",
    "get_backend",
    "register_backend",
    "validate_name",
]

# Databricks' rules for scope and key names, kept for every backend (a backend with narrower
# names, such as Key Vault, refuses the rest with a suggestion): scope names may hold '@'
# ("alphanumeric characters, dashes, underscores, @, and periods"), secret keys may not
# ("alphanumeric characters, dashes, underscores, and periods"); both at most 128 characters.
NAME_RE = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def env_seconds(variable: str, default: float) -> float:
    """A duration in seconds from the environment (a remote backend's cache TTL, its retry
    budget): ``default`` when unset, a :class:`BackendError` naming the variable when it is not
    a number >= 0."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BackendError(f"{variable} must be a number of seconds, not {raw!r}") from None
    if value < 0 or math.isnan(value):
        raise BackendError(f"{variable} must be >= 0")
    return value


def validate_name(name: object, what: str = "name", where: str = "") -> str:
    """A scope or key name by Databricks' rules: letters, digits, ``-``, ``_``, ``.`` (and
    ``@`` in scope names), 1 to 128 characters.

    The message never repeats a rejected name: a value typed where a name goes (``put-secret
    prod 'Sup3r$ecret'``) would be printed otherwise. ``where`` names its position instead
    (``"argument 2"``).
    """
    at = f" ({where})" if where else ""
    if not isinstance(name, str):
        raise InvalidNameError(f"{what}{at} must be a string, not {type(name).__name__}")
    is_key = what == "secret key"
    if not (KEY_RE if is_key else NAME_RE).fullmatch(name):
        chars = "'-', '_', '.'" if is_key else "'-', '_', '.', '@'"
        raise InvalidNameError(f"invalid {what}{at}: use letters, digits, {chars} (at most 128)")
    return name


@dataclass(frozen=True)
class ScopeInfo:
    """A scope as the catalogue records it: name (as created), backend type, options."""

    name: str
    backend: str = "DATABRICKS"  # the local store's type, as Databricks calls it
    options: dict[str, Any] = field(default_factory=dict)
    created_ms: int = 0

    @property
    def read_only(self) -> bool:
        """True unless the scope's backend accepts put and delete (unknown backends: True)."""
        backend = _registry.get(self.backend)
        return backend is None or backend.read_only


@dataclass(frozen=True)
class SecretInfo:
    key: str
    last_updated_timestamp: int  # milliseconds since the epoch, as in the Databricks API


class Scope(abc.ABC):
    """One opened scope. Every method names scopes and keys in its errors, never values."""

    def __init__(self, backend: ScopeBackend, info: ScopeInfo) -> None:
        self.backend = backend
        self.info = info

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def read_only(self) -> bool:
        return self.backend.read_only

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.backend.name})>"

    @abc.abstractmethod
    def get(self, key: str) -> str | bytes:
        """The value of ``key``: ``str`` for text, ``bytes`` for bytes."""

    @abc.abstractmethod
    def list(self) -> builtins.list[SecretInfo]:
        """Keys and last-updated times, sorted case-insensitively (never values)."""

    @abc.abstractmethod
    def items(self) -> builtins.list[tuple[str, str | bytes]]:
        """Every ``(key, value)``, all fetched before the list is returned."""

    def read_only_error(self, verb: str) -> ReadOnlyScopeError:
        """The refusal of ``verb`` ("put a secret") when :attr:`read_only` is true."""
        return self.backend.read_only_error(self.name, verb)

    def put(self, key: str, value: str | bytes) -> None:
        """Create or overwrite ``key`` (refused by read-only backends)."""
        raise self.backend.read_only_error(self.name, "put a secret")

    def delete(self, key: str) -> None:
        """Delete ``key`` (refused by read-only backends)."""
        raise self.backend.read_only_error(self.name, "delete a secret")


class ScopeBackend(abc.ABC):
    """A kind of scope: where its values live and how to reach them."""

    name: ClassVar[str]  # the backend type recorded in the catalogue, e.g. "AZURE_KEYVAULT"
    title: ClassVar[str]  # for messages: "Azure Key Vault"
    read_only: ClassVar[bool] = True
    change_hint: ClassVar[str] = ""  # where to change the secrets of a read-only scope

    @abc.abstractmethod
    def open(self, info: ScopeInfo, store: LocalStore) -> Scope:
        """The scope ``info`` of this backend; ``store`` is the catalogue that records it."""

    def check_options(self, scope: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The options to record for a new scope, checked and normalised (default: none)."""
        if options:
            raise InvalidValueError(
                f"a {self.name} scope takes no options ({', '.join(sorted(options))} given)"
            )
        return {}

    def read_only_error(self, scope: str, verb: str) -> ReadOnlyScopeError:
        hint = f"; {self.change_hint}" if self.change_hint else ""
        return ReadOnlyScopeError(
            f"cannot {verb} in scope {scope!r}: it is backed by {self.title} and read-only "
            f"here{hint}"
        )

    def __repr__(self) -> str:
        return f"<scope backend {self.name}>"


_registry: dict[str, ScopeBackend] = {}
_registry_lock = threading.Lock()


def register_backend(backend: ScopeBackend) -> ScopeBackend:
    """Make ``backend`` serve the scopes recorded with its type (replacing one of that type)."""
    with _registry_lock:
        _registry[backend.name] = backend
    return backend


def backend_names() -> tuple[str, ...]:
    """Every registered backend type, in registration order (the local store first)."""
    return tuple(_registry)


def get_backend(name: str, scope: str | None = None) -> ScopeBackend:
    """The backend registered as ``name``; ``scope`` names the scope in the error."""
    backend = _registry.get(name)
    if backend is None:
        where = f"scope {scope!r} has" if scope is not None else "the"
        raise NewerFormatError(
            f"{where} backend type {name!r}, which this redactor does not know "
            f"(known: {', '.join(_registry)}): upgrade redactor"
        )
    return backend
