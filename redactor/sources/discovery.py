"""Discovery: the secrets a process can already read, without any set-up.

Most leaks are of credentials nobody registered: the token in ``DATABRICKS_TOKEN`` or
``~/.databrickscfg``, the AWS keys in ``~/.aws/credentials``, a CI job's ``GITHUB_TOKEN``. Each
source below reads one tool's own file (following that tool's path rules and environment
variables) and yields ``(name, value)`` for its SECRET fields only: never user names, hosts,
regions or other identifiers, which would hide harmless text everywhere. Names say where the
value came from (``env:DATABRICKS_TOKEN``, ``~/.aws/credentials[default]/aws_secret_access_key``)
so ``redactor sources`` can list them without values.

Failure policy: a missing or unreadable file is skipped quietly (most machines lack most of these
files); a malformed one is skipped with a :class:`RedactorWarning` naming the file and the parser's
error class only (parser messages may quote the line, hence the value). Line-based files
(``.git-credentials``, ``.pgpass``) skip only the malformed line, naming its number, so one bad
line does not unprotect the others.

Only the standard library parses (configparser, json, netrc). YAML (gh ``hosts.yml``, kube
config) is read by :func:`read_simple_yaml`, a reader for the block-style subset those tools
write, which refuses anything beyond it; then by PyYAML when it is installed (imported lazily: it
is not a core dependency, and its import alone costs 25 ms); then as JSON; else the file is
reported malformed.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import difflib
import fnmatch
import json
import netrc
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from redactor.engine.redactor import RedactorWarning
from redactor.errors import ConfigError

__all__ = [
    "DEFAULT_ENV_PATTERNS",
    "ENV_ALLOW",
    "SOURCES",
    "WELL_KNOWN_ENV",
    "Source",
    "discover",
    "discover_by_source",
    "read_simple_yaml",
    "unknown_source",
]

#: a discovery source: (environment, home directory) -> (name, value) pairs
Source = Callable[[Mapping[str, str], Path], Iterator[tuple[str, str]]]

#: names of environment variables whose values are secrets (glob patterns, matched on the
#: upper-cased name); the same suffixes Buildkite masks by default, plus a few common ones
DEFAULT_ENV_PATTERNS: tuple[str, ...] = (
    "*_TOKEN",
    "*_SECRET",
    "*_PASSWORD",
    "*_PASSWD",
    "*_API_KEY",
    "*_ACCESS_KEY",
    "*_SECRET_KEY",
    "*_PRIVATE_KEY",
    "*_CLIENT_SECRET",
    "*_CREDENTIALS",
)

#: variables that are secrets whatever the patterns and the allow list say
WELL_KNOWN_ENV: frozenset[str] = frozenset(
    {
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GH_ENTERPRISE_TOKEN",
        "DATABRICKS_TOKEN",
        "DATABRICKS_CLIENT_SECRET",
        "DATABRICKS_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AZURE_CLIENT_SECRET",
        "ARM_CLIENT_SECRET",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "PGPASSWORD",
        "MYSQL_PWD",
        "NPM_TOKEN",
        "TWINE_PASSWORD",
        "CI_JOB_TOKEN",
        "SLACK_BOT_TOKEN",
        # what a Vault / OpenBao scope signs in with besides VAULT_TOKEN (which *_TOKEN takes)
        "VAULT_SECRET_ID",
        "BAO_SECRET_ID",
        "VAULT_JWT",
        "BAO_JWT",
    }
)

#: names that match a pattern but hold no secret (glob patterns, upper-cased name): paths to
#: credential files, URLs, identifiers. ``GOOGLE_APPLICATION_CREDENTIALS`` is a file path; the
#: suffixed forms keep a future broader pattern (``*_TOKEN*``) from taking them.
ENV_ALLOW: tuple[str, ...] = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "*_CREDENTIALS_FILE",
    "*_TOKEN_URL",
    "*_TOKEN_PATH",
    "*_TOKEN_FILE",
    "*_PASSWORD_FILE",
    "*_SECRET_FILE",
    "*_SECRET_NAME",
    "*_SECRET_ARN",
    "*_KEY_ID",
    "*_KEY_FILE",
    "*_KEY_PATH",
)


def _display(path: Path, home: Path) -> str:
    """``~/...`` for files under home (stable names across users), the full path otherwise."""
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return str(path)


def _warn_malformed(shown: str, error: BaseException | str) -> None:
    # Only the error's class: parser messages (configparser, json) may quote the line, i.e. a value.
    kind = error if isinstance(error, str) else type(error).__name__
    warnings.warn(
        f"redactor discovery: {shown} is malformed ({kind}); its secrets are not discovered",
        RedactorWarning,
        stacklevel=3,
    )


def _read(path: Path) -> str | None:
    """The file's text; None when it is missing or unreadable (skipped quietly)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, ValueError):
        # ValueError: undecodable bytes or a NUL in the path; not a file this tool wrote.
        return None


