"""Where secret values come from, and the one function that builds a redactor from them.

The sources are named by the settings (:class:`redactor.config.Settings`: ``scopes``,
``secret-env``, ``env-pattern``, ``secrets-file``, given on the command line, under
``[tool.redactor]``, as nbconvert traits or keyword arguments) and read by one module each:
:mod:`redactor.sources.env` (environment variables), :mod:`redactor.sources.dotenv` (dotenv
files) and :mod:`redactor.sources.scopes` (the local store, Key Vault). Values are never taken
from the command line itself: they would leak into shell history and process lists.

A redaction tool fails closed: configured sources that yield no secret value (``env-pattern``
with the variables not exported, as in a commit from an IDE) raise :class:`NoSecretValues`, and a
source that cannot be read (a missing or unreadable secrets file, a dotenv line that cannot be
parsed, a scope that cannot be listed, an unset ``--secret-env``) raises :class:`ConfigError`,
before anything is redacted, so that no command passes output through as if it had been checked.
``allow-empty`` lets "nothing to redact" pass; it never excuses a source that cannot be read.

Discovery (:mod:`redactor.sources.discovery`, the ``discover`` setting, on by default) adds the
credentials the process can already read, named as discovery names them (``env:GITHUB_TOKEN``).
With no source configured, what it finds is enough to run; with nothing found at all the command
still stops with :data:`HOW_TO_CONFIGURE`. It never stands in for a configured source: configured
sources that give nothing still raise :class:`NoSecretValues`, whatever discovery found.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from redactor.config import (
    ENV_DETECT,
    ENV_DISCOVER,
    Settings,
    detect_from_environment,
    discover_from_environment,
    enabled_detectors,
    find_pyproject,
)
from redactor.engine.default import get_redactor, register_once, set_redactor
from redactor.engine.detect import Detector
from redactor.engine.matchers import EngineUnavailable
from redactor.engine.redactor import Redactor, RedactorWarning
from redactor.errors import ConfigError
from redactor.sources.discovery import discover_by_source, unknown_source
from redactor.sources.dotenv import dotenv_items
from redactor.sources.env import named_items, pattern_items

__all__ = [
    "DISCOVERED",
    "HOW_TO_CONFIGURE",
    "ConfigError",
    "NoSecretValues",
    "NoSecretsConfigured",
    "Settings",
    "SourceConfig",
    "build_redactor",
    "detect_in_process",
    "discovered_by_source",
    "discovered_items",
    "find_pyproject",
    "iter_secrets",
    "load_secrets",
    "register_discovered",
    "registered_by_source",
]

HOW_TO_CONFIGURE = (
    "no secret is configured: pass --scope NAME, --secret-env NAME, --env-pattern GLOB or "
    "--secrets-file PATH, or set them under [tool.redactor] in pyproject.toml or in "
    '.redactor.toml (e.g. env-pattern = ["*_TOKEN"])'
)


class NoSecretsConfigured(ConfigError):
    def __init__(self) -> None:
        super().__init__(HOW_TO_CONFIGURE)


ALLOW_EMPTY_HINT = (
    "to run with nothing to redact, pass --allow-empty or set allow-empty = true under "
    "[tool.redactor]"
)


class NoSecretValues(ConfigError):
    """Sources are configured but none of them gave a value to redact.

    The message names each source and why it gave nothing (a pattern that matches no variable,
    an empty file or scope, values too short), and what to do; never a value."""

    def __init__(self, reasons: list[str], env: bool = True) -> None:
        todo = "fix the sources"
        if env:
            todo = (
                "export the variables in the environment that runs redactor (an IDE or a git "
                "GUI may not have your shell's), or fix the sources"
            )
        super().__init__(
            "the configured sources hold no secret value, so nothing would be redacted: "
            + "; ".join(reasons)
            + f". To redact, {todo}; {ALLOW_EMPTY_HINT}"
        )
        self.reasons = reasons


def SourceConfig(
    *,
    scopes: Any = (),
    secret_envs: Any = (),
    env_patterns: Any = (),
    secrets_files: Any = (),
    **rest: Any,
) -> Settings:
    """:class:`Settings` from the field names of the former ``SourceConfig`` (the benchmarks and
    older scripts use them); new code builds :class:`Settings` with the options' keywords."""
    return Settings(
        scopes=scopes,
        secret_env=secret_envs,
        env_pattern=env_patterns,
        secrets_file=secrets_files,
        **rest,
    )


def _scope_items(scope: str) -> list[tuple[str, str | bytes]]:
    """Every secret of ``scope``, all fetched before any is used.

    A scope that cannot be opened or listed is an error naming the scope: the store's own errors
    (SecretsError) already say why; anything else (a network or file error) is reported by kind,
    without its message or its chain, which might quote a response."""
    # Imported here, not at the top: the local store's cryptography and SQLite are 25 ms of every
    # command's start-up (`redactor filter` 206 -> 181 ms, measured), needed only for a scope.
    from redactor.sources.scopes import SecretsError, scope_items

    try:
        return list(scope_items(scope))
    except SecretsError:
        raise
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot open secret scope {scope!r}: {why}") from None
    except Exception as exc:
        raise ConfigError(f"cannot list secret scope {scope!r}: {type(exc).__name__}") from None


