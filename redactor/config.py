"""One configuration: every option declared once, resolved once into a :class:`Settings`.

Each option has one name, its ``[tool.redactor]`` key in ``pyproject.toml`` (kebab-case, what
users already write; the same key at the top level of a ``.redactor.toml``); every other surface is a mechanical transform of it: ``secrets-file`` is
the flag ``--secrets-file``, the Python keyword and nbconvert trait ``secrets_file`` and, for the
options read from the environment (only ``engine`` today), ``REDACTOR_ENGINE``. The full table,
generated from :data:`OPTIONS` by :func:`option_table`, is in ``docs/configuration.md``.

Layers, lowest first: the defaults < the config file (the one given with ``--config``, else the
one ``REDACTOR_CONFIG`` names, else the nearest ``.redactor.toml`` or ``pyproject.toml`` with a
``[tool.redactor]`` table; none with ``--no-config``) < the environment (``REDACTOR_ENGINE``) <
command-line flags, nbconvert traits or keyword arguments. Lists (the secret sources) add up across layers, so
a flag adds a source to those of ``pyproject.toml``; single values are replaced by the higher
layer. An unknown key or a wrong type in the config file is a :class:`ConfigError` naming the file
and, for a misspelt key, the nearest valid one.
"""

from __future__ import annotations

import difflib
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from redactor.engine.detect import Detector
from redactor.engine.matchers import ENGINES
from redactor.engine.redactor import (
    DEFAULT_MIN_LENGTH,
    DEFAULT_REPLACEMENT,
    ENV_ENGINE,
    engine_from_environment,
    parse_replacement,
)
from redactor.engine.tokens import detector_names, get_detector
from redactor.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "CONFIG_NAME",
    "ENV_CONFIG",
    "ENV_DETECT",
    "ENV_DISCOVER",
    "OPTIONS",
    "ConfigError",
    "Option",
    "Settings",
    "config_path",
    "describe_key",
    "detect_from_environment",
    "discover_from_environment",
    "find_config",
    "find_pyproject",
    "is_pyproject",
    "option_table",
    "read_config",
    "read_pyproject",
    "resolve",
    "settings_from_args",
]

TABLE = "[tool.redactor]"
CONFIG_NAME = ".redactor.toml"  # the file of its own: the keys of [tool.redactor], at the top level
ENV_CONFIG = "REDACTOR_CONFIG"  # names the config file explicitly


@dataclass(frozen=True)
class Option:
    """One setting. ``key`` is its one name; the other spellings derive from it."""

    key: str
    # "names" (list of str), "paths", "int", "bool", "engine", "encodings" (list|None),
    # "discover" (bool or list of str), "replacement" (a str template), "detect" (bool or list
    # of detector kinds), "detectors" (user detectors: a list of tables or Detector objects)
    kind: str
    default: Any
    help: str
    metavar: str | None = None
    env: bool = False  # read from REDACTOR_<KEY> too (engine and discover)
    flag_aliases: tuple[str, ...] = ()  # accepted on the command line as well
    deprecated: tuple[str, ...] = ()  # older keyword/trait spellings: still work, with a warning
    source: bool = True  # a list that names secret sources (False: a list setting, e.g. allow)
    cli: bool = True  # has a command-line flag (user detectors are tables: a file or Python only)

    @property
    def keyword(self) -> str:
        """The Python keyword argument, the nbconvert trait and the :class:`Settings` field."""
        return self.key.replace("-", "_")

    @property
    def flag(self) -> str:
        return "--" + self.key

    @property
    def env_var(self) -> str | None:
        return "REDACTOR_" + self.keyword.upper() if self.env else None

    @property
    def is_list(self) -> bool:
        """Values that add up across layers."""
        return self.kind in ("names", "paths", "detectors")

    @property
    def is_source(self) -> bool:
        """A list of secret sources (every API that takes sources takes these keywords)."""
        return self.is_list and self.source


