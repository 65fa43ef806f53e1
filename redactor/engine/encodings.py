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
import binascii
import functools
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
    # The few forms that truncating renderers cut (a repr in %xmode Verbose, a cell of a pandas
    # HTML table, a long JSON log line): the engine registers every fragment-length window of them
    # too. Only these, not every variant: each escaped form adds about one window per character
    # of the value, and the rarer schemes (Gson, shell, JavaScript) are not truncated in practice.
    partial: EncoderFunc | None = None


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
    name: str,
    kind: Literal["variant", "fragment", "transform"] = "transform",
    partial: EncoderFunc | None = None,
    escaper: bool = False,
) -> Callable[[EncoderFunc], EncoderFunc]:
    """Register ``func`` by ``name``. ``escaper``: a text-escaping scheme, whose only form of an
    inert value (see ``_INERT``) is the value itself, so the per-character work is skipped."""

    def deco(func: EncoderFunc) -> EncoderFunc:
        doc = " ".join((func.__doc__ or "").strip().split("\n\n")[0].split())
        encode, part = func, partial
        if escaper:
            encode = _inert_is_itself(func)
            part = None if partial is None else _inert_is_itself(partial)
        register(Encoding(name, encode, kind, doc, part), default=True)
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


def _b64_offsets(data: bytes, encode: Callable[[bytes], bytes]) -> Iterator[tuple[str, str]]:
    """For byte offsets 0, 1 and 2 into a 3-byte group: the value's base64 inside a larger blob,
    and the value's base64 *ending* a blob (the same through the blob's end, or ``""`` where
    the two are the same).

    Inside a blob, keep only the characters fully determined by the value's own bits: the first
    character at offset 1 or 2 mixes them with 2 or 4 bits of the byte before, and where the
    value's last group is incomplete, the character after ``stop`` holds its last 2 or 4 bits and
    4 or 2 bits of what follows, which no one can know.

    A blob that ends with the value fills those bits with zeros and writes ``=`` or ``==``: that
    character is then the value's alone, and it stayed visible (``YTp[REDACTED]E=``, the GitHub
    runner's test vector ``base64("a:Password123!")``). The ending form runs through the padding,
    as peers' do: the runner's Base64StringEscapeShift1/2 register ``base64(value[1:])`` and
    ``base64(value[2:])`` with the padding kept (actions/runner ValueEncoders.cs), Jenkins'
    credentials-binding ``base64("a" + value)[2:]`` and ``base64("aa" + value)[4:]``, padding
    kept, next to the same without the partial character (Base64SecretPatternFactory).
    The padding depends only on the blob ending there, so it hides nothing of the neighbours,
    and ``[REDACTED]`` ends the blob instead of a lone ``E=``. It extends the inside form by 1 to
    3 characters, so it matches no text where that form (when long enough to be registered)
    does not.
    """
    n = len(data)
    for offset in (0, 1, 2):
        enc = encode(b"\0" * offset + data).decode("ascii")
        stop = ((offset + n) * 8) // 6
        inside = enc[_B64_SKIP[offset] : stop]
        # (offset + n) % 3 == 0: the value ends a group, no partial character and no padding
        yield inside, enc[_B64_SKIP[offset] :] if (offset + n) % 3 else ""


_URLSAFE = bytes.maketrans(b"+/", b"-_")  # what base64.urlsafe_b64encode does to b64encode's