def _sourced_secrets(
    cfg: Settings, env: Mapping[str, str]
) -> Iterator[tuple[str, list[tuple[str, str | bytes]]]]:
    """``(source, items)`` for each configured source, ``source`` as a user would name it.

    Every source is read in full before its items are given, so an error leaves nothing half
    read; unreadable sources raise ConfigError (or SecretsError for a scope)."""
    for name in cfg.secret_env:
        yield f"secret-env {name}", list(named_items([name], env))
    for pattern in cfg.env_pattern:
        yield f"env-pattern {pattern!r}", list(pattern_items(pattern, env))
    for path in cfg.secrets_file:
        yield f"secrets file {path}", list(dotenv_items(path))
    for scope in cfg.scopes:
        items = [(f"{scope}/{key}", value) for key, value in _scope_items(scope)]
        yield f"scope {scope!r}", items


def discovered_by_source(
    cfg: Settings, environ: Mapping[str, str] | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(discovery source, items)`` for each source ``cfg.discover`` selects (all when true,
    none when false), from one discovery run: a value two sources find is given once, under the
    first. An unknown source name is discovery's ConfigError."""
    if cfg.discover is False:
        return []
    names = None if cfg.discover is True else cfg.discover
    return discover_by_source(names, environ=environ)


def discovered_items(
    cfg: Settings, environ: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """``(name, value)`` for every credential discovery finds under ``cfg.discover`` (none when
    it is false)."""
    return [item for _, items in discovered_by_source(cfg, environ) for item in items]


DISCOVERED: dict[str, list[str]] = {}
"""Discovery source -> names of the secrets :func:`register_discovered` put into the
process-wide redactor (for ``%redactor sources``); names only, never values."""


def register_discovered(environ: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Register what discovery finds into the process-wide redactor (``redactor.install()``,
    ``%load_ext redactor``), unless ``REDACTOR_DISCOVER`` says no.

    Python use has one switch, the environment variable (``0`` off, or a comma-separated list of
    discovery sources): reading ``pyproject.toml`` at import or ``%load_ext`` could fail on a
    file that has nothing to do with this process. An unknown source name there is ignored with
    a warning rather than raised: raising would leave the shell with no hook at all."""
    env = os.environ if environ is None else environ
    choice = discover_from_environment(env)
    if not isinstance(choice, bool):
        for name in choice:
            message = unknown_source(name)
            if message is not None:
                warnings.warn(f"{ENV_DISCOVER}: {message}: ignored", RedactorWarning, stacklevel=2)
        choice = tuple(n for n in choice if unknown_source(n) is None)
    for source, items in discovered_by_source(Settings(discover=choice), env):
        held = DISCOVERED.setdefault(source, [])
        for name, value in items:
            if register_once(value, name) and name not in held:
                held.append(name)
        if not held:
            del DISCOVERED[source]
    return DISCOVERED


def detect_in_process(
    detect: bool | tuple[str, ...] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Detector, ...]:
    """Turn token detection on the process-wide redactor to ``detect`` (None: what
    ``REDACTOR_DETECT`` says, the default set when unset); returns the detectors now on.

    ``redactor.install()`` and ``%load_ext redactor`` call it with None, so Python use gets the
    default set as the command line does (the bare ``Redactor()`` detects nothing); ``%redactor
    detect`` calls it with the user's choice, which raises ConfigError for an unknown kind. Like
    :func:`register_discovered`, the Python entry points read the environment variable, never
    ``pyproject.toml``, and an unknown kind there is ignored with a warning rather than raised.
    The process-wide redactor is swapped for a copy with the same secrets (as ``%redactor
    replacement`` does): the hooks follow it."""
    if detect is None:
        detect = detect_from_environment(environ)
        if not isinstance(detect, bool):
            known = [k for k in detect if _known_kind(k)]
            unknown = [k for k in detect if k not in known]
            if unknown:
                warnings.warn(
                    f"{ENV_DETECT} names unknown detectors ({', '.join(unknown)}), ignored "
                    "(`redactor detectors` lists them)",
                    RedactorWarning,
                    stacklevel=2,
                )
            detect = tuple(known)
    detectors = enabled_detectors(detect)
    current = get_redactor()
    if tuple(current.detectors) != detectors:
        set_redactor(_with_detectors(current, detectors))
    return detectors


def _with_detectors(redactor: Redactor, detectors: tuple[Detector, ...]) -> Redactor:
    """A copy of ``redactor`` (its secrets, learnt tokens, hash key and settings) with other
    detectors: through the pickling state, as ``Redactor.with_replacement`` copies, since the
    engine has no ``with_detect`` (yet)."""
    state = redactor.__getstate__()
    state["detectors"] = detectors
    copy = Redactor.__new__(Redactor)
    copy.__setstate__(state)
    return copy


def _known_kind(kind: str) -> bool:
    try:
        enabled_detectors((kind,))
    except ConfigError:
        return False
    return True


def registered_by_source(
    cfg: Settings, environ: Mapping[str, str] | None = None
) -> list[tuple[str, list[str]]]:
    """``(source, names)`` of what a command with ``cfg`` would register: each configured source
    as a user names it, then each discovery source as ``discovered: NAME``. Never values; a
    source that cannot be read raises, as for any command."""
    env = os.environ if environ is None else environ
    probe = Redactor(min_length=cfg.min_length)
    out = [
        (source, [n for n, v in items if probe.add(v, n)])
        for source, items in _sourced_secrets(cfg, env)
    ]
    for source, found in discovered_by_source(cfg, env):
        out.append((f"discovered: {source}", [n for n, v in found if probe.add(v, n)]))
    return out


def iter_secrets(
    cfg: Settings, environ: Mapping[str, str] | None = None
) -> Iterator[tuple[str, str | bytes]]:
    """``(name, value)`` for every configured secret; names never contain values."""
    env = os.environ if environ is None else environ
    for _source, items in _sourced_secrets(cfg, env):
        yield from items


def build_redactor(
    cfg: Settings, environ: Mapping[str, str] | None = None, *, require: bool = True
) -> Redactor:
    """A fresh redactor holding every configured secret.

    Fails closed when ``require`` is true (the default) and ``cfg.allow_empty`` is not set:
    :class:`NoSecretsConfigured` when no source is configured, :class:`NoSecretValues` when the
    sources give no value that can be redacted. With ``require=False`` (or ``allow_empty``) an
    empty redactor is returned instead. A source that cannot be read raises :class:`ConfigError`
    (or a ``SecretsError`` for a scope) either way. Secrets too short to redact safely are
    skipped with a warning naming them.
    """
    return load_secrets(cfg, environ, require=require)[1]


def load_secrets(
    cfg: Settings, environ: Mapping[str, str] | None = None, *, require: bool = True
) -> tuple[list[tuple[str, str | bytes]], Redactor]:
    """:func:`build_redactor`, also returning the accepted ``(name, value)`` items (to hand to
    worker processes, which build their own redactor from them)."""
    check = require and not cfg.allow_empty
    env = os.environ if environ is None else environ
    found = discovered_items(cfg, env)
    if cfg.empty and check and not found:
        raise NoSecretsConfigured()
    try:
        redactor = Redactor(
            min_length=cfg.min_length,
            encodings=None if cfg.encodings is None else list(cfg.encodings),
            engine=cfg.engine,
            replacement=cfg.replacement,
            allow=cfg.allow,
            allow_names=cfg.allow_names,
            # Token detection rides along but is never a source: the checks above and below
            # look at the configured sources and discovery only (see HOW_TO_CONFIGURE).
            detect=cfg.enabled_detectors(),
        )
    except (ValueError, EngineUnavailable) as exc:  # an unknown engine or encoding name
        raise ConfigError(str(exc)) from None
    accepted: list[tuple[str, str | bytes]] = []
    reasons: list[str] = []
    # Every source is read (and so every unreadable one reported) before any emptiness check.
    for source, items in _sourced_secrets(cfg, env):
        kept = [(name, value) for name, value in items if redactor.add(value, name)]
        accepted += kept
        if not items:
            reasons.append(f"{source} {_NOTHING.get(source.split()[0], 'gives no value')}")
        elif not kept:
            reasons.append(f"{source}: " + ", ".join(_why_refused(n, v, cfg) for n, v in items))
    if check and not accepted and not cfg.empty:
        # Discovery never stands in for a configured source that gives nothing.
        env_sources = ("secret-env ", "env-pattern ")
        raise NoSecretValues(reasons, env=any(r.startswith(env_sources) for r in reasons))
    # Discovered values too short to redact are skipped by add(), with its warning (by name).
    kept_found: list[tuple[str, str | bytes]] = [(n, v) for n, v in found if redactor.add(v, n)]
    if check and not accepted and not kept_found:
        raise NoSecretsConfigured()  # only discovery was asked, and all it found was too short
    return accepted + kept_found, redactor


def _why_refused(name: str, value: str | bytes, cfg: Settings) -> str:
    core = value.strip() if isinstance(value, str) else bytes(value).strip()
    if name in cfg.allow_names or (isinstance(core, str) and core in cfg.allow):
        return f"{name} is on the allow list"
    return f"{name} is empty" if not core else f"{name} is shorter than min-length {cfg.min_length}"


_NOTHING = {
    "env-pattern": "matches no environment variable",
    "secrets": "holds no NAME=VALUE line with a value",
    "scope": "holds no secret",
}