OPTIONS: tuple[Option, ...] = (
    Option(
        "scopes",
        "names",
        (),
        "every secret of these secret scopes (local store or Key Vault-backed)",
        "NAME",
        flag_aliases=("--scope",),
    ),
    Option("secret-env", "names", (), "the values of these environment variables", "NAME"),
    Option(
        "env-pattern",
        "names",
        (),
        "the value of every environment variable whose name matches, e.g. '*_TOKEN'",
        "GLOB",
    ),
    Option(
        "secrets-file",
        "paths",
        (),
        "dotenv files whose values are secrets, read without interpolation (in a config file, "
        "relative to that file)",
        "PATH",
        deprecated=("secrets_files",),
    ),
    Option(
        "min-length",
        "int",
        DEFAULT_MIN_LENGTH,
        "secret values shorter than this are not redacted (with a warning naming them)",
        "N",
    ),
    Option(
        "encodings",
        "encodings",
        None,
        "the encodings each secret is also redacted in (default: every registered one)",
        "NAME",
    ),
    Option(
        "engine",
        "engine",
        None,
        "the matching engine: auto (Hyperscan when installed and the work is large enough), "
        "ahocorasick or hyperscan; every engine gives the same output",
        "ENGINE",
        env=True,
    ),
    Option(
        "allow-empty",
        "bool",
        False,
        "let the command run when the configured sources hold no secret value (by default "
        "that is an error, as a variable that is not exported would pass secrets through); a "
        "source that cannot be read is still an error",
    ),
    Option(
        "discover",
        "discover",
        True,
        "also redact the credentials this process can already read (environment variables "
        "named like secrets, the user's credential files): true, false, or a list of discovery "
        "sources (`redactor sources` lists them); never stands in for a configured source that "
        "gives nothing",
        "NAME",
        env=True,
    ),
    Option(
        "replacement",
        "replacement",
        DEFAULT_REPLACEMENT,
        "what replaces a secret: plain text, or a template with {name} (the secret's name) and "
        "{hash} (8 hex digits of HMAC-SHA256 of the value, keyed by REDACTOR_HASH_KEY, else a "
        "random per-process key); {{ and }} for literal braces",
        "TEMPLATE",
    ),
    Option(
        "allow",
        "names",
        (),
        "values never hidden even when registered (a common word a careless config registered)",
        "VALUE",
        source=False,
    ),
    Option(
        "allow-names",
        "names",
        (),
        "secret names never hidden: registering them is refused with a warning",
        "NAME",
        source=False,
    ),
    Option(
        "detect",
        "detect",
        True,
        "also hide well-known token shapes nobody registered (GitHub, AWS, ...): true (the "
        "default set), false, or a list of detector kinds, with 'default' for the default set "
        "and 'all' for every kind (`redactor detectors` lists them); never counts as a "
        "configured source",
        "KIND[,KIND]",
        env=True,
    ),
    Option(
        "detectors",
        "detectors",
        (),
        "your own detectors, each a [[tool.redactor.detectors]] table with kind, anchors, "
        "pattern, max-length and optionally source, description and default (see "
        "docs/detectors.md)",
        source=False,
        cli=False,
    ),
    Option(
        "run-env",
        "env",
        (),
        'variables `redactor run` sets for its command, as a table (NAME = "value"); values may '
        "hold {{secrets/SCOPE/KEY}} references, resolved and redacted like the environment's "
        "(docs/secrets.md); --env-file files win over it",
        source=False,
        cli=False,
    ),
)
BY_KEY = {o.key: o for o in OPTIONS}
BY_KEYWORD = {o.keyword: o for o in OPTIONS}
DEPRECATED = {old: o for o in OPTIONS for old in o.deprecated}
assert BY_KEY["engine"].env_var == ENV_ENGINE  # the engine reads the same variable