def _b64_forms(data: bytes) -> list[str]:
    """The forms of ``_b64_offsets`` for both alphabets, and the whole value's base64 padded and
    not: three encodings (one per byte offset), the URL-safe ones translated from them, in a
    list: a generator over both alphabets' eight encodings was a fifth of registering a token."""
    n = len(data)
    std = [binascii.b2a_base64(b"\0" * offset + data, newline=False) for offset in (0, 1, 2)]
    out: list[str] = []
    for encs in (std, [e.translate(_URLSAFE) for e in std]):
        full = encs[0].decode("ascii")
        out += (full, full.rstrip("="))
        for offset, raw in enumerate(encs):
            enc = full if offset == 0 else raw.decode("ascii")
            skip = _B64_SKIP[offset]
            out.append(enc[skip : ((offset + n) * 8) // 6])  # inside a blob
            if (offset + n) % 3:
                # Ending a blob (see _b64_offsets; at offset 0 this is `full`), and without the
                # padding for unpadded base64 (base64url, JWTs); inside a blob it matches only
                # where the bits after the value happen to be zeros, and then takes one more
                # character, which holds the value's bits too (what the padless `full` at offset
                # 0 has always done).
                end = enc[skip:]
                out += (end, end.rstrip("="))
    return out


@_encoder("base64")
def _base64(v: SecretValue) -> list[str]:
    """Base64 (standard and URL-safe, padded and not), also at byte offsets 1 and 2 inside a blob
    and ending one."""
    return _b64_forms(v.data)


# Wrapped base64: MIME and `base64` wrap at 76 columns (57 bytes a line), openssl and PEM at 64
# (48 bytes), so a value longer than 48 bytes is split by line breaks wherever its copy starts.
WRAP_MIN_BYTES = 49
# Each pattern across a break holds this many characters on either side of it (or the whole first
# or last line, if shorter than WRAP_WHOLE); between breaks, windows of WRAP_WINDOW characters every
# WRAP_SIDE characters cover the rest of each line (WRAP_WINDOW + 2 * (WRAP_SIDE - 1) <= 64), and
# they all overlap, so a wrapped copy at any column and byte offset merges into one region. That is
# about 2.1 patterns per base64 character per byte offset, 8.5 per byte of the value; windows at
# every position instead of every 8th would make it 3.
WRAP_SIDE = 8
WRAP_WINDOW = 32
WRAP_WHOLE = WRAP_WINDOW + WRAP_SIDE


@_encoder("base64-wrapped", "fragment")
def _base64_wrapped(v: SecretValue) -> list[str]:
    """Standard base64 of values over 48 bytes as wrapped at any column (MIME 76, PEM 64), \\n or \\r\\n."""
    if len(v.data) < WRAP_MIN_BYTES:
        return []
    side, window, whole = WRAP_SIDE, WRAP_WINDOW, WRAP_WHOLE
    out: list[str] = []
    for inside, end in _b64_offsets(v.data, base64.b64encode):
        out += _wrapped_forms(inside, side, window, whole)
        if end:
            # A copy that ends its blob (MIME and PEM always pad): 2 * WRAP_WHOLE - 1 patterns.
            out += _wrapped_end_forms(end, side, window, whole)
    return out


def _wrapped_forms(enc: str, side: int, window: int, whole: int) -> list[str]:
    # The same patterns as one generator step per form, built by slicing in comprehensions: a
    # 2,268-character value has 19,265 of them, and yielding each from a Python loop was a third
    # of the encoder's cost (benchmarks/bench_discovery.py, issue 14).
    n = len(enc)
    out = [enc[i : i + window] for i in range(0, n - window + 1, side)]
    out.append(enc[-window:])
    # left of the break: the whole head while it is shorter than `whole`, else `side` characters;
    # right of it: `side` characters, or the whole tail once it is shorter than `whole`.
    lefts = [enc[:p] if p < whole else enc[p - side : p] for p in range(1, n)]
    rights = [enc[p:] if n - p < whole else enc[p : p + side] for p in range(1, n)]
    for brk in ("\n", "\r\n"):
        out += [left + brk + right for left, right in zip(lefts, rights)]
    return out


def _wrapped_end_forms(end: str, side: int, window: int, whole: int) -> list[str]:
    """The patterns of ``_wrapped_forms(end, ...)`` that reach the end of ``end`` (its padding):
    its last window, and the breaks whose right side is the whole tail (``n - p < whole``).
    Those merge with the inside form's patterns, which end one character earlier. Not the grid
    windows that end on the partial character: inside a blob one would match wherever the bits
    after the value happen to be zeros, and take one more character depending on the column."""
    n = len(end)
    breaks = range(max(1, n - whole + 1), n)
    lefts = [end[:p] if p < whole else end[p - side : p] for p in breaks]
    out = [end[-window:]]
    for brk in ("\n", "\r\n"):
        out += [left + brk + end[p:] for left, p in zip(lefts, breaks)]
    return out


# A value made only of these is its own form under every text-escaping encoder below (URL, JSON,
# repr, HTML, shell, JavaScript): most tokens. Checking once saves the per-character escapers,
# which made adding 10,000 such secrets three times as slow.
_INERT = re.compile(r"[A-Za-z0-9_.-]*")


def _inert(v: SecretValue) -> bool:
    return v.text is not None and _INERT.fullmatch(v.text) is not None


def _itself_if_inert(func: EncoderFunc, v: SecretValue) -> Iterable[str]:
    return (v.text,) if _inert(v) else func(v)  # type: ignore[return-value]


def _inert_is_itself(func: EncoderFunc) -> EncoderFunc:
    # A partial of module-level functions, not a closure: a Redactor pickles its encoders (Spark).
    return functools.partial(_itself_if_inert, func)


# The escapers below (JSON, repr, JavaScript) escape each character on its own, whatever its
# neighbours: for an ASCII text, one str.translate through a table of the 128 characters' escapes
# (each made by the per-character code itself, so it is the same result) replaces a Python step
# per character. A 316-character session token has 24 JSON, 6 JavaScript and 8 repr spellings;
# those loops were a third of registering it.
# None of them escapes a letter or a digit, so a table holds only the other 66 ASCII characters
# (built on first use: the 31 tables of all 128 cost 3 ms in a fresh %load_ext).
_NOT_ALNUM = tuple(o for o in range(128) if not chr(o).isalnum())


@functools.cache
def _ascii_table(func: Callable[..., str], *args: object) -> dict[int, str]:
    return {o: e for o in _NOT_ALNUM if (e := func(chr(o), *args)) != chr(o)}


def _repr_chars(s: str) -> str:
    return "".join(repr(c)[1:-1] if c not in "'\"" else c for c in s)


# A byte's escape in a bytes repr, by its latin-1 character.
_BYTES_REPR = {b: repr(bytes((b,)))[2:-1] if b not in b"'\"" else chr(b) for b in range(256)}


_PCT = re.compile(r"%[0-9A-F]{2}")
# The characters each well-known URL encoder leaves alone besides letters, digits and "-_.~":
# urllib.parse.quote's default, JavaScript's encodeURIComponent and encodeURI, requests'
# requote_uri (and its fallback when the text holds a "%" that starts no escape), Go's PathEscape.
_URL_SAFE = ("", "/", "!~*'()", ";,/?:@&=+$!~*'()#", "!#$%&'()*+,/:;=?@[]~", "!#$&'()*+,/:;=?@[]~")
_GO_PATH_SAFE = "$&+:=@"
_UNRESERVED_ESCAPE = re.compile(r"%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[Dd]|2[Ee]|5[Ff]|7[Ee])")


def _unescape(m: re.Match[str]) -> str:
    return chr(int(m.group(0)[1:], 16))


@_encoder("url", escaper=True)
def _url(v: SecretValue) -> Iterator[str]:
    """Percent-encoding as urllib (quote, safe '' and '/', quote_plus), requests, JavaScript, Go and
    Java write it, each with upper- and lower-case hex digits."""
    forms = [quote(v.data, safe=safe) for safe in (*_URL_SAFE, _GO_PATH_SAFE)]
    if v.text is not None and "%" in v.text:
        # requote_uri first decodes the escapes of unreserved characters ("%41" -> "A")
        forms.append(quote(_UNRESERVED_ESCAPE.sub(_unescape, v.text), safe=_URL_SAFE[4]))
    plus = quote_plus(v.data)
    forms += [plus, plus.replace("%2A", "*").replace("~", "%7E")]  # Java's URLEncoder
    for q in dict.fromkeys(forms):
        yield q
        yield _PCT.sub(lambda m: m.group(0).lower(), q)


_JSON_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
# Characters some JSON writers escape although JSON does not require it.
_JSON_EXTRA: dict[str, str] = {
    "go": "<>&\u2028\u2029",  # Go's encoding/json (HTML-safe by default)
    "gson": "<>&='",  # Gson's default, HTML-safe
    "jinja": "<>&'",  # Jinja's |tojson, Django's json_script
    "slash": "/",  # PHP's json_encode, org.json: "\/"
}


def json_escape(s: str, ascii: bool = True, upper: bool = False, extra: str = "") -> str:
    """The body of a JSON string: Python's ``json.dumps`` when ``upper`` is false and ``extra``
    empty; ``upper`` writes ``\\u00E9`` (Jackson, Java); ``extra`` characters are escaped too."""
    if s.isascii():
        return s.translate(_ascii_table(_json_escape_chars, ascii, upper, extra))
    return _json_escape_chars(s, ascii, upper, extra)


def _json_escape_chars(s: str, ascii: bool, upper: bool, extra: str) -> str:
    hex4 = "\\u{:04X}" if upper else "\\u{:04x}"
    out = []
    for c in s:
        o = ord(c)
        if c == "/" and "/" in extra:
            out.append("\\/")
        elif c in extra:
            out.append(hex4.format(o))
        elif c in _JSON_SHORT:
            out.append(_JSON_SHORT[c])
        elif o < 0x20 or (ascii and o > 0x7E):
            if o > 0xFFFF:
                o -= 0x10000
                out.append(hex4.format(0xD800 | (o >> 10)) + hex4.format(0xDC00 | (o & 0x3FF)))
            else:
                out.append(hex4.format(o))
        else:
            out.append(c)
    return "".join(out)


def _json_partial(v: SecretValue) -> Iterator[str]:
    if v.text is not None:
        yield json_escape(v.text, True)
        yield json_escape(v.text, False)


@_encoder("json", partial=_json_partial, escaper=True)
def _json(v: SecretValue) -> Iterator[str]:
    """JSON string escaping without the quotes (ASCII and not, \\u00e9 and \\u00E9, the HTML-safe
    escapes of Go, Gson and Jinja, PHP's \\/), once and twice (JSON in JSON)."""
    if v.text is None:
        return
    once: dict[str, None] = {}
    for ascii in (True, False):
        for upper in (False, True):
            for extra in ("", *_JSON_EXTRA.values()):
                once[json_escape(v.text, ascii, upper, extra)] = None
    yield from once
    for form in once:
        yield json_escape(form, True)


def repr_body(value: str | bytes, quote: str = "'") -> str:
    """What ``repr()`` shows between the quotes, as if delimited by ``quote``: Python picks ``"``
    only for a string holding ``'`` and no ``"``, so a secret's ``'`` shows as ``\\'`` or ``'``
    depending on the enclosing string. Each character's escape depends on nothing else."""
    if isinstance(value, str):
        if value.isascii():
            body = value.translate(_ascii_table(_repr_chars))
        else:
            body = "".join(repr(c)[1:-1] if c not in "'\"" else c for c in value)
    else:
        body = value.decode("latin-1").translate(_BYTES_REPR)
    return body.replace("'", "\\'") if quote == "'" else body


def _ascii_body(value: str, quote: str) -> str:
    body = "".join(ascii(c)[1:-1] if c not in "'\"" else c for c in value)
    return body.replace("'", "\\'") if quote == "'" else body


def _repr_partial(v: SecretValue) -> Iterator[str]:
    for q in ("'", '"'):
        if v.text is not None:
            yield repr_body(v.text, q)
        yield repr_body(v.data, q)


@_encoder("repr", partial=_repr_partial, escaper=True)
def _repr(v: SecretValue) -> Iterator[str]:
    """What repr() (and ascii()) show between the quotes, for the str and the bytes, inside '...'
    and "...", and the repr of that (a repr inside a repr: backslashes doubled)."""
    once: dict[str, None] = {}
    for q in ("'", '"'):
        if v.text is not None:
            once[repr_body(v.text, q)] = None
            once[_ascii_body(v.text, q)] = None
        once[repr_body(v.data, q)] = None
    yield from once
    for body in once:
        for q in ("'", '"'):
            yield repr_body(body, q)


# (&, <, >, ", ') as each HTML/XML escaper writes them.
_HTML_SCHEMES = (
    ("&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"),  # html.escape
    ("&amp;", "&lt;", "&gt;", "&quot;", "&#39;"),  # older escapers, lodash
    ("&amp;", "&lt;", "&gt;", "&#34;", "&#39;"),  # MarkupSafe, Jinja, pandas Styler, Go
    ("&amp;", "&lt;", "&gt;", "&quot;", "&apos;"),  # XML
    # XML in a '...' attribute, where only the delimiting quote is escaped: .NET's XmlTextWriter
    # with QuoteChar '\'' (System.Xml's XmlTextEncoder escapes the attribute's quote character
    # only), saxutils.escape(s, {"'": "&apos;"}). A value holding both quotes had no &apos; form
    # that kept its '"'.
    ("&amp;", "&lt;", "&gt;", '"', "&apos;"),
    ("&amp;", "&lt;", "&gt;", "&quot;", "'"),  # saxutils.quoteattr, Java's escapeHtml4
    ("&amp;", "&lt;", "&gt;", '"', "'"),  # saxutils.escape, html.escape(quote=False)
    ("&#38;", "&#60;", "&#62;", "&#34;", "&#39;"),  # decimal character references
    ("&#x26;", "&#x3c;", "&#x3e;", "&#x22;", "&#x27;"),  # hexadecimal
    ("&#x26;", "&#x3C;", "&#x3E;", "&#x22;", "&#x27;"),
)
_XML_WHITESPACE = {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}  # saxutils.quoteattr


# str.translate tables, built once: {ord(char): escape} is what str.maketrans(dict) returns.
_HTML_TABLES = tuple({ord(c): e for c, e in zip("&<>\"'", scheme)} for scheme in _HTML_SCHEMES)
_XML_WHITESPACE_TABLE = {ord(c): e for c, e in _XML_WHITESPACE.items()}


def _html_partial(v: SecretValue) -> Iterator[str]:
    if v.text is not None:
        for table in _HTML_TABLES[:3]:  # html.escape, MarkupSafe (pandas, Jinja)
            yield v.text.translate(table)


@_encoder("html", partial=_html_partial, escaper=True)
def _html(v: SecretValue) -> Iterator[str]:
    """HTML/XML escaping of & < > " ' as html.escape, MarkupSafe (&#34; &#39;), XML (&apos;, with
    " escaped or not, quoteattr's &#10;), decimal and hex character references; non-ASCII also as
    &#233;."""
    if v.text is None:
        return
    forms: dict[str, None] = {}
    for table in _HTML_TABLES:
        escaped = v.text.translate(table)
        forms[escaped] = None
        forms[escaped.translate(_XML_WHITESPACE_TABLE)] = None
    for form in list(forms):
        forms[form.encode("ascii", "xmlcharrefreplace").decode("ascii")] = None
    yield from forms


@_encoder("hex")
def _hex(v: SecretValue) -> Iterator[str]:
    """Hex of the UTF-8 bytes, lower- and upper-case."""
    h = v.data.hex()
    yield h
    yield h.upper()


@_encoder("quotes", escaper=True)
def _quotes(v: SecretValue) -> Iterator[str]:
    """Shell and SQL quoting: " written as \\" and ' written as ''."""
    if v.text is None:
        return
    yield v.text.replace('"', '\\"')
    yield v.text.replace("'", "''")


# What bash's `printf %q` puts a backslash before, measured with
# bash 5.2; "~" only at the start of a word or after ":" or "=", "#" only at the start.
_SH_BACKSLASH = frozenset(" !\"$&'()*,;<>?[\\]^`{|}")


def printf_q(s: str) -> str:
    """``printf %q`` of a printable value (bash switches to ``$'...'`` for others)."""
    out = []
    for i, c in enumerate(s):
        if (
            c in _SH_BACKSLASH
            or (c == "~" and (i == 0 or s[i - 1] in ":="))
            or (c == "#" and i == 0)
        ):
            out.append("\\")
        out.append(c)
    return "".join(out)


@_encoder("shell", escaper=True)
def _shell(v: SecretValue) -> Iterator[str]:
    """Shell quoting: shlex.quote's '"'"', bash set -x's '\\'', printf %q's backslashes."""
    if v.text is None:
        return
    yield v.text.replace("'", "'\"'\"'")
    yield v.text.replace("'", "'\\''")
    if v.text.isprintable():
        yield printf_q(v.text)
        # Inside a longer word a leading ~ or # is not special.
        yield v.text[0] + printf_q(v.text[1:]) if v.text[0] in "~#" else printf_q(v.text)


# JavaScript string literals: Node's util.inspect writes \' inside '...'; Go's html/template and
# OWASP's encoder write punctuation as \x27 (or \u0027).
_JS_PUNCT = "'\"&<>=+/`\\"


def _js_escape(s: str, style: str, upper: bool) -> str:
    if s.isascii():
        return s.translate(_ascii_table(_js_escape_chars, style, upper))
    return _js_escape_chars(s, style, upper)


def _js_escape_chars(s: str, style: str, upper: bool) -> str:
    out = []
    for c in s:
        o = ord(c)
        if c == "\\" and style != "all":
            out.append("\\\\")
        elif c in _JS_PUNCT or (style == "all" and not c.isalnum() and o < 0x80 and c not in "_-."):
            digits = f"{o:02X}" if style != "u" else f"{o:04X}"
            out.append(("\\x" if style != "u" else "\\u") + (digits if upper else digits.lower()))
        else:
            out.append(c)
    return "".join(out)


@_encoder("js", escaper=True)
def _js(v: SecretValue) -> Iterator[str]:
    """JavaScript string escapes: \\' (util.inspect), punctuation as \\x27 and \\u0027, lower- and
    upper-case."""
    if v.text is None:
        return
    yield v.text.replace("\\", "\\\\").replace("'", "\\'")
    for style in ("x", "u", "all"):
        for upper in (False, True):
            yield _js_escape(v.text, style, upper)


def forms_and_partials(
    value: SecretValue, encodings: Iterable[Encoding]
) -> tuple[set[str], set[str]]:
    """Every text form of ``value`` under ``encodings`` (not yet filtered by length), and the
    forms whose every window the engine also registers: the value's spellings and what the
    encoders' ``partial`` functions return (escaped text a renderer may cut).

    Variants are spellings of the value, so every transform is applied to each of them; fragments
    (single lines) are matched as they are.
    """
    encs = list(encodings)
    bases = {value.data: value}
    forms: set[str] = set()
    partials: set[str] = set()
    for enc in encs:
        if enc.kind == "variant":
            for f in enc.func(value):
                key = f.encode("utf-8", "surrogatepass")
                if key not in bases:
                    bases[key] = SecretValue.of(f)
        elif enc.kind == "fragment":
            forms.update(enc.func(value))
    transforms = [e for e in encs if e.kind == "transform"]
    # The text-escaping schemes give an inert value itself (see _INERT): checked once per base
    # here rather than once per scheme, and their calls skipped (a tenth of adding 10,000
    # tokens: bench_startup.py's register phase).
    others = [e for e in transforms if not _skips_inert(e)]
    for base in bases.values():
        if base.text is not None:
            forms.add(base.text)
            partials.add(base.text)
        for enc in others if _inert(base) else transforms:
            forms.update(enc.func(base))
            if enc.partial is not None:
                partials.update(enc.partial(base))
    return forms, partials


def _skips_inert(enc: Encoding) -> bool:
    """Are the forms and partials of an inert value under ``enc`` that value alone?"""
    try:
        return _skips_inert_kept(enc.func, enc.partial)
    except TypeError:  # a registered encoder whose callable cannot be a dict key
        return _skips_inert_funcs(enc.func, enc.partial)


def _skips_inert_funcs(func: EncoderFunc, partial: EncoderFunc | None) -> bool:
    return all(
        isinstance(f, functools.partial) and f.func is _itself_if_inert
        for f in (func, partial or func)
    )


# Asked for every encoding of every secret registered (90,000 times at 10,000 secrets, 3 us of
# the 31 us a secret took); the encoders are module-level functions and partials: kept.
_skips_inert_kept = functools.lru_cache(maxsize=256)(_skips_inert_funcs)


def forms_of(value: SecretValue, encodings: Iterable[Encoding]) -> set[str]:
    """Every text form of ``value`` under ``encodings`` (not yet filtered by length)."""
    return forms_and_partials(value, encodings)[0]
