"""Secret values from dotenv files (``secrets-file``), read without interpolation.

python-dotenv's parser gives the bindings; every line must parse, and errors name the file and the
line numbers, never a line's content (it may be the value)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from dotenv.parser import parse_stream

from redactor.errors import ConfigError

__all__ = ["dotenv_bindings", "dotenv_items"]


# A file of nothing but NAME=value lines with plain values (no quote, whitespace, "#", "$" or
# backslash: nothing python-dotenv would unquote, strip, cut at a comment or unescape), or values
# in single or double quotes with no backslash or quote inside (bound without their quotes),
# binds exactly what each line says. Such a file (the usual export of a secret store) is split here in
# one regex match, not parsed line by line: python-dotenv took 0.15 s of CPU for 10,000 lines,
# a tenth of `redactor filter`'s start-up (benchmarks/bench_startup.py). Anything else, python-
# dotenv parses, as before (tests/sources/test_dotenv_fast.py compares the two).
_PLAIN_FILE = re.compile(
    r"(?:[A-Za-z_][A-Za-z0-9_]*=(?:[^\s'\"#$\\]*|'[^'\\\n]*'|\"[^\"\\\n]*\")\n)*"
)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def dotenv_items(path: Path) -> list[tuple[str, str]]:
    """The non-empty values of a dotenv file, or ConfigError naming the file and the bad lines.

    Every line must parse: python-dotenv alone skips a line it cannot parse with a warning,
    which would drop that secret silently. A name without ``=`` is refused too, since in a secrets
    file it is more likely a pasted value than a declaration. Messages give line numbers, never
    a line's content (it may be the value)."""
    return [(f"{path.name}/{key}", value) for key, value in dotenv_bindings(path) if value]


def dotenv_bindings(path: Path, what: str = "secrets file") -> list[tuple[str, str]]:
    """Every ``(NAME, value)`` of a dotenv file in order, empty values included, read as
    :func:`dotenv_items` reads them; ``what`` names the file in errors (``env file`` for
    ``redactor run --env-file``)."""
    try:
        # Read as bytes then decoded, so that a FIFO (--secrets-file <(vault ...)) works too.
        with path.open("rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path} is a folder, not a dotenv file") from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot read {what} {path}: {why}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise ConfigError(f"cannot read {what} {path}: line {line} is not UTF-8") from None
    # Universal newlines, as python-dotenv's own open() gives them.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _PLAIN_FILE.fullmatch(text if not text or text.endswith("\n") else text + "\n"):
        return [_split(line) for line in text.split("\n") if line]
    bad: list[int] = []
    items: list[tuple[str, str]] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            bad.append(binding.original.line)
        elif binding.key is not None and binding.value is not None:
            # No interpolation: python-dotenv would expand ${VAR} even inside single quotes.
            items.append((binding.key, binding.value))
    if bad:
        lines = f"line {bad[0]}" if len(bad) == 1 else "lines " + ", ".join(map(str, bad))
        raise ConfigError(
            f"cannot parse {what} {path} at {lines}: not NAME=VALUE (an unclosed quote, "
            "text after a closing quote, or no '='); fix or remove "
            + ("it" if len(bad) == 1 else "them")
            + " (the content is not shown)"
        )
    return items


def _split(line: str) -> tuple[str, str]:
    key, value = line.split("=", 1)
    if value[:1] in ("'", '"'):
        return key, value[1:-1]
    return key, value
