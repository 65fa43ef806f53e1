"""PLACEHOLDER (branch i14-wire): the discovery API, with only the ``env`` source.

The discovery engineer's module replaces this file at the merge; only its API is relied on:
:data:`SOURCES` (name -> source) and :func:`discover`, which gives ``(name, value)`` pairs named
by where each value came from (``env:DATABRICKS_TOKEN``), never holding a value in a name.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

__all__ = ["SOURCES", "discover"]

Source = Callable[[Mapping[str, str], Path], list[tuple[str, str]]]

# PLACEHOLDER: a subset of the default patterns.
ENV_PATTERNS = ("*_TOKEN", "*_SECRET", "*_PASSWORD", "*_API_KEY")
ENV_NAMES = ("GITHUB_TOKEN", "DATABRICKS_TOKEN")


def _env(environ: Mapping[str, str], home: Path) -> list[tuple[str, str]]:
    """Environment variables whose names say they hold a secret."""
    return [
        (f"env:{name}", environ[name])
        for name in sorted(environ)
        if name in ENV_NAMES or any(fnmatch.fnmatchcase(name, p) for p in ENV_PATTERNS)
    ]


SOURCES: dict[str, Source] = {"env": _env}


def discover(
    names: Iterable[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | str | None = None,
) -> list[tuple[str, str]]:
    """``(name, value)`` for every secret the named sources (default: all) find."""
    env = os.environ if environ is None else environ
    where = Path(home) if home is not None else Path(env.get("HOME") or Path.home())
    out: list[tuple[str, str]] = []
    for name in SOURCES if names is None else names:
        out += SOURCES[name](env, where)
    return out