def _ini(path: Path, home: Path) -> tuple[str, configparser.ConfigParser] | None:
    text = _read(path)
    if text is None:
        return None
    # No DEFAULT inheritance (a sentinel default section): each value is named by the section it
    # is written in; no interpolation (a '%' in a password is literal); duplicates tolerated.
    cp = configparser.ConfigParser(interpolation=None, default_section="\0no-default", strict=False)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    shown = _display(path, home)
    try:
        cp.read_string(text, source=shown)
    except configparser.Error as e:
        _warn_malformed(shown, e)
        return None
    return shown, cp


def _ini_fields(path: Path, home: Path, fields: Iterable[str]) -> Iterator[tuple[str, str]]:
    parsed = _ini(path, home)
    if parsed is None:
        return
    shown, cp = parsed
    wanted = {f.lower() for f in fields}
    for section in cp.sections():
        for key, value in cp.items(section, raw=True):
            if key.lower() in wanted and value.strip():
                yield f"{shown}[{section}]/{key}", value.strip()


def _json(path: Path, home: Path) -> tuple[str, Any] | None:
    text = _read(path)
    if text is None:
        return None
    shown = _display(path, home)
    try:
        return shown, json.loads(text)
    except ValueError as e:
        _warn_malformed(shown, e)
        return None


# ---------------------------------------------------------------------------------- the sources


def env_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """Variables named in :data:`WELL_KNOWN_ENV` or matching :data:`DEFAULT_ENV_PATTERNS` and not
    :data:`ENV_ALLOW`, sorted by name; empty values are skipped."""
    for name in sorted(environ):
        value = environ[name]
        if not value.strip():
            continue
        upper = name.upper()
        if upper not in WELL_KNOWN_ENV:
            if not any(fnmatch.fnmatchcase(upper, p) for p in DEFAULT_ENV_PATTERNS):
                continue
            if any(fnmatch.fnmatchcase(upper, p) for p in ENV_ALLOW):
                continue
        yield f"env:{name}", value


#: ~/.databrickscfg fields that hold secrets (the Databricks SDK's unified auth attributes)
DATABRICKS_FIELDS = (
    "token",
    "password",
    "client_secret",
    "azure_client_secret",
    "google_credentials",
)


def databrickscfg_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """``DATABRICKS_CONFIG_FILE`` or ``~/.databrickscfg``: :data:`DATABRICKS_FIELDS` of every
    profile."""
    path = Path(environ.get("DATABRICKS_CONFIG_FILE") or home / ".databrickscfg").expanduser()
    yield from _ini_fields(path, home, DATABRICKS_FIELDS)


#: AWS credential fields (``aws_security_token`` is the legacy name of the session token)
AWS_FIELDS = ("aws_secret_access_key", "aws_session_token", "aws_security_token")