@dataclass(frozen=True)
class Settings:
    """Every option, resolved. Field names are the options' Python keywords.

    Lists are stored as tuples (and accepted as any iterable); ``engine`` None means "not chosen
    anywhere", which the engine resolves to ``auto``; ``pyproject`` is the config file read, if
    any: a ``pyproject.toml`` or a ``.redactor.toml`` (the name predates the second).
    """

    scopes: tuple[str, ...] = ()
    secret_env: tuple[str, ...] = ()
    env_pattern: tuple[str, ...] = ()
    secrets_file: tuple[Path, ...] = ()
    min_length: int = DEFAULT_MIN_LENGTH
    encodings: tuple[str, ...] | None = None
    engine: str | None = None
    allow_empty: bool = False
    discover: bool | tuple[str, ...] = True
    replacement: str = DEFAULT_REPLACEMENT
    allow: tuple[str, ...] = ()
    allow_names: tuple[str, ...] = ()
    detect: bool | tuple[str, ...] = True
    detectors: tuple[Detector, ...] = ()
    run_env: tuple[tuple[str, str], ...] = ()
    pyproject: Path | None = None

    def __post_init__(self) -> None:
        for name in ("scopes", "secret_env", "env_pattern", "allow", "allow_names"):
            object.__setattr__(self, name, _names(getattr(self, name)))
        object.__setattr__(self, "secrets_file", tuple(Path(p) for p in self.secrets_file))
        if self.encodings is not None:
            object.__setattr__(self, "encodings", _names(self.encodings))
        for name in ("discover", "detect"):
            if not isinstance(getattr(self, name), bool):
                object.__setattr__(self, name, _names(getattr(self, name)))
        object.__setattr__(self, "detectors", tuple(self.detectors))
        env = self.run_env.items() if isinstance(self.run_env, Mapping) else self.run_env
        object.__setattr__(self, "run_env", tuple((str(k), str(v)) for k, v in env))

    @property
    def empty(self) -> bool:
        """No secret source is configured (detection is not one: see :func:`enabled_detectors`)."""
        return not (self.scopes or self.secret_env or self.env_pattern or self.secrets_file)

    def enabled_detectors(self) -> tuple[Detector, ...]:
        """The detectors ``detect`` and ``detectors`` turn on, what ``Redactor(detect=...)`` takes.

        A user detector joins the default set unless its table says ``default = false`` (then
        ``detect`` must name its kind); ``detect = false`` turns every detector off, the user's
        too. ConfigError for a kind that neither the catalog nor ``detectors`` defines."""
        return enabled_detectors(self.detect, self.detectors)


