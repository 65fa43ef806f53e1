"""Where secret values come from for the command-line tools (scrub, filter, run, scrub-logs).

The same settings can be given on the command line (``--scope``, ``--secret-env``,
``--env-pattern``, ``--secrets-file``, all repeatable) or under ``[tool.redactor]`` in the nearest
``pyproject.toml``, so that a pre-commit hook or a CI step needs no arguments::

    [tool.redactor]
    scopes = ["kv-scope"]
    secret-env = ["DATABASE_URL"]
    env-pattern = ["*_TOKEN", "*_PASSWORD"]
    secrets-file = [".env"]
    min-length = 6
    engine = "auto"   # or "ahocorasick", "hyperscan" (pip install 'redactor[fast]')
    allow-empty = false

Values are never taken from the command line itself: they would leak into shell history and
process lists.

A redaction tool fails closed: configured sources that yield no secret value (``env-pattern``
with the variables not exported, as in a commit from an IDE) raise :class:`NoSecretValues`, and a
source that cannot be read (a missing or unreadable secrets file, a dotenv line that cannot be
parsed, a scope that cannot be listed, an unset ``--secret-env``) raises :class:`ConfigError`,
before anything is redacted, so that no command passes output through as if it had been checked.
``--allow-empty`` (``allow-empty = true``) lets "nothing to redact" pass; it never excuses a source
that cannot be read.

The matching engine is chosen by ``--engine``, else ``REDACTOR_ENGINE``, else ``engine`` in
``[tool.redactor]``, else ``"auto"``; every engine gives the same output.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redactor.engine.matchers import ENGINES, EngineUnavailable
from redactor.engine.redactor import DEFAULT_MIN_LENGTH, Redactor

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "NoSecretValues",
    "NoSecretsConfigured",
    "SourceConfig",
    "add_source_arguments",
    "build_redactor",
    "config_from_args",
    "find_pyproject",
    "iter_secrets",
    "load_secrets",
]

HOW_TO_CONFIGURE = (
    "no secret is configured: pass --scope NAME, --secret-env NAME, --env-pattern GLOB or "
    "--secrets-file PATH, or set them under [tool.redactor] in pyproject.toml "
    '(e.g. env-pattern = ["*_TOKEN"])'
)


class ConfigError(Exception):
    """A source is misconfigured (missing file, bad pyproject table). Never holds a value."""


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


@dataclass
class SourceConfig:
    scopes: list[str] = field(default_factory=list)
    secret_envs: list[str] = field(default_factory=list)
    env_patterns: list[str] = field(default_factory=list)
    secrets_files: list[Path] = field(default_factory=list)
    min_length: int = DEFAULT_MIN_LENGTH
    encodings: list[str] | None = None
    engine: str | None = None
    pyproject: Path | None = None
    allow_empty: bool = False

    @property
    def empty(self) -> bool:
        return not (self.scopes or self.secret_envs or self.env_patterns or self.secrets_files)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that needs secrets shares."""
    group = parser.add_argument_group(
        "secret sources (repeatable; also read from [tool.redactor] in pyproject.toml)"
    )
    group.add_argument(
        "--scope", action="append", default=[], metavar="NAME", help="every secret of a scope"
    )
    group.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME",
        help="the value of one environment variable",
    )
    group.add_argument(
        "--env-pattern",
        action="append",
        default=[],
        metavar="GLOB",
        help="every environment variable whose name matches, e.g. '*_TOKEN'",
    )
    group.add_argument(
        "--secrets-file",
        action="append",
        default=[],
        metavar="PATH",
        type=Path,
        help="a dotenv file whose values are secrets (read without interpolation)",
    )
    group.add_argument(
        "--allow-empty",
        action="store_true",
        default=None,
        help="let the command run when the configured sources hold no secret value (by default "
        "that is an error, as a variable that is not exported would pass secrets through); a "
        "source that cannot be read is still an error",
    )
    group.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PYPROJECT",
        help="the pyproject.toml to read [tool.redactor] from (default: the nearest one)",
    )
    group.add_argument(
        "--no-config", action="store_true", help="ignore [tool.redactor] in pyproject.toml"
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="the matching engine (default: REDACTOR_ENGINE, else [tool.redactor] engine, "
        "else auto: Hyperscan when installed and the work is large enough)",
    )


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _str_list(table: Mapping[str, Any], key: str, where: Path) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.redactor] {key} must be a string or a list of strings")
    return value


def read_pyproject(path: Path) -> SourceConfig:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    table = data.get("tool", {}).get("redactor", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.redactor] must be a table")
    cfg = SourceConfig(pyproject=path)
    cfg.scopes = _str_list(table, "scopes", path)
    cfg.secret_envs = _str_list(table, "secret-env", path)
    cfg.env_patterns = _str_list(table, "env-pattern", path)
    # Relative paths in pyproject.toml are relative to the file, not to the working directory.
    cfg.secrets_files = [path.parent / p for p in _str_list(table, "secrets-file", path)]
    if "min-length" in table:
        if not isinstance(table["min-length"], int) or table["min-length"] < 1:
            raise ConfigError(f"{path}: [tool.redactor] min-length must be a positive integer")
        cfg.min_length = table["min-length"]
    if "encodings" in table:
        cfg.encodings = _str_list(table, "encodings", path)
    if "engine" in table:
        if table["engine"] not in ENGINES:
            raise ConfigError(
                f"{path}: [tool.redactor] engine must be one of {', '.join(map(repr, ENGINES))}"
            )
        cfg.engine = table["engine"]
    if "allow-empty" in table:
        if not isinstance(table["allow-empty"], bool):
            raise ConfigError(f"{path}: [tool.redactor] allow-empty must be true or false")
        cfg.allow_empty = table["allow-empty"]
    return cfg


