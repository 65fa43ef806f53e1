"""The named registry of encoders: how one secret value turns into every form it can take in output.

A secret rarely leaks verbatim. It leaks inside a JSON log line, a URL, an HTTP Basic auth header, a
``repr()`` of a dict or an HTML table. Each encoder below maps a value to the forms it takes in one of
those places; the engine registers all of them in one automaton.

There are three kinds of encoder:

* **variants** produce other spellings of the value itself (trimmed, unquoted, with other line
  endings). Every *transform* is applied to each variant.
* **fragments** produce parts of the value that are matched as they are (the lines of a PEM key).
* **transforms** produce the value as one kind of output writes it (base64, JSON, ...).

Users can switch encoders off (``Redactor(encodings=["plain", "json"])`` or
``encodings=default_encodings() - {"hex"}``) or register their own with :func:`register`.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, quote_plus

__all__ = [
    "Encoding",
    "SecretValue",
    "default_encodings",
    "get_encoding",
    "register",
    "registry",
]


@dataclass(frozen=True)
class SecretValue:
    """One value in both of its shapes: ``text`` is ``None`` for bytes that are not valid UTF-8."""

    text: str | None
    data: bytes

    @classmethod
    def of(cls, value: str | bytes) -> SecretValue:
        if isinstance(value, str):
            return cls(value, value.encode("utf-8", "surrogatepass"))
        data = bytes(value)
        try:
            return cls(data.decode("utf-8"), data)
        except UnicodeDecodeError:
            return cls(None, data)


EncoderFunc = Callable[[SecretValue], Iterable[str]]


@dataclass(frozen=True)
class Encoding:
    """A named encoder. ``func`` returns the forms of one value, as text."""

    name: str
    func: EncoderFunc
    kind: Literal["variant", "fragment", "transform"] = "transform"
    description: str = ""


_REGISTRY: dict[str, Encoding] = {}
_DEFAULTS: list[str] = []


def register(encoding: Encoding, *, default: bool = False) -> Encoding:
    """Add (or replace) an encoder by name; ``default=True`` also switches it on for new redactors."""
    _REGISTRY[encoding.name] = encoding
    if default and encoding.name not in _DEFAULTS:
        _DEFAULTS.append(encoding.name)
    return encoding


def registry() -> dict[str, Encoding]:
    """A copy of every known encoder, by name."""
    return dict(_REGISTRY)


def default_encodings() -> list[str]:
    """The names used when ``Redactor(encodings=None)``."""
    return list(_DEFAULTS)


def get_encoding(name: str) -> Encoding:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown encoding {name!r}; known encodings: {known}") from None


def _encoder(
    name: str, kind: Literal["variant", "fragment", "transform"] = "transform"
) -> Callable[[EncoderFunc], EncoderFunc]:
    def deco(func: EncoderFunc) -> EncoderFunc:
        register(
            Encoding(name, func, kind, (func.__doc__ or "").strip().splitlines()[0]), default=True
        )
        return func

    return deco


# --- variants -------------------------------------------------------------------------------

_QUOTES = ("'", '"', "`")


@_encoder("plain", "variant")
def _plain(v: SecretValue) -> Iterator[str]:
    """The value, trimmed of surrounding whitespace, and unwrapped from matching quotes."""
    if v.text is None:
        return
    yield v.text
    trimmed = v.text.strip()
    yield trimmed
    if len(trimmed) >= 2 and trimmed[0] == trimmed[-1] and trimmed[0] in _QUOTES:
        yield trimmed[1:-1]


@_encoder("lines", "fragment")
def _lines(v: SecretValue) -> Iterator[str]:
    """For multi-line values: every trimmed, non-empty line (what a logger prefixing lines shows)."""
    if v.text is None or ("\n" not in v.text and "\r" not in v.text):
        return
    for line in v.text.splitlines():
        if line.strip():
            yield line.strip()


@_encoder("newlines", "variant")
def _newlines(v: SecretValue) -> Iterator[str]:
    """For multi-line values: the whole value with \\n and \\r\\n swapped."""
    if v.text is None or "\n" not in v.text:
        return
    lf = v.text.replace("\r\n", "\n")
    yield lf
    yield lf.replace("\n", "\r\n")


# --- transforms -----------------------------------------------------------------------------

_B64_SKIP = (0, 2, 3)  # characters that depend on unknown neighbouring bytes at offset 0, 1, 2


def _b64_forms(data: bytes) -> Iterator[str]:
    n = len(data)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(data).decode("ascii")
        yield full
        yield full.rstrip("=")
        for offset in (0, 1, 2):
            # The value inside a larger blob, starting `offset` bytes into a 3-byte group: keep only
            # the characters fully determined by the value's own bits.
            enc = encode(b"\0" * offset + data).decode("ascii")
            stop = ((offset + n) * 8) // 6
            yield enc[_B64_SKIP[offset] : stop]


@_encoder("base64")
def _base64(v: SecretValue) -> Iterator[str]:
    """Base64 (standard and URL-safe, padded and not), also at byte offsets 1 and 2 inside a blob."""
    yield from _b64_forms(v.data)


_PCT = re.compile(r"%[0-9A-F]{2}")


@_encoder("url")
def _url(v: SecretValue) -> Iterator[str]:
    """Percent-encoding: quote(safe=''), quote_plus, each with upper- and lower-case hex digits."""
    for q in (quote(v.data, safe=""), quote_plus(v.data)):
        yield q
        yield _PCT.sub(lambda m: m.group(0).lower(), q)


def _json_inner(s: str, ascii: bool) -> str:
    return json.dumps(s, ensure_ascii=ascii)[1:-1]


@_encoder("json")
def _json(v: SecretValue) -> Iterator[str]:
    """JSON string escaping without the quotes (ASCII and not), once and twice (JSON in JSON)."""
    if v.text is None:
        return
    for ascii in (True, False):
        once = _json_inner(v.text, ascii)
        yield once
        yield _json_inner(once, ascii)


@_encoder("repr")
def _repr(v: SecretValue) -> Iterator[str]:
    """What repr() shows between the quotes, for the str and for the bytes."""
    if v.text is not None:
        yield repr(v.text)[1:-1]
    yield repr(v.data)[2:-1]


@_encoder("html")
def _html(v: SecretValue) -> Iterator[str]:
    """HTML/XML escaping: &amp; &lt; &gt; &quot; and both &#x27; and &#39; for the apostrophe."""
    if v.text is None:
        return
    escaped = html.escape(v.text, quote=True)
    yield escaped
    yield escaped.replace("&#x27;", "&#39;")
    yield html.escape(v.text, quote=False)


