"""Secret values from environment variables: named ones (``secret-env``) and globs of names
(``env-pattern``). Names are given, never values; a named variable that is not set is an error,
a glob that matches nothing is reported by the caller (fail closed)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from redactor.errors import ConfigError

__all__ = ["named_items", "pattern_items"]


def named_items(names: Iterable[str], env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(env/NAME, value)`` for one ``secret-env`` name; ConfigError when it is not set."""
    out = []
    for name in names:
        if name not in env:
            raise ConfigError(f"environment variable {name} (--secret-env) is not set")
        out.append((f"env/{name}", env[name]))
    return out


def pattern_items(pattern: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(env/NAME, value)`` for every variable whose name matches ``pattern``, sorted by name
    (case-sensitive, as the environment is)."""
    return [(f"env/{n}", env[n]) for n in sorted(env) if fnmatch.fnmatchcase(n, pattern)]
