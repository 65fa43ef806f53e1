"""``{{secrets/<scope>/<key>}}`` references: configuration that names a secret instead of holding it.

On Databricks a cluster's environment variables and Spark properties say
``{{secrets/kv-scope/sql-db-password}}`` and the platform puts the value in at start. This module
does the same from any scope backend (:mod:`redactor.sources.scopes`: the local store, Key Vault):
a reference may stand anywhere in a value (``jdbc:...;password={{secrets/s/k}}``) and is replaced
in place. Every value it fetches is registered for redaction before the resolved text is handed
out: the part as ``scope/key`` (the name ``dbutils.secrets.get`` gives it) and, when the reference
was only part of the value, the whole result as well, under the variable's name, since the whole
is what a program will print (a connection string, a URL).

Resolution fails closed and all at once: every reference is fetched before anything is returned,
and every one that cannot be (no such scope or key, a store that cannot be opened, a vault that
refuses, a malformed reference) is listed in one :class:`UnresolvedReferenceError` naming the
variable, the scope and the key, never a value. There is no escape syntax, as on Databricks: a
value that must hold the literal text ``{{secrets/`` cannot go through a resolver.

Who calls it: ``redactor run`` (its own environment and ``--env-file``), :func:`redactor.resolve`
in Python, and :func:`redactor.spark.resolve_spark_conf` before a local Spark session starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from redactor.engine.default import register_once
from redactor.errors import RedactorError, SourceError
from redactor.sources.channel import ChannelError, announce
from redactor.sources.dotenv import dotenv_bindings

if TYPE_CHECKING:
    from pathlib import Path

    from redactor.engine.redactor import Redactor
    from redactor.sources.scopes.backend import Scope

__all__ = [
    "OPENING",
    "REFERENCE_RE",
    "Failure",
    "Reference",
    "Resolver",
    "UnresolvedReferenceError",
    "find_references",
    "resolve",
    "resolve_environment",
]

# Databricks' names for scopes and keys (redactor.sources.scopes.backend.NAME_RE), between the
# literal ``{{secrets/`` and ``}}``: no spaces inside the braces, as on Databricks.
_NAME = r"[A-Za-z0-9_.@-]{1,128}"
REFERENCE_RE = re.compile(r"\{\{secrets/(" + _NAME + r")/(" + _NAME + r")\}\}")
OPENING = "{{secrets/"

_HOW = (
    "write {{secrets/SCOPE/KEY}}, each name 1 to 128 letters, digits, '-', '_', '.' or '@', "
    "no spaces"
)

T = TypeVar("T")


@dataclass(frozen=True)
class Reference:
    """One ``{{secrets/scope/key}}`` found at ``value[start:end]``."""

    scope: str
    key: str
    start: int
    end: int

    @property
    def text(self) -> str:
        return f"{{{{secrets/{self.scope}/{self.key}}}}}"

    @property
    def name(self) -> str:
        """The name the value is registered under, as ``dbutils.secrets.get`` names it."""
        return f"{self.scope}/{self.key}"


@dataclass(frozen=True)
class Failure:
    """A reference that could not be resolved: where it was, what it named and why (never a
    value). ``scope`` and ``key`` are None for a malformed reference."""

    where: str
    scope: str | None
    key: str | None
    reason: str

    def __str__(self) -> str:
        if self.scope is None:
            return f"{self.where}: {self.reason}"
        return (
            f"{self.where}: cannot resolve {{{{secrets/{self.scope}/{self.key}}}}}: {self.reason}"
        )


class UnresolvedReferenceError(SourceError, LookupError):
    """One or more references could not be resolved; ``failures`` lists each. The message names
    variables, scopes and keys only (exit status 2 on the command line)."""

    def __init__(self, failures: list[Failure]) -> None:
        self.failures = list(failures)
        if len(self.failures) == 1:
            message = str(self.failures[0])
        else:
            message = f"{len(self.failures)} secret references cannot be resolved:\n" + "\n".join(
                f"  {f}" for f in self.failures
            )
        super().__init__(message)


def find_references(value: str) -> tuple[list[Reference], list[int]]:
    """The well-formed references in ``value``, and the offsets of every ``{{secrets/`` that does
    not start one (malformed: a missing brace, a space, a third path part...)."""
    refs = [Reference(m[1], m[2], m.start(), m.end()) for m in REFERENCE_RE.finditer(value)]
    starts = {r.start for r in refs}
    bad = []
    at = value.find(OPENING)
    while at >= 0:
        if at not in starts:
            bad.append(at)
        at = value.find(OPENING, at + 1)
    return refs, bad


def _fetch_from_scopes() -> Callable[[str, str], str | bytes]:
    """A fetcher that opens each scope once (a Key Vault client signs in once per scope).

    The scopes are imported here, not at the top: the local store's cryptography and SQLite are
    25 ms of every command's start-up (measured for redactor.sources.load), and ``redactor run``
    needs them only when its environment holds a reference."""
    from redactor.sources.scopes import open_scope, validate_name

    opened: dict[str, Scope] = {}

    def fetch(scope: str, key: str) -> str | bytes:
        validate_name(scope, "scope name")
        validate_name(key, "secret key")
        handle = opened.get(scope.lower())
        if handle is None:
            handle = opened[scope.lower()] = open_scope(scope)
        return handle.get(key)

    return fetch


def _reason(exc: BaseException) -> str:
    """Why a fetch failed, without a value: the project's own errors say it (they name scopes,
    keys and files only); anything else by kind, without its message or chain, which might quote
    a response or a file."""
    if isinstance(exc, RedactorError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


@dataclass
class Resolver:
    """Resolves references in many values, fetching each ``scope/key`` once, and keeps what must
    be registered (``secrets``: ``(name, value)``, parts first) and what failed (``failures``).

    ``fetch(scope, key)`` defaults to the secret scopes; a test or an embedding may pass another.
    Nothing is registered here: :meth:`register` does it once every value resolved."""

    fetch: Callable[[str, str], str | bytes] | None = field(default=None, repr=False)
    # Values: never in the repr, so that printing or logging a resolver shows no secret.
    secrets: list[tuple[str, str]] = field(default_factory=list, repr=False)
    failures: list[Failure] = field(default_factory=list)
    _cache: dict[tuple[str, str], str | Failure] = field(
        default_factory=dict, init=False, repr=False
    )

    def _get(self, ref: Reference, where: str) -> str | None:
        ident = (ref.scope.lower(), ref.key)
        got = self._cache.get(ident)
        if got is None:
            if self.fetch is None:
                self.fetch = _fetch_from_scopes()
            try:
                raw = self.fetch(ref.scope, ref.key)
                if isinstance(raw, (bytes, bytearray)):
                    try:
                        raw = bytes(raw).decode("utf-8")
                    except UnicodeDecodeError:
                        raise _NotText from None
                got = raw
                self.secrets.append((ref.name, raw))
            except _NotText:
                got = Failure(where, ref.scope, ref.key, "it holds bytes that are not UTF-8 text")
            except Exception as exc:  # every failure is reported, none escapes with its chain
                got = Failure(where, ref.scope, ref.key, _reason(exc))
            self._cache[ident] = got
        if isinstance(got, Failure):
            self.failures.append(Failure(where, got.scope, got.key, got.reason))
            return None
        return got

    def value(self, value: str, where: str, name: str | None = None) -> str:
        """``value`` with every reference replaced; ``where`` names it in failures (``variable
        DB_URL``), ``name`` in the redactor when the reference is only part of it. On a failure
        the value comes back unchanged and the failure is in ``failures``."""
        if OPENING not in value:
            return value
        refs, bad = find_references(value)
        out: list[str] = []
        last = 0
        ok = not bad
        found: list[Reference | int] = [*refs, *bad]
        for ref in sorted(found, key=lambda r: r if isinstance(r, int) else r.start):
            if isinstance(ref, int):  # failures are listed in the order they stand in the value
                message = f"malformed secret reference at character {ref}: {_HOW}"
                self.failures.append(Failure(where, None, None, message))
                continue
            got = self._get(ref, where)
            if got is None:
                ok = False
                continue
            out += [value[last : ref.start], got]
            last = ref.end
        if not ok:
            return value
        out.append(value[last:])
        whole = "".join(out)
        if not (len(refs) == 1 and refs[0].start == 0 and refs[0].end == len(value)):
            self.secrets.append((name or where, whole))
        return whole

    def check(self) -> None:
        """Raise :class:`UnresolvedReferenceError` for every failure so far."""
        if self.failures:
            raise UnresolvedReferenceError(self.failures)

    def register(self, redactor: Redactor | None = None) -> list[str]:
        """Register every resolved value (each once); returns the names refused as too short.

        With ``redactor`` None the process-wide redactor gets them and so does the process
        carrying this one's output (a kernel, ``redactor run``), as ``dbutils.secrets.get``
        does; an explicit ``redactor`` gets them alone."""
        refused = []
        for name, value in self.secrets:
            if not register_once(value, name, redactor):
                refused.append(name)
                continue
            if redactor is None:
                try:
                    announce(name, value)
                except ChannelError as exc:
                    raise SourceError(f"secret {name!r} not resolved: {exc}") from None
        return refused


class _NotText(Exception):
    pass


def _walk(resolver: Resolver, value: Any, where: str) -> Any:
    if isinstance(value, str):
        return resolver.value(value, where)
    if isinstance(value, Mapping):
        return {
            k: _walk(resolver, v, f"{where}.{k}" if where else str(k)) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [_walk(resolver, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return type(value)(items) if isinstance(value, tuple) else items
    return value


def resolve(value: T, *, redactor: Redactor | None = None, name: str | None = None) -> T:
    """``value`` with every ``{{secrets/scope/key}}`` replaced by the secret, each registered first.

    ``value`` is a string, or a mapping (a Spark configuration, a dict of settings), list or tuple
    of them, nested as deep as you like; keys and other values are kept as they are, and a
    mapping comes back as a dict. Every value fetched is registered with ``redactor`` (default:
    the process-wide one, and the carrier of this process's output, as ``dbutils.secrets.get``
    does) as ``scope/key``; a string that was only partly a reference is registered whole as
    well, named by its key in the mapping (``spark.jdbc.url``), or ``name`` for a string.

    Raises :class:`UnresolvedReferenceError` listing every reference that cannot be resolved
    (where it is, its scope and key, why), before anything is registered or returned::

        >>> redactor.resolve("jdbc:sqlserver://db;password={{secrets/kv-scope/sql-db-password}}")
        'jdbc:sqlserver://db;password=...'   # and the password is [REDACTED] wherever it prints
    """
    resolver = Resolver()
    if isinstance(value, str):
        out: Any = resolver.value(value, "the value", name or "resolved value")
    else:
        out = _walk(resolver, value, name or "")
    resolver.check()
    resolver.register(redactor)
    return out


def resolve_environment(
    environ: Mapping[str, str],
    env_files: Sequence[Path] = (),
    resolver: Resolver | None = None,
    *,
    run_env: Sequence[tuple[str, str]] = (),
    run_env_from: str = "[tool.redactor] run-env",
) -> tuple[dict[str, str], Resolver]:
    """A command's environment: ``environ``, then the ``run-env`` variables of ``[tool.redactor]``
    (``run_env_from`` names where they were read), then each dotenv file's variables over both (a
    later file wins, as ``docker run --env-file`` and ``op run --env-file`` do), with every
    reference resolved. Returns it with the :class:`Resolver`, whose ``secrets`` the caller registers before
    the command starts; raises :class:`UnresolvedReferenceError` naming each variable, scope and
    key that failed (a file that cannot be read or parsed is a ConfigError naming its lines).

    Values of the files are taken literally (no ``${VAR}`` expansion, as for ``secrets-file``);
    an empty value sets the variable to the empty string."""
    resolver = resolver or Resolver()
    source: dict[str, str] = {}
    merged = dict(environ)
    for name, value in run_env:
        merged[name] = value
        source[name] = run_env_from
    for path in env_files:
        for name, value in dotenv_bindings(path, "env file"):
            merged[name] = value
            source[name] = f"env file {path}"
    out: dict[str, str] = {}
    for name, value in merged.items():
        if OPENING not in value:
            out[name] = value
            continue
        where = f"variable {name}" + (f" ({source[name]})" if name in source else "")
        resolved = resolver.value(value, where, f"env/{name}")  # as --secret-env names it
        if resolved is not value and "\0" in resolved:
            resolver.failures.append(
                Failure(
                    where,
                    None,
                    None,
                    "a secret it references holds a NUL character, "
                    "which an environment variable cannot hold",
                )
            )
        out[name] = resolved
    resolver.check()
    return out, resolver
