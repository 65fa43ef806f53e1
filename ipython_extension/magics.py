"""``%redactor``: what is being redacted and how, without ever showing a value.

* ``%redactor`` (or ``%redactor status``): number of secrets and their names, pattern count,
  encodings, and the hooks in place.
* ``%redactor add-env NAME [NAME ...]``: register the value of each environment variable (under its
  name), so a secret never has to appear in a cell's source.
* ``%redactor sources``: where the registered secrets came from: each discovery source with its
  count and names, then the rest (``add_secret``, ``dbutils.secrets.get``, ``add-env``).
* ``%redactor replacement TEMPLATE``: what replaces a secret from now on (``[REDACTED]``, or a
  template with ``{name}`` and ``{hash}``); the hooks follow the new redactor.
* ``%redactor detect``: the token detectors on (kinds only); ``%redactor detect off|on|KIND,...``
  turns them off, back to the default set, or to those kinds (``default``, ``all`` too); like
  ``replacement``, the hooks follow the new redactor.
"""

from __future__ import annotations

import os
import shlex
import sys
import warnings
from typing import Any

import redactor
from redactor.errors import RedactorError
from redactor.sources.load import DISCOVERED, detect_in_process

__all__ = ["redactor_magic", "source_lines", "status_lines"]

USAGE = """\
usage: %redactor [status]               the state: secrets (names only), patterns, encodings, hooks
       %redactor add-env NAME [NAME...]  register the values of these environment variables
       %redactor sources                 where the secrets came from (names and counts, never values)
       %redactor replacement TEMPLATE    what replaces a secret, e.g. '[REDACTED:{name}:{hash}]'
       %redactor detect [off|on|KIND,...] the token detectors on; turn them off, on, or to kinds
"""


def status_lines(hooks: list[str]) -> list[str]:
    r = redactor.get_redactor()
    names = r.secret_names
    lines = [
        f"redactor {redactor.__version__}: {len(names)} secret{'s' if len(names) != 1 else ''}"
        + (f" ({', '.join(names)})" if names else ""),
        f"patterns: {r.pattern_count}",
        f"encodings: {', '.join(r.encodings)}",
        f"replacement: {r.replacement}",
        detect_line(),
        "hooks: " + ("; ".join(hooks) if hooks else "none"),
    ]
    return lines


def detect_line() -> str:
    """``detect: KIND, ...`` (or ``detect: off``) for the process-wide redactor: kinds only."""
    kinds = [d.kind for d in redactor.get_redactor().detectors]
    return "detect: " + (", ".join(kinds) if kinds else "off")


def _detect(args: list[str]) -> int:
    if not args:
        print(detect_line())
        return 0
    words = [k.strip() for a in args for k in a.split(",") if k.strip()]
    choice: bool | tuple[str, ...]
    if words == ["off"]:
        choice = False
    elif words == ["on"]:
        choice = True
    else:
        choice = tuple(words)
    try:
        detect_in_process(choice)
    except RedactorError as exc:
        print(f"%redactor detect: {str(exc).removeprefix('detect: ')}", file=sys.stderr)
        return 2
    print(detect_line())
    return 0


def _count(n: int) -> str:
    return f"{n} secret{'' if n == 1 else 's'}"


def source_lines() -> list[str]:
    """One line per discovery source, then one for the secrets registered otherwise."""
    held = redactor.get_redactor().secret_names
    lines = []
    found: set[str] = set()
    for source, names in DISCOVERED.items():
        names = [n for n in names if n in held]
        found.update(names)
        lines.append(f"discovered: {source}: {_count(len(names))} ({', '.join(names)})")
    rest = list(dict.fromkeys(n for n in held if n not in found))
    lines.append(
        f"registered in this process: {_count(len(rest))}"
        + (f" ({', '.join(rest)})" if rest else "")
    )
    lines.append(f"total: {_count(len(held))}")
    return lines


def _add_env(names: list[str]) -> int:
    if not names:
        print(
            "%redactor add-env: give the name of at least one environment variable", file=sys.stderr
        )
        return 2
    status = 0
    for name in names:
        value = os.environ.get(name)
        if value is None:
            print(f"%redactor add-env: environment variable {name} is not set", file=sys.stderr)
            status = 1
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ok = redactor.add_secret(value, name)
        if ok:
            print(f"registered {name}")
        else:
            reason = str(caught[0].message) if caught else "refused"
            print(f"%redactor add-env: {reason}", file=sys.stderr)
            status = 1
    return status


def _replacement(args: list[str]) -> int:
    if len(args) != 1:
        print("%redactor replacement: give one TEMPLATE (quote it)", file=sys.stderr)
        return 2
    try:
        new = redactor.get_redactor().with_replacement(args[0])
    except ValueError as exc:
        print(f"%redactor replacement: {exc}", file=sys.stderr)
        return 2
    redactor.set_redactor(new)
    print(f"replacement: {new.replacement}")
    return 0


def redactor_magic(line: str, hooks: Any = None) -> None:
    """The ``%redactor`` line magic (``hooks`` is a callable listing the hooks in place)."""
    try:
        args = shlex.split(line)
    except ValueError as exc:
        print(f"%redactor: {exc}", file=sys.stderr)
        return
    verb = args[0] if args else "status"
    if verb == "status":
        for text in status_lines(hooks() if hooks else []):
            print(text)
    elif verb == "sources":
        for text in source_lines():
            print(text)
    elif verb in ("add-env", "add_env"):
        _add_env(args[1:])
    elif verb == "replacement":
        _replacement(args[1:])
    elif verb == "detect":
        _detect(args[1:])
    elif verb in ("help", "-h", "--help"):
        print(USAGE, end="")
    else:
        print(f"%redactor: unknown command {verb!r}\n{USAGE}", end="", file=sys.stderr)