def aws_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """``AWS_SHARED_CREDENTIALS_FILE`` (``~/.aws/credentials``) then ``AWS_CONFIG_FILE``
    (``~/.aws/config``): :data:`AWS_FIELDS` of every profile (access key ids are identifiers)."""
    creds = environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials"
    config = environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config"
    yield from _ini_fields(Path(creds).expanduser(), home, AWS_FIELDS)
    yield from _ini_fields(Path(config).expanduser(), home, AWS_FIELDS)


def netrc_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """``NETRC`` or ``~/.netrc`` (as curl and Python's netrc): the password of each machine and
    of ``default``; logins and accounts are not taken."""
    path = Path(environ.get("NETRC") or home / ".netrc").expanduser()
    if _read(path) is None:
        return
    shown = _display(path, home)
    try:
        parsed = netrc.netrc(str(path))
    except netrc.NetrcParseError as e:
        _warn_malformed(shown, e)
        return
    except (OSError, ValueError):
        return
    for host, (_login, _account, password) in parsed.hosts.items():
        if password:
            yield f"{shown}[{host}]/password", password


def docker_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """``$DOCKER_CONFIG/config.json`` (``~/.docker/config.json``): per registry, ``auth`` (base64
    of ``user:password``) and the password it decodes to, ``identitytoken``, ``registrytoken``."""
    base = Path(environ.get("DOCKER_CONFIG") or home / ".docker").expanduser()
    parsed = _json(base / "config.json", home)
    if parsed is None:
        return
    shown, data = parsed
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return
    for registry, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        prefix = f"{shown}[{registry}]"
        auth = entry.get("auth")
        if isinstance(auth, str) and auth.strip():
            yield f"{prefix}/auth", auth
            try:
                decoded = base64.b64decode(auth, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                decoded = ""
            _user, sep, password = decoded.partition(":")
            if sep and password:
                yield f"{prefix}/auth#password", password
        for key in ("identitytoken", "registrytoken"):
            value = entry.get(key)
            if isinstance(value, str) and value.strip():
                yield f"{prefix}/{key}", value


def _git_credential_files(environ: Mapping[str, str], home: Path) -> list[Path]:
    # git reads ~/.git-credentials and $XDG_CONFIG_HOME/git/credentials (git-credential-store(1)).
    xdg = Path(environ.get("XDG_CONFIG_HOME") or home / ".config").expanduser()
    return [home / ".git-credentials", xdg / "git" / "credentials"]


def git_credentials_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """``~/.git-credentials`` and ``$XDG_CONFIG_HOME/git/credentials``: the password of each
    ``scheme://user:password@host`` line, percent-decoded as git decodes it, and as written when
    that differs (the file's own form is what a ``cat`` prints)."""
    for path in _git_credential_files(environ, home):
        text = _read(path)
        if text is None:
            continue
        shown = _display(path, home)
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                url = urlsplit(line)
                raw = url.netloc.rpartition("@")[0].partition(":")[2] if "@" in url.netloc else ""
                host = url.hostname or ""
            except ValueError:
                url, raw, host = None, "", ""
            if url is None or not url.scheme or not url.netloc:
                _warn_malformed(f"{shown} line {number}", "not scheme://user:password@host")
                continue
            if not raw:  # no password: nothing secret on this line
                continue
            where = f"{shown}[{url.scheme}://{host}]/password"
            decoded = unquote(raw)
            yield where, decoded
            if decoded != raw:
                yield where + "#encoded", raw


def _pgpass_fields(line: str) -> list[str]:
    # libpq: fields split on ':', '\:' and '\\' escape; the password is the rest of the line.
    fields: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            cur.append(line[i + 1])
            i += 2
            continue
        if c == ":" and len(fields) < 4:
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    fields.append("".join(cur))
    return fields


def pgpass_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """``PGPASSFILE`` or ``~/.pgpass``: the password (fifth field) of each
    ``host:port:database:user:password`` line."""
    path = Path(environ.get("PGPASSFILE") or home / ".pgpass").expanduser()
    text = _read(path)
    if text is None:
        return
    shown = _display(path, home)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _pgpass_fields(line)
        if len(fields) < 5:
            _warn_malformed(f"{shown} line {number}", "fewer than 5 fields")
            continue
        if fields[4]:
            yield f"{shown}[{fields[0]}:{fields[1]}/{fields[2]}]/password", fields[4]


def pypirc_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """``~/.pypirc`` (twine and setuptools take no variable for it): the ``password`` of every
    index section (an API token when the username is ``__token__``)."""
    yield from _ini_fields(home / ".pypirc", home, ("password",))


def _yaml(path: Path, home: Path) -> tuple[str, Any] | None:
    text = _read(path)
    if text is None:
        return None
    shown = _display(path, home)
    # The built-in reader first: importing PyYAML costs 25 ms (measured, -X importtime), half the
    # 50 ms budget at %load_ext, and the tools write the simple subset it reads.
    try:
        return shown, read_simple_yaml(text)
    except ValueError as e:
        error: Exception = e
    try:
        import yaml  # optional: not a core dependency
    except ImportError:
        pass
    else:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            return shown, yaml.load(text, Loader=loader)  # noqa: S506 (CSafeLoader or SafeLoader)
        except yaml.YAMLError as e:
            error = e
    try:
        return shown, json.loads(text)  # kubectl also reads a JSON kube config
    except ValueError:
        pass
    _warn_malformed(shown, error)
    return None


#: how a plain scalar beyond the simple subset starts: flow collections, block scalars, anchors,
#: aliases, tags, directives, reserved indicators
_NOT_SIMPLE = tuple("{[|>&*!%@`")
#: YAML white space (str.strip would also take Unicode spaces, which YAML keeps)
_WS = " \t"


def _quoted_end(text: str) -> int:
    """The index of the quote that closes the scalar ``text`` opens; -1 when unterminated."""
    quote, i = text[0], 1
    while i < len(text):
        c = text[i]
        if quote == "'" and c == "'" and text[i + 1 : i + 2] == "'":
            i += 2
        elif quote == '"' and c == "\\":
            i += 2
        elif c == quote:
            return i
        else:
            i += 1
    return -1


def _scalar(text: str) -> str:
    text = text.strip(_WS)
    if text[:1] in ("'", '"'):
        end = _quoted_end(text)
        rest = text[end + 1 :] if end > 0 else ""
        if end < 0 or (rest and not rest.lstrip(_WS).startswith("#")) or rest[:1] == "#":
            raise ValueError("a quoted scalar that does not end on its line")
        body = text[: end + 1]
        if body[0] == "'":
            return body[1:-1].replace("''", "'")
        # JSON's escapes are a subset of YAML's with the same meaning; refuse the others.
        value = json.loads(body, strict=False)
        if not isinstance(value, str):
            raise ValueError("not a string")
        return value
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip(_WS)
    if text.startswith(_NOT_SIMPLE) and text not in ("{}", "[]"):
        raise ValueError("YAML beyond the simple subset")
    return text


def read_simple_yaml(text: str) -> Any:
    """The block-style YAML subset that gh (``hosts.yml``) and kubectl (kube config) write:
    nested mappings ``key: value``, sequences ``- item`` (of mappings or scalars), plain and
    quoted scalars, comments; every scalar is a string (``{}`` and ``[]`` too). ValueError for
    anything else (flow collections, block scalars, anchors, tags, a line without ``key:``, bad
    indentation), so that the caller never reads a file wrongly: it then tries PyYAML."""
    text = text.removeprefix("\ufeff")
    if any(c in text for c in "\x85\u2028\u2029") or "\r" in text.replace("\r\n", ""):
        raise ValueError("line breaks other than \\n and \\r\\n")
    root: dict[str, Any] = {}
    # (indent, container): a mapping's indent is its keys', a sequence's is its dashes'
    stack: list[tuple[int, Any]] = [(-1, root)]
    pending: tuple[dict[str, Any], str, int] | None = None  # a `key:` awaiting its block
    for raw in text.split("\n"):
        raw = raw.removesuffix("\r")
        line = raw.strip(_WS)
        if not line or line.startswith("#") or line in ("---", "..."):
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip(_WS))]:
            raise ValueError("a tab in the indentation")
        indent = len(raw) - len(raw.lstrip(" "))
        item = line == "-" or line.startswith("- ")
        if pending is not None:
            parent, key, key_indent = pending
            pending = None
            if indent > key_indent or (indent == key_indent and item):
                child: Any = [] if item else {}
                parent[key] = child
                stack.append((indent, child))
        while len(stack) > 1 and (
            stack[-1][0] > indent
            or (stack[-1][0] == indent and isinstance(stack[-1][1], list) and not item)
        ):
            stack.pop()
        container = stack[-1][1]
        if item:
            if not isinstance(container, list):
                raise ValueError("a sequence item where a mapping is expected")
            rest = line[1:].lstrip(_WS)
            if not rest or rest == "-" or rest.startswith("- "):
                raise ValueError("an empty or nested sequence item")
            if _key_sep(rest) < 0:
                container.append(_scalar(rest))
                continue
            indent += len(line) - len(rest)
            entry: dict[str, Any] = {}
            container.append(entry)
            stack.append((indent, entry))
            container, line = entry, rest
        if not isinstance(container, dict):
            raise ValueError("a mapping entry inside a sequence")
        sep = _key_sep(line)
        if sep < 0:
            raise ValueError("a line without 'key:'")
        key = _scalar(line[:sep])
        value = line[sep + 1 :].strip(_WS)
        if value and not value.startswith("#"):
            container[key] = _scalar(value)
        else:
            container[key] = None
            pending = (container, key, indent)
    return root


