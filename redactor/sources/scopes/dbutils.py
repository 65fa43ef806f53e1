"""``dbutils.secrets``: the Databricks notebook API over redactor's scopes.

Every value ``get``/``getBytes`` returns is first registered with the process-wide redactor
(:func:`redactor.get_redactor`) as ``scope/key``, so any installed hook redacts it from the moment
the caller holds it; in a child of a kernel or of ``redactor run`` it is registered with that
carrier's redactor as well (see :mod:`redactor.sources.channel`) before it is returned. Return
types and helper types follow the Databricks SDK: ``list`` gives ``SecretMetadata(key=...)``
items, ``listScopes`` gives ``SecretScope(name=...)`` items with ``getName()``.
"""

from __future__ import annotations

import builtins
from typing import NamedTuple

from redactor.engine.default import register_once
from redactor.sources.channel import ChannelError, announce
from redactor.sources.scopes.access import get_secret, list_scopes, list_secrets
from redactor.sources.scopes.errors import SecretsError
from redactor.sources.scopes.local.plain import Plain

__all__ = ["DBUtils", "SecretMetadata", "SecretScope", "SecretsUtil", "dbutils"]


class SecretScope(NamedTuple):
    name: str

    def getName(self) -> str:
        return self.name


class SecretMetadata(NamedTuple):
    key: str


_HELP = """\
dbutils.secrets provides utilities for leveraging secrets within notebooks.
Values returned by get and getBytes are registered with redactor and shown as [REDACTED].

get(scope: String, key: String): String -> Gets the string representation of a secret value with scope and key
getBytes(scope: String, key: String): byte[] -> Gets the bytes representation of a secret value with scope and key
list(scope: String): Seq -> Lists secret metadata for secrets within a scope
listScopes: Seq -> Lists secret scopes

Scopes and secrets are managed with `redactor secrets create-scope|put-secret|...`.
"""

_METHOD_HELP = {
    "get": "get(scope: str, key: str) -> str: the secret's value as text (registered for redaction)",
    "getBytes": "getBytes(scope: str, key: str) -> bytes: the secret's value as bytes (registered)",
    "list": "list(scope: str) -> list[SecretMetadata]: the keys of a scope, never values",
    "listScopes": "listScopes() -> list[SecretScope]: every scope",
}


def _register(name: str, plain: Plain) -> None:
    """Register with this process's redactor, then with the redactor of the process carrying
    this one's output (a kernel or ``redactor run`` this is a child of), before returning.

    The value stays in ``plain`` (no local of this frame holds it), and a failure is raised
    outside the ``except`` block: the ChannelError's frames hold the value, so it must not be
    the new error's ``__context__``."""
    if not register_once(plain.value, name):  # type: ignore[arg-type]
        return  # refused as too short, with a warning: no redactor anywhere will hold it
    why = ""
    try:
        announce(name, plain.value)  # type: ignore[arg-type]
    except ChannelError as exc:
        why = str(exc)
    if why:
        raise SecretsError(f"secret {name!r} not returned: {why}")


def _check_args(scope: object, key: object) -> None:
    for what, arg in (("scope", scope), ("key", key)):
        if not isinstance(arg, str):
            raise TypeError(f"{what} must be a str, not {type(arg).__name__}")


class SecretsUtil:
    """The ``dbutils.secrets`` object."""

    def get(self, scope: str, key: str) -> str:
        """The value of ``scope/key`` as text, registered for redaction before it is returned.

        The value lives in a :class:`Plain` cleared when the call ends, so a traceback with
        locals shows it in no frame of ours (see :mod:`redactor.sources.scopes.local.plain`)."""
        _check_args(scope, key)
        plain = Plain(get_secret(scope, key))
        try:
            if isinstance(plain.value, bytes):
                text = None
                try:
                    text = plain.value.decode("utf-8")
                except UnicodeDecodeError:
                    pass  # raised below: the error's `object` is the value
                if text is None:
                    # Register the bytes anyway: the caller has seen that they exist.
                    _register(f"{scope}/{key}", plain)
                    raise SecretsError(
                        f"secret {key!r} in scope {scope!r} holds bytes that are not UTF-8 "
                        "text; use dbutils.secrets.getBytes"
                    )
                plain.value, text = text, None
            _register(f"{scope}/{key}", plain)
            return plain.value  # type: ignore[return-value]
        finally:
            plain.clear()

    def getBytes(self, scope: str, key: str) -> bytes:
        """The value of ``scope/key`` as bytes (text is UTF-8 encoded), registered first."""
        _check_args(scope, key)
        plain = Plain(get_secret(scope, key))
        try:
            if isinstance(plain.value, str):
                plain.value = plain.value.encode("utf-8")
            _register(f"{scope}/{key}", plain)
            return plain.value  # type: ignore[return-value]
        finally:
            plain.clear()

    def list(self, scope: str) -> builtins.list[SecretMetadata]:
        """The keys in ``scope`` (never values)."""
        if not isinstance(scope, str):
            raise TypeError(f"scope must be a str, not {type(scope).__name__}")
        return [SecretMetadata(s.key) for s in list_secrets(scope)]

    def listScopes(self) -> builtins.list[SecretScope]:
        """Every scope, whatever its backend."""
        return [SecretScope(s.name) for s in list_scopes()]

    def help(self, method: str | None = None) -> None:
        print(_METHOD_HELP.get(method, _HELP) if method else _HELP)

    def __repr__(self) -> str:
        return "<dbutils.secrets: get, getBytes, list, listScopes, help>"


class DBUtils:
    """The ``dbutils`` object; only ``secrets`` is provided."""

    def __init__(self) -> None:
        self.secrets = SecretsUtil()

    def help(self) -> None:
        print(
            "This module provides dbutils.secrets (get, getBytes, list, listScopes, help), "
            "backed by redactor's secret scopes.\nRun dbutils.secrets.help() for details."
        )

    def __repr__(self) -> str:
        return "<redactor dbutils: secrets>"


dbutils = DBUtils()