@_encoder("hex")
def _hex(v: SecretValue) -> Iterator[str]:
    """Hex of the UTF-8 bytes, lower- and upper-case."""
    h = v.data.hex()
    yield h
    yield h.upper()


@_encoder("quotes")
def _quotes(v: SecretValue) -> Iterator[str]:
    """Shell and SQL quoting: " written as \\" and ' written as ''."""
    if v.text is None:
        return
    yield v.text.replace('"', '\\"')
    yield v.text.replace("'", "''")


def forms_of(value: SecretValue, encodings: Iterable[Encoding]) -> set[str]:
    """Every text form of ``value`` under ``encodings`` (not yet filtered by length).

    Variants are spellings of the value, so every transform is applied to each of them; fragments
    (single lines) are matched as they are.
    """
    encs = list(encodings)
    bases = {value.data: value}
    forms: set[str] = set()
    for enc in encs:
        if enc.kind == "variant":
            for f in enc.func(value):
                bases.setdefault(f.encode("utf-8", "surrogatepass"), SecretValue.of(f))
        elif enc.kind == "fragment":
            forms.update(enc.func(value))
    for base in bases.values():
        if base.text is not None:
            forms.add(base.text)
        for enc in encs:
            if enc.kind == "transform":
                forms.update(enc.func(base))
    return forms