def _key_sep(line: str) -> int:
    """The index of the ':' that ends a mapping key (followed by a space or the line's end)."""
    quote = line[0] if line[:1] in ("'", '"') else ""
    start = line.find(quote, 1) + 1 if quote else 0
    if quote and start == 0:
        return -1
    i = line.find(":", start)
    while i >= 0:
        if i + 1 == len(line) or line[i + 1] in " \t":
            return i
        i = line.find(":", i + 1)
    return -1


def _yaml_text(value: object) -> str:
    """A YAML scalar as the tool reads it: PyYAML turns ``password: 123456`` into an int, which
    kubectl and gh read as the string; '' for anything else (mappings, lists, null, booleans)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return value if isinstance(value, str) else str(value)


def _gh_dir(environ: Mapping[str, str], home: Path) -> Path:
    # gh: GH_CONFIG_DIR, else $XDG_CONFIG_HOME/gh, else ~/.config/gh.
    if environ.get("GH_CONFIG_DIR"):
        return Path(environ["GH_CONFIG_DIR"]).expanduser()
    return Path(environ.get("XDG_CONFIG_HOME") or home / ".config").expanduser() / "gh"


def gh_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """The GitHub CLI's ``hosts.yml``: ``oauth_token`` of each host and of each of its
    ``users`` (gh >= 2.40 keeps one per account); tokens in the system keyring are not read."""
    parsed = _yaml(_gh_dir(environ, home) / "hosts.yml", home)
    if parsed is None:
        return
    shown, data = parsed
    if not isinstance(data, dict):
        return
    for host, entry in data.items():
        if not isinstance(entry, dict):
            continue
        token = entry.get("oauth_token")
        if token := _yaml_text(token):
            yield f"{shown}[{host}]/oauth_token", token
        users = entry.get("users")
        if isinstance(users, dict):
            for user, fields in users.items():
                token = fields.get("oauth_token") if isinstance(fields, dict) else None
                if token := _yaml_text(token):
                    yield f"{shown}[{host}]/users/{user}/oauth_token", token


#: kube config user fields that are secrets; client certificates are public, keys are not
KUBE_USER_FIELDS = ("token", "password", "client-key-data")
#: the legacy auth-provider's secret config entries (oidc, gcp, azure)
KUBE_AUTH_PROVIDER_FIELDS = ("id-token", "refresh-token", "access-token", "client-secret")


def _kube_files(environ: Mapping[str, str], home: Path) -> list[Path]:
    # kubectl: KUBECONFIG is a list joined by the OS path separator; empty entries are ignored.
    value = environ.get("KUBECONFIG")
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    return [home / ".kube" / "config"]


def kube_source(environ: Mapping[str, str], home: Path) -> Iterator[tuple[str, str]]:
    """``KUBECONFIG`` files (``~/.kube/config``): per user, :data:`KUBE_USER_FIELDS` and the
    auth-provider's :data:`KUBE_AUTH_PROVIDER_FIELDS`."""
    for path in _kube_files(environ, home):
        parsed = _yaml(path, home)
        if parsed is None:
            continue
        shown, data = parsed
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, list):
            continue
        for entry in users:
            if not isinstance(entry, dict) or not isinstance(entry.get("user"), dict):
                continue
            prefix = f"{shown}[user {entry.get('name', '?')}]"
            user = entry["user"]
            for key in KUBE_USER_FIELDS:
                value = user.get(key)
                if value := _yaml_text(value):
                    yield f"{prefix}/{key}", value
            provider = user.get("auth-provider")
            config = provider.get("config") if isinstance(provider, dict) else None
            if isinstance(config, dict):
                for key in KUBE_AUTH_PROVIDER_FIELDS:
                    value = config.get(key)
                    if value := _yaml_text(value):
                        yield f"{prefix}/auth-provider/{key}", value


