"""Structured secrets: the secret parts of a value that has structure.

A service-account JSON, a JDBC URL or a dotenv file is registered whole, but its copies in output
are rarely whole: a logger prints one field, ``json.dumps`` re-indents it, a driver echoes the
password alone. :func:`secret_parts` finds the parts worth registering on their own, so that
:meth:`Redactor.add <redactor.engine.redactor.Redactor.add>` can register them too, each named
after the whole (``kv-scope/sa-json#private_key``).

The rules (docs/concepts.md, "Structured secrets", repeats them for users):

* JSON object or array: every string leaf under a key that names a secret (:data:`SECRET_KEYS`,
  or a key ending in one of :data:`SECRET_SUFFIXES`), and every long high-entropy string leaf
  (:func:`high_entropy`); never a leaf under an identifier key (:func:`is_identifier_key`:
  ``type``, ``project_id``, ``client_email``, ``client_id``, ``token_uri``, ``region``, any key
  ending in ``id``, ``uri``, ``url``, ``email``, ``type``, ``name``, ...). Keys are compared
  case-insensitively with ``_``, ``-``, ``.`` and spaces removed (``SecretAccessKey`` ==
  ``secret_access_key``).
* URL with user info (``scheme://user:password@host``): the password, as written and
  percent-decoded; and the secret-named fields of its query string.
* Connection string (``key=value;`` pairs: JDBC, ADO.NET, ODBC with ``{...}`` values; libpq
  ``key=value key=value``; a DSN): the values of secret-named keys (``password``, ``pwd``,
  ``secret``, ``token``, ``key``, ...).
* dotenv, INI or YAML blob (several lines of ``key=value`` / ``key: value``): each value.
* PEM block: nothing here; the ``lines`` fragment encoder already registers each of its lines.

A part is never the whole value (stripped), and each part is itself split again (a JSON leaf
holding a postgres URL gives the URL's password), to a bounded depth.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import unquote

__all__ = [
    "IDENTIFIER_KEYS",
    "IDENTIFIER_SUFFIXES",
    "MIN_ENTROPY",
    "MIN_ENTROPY_LENGTH",
    "SECRET_KEYS",
    "SECRET_SUFFIXES",
    "high_entropy",
    "is_identifier_key",
    "is_secret_key",
    "secret_parts",
]

# Normalised key names (lower case, no "_", "-", "." or spaces) whose value is a secret.
SECRET_KEYS = frozenset(
    {
        "privatekey",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "clientsecret",
        "apikey",
        "key",
        "secretkey",
        "secretaccesskey",
        "sessiontoken",
        "auth",
        "authorization",
        "identitytoken",
        "credential",
        "credentials",
        "accountkey",
        "sharedaccesskey",
        "sas",
        "signature",
    }
)
# A key ending in one of these names a secret too (db_password, github_token, AccountKey).
SECRET_SUFFIXES = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "accountkey",
)
# Keys whose value is an identifier, never a secret, even when long and random-looking: checked
# before the secret rule, so token_uri and client_id are not secrets.
IDENTIFIER_KEYS = frozenset(
    {
        "type",
        "projectid",
        "clientemail",
        "clientid",
        "tokenuri",
        "authuri",
        "region",
        "universedomain",
        "user",
        "username",
        "userid",
        "login",
        "account",
        "host",
        "hostname",
        "server",
        "port",
        "database",
        "dbname",
        "schema",
        "version",
        "expiration",
        "expiry",
    }
)
IDENTIFIER_SUFFIXES = (
    "id",
    "uri",
    "url",
    "email",
    "type",
    "name",
    "region",
    "domain",
    "endpoint",
    "host",
    "port",
)
# The entropy rule for leaves under other keys: at least MIN_ENTROPY_LENGTH characters, no
# whitespace, and at least MIN_ENTROPY bits a character (Shannon, over the leaf's own characters).
# A 20-character random base64 string has about 4.1 bits a character, a 40-digit hex id 3.7;
# English words and snake_case identifiers stay under 3.5 until they are long sentences, which
# the whitespace rule excludes.
MIN_ENTROPY_LENGTH = 20
MIN_ENTROPY = 3.5
# Nested structure (a URL inside a JSON leaf inside a YAML value) is split this deep.
_MAX_DEPTH = 4

# ";" is not in user info here: JDBC's ";key=value" properties follow the host, and a "@" in a
# password there must not make "host;...;password={P" look like user info.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#@;\s]*)@")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PATH = re.compile(r"^(?:~?/|\./|\.\./|[A-Za-z]:[\\/])")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_. -]*$")
_BLOB_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?:export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)[ \t]*"
    r"(?P<sep>[=:])(?:[ \t]*(?P<value>.*))?$"
)
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
# A PEM block's header and footer ("-----BEGIN RSA PRIVATE KEY-----"): a blob's lines between
# them (a dotenv's quoted multi-line key) are base64, not fields, and the lines encoder
# registers each of them already.
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]+-----")


def _norm(key: str) -> str:
    return re.sub(r"[\s_.\-]", "", key).lower()


def is_identifier_key(key: str) -> bool:
    """True for keys whose value identifies something (``client_email``, ``token_uri``)."""
    k = _norm(key)
    return k in IDENTIFIER_KEYS or k.endswith(IDENTIFIER_SUFFIXES)


def is_secret_key(key: str) -> bool:
    """True for keys that name a secret and are not identifiers (``private_key``, not ``private_key_id``)."""
    if is_identifier_key(key):
        return False
    k = _norm(key)
    return k in SECRET_KEYS or k.endswith(SECRET_SUFFIXES)


def entropy(text: str) -> float:
    """Shannon entropy of ``text``'s characters, in bits a character."""
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values()) if n else 0.0


