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

Values are never taken from the command line itself: they would leak into shell history and
process lists.

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

from ._engine import DEFAULT_MIN_LENGTH, Redactor
from ._matchers import ENGINES, EngineUnavailable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "NoSecretsConfigured",
    "SourceConfig",
    "add_source_arguments",
    "build_redactor",
    "config_from_args",
    "find_pyproject",
    "iter_secrets",
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
    # The command line, then the environment, then pyproject.toml.
    cfg.engine = getattr(args, "engine", None) or os.environ.get("REDACTOR_ENGINE") or cfg.engine
    return cfg


def _scope_items(scope: str) -> Iterator[tuple[str, str | bytes]]:
    from .secrets import scope_items

    yield from scope_items(scope)


def iter_secrets(
    cfg: SourceConfig, environ: Mapping[str, str] | None = None
) -> Iterator[tuple[str, str | bytes]]:
    """``(name, value)`` for every configured secret; names never contain values."""
    env = os.environ if environ is None else environ
    for name in cfg.secret_envs:
        if name not in env:
            raise ConfigError(f"environment variable {name} (--secret-env) is not set")
        yield f"env/{name}", env[name]
    for pattern in cfg.env_patterns:
        for name in sorted(env):
            if fnmatch.fnmatchcase(name, pattern):
                yield f"env/{name}", env[name]
    for path in cfg.secrets_files:
        yield from _dotenv_items(path)
    for scope in cfg.scopes:
        for key, value in _scope_items(scope):
            yield f"{scope}/{key}", value


def _dotenv_items(path: Path) -> Iterator[tuple[str, str]]:
    from dotenv import dotenv_values

    if not path.is_file():
        raise ConfigError(f"secrets file {path} does not exist")
    try:
        # interpolate=False: python-dotenv expands ${VAR} even inside single quotes otherwise.
        values = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read secrets file {path}: {type(exc).__name__}") from None
    for key, value in values.items():
        if value:
            yield f"{path.name}/{key}", value


def build_redactor(
    cfg: SourceConfig, environ: Mapping[str, str] | None = None, *, require: bool = True
) -> Redactor:
    """A fresh redactor holding every configured secret.

    Raises :class:`NoSecretsConfigured` when nothing is configured and ``require`` is true.
    Secrets too short to redact safely are skipped with a warning naming them.
    """
    if cfg.empty and require:
        raise NoSecretsConfigured()
    try:
        redactor = Redactor(min_length=cfg.min_length, encodings=cfg.encodings, engine=cfg.engine)
    except (ValueError, EngineUnavailable) as exc:  # an unknown engine or encoding name
        raise ConfigError(str(exc)) from None
    for name, value in iter_secrets(cfg, environ):
        redactor.add(value, name)
    return redactor