def config_from_args(args: argparse.Namespace, cwd: Path | None = None) -> SourceConfig:
    """Command-line sources added to those of ``[tool.redactor]``."""
    cfg = SourceConfig()
    if not getattr(args, "no_config", False):
        path = getattr(args, "config", None) or find_pyproject(cwd or Path.cwd())
        if path is not None:
            cfg = read_pyproject(Path(path))
    cfg.scopes += args.scope
    cfg.secret_envs += args.secret_env
    cfg.env_patterns += args.env_pattern
    cfg.secrets_files += args.secrets_file
    cfg.allow_empty = bool(getattr(args, "allow_empty", None)) or cfg.allow_empty
    # The command line, then the environment, then pyproject.toml.
    cfg.engine = getattr(args, "engine", None) or os.environ.get("REDACTOR_ENGINE") or cfg.engine
    return cfg


def _scope_items(scope: str) -> list[tuple[str, str | bytes]]:
    """Every secret of ``scope``, all fetched before any is used.

    A scope that cannot be opened or listed is an error naming the scope: the store's own errors
    (SecretsError) already say why; anything else (a network or file error) is reported by kind,
    without its message or its chain, which might quote a response."""
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
    cfg: SourceConfig, env: Mapping[str, str]
) -> Iterator[tuple[str, list[tuple[str, str | bytes]]]]:
    """``(source, items)`` for each configured source, ``source`` as a user would name it.

    Every source is read in full before its items are given, so an error leaves nothing half
    read; unreadable sources raise ConfigError (or SecretsError for a scope)."""
    for name in cfg.secret_envs:
        if name not in env:
            raise ConfigError(f"environment variable {name} (--secret-env) is not set")
        yield f"secret-env {name}", [(f"env/{name}", env[name])]
    for pattern in cfg.env_patterns:
        matched = [(f"env/{n}", env[n]) for n in sorted(env) if fnmatch.fnmatchcase(n, pattern)]
        yield f"env-pattern {pattern!r}", matched
    for path in cfg.secrets_files:
        yield f"secrets file {path}", list(_dotenv_items(path))
    for scope in cfg.scopes:
        items = [(f"{scope}/{key}", value) for key, value in _scope_items(scope)]
        yield f"scope {scope!r}", items


def iter_secrets(
    cfg: SourceConfig, environ: Mapping[str, str] | None = None
) -> Iterator[tuple[str, str | bytes]]:
    """``(name, value)`` for every configured secret; names never contain values."""
    env = os.environ if environ is None else environ
    for _source, items in _sourced_secrets(cfg, env):
        yield from items


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _dotenv_items(path: Path) -> list[tuple[str, str]]:
    """The non-empty values of a dotenv file, or ConfigError naming the file and the bad lines.

    Every line must parse: python-dotenv alone skips a line it cannot parse with a warning,
    which would drop that secret silently. A name without ``=`` is refused too, since in a secrets
    file it is more likely a pasted value than a declaration. Messages give line numbers, never
    a line's content (it may be the value)."""
    import io

    from dotenv.parser import parse_stream

    try:
        # Read as bytes then decoded, so that a FIFO (--secrets-file <(vault ...)) works too.
        with path.open("rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ConfigError(f"secrets file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"secrets file {path} is a folder, not a dotenv file") from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot read secrets file {path}: {why}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise ConfigError(f"cannot read secrets file {path}: line {line} is not UTF-8") from None
    # Universal newlines, as python-dotenv's own open() gives them.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad: list[int] = []
    items: list[tuple[str, str]] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            bad.append(binding.original.line)
        elif binding.key is not None and binding.value:
            # No interpolation: python-dotenv would expand ${VAR} even inside single quotes.
            items.append((f"{path.name}/{binding.key}", binding.value))
    if bad:
        lines = f"line {bad[0]}" if len(bad) == 1 else "lines " + ", ".join(map(str, bad))
        raise ConfigError(
            f"cannot parse secrets file {path} at {lines}: not NAME=VALUE (an unclosed quote, "
            "text after a closing quote, or no '='); fix or remove "
            + ("it" if len(bad) == 1 else "them")
            + " (the content is not shown)"
        )
    return items


def build_redactor(
    cfg: SourceConfig, environ: Mapping[str, str] | None = None, *, require: bool = True
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
    cfg: SourceConfig, environ: Mapping[str, str] | None = None, *, require: bool = True
) -> tuple[list[tuple[str, str | bytes]], Redactor]:
    """:func:`build_redactor`, also returning the accepted ``(name, value)`` items (to hand to
    worker processes, which build their own redactor from them)."""
    check = require and not cfg.allow_empty
    if cfg.empty and check:
        raise NoSecretsConfigured()
    try:
        redactor = Redactor(min_length=cfg.min_length, encodings=cfg.encodings, engine=cfg.engine)
    except (ValueError, EngineUnavailable) as exc:  # an unknown engine or encoding name
        raise ConfigError(str(exc)) from None
    env = os.environ if environ is None else environ
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
    if check and not accepted:
        env_sources = ("secret-env ", "env-pattern ")
        raise NoSecretValues(reasons, env=any(r.startswith(env_sources) for r in reasons))
    return accepted, redactor


def _why_refused(name: str, value: str | bytes, cfg: SourceConfig) -> str:
    core = value.strip() if isinstance(value, str) else bytes(value).strip()
    return f"{name} is empty" if not core else f"{name} is shorter than min-length {cfg.min_length}"


_NOTHING = {
    "env-pattern": "matches no environment variable",
    "secrets": "holds no NAME=VALUE line with a value",
    "scope": "holds no secret",
}