def high_entropy(text: str) -> bool:
    """The rule for JSON leaves under keys that name nothing: long, one word, random-looking, and
    not a URL, an e-mail address or a path."""
    return (
        len(text) >= MIN_ENTROPY_LENGTH
        and not any(c.isspace() for c in text)
        and "://" not in text
        and not _EMAIL.match(text)
        and not _PATH.match(text)
        and entropy(text) >= MIN_ENTROPY
    )


def secret_parts(value: str) -> list[tuple[str, str]]:
    """The ``(label, part)`` pairs of ``value``'s secret parts; ``[]`` for unstructured values.

    Labels start with ``#`` and name the path (``#private_key``, ``#credentials.token``,
    ``#DATABASE_URL#password`` for a part of a part). Each distinct (label, part) once, in order.
    """
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for label, part in _split(value, 0):
        if (label, part) not in seen:
            seen.add((label, part))
            out.append((label, part))
    return out


def _split(value: str, depth: int) -> Iterator[tuple[str, str]]:
    if depth >= _MAX_DEPTH:
        return
    whole = value.strip()
    for path, part in _direct(whole):
        if not part.strip() or part.strip() == whole:
            continue
        yield "#" + path, part
        for sub, inner in _split(part, depth + 1):
            yield f"#{path}{sub}", inner


def _direct(whole: str) -> Iterator[tuple[str, str]]:
    if not whole:
        return
    if whole[0] in "{[":
        try:
            doc = json.loads(whole)
        except ValueError:
            pass
        else:
            if isinstance(doc, (dict, list)):
                yield from _json(doc, "")
                return
    if _PEM_BEGIN.match(whole):
        return  # PEM: the lines encoder registers each line already
    if "\n" in whole:
        yield from _blob(whole)
        return
    if "-----BEGIN" in whole:
        return  # one line with a PEM header in it is no field list
    # _URL needs "://": without this check it tries every start in a long token and scans the
    # run after it, 4.4 ms for a 2,268-character base64 key (17% of registering it).
    urls = list(_URL.finditer(whole)) if "://" in whole else []
    for m in urls:
        _user, sep, password = m.group(1).partition(":")
        if sep and password:
            yield "password", password
            decoded = unquote(password)
            if decoded != password:
                yield "password", decoded
    if "=" in whole:
        yield from _pairs(whole)


# -- JSON ----------------------------------------------------------------------------------------