def _names(value: Iterable[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def enabled_detectors(
    detect: bool | Iterable[str], own: Iterable[Detector] = ()
) -> tuple[Detector, ...]:
    """The detectors that ``detect`` (True, False or kinds, with ``default`` and ``all``)
    selects from the catalog and the user's own ``own`` (see :meth:`Settings.enabled_detectors`).
    """
    if detect is False:
        return ()
    mine = {d.kind: d for d in own}
    names = ("default",) if detect is True else _names(detect)
    out: dict[str, Detector] = {}
    for name in names:
        if name in ("default", "all"):
            for kind in detector_names(default_only=name == "default"):
                out.setdefault(kind, get_detector(kind))
            out.update((k, d) for k, d in mine.items() if d.default or name == "all")
        elif name in mine:
            out[name] = mine[name]
        elif name in detector_names():
            out[name] = get_detector(name)
        else:
            known = [*detector_names(), *mine]
            near = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(
                f"detect: unknown detector {name!r}{hint} (`redactor detectors` lists them)"
            )
    return tuple(out.values())


_DETECTOR_KEYS = ("kind", "anchors", "pattern", "max-length", "source", "description", "default")


def detector_from_table(table: Any, where: str) -> Detector:
    """A user detector from its ``[[tool.redactor.detectors]]`` table (or a dict with the same
    keys, ``max_length`` accepted for ``max-length``); ``where`` names the file and the entry in
    every error. The pattern is compiled here, so a bad one stops the command before it runs."""
    if isinstance(table, Detector):
        return table
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table (kind, anchors, pattern, max-length)")
    table = {str(k).replace("_", "-"): v for k, v in table.items()}
    kind = table.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{where}: give a kind (a name such as 'acme-api-key')")
    where = f"{where} (kind {kind!r})"
    for key in table:
        if key not in _DETECTOR_KEYS:
            near = difflib.get_close_matches(key, _DETECTOR_KEYS, n=1, cutoff=0.6)
            hint = (
                f"; did you mean {near[0]!r}?"
                if near
                else f"; valid keys: {', '.join(_DETECTOR_KEYS)}"
            )
            raise ConfigError(f"{where} has an unknown key {key!r}{hint}")
    for key in ("anchors", "pattern", "max-length"):
        if key not in table:
            raise ConfigError(f"{where}: {key} is missing")
    anchors = table["anchors"]
    if isinstance(anchors, str):
        anchors = [anchors]
    if not isinstance(anchors, list) or not all(isinstance(a, str) for a in anchors):
        raise ConfigError(f"{where}: anchors must be a string or a list of strings")
    max_length = table["max-length"]
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        raise ConfigError(f"{where}: max-length must be an integer")
    for key in ("pattern", "source", "description"):
        if not isinstance(table.get(key, ""), str):
            raise ConfigError(f"{where}: {key} must be a string")
    if not isinstance(table.get("default", True), bool):
        raise ConfigError(f"{where}: default must be true or false")
    if kind in detector_names():
        raise ConfigError(f"{where}: {kind!r} is a built-in detector; give yours another kind")
    try:
        return Detector(
            kind=kind,
            anchors=tuple(anchors),
            pattern=table["pattern"],
            max_length=max_length,
            source=table.get("source", ""),
            default=table.get("default", True),
            description=table.get("description", ""),
        )
    except ConfigError as exc:
        # The Detector's own message starts with "detector 'kind'": the entry says that already.
        message = str(exc).removeprefix(f"detector kind {kind!r}: ")
        message = message.removeprefix(f"detector {kind!r}: ")
        raise ConfigError(f"{where}: {message}") from None


assert [f.name for f in fields(Settings)][:-1] == [o.keyword for o in OPTIONS]


# -- checking one value ---------------------------------------------------------------------------


def _check(
    option: Option, value: Any, where: str, tables: str = "[[tool.redactor.detectors]]"
) -> Any:
    """``value`` as the option stores it, or ConfigError saying ``where`` and what is expected.

    ``where`` names the surface (``path: [tool.redactor] key``, ``keyword=``); never the value,
    which for a mistyped option could be a secret pasted in the wrong place."""
    kind = option.kind
    if kind in ("names", "paths", "encodings"):
        if isinstance(value, (str, os.PathLike)):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, (str, os.PathLike) if kind == "paths" else str) for v in value
        ):
            raise ConfigError(f"{where} must be a string or a list of strings")
        return tuple(Path(v) for v in value) if kind == "paths" else tuple(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where} must be a positive integer")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if kind == "discover":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be true, false or a list of discovery source names")
        return tuple(value)
    if kind == "detect":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be true, false or a list of detector kinds")
        # "github-token,aws-access-key-id" from a flag or the environment is two kinds.
        return tuple(k.strip() for v in value for k in v.split(",") if k.strip())
    if kind == "detectors":
        if isinstance(value, (Mapping, Detector)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list of tables ({tables})")
        out = tuple(detector_from_table(t, f"{where}: entry {i}") for i, t in enumerate(value, 1))
        kinds = [d.kind for d in out]
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ConfigError(f"{where}: kind {twice[0]!r} is defined twice")
        return out
    if kind == "env":
        pairs = list(value.items()) if isinstance(value, Mapping) else value
        if not isinstance(pairs, (list, tuple)) or not all(
            isinstance(p, tuple) and len(p) == 2 for p in pairs
        ):
            raise ConfigError(f'{where} must be a table of NAME = "value" strings')
        out_env = []
        for name, text in pairs:
            if not isinstance(name, str) or not name or "=" in name or "\0" in name:
                raise ConfigError(f"{where}: {name!r} is not a variable name")
            if not isinstance(text, str):
                raise ConfigError(f"{where}: {name} must be a string")
            if "\0" in text:
                raise ConfigError(f"{where}: {name} holds a NUL character")
            out_env.append((name, text))
        return tuple(out_env)
    if kind == "replacement":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string")
        try:
            parse_replacement(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        return value
    if kind == "engine":
        if value not in ENGINES:
            raise ConfigError(f"{where} must be one of {', '.join(map(repr, ENGINES))}")
        return value
    raise AssertionError(kind)  # pragma: no cover


# -- the layers -----------------------------------------------------------------------------------


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``, whatever it holds (see
    :func:`find_config` for the file the settings are read from)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def find_config(start: Path) -> Path | None:
    """The config file nearest to ``start``: in each folder from ``start`` up, a ``.redactor.toml``
    (whatever it holds), else a ``pyproject.toml`` that has a ``[tool.redactor]`` table.

    Ruff's rule for ``.ruff.toml`` and ``pyproject.toml``, which users of Python tools already
    know: the tool's own file wins over ``pyproject.toml`` in the same folder (the two are never
    merged), and a ``pyproject.toml`` without the tool's table is passed over, so a sub-project's
    ``pyproject.toml`` does not hide the ``.redactor.toml`` at the root of the repository (hiding
    it would read no sources, and the save hook would then save notebooks unscrubbed). A
    ``pyproject.toml`` that is not valid TOML is an error rather than passed over: it may hold the
    table that was meant."""
    start = start.resolve()
    for folder in (start, *start.parents):
        own = folder / CONFIG_NAME
        if own.is_file():
            return own
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _has_table(candidate):
            return candidate
    return None


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def _has_table(pyproject: Path) -> bool:
    tool = _load(pyproject).get("tool")
    return isinstance(tool, dict) and "redactor" in tool


def config_path(
    config: Path | str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path | None:
    """The config file to read: ``config`` (``--config``) if given, else the one
    ``REDACTOR_CONFIG`` names (ConfigError if there is no such file: a typo there must not
    silently read no sources), else :func:`find_config` from ``cwd`` (default: the working
    directory). ``--no-config`` is the caller's: it does not call this."""
    if config is not None:
        return Path(config)
    named = (os.environ if environ is None else environ).get(ENV_CONFIG, "").strip()
    if named:
        path = Path(named)
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise ConfigError(f"{ENV_CONFIG} names {path}, which {what}")
        return path
    return find_config(cwd or Path.cwd())


def _suggest(key: str) -> str:
    near = difflib.get_close_matches(key, list(BY_KEY), n=1, cutoff=0.6)
    if near:
        return f"; did you mean {near[0]!r}?"
    return f"; valid keys: {', '.join(BY_KEY)}"


def is_pyproject(path: Path) -> bool:
    """Whether ``path`` is read as a ``pyproject.toml`` (its ``[tool.redactor]`` table) rather
    than as a ``.redactor.toml`` (keys at the top level): by its name, as ruff does for
    ``--config``."""
    return Path(path).name == "pyproject.toml"


def describe_key(path: Path | None, key: str) -> str:
    """How messages name ``key`` of the config file ``path``: ``[tool.redactor] run-env in
    /repo/pyproject.toml``, ``run-env in /repo/.redactor.toml``."""
    if path is None:
        return f"{TABLE} {key}"
    return f"{TABLE} {key} in {path}" if is_pyproject(path) else f"{key} in {path}"


def read_config(path: Path) -> dict[str, Any]:
    """The checked settings of the config file ``path``, keyed by Python keyword: the
    ``[tool.redactor]`` table of a ``pyproject.toml``, the top level of any other file (a
    ``.redactor.toml``, or whatever ``--config`` or ``REDACTOR_CONFIG`` names).

    Relative ``secrets-file`` paths are made relative to the file, not to the working directory.
    An unknown key (``scope`` for ``scopes``) is an error, since ignoring it would silently
    redact less than the user asked for."""
    data = _load(path)
    if is_pyproject(path):
        table = data.get("tool", {}).get("redactor", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {TABLE} must be a table")
        owner, prefix, tables = (
            f"{path}: {TABLE}",
            f"{path}: {TABLE} ",
            "[[tool.redactor.detectors]]",
        )
    else:
        table = data
        owner, prefix, tables = f"{path}", f"{path}: ", "[[detectors]]"
    out: dict[str, Any] = {}
    for key, value in table.items():
        option = BY_KEY.get(key)
        if option is None:
            if key == "tool" and isinstance(value, dict) and "redactor" in value:
                raise ConfigError(
                    f"{path} has a {TABLE} table: in a {CONFIG_NAME} the keys go at the top "
                    f"level, without it (a file named pyproject.toml is read for {TABLE})"
                )
            raise ConfigError(f"{owner} has an unknown key {key!r}{_suggest(key)}")
        if option.kind != "env" and _holds_reference(value):
            raise ConfigError(
                f"{prefix}{key} holds a {{{{secrets/...}}}} reference: {key} takes "
                "names, paths or settings, never a secret, so it would be read literally; "
                "references are resolved in `run-env` values (and by `redactor run`, "
                "redactor.resolve)"
            )
        checked = _check(option, value, f"{prefix}{key}", tables)
        if option.kind == "paths":
            checked = tuple(path.parent / p for p in checked)
        out[option.keyword] = checked
    return out


read_pyproject = read_config  # the name before .redactor.toml: reads either kind of file


def _holds_reference(value: Any) -> bool:
    """Whether a [tool.redactor] value holds ``{{secrets/`` anywhere (nested tables too)."""
    if isinstance(value, str):
        return "{{secrets/" in value
    if isinstance(value, Mapping):
        return any(_holds_reference(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_reference(v) for v in value)
    return False


ENV_DISCOVER = BY_KEY["discover"].env_var or ""
ENV_DETECT = BY_KEY["detect"].env_var or ""
_FALSE = ("0", "false", "no", "off")
_TRUE = ("1", "true", "yes", "on")


def _switch(var: str, environ: Mapping[str, str] | None) -> bool | tuple[str, ...] | None:
    """The one parser of ``REDACTOR_DISCOVER`` and ``REDACTOR_DETECT``: None when unset or empty
    (not chosen), False for ``0``/``false``/``no``/``off``, True for ``1``/``true``/``yes``/``on``,
    else the comma-separated names (discovery sources, detector kinds)."""
    raw = (os.environ if environ is None else environ).get(var, "").strip()
    if not raw:
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    return tuple(n.strip() for n in raw.split(",") if n.strip())


def discover_from_environment(environ: Mapping[str, str] | None = None) -> bool | tuple[str, ...]:
    """``REDACTOR_DISCOVER`` for the surfaces that read no ``pyproject.toml`` (``install()``,
    ``%load_ext``): unset or empty gives the option's default, on, as everywhere else."""
    choice = _switch(ENV_DISCOVER, environ)
    return BY_KEY["discover"].default if choice is None else choice


def detect_from_environment(environ: Mapping[str, str] | None = None) -> bool | tuple[str, ...]:
    """``REDACTOR_DETECT``, read as ``REDACTOR_DISCOVER`` is: ``0``/``false``/``no``/``off`` no
    detection, ``1``/``true`` the default set, else comma-separated kinds. Unset or empty: the
    option's default (the default set)."""
    choice = _switch(ENV_DETECT, environ)
    return BY_KEY["detect"].default if choice is None else choice


def _environment_layer(environ: Mapping[str, str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, var in (("discover", ENV_DISCOVER), ("detect", ENV_DETECT)):
        choice = _switch(var, environ)
        if choice is not None:
            out[key] = choice
    engine = engine_from_environment(environ)
    if engine is None:
        return out
    if engine.lower() not in ENGINES:
        # The message the engine gave before this layer existed (tests and users rely on it).
        raise ConfigError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    out["engine"] = engine.lower()
    return out


def _given_layer(given: Mapping[str, Any], flags: bool) -> dict[str, Any]:
    """Flags, traits or keyword arguments; None (or an empty list) means not given."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        option = BY_KEYWORD.get(name)
        if option is None and name in DEPRECATED:
            option = DEPRECATED[name]
            if value:
                warnings.warn(
                    f"{name} is deprecated: use {option.keyword} (one spelling per option, "
                    "see docs/configuration.md)",
                    FutureWarning,  # shown by default: the users of a trait or keyword see it
                    stacklevel=4,
                )
        if option is None:
            near = difflib.get_close_matches(name, list(BY_KEYWORD), n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise TypeError(f"unknown setting {name!r}{hint}")
        if value is None or (option.is_list and not value):
            continue
        checked = _check(option, value, option.flag if flags else name)
        if option.is_list and option.keyword in out:
            checked = out[option.keyword] + checked
        out[option.keyword] = checked
    return out


def resolve(
    given: Mapping[str, Any] | None = None,
    *,
    config: Path | str | None = None,
    use_config: bool = True,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: bool = False,
) -> Settings:
    """The settings from every layer: defaults < ``[tool.redactor]`` < environment < ``given``.

    ``config`` is the config file to read (default: the one ``REDACTOR_CONFIG`` in ``environ``
    names, else the nearest ``.redactor.toml`` or ``pyproject.toml`` with ``[tool.redactor]`` at or
    above ``cwd``: :func:`config_path`); ``use_config=False`` reads none (``--no-config``). ``given`` maps Python keywords (or a
    deprecated spelling, with a FutureWarning) to values, None for "not given"; list values
    are added to those of the lower layers. ``flags`` says that ``given`` came from the command
    line, so that errors name the flag rather than the keyword."""
    values: dict[str, Any] = {}
    pyproject: Path | None = None
    if use_config:
        pyproject = config_path(config, cwd, environ)
        if pyproject is not None:
            values.update(read_config(pyproject))
    values.update(_environment_layer(environ))
    for keyword, value in _given_layer(given or {}, flags).items():
        option = BY_KEYWORD[keyword]
        if option.is_list and keyword in values:
            value = values[keyword] + value
        values[keyword] = value
    settings = Settings(**values, pyproject=pyproject)
    settings.enabled_detectors()  # an unknown kind in `detect` stops here, before any work
    return settings


def settings_from_args(args: Any, cwd: Path | None = None) -> Settings:
    """The settings of a command: its flags (declared by :mod:`redactor.cli.options`, one
    attribute per Python keyword) over the environment over the config file (``--config``, else
    ``REDACTOR_CONFIG``, else the nearest one; none with ``--no-config``)."""
    given = {o.keyword: getattr(args, o.keyword, None) for o in OPTIONS}
    return resolve(
        given,
        config=getattr(args, "config", None),
        use_config=not getattr(args, "no_config", False),
        cwd=cwd,
        flags=True,
    )


# -- the documentation table ----------------------------------------------------------------------


def _default_text(option: Option) -> str:
    if option.key == "engine":
        return "`auto`"
    if option.default is None:
        return "all"
    if isinstance(option.default, bool):
        return f"`{str(option.default).lower()}`"
    if option.default == ():
        return "none"
    return f"`{option.default}`"


def option_table() -> str:
    """The Markdown table of every option, as ``docs/configuration.md`` shows it."""
    rows = [
        "| key (`[tool.redactor]` or `.redactor.toml`) | command line | environment | "
        "Python keyword | nbconvert trait | default | meaning |",
        "|---|---|---|---|---|---|---|",
        # Not an option (a file cannot name itself): where the keys below are read from.
        f"| - | `--config PATH`, `--no-config` | `{ENV_CONFIG}` | `config`, `use_config` | "
        "`use_pyproject` | the nearest config file | the config file the keys below are read "
        f"from: `--config` or `{ENV_CONFIG}` name one (a file named `pyproject.toml` is read for "
        f"its `{TABLE}` table, any other for its top level); by default the nearest "
        f"`{CONFIG_NAME}` or `pyproject.toml` with a `{TABLE}` table at or above the working "
        f"directory (the notebook's folder for nbconvert and the save hook), `{CONFIG_NAME}` "
        "first in a folder that has both; `--no-config` reads none |",
    ]
    for o in OPTIONS:
        flag = f"`{o.flag}`" + "".join(f" (or `{a}`)" for a in o.flag_aliases)
        if o.metavar:
            flag = f"`{o.flag} {o.metavar}`" + "".join(f" (or `{a}`)" for a in o.flag_aliases)
        if o.kind in ("discover", "detect"):
            flag = f"`{o.flag} {o.metavar}`, `--no-{o.key}`"
        if not o.cli:
            flag = "-"
        env = f"`{o.env_var}`" if o.env_var else "-"
        keyword = f"`{o.keyword}`" + "".join(f" (deprecated: `{d}`)" for d in o.deprecated)
        rows.append(
            f"| `{o.key}` | {flag} | {env} | `{o.keyword}` | {keyword} | {_default_text(o)} | "
            f"{o.help} |"
        )
    return "\n".join(rows) + "\n"