#: the named discovery sources, in the order :func:`discover` runs them (first name wins)
SOURCES: dict[str, Source] = {
    "env": env_source,
    "databrickscfg": databrickscfg_source,
    "aws": aws_source,
    "netrc": netrc_source,
    "docker": docker_source,
    "git-credentials": git_credentials_source,
    "pgpass": pgpass_source,
    "pypirc": pypirc_source,
    "gh": gh_source,
    "kube": kube_source,
}


def unknown_source(name: str) -> str | None:
    """None for a known discovery source; for any other name the one message every surface
    gives (a ConfigError from :func:`discover`, a warning from ``REDACTOR_DISCOVER``), with the
    nearest known name."""
    if name in SOURCES:
        return None
    near = difflib.get_close_matches(name, list(SOURCES), n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"unknown discovery source {name!r}{hint} (known: {', '.join(SOURCES)})"


def discover_by_source(
    names: Iterable[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(source, [(name, value), ...])`` for each named source (all of :data:`SOURCES` by
    default), in registry order. A value is given once across all of them: found twice, it keeps
    its first name, under its first source. ConfigError for an unknown source name, suggesting
    the nearest one (checked before any file is read)."""
    if isinstance(names, str):
        names = [names]
    wanted = list(SOURCES) if names is None else list(dict.fromkeys(names))
    for name in wanted:
        message = unknown_source(name)
        if message is not None:
            raise ConfigError(message)
    env = os.environ if environ is None else environ
    base = Path.home() if home is None else Path(home)
    seen: set[str] = set()
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for name in sorted(wanted, key=list(SOURCES).index):
        items: list[tuple[str, str]] = []
        for item_name, value in SOURCES[name](env, base):
            if value not in seen:
                seen.add(value)
                items.append((item_name, value))
        out.append((name, items))
    return out


def discover(
    names: Iterable[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> list[tuple[str, str]]:
    """``(name, value)`` from the named sources (all of :data:`SOURCES` by default), in
    registry order; one value found twice keeps its first name. ConfigError for an unknown
    source name, suggesting the nearest one (checked before any file is read)."""
    found = discover_by_source(names, environ=environ, home=home)
    return [item for _, items in found for item in items]