def _json(doc: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(doc, dict):
        for key, item in doc.items():
            key = str(key)
            sub = f"{path}.{key}" if path else key
            if isinstance(item, str):
                if not is_identifier_key(key) and (is_secret_key(key) or high_entropy(item)):
                    yield sub, item
                else:
                    yield from _nested(sub, item)
            else:
                yield from _json(item, sub)
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            sub = f"{path}[{i}]"
            if isinstance(item, str):
                if high_entropy(item):
                    yield sub, item
                else:
                    yield from _nested(sub, item)
            else:
                yield from _json(item, sub)


def _nested(path: str, text: str) -> Iterator[tuple[str, str]]:
    """The parts of a leaf that is not itself a secret (a URL with a password in it)."""
    for label, part in _split(text, 1):
        yield path + label, part


# -- connection strings and DSNs ------------------------------------------------------------------


def _pairs(text: str) -> Iterator[tuple[str, str]]:
    """Secret-named fields of ``key=value`` pairs separated by ``;`` (JDBC, ADO.NET, ODBC), ``&``
    (a URL's query) or whitespace (libpq)."""
    if ";" in text:
        fields = _semicolon_fields(text)
    else:
        fields = []
        query = text.partition("?")[2] if "://" in text else ""
        if query:
            for item in query.split("&"):
                key, sep, val = item.partition("=")
                if sep:
                    fields.append((key, unquote(val)))
        else:
            fields = _libpq_fields(text)
    for key, val in fields:
        key = key.strip()
        if _KEY.match(key) and is_secret_key(key) and val.strip():
            yield _norm(key) if " " in key else key, val


def _semicolon_fields(text: str) -> list[tuple[str, str]]:
    # ODBC braces {a;b} (with }} for a brace) and ADO.NET quotes "a;b" / 'a;b' protect ";".
    fields: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        eq = text.find("=", i)
        semi = text.find(";", i)
        if eq < 0:
            break
        if 0 <= semi < eq:
            i = semi + 1  # a segment with no "=" (jdbc:sqlserver://host:1433)
            continue
        key = text[i:eq].strip()
        j = eq + 1
        while j < n and text[j] == " ":
            j += 1
        if j < n and text[j] == "{":
            k = j + 1
            buf = []
            while k < n:
                if text[k] == "}":
                    if text[k + 1 : k + 2] == "}":
                        buf.append("}")
                        k += 2
                        continue
                    break
                buf.append(text[k])
                k += 1
            val, end = "".join(buf), k + 1
        elif j < n and text[j] in "\"'":
            q = text[j]
            k = j + 1
            buf = []
            while k < n:
                if text[k] == q:
                    if text[k + 1 : k + 2] == q:
                        buf.append(q)
                        k += 2
                        continue
                    break
                buf.append(text[k])
                k += 1
            val, end = "".join(buf), k + 1
        else:
            end = text.find(";", j)
            end = n if end < 0 else end
            val = text[j:end].strip()
        fields.append((key, val))
        nxt = text.find(";", end)
        i = n if nxt < 0 else nxt + 1
    return fields


_LIBPQ = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']*)")


def _libpq_fields(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _LIBPQ.finditer(text):
        val = m.group(2)
        if val.startswith("'") and val.endswith("'") and len(val) >= 2:
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        out.append((m.group(1), val))
    return out


# -- dotenv, INI, YAML ----------------------------------------------------------------------------


def _unquote(val: str) -> str:
    val = val.strip()
    if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
        return val[1:-1]
    # an unquoted value ends at an inline comment (dotenv, YAML: " #"; INI: " ;")
    for mark in (" #", "\t#", " ;"):
        cut = val.find(mark)
        if cut >= 0:
            val = val[:cut]
    return val.strip()


def _blob(text: str) -> Iterator[tuple[str, str]]:
    """Each value of a dotenv, INI or YAML blob, labelled ``section.key`` / ``parent.child``."""
    section = ""
    stack: list[tuple[int, str]] = []  # YAML parents: (indent, key)
    in_pem = False
    for line in text.splitlines():
        # A PEM block anywhere in the blob hides only its own lines: the fields around it are
        # still parsed (a "-----BEGIN" in one value once dropped every other value's part).
        if in_pem:
            in_pem = not _PEM_END.search(line)
            continue
        begin = _PEM_BEGIN.search(line)
        if begin:
            in_pem = not _PEM_END.search(line, begin.end())
            continue
        stripped = line.strip()
        if not stripped or stripped[0] in "#;" or stripped == "---":
            continue
        m = _SECTION.match(line)
        if m:
            section, stack = m.group(1).strip(), []
            continue
        if stripped.startswith("- "):
            continue  # YAML list items: their scalars have no key to name them
        m = _BLOB_LINE.match(line)
        if not m:
            continue
        indent = len(m.group("indent").expandtabs())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = m.group("key")
        raw = m.group("value") or ""
        path = ".".join([p for p in (section,) if p] + [k for _, k in stack] + [key])
        if not raw.strip():
            if m.group("sep") == ":":
                stack.append((indent, key))
            continue
        if raw.strip() in ("|", ">", "|-", ">-"):
            continue  # a YAML block scalar: its lines are the lines encoder's job
        val = _unquote(raw)
        if val:
            yield path, val
