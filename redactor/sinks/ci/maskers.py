"""Handing secrets to a CI system's own masker: what ``redactor ci-mask`` prints or sends.

A CI runner masks the job log itself, with a literal matcher over the values it was told about
(``/work/shared/notes/ci-masking.md`` has what each one does, read from their sources). Once a
value is registered with it, every later step's output is masked even where redactor does not
run. This module turns the engine's forms of each secret (:meth:`Redactor.forms`) into what one
runner accepts:

* **GitHub Actions**: ``::add-mask::VALUE`` lines on stdout, VALUE escaped as the runner
  unescapes it (``ActionCommand.UnescapeData`` in actions/runner: ``%0D``, ``%0A``, ``%25``).
* **Azure Pipelines**: ``##vso[task.setsecret]VALUE`` lines, VALUE escaped as the agent
  unescapes it (``CommandStringConvertor.Unescape`` in microsoft/azure-pipelines-agent:
  ``%3B``, ``%0D``, ``%0A``, ``%5D``, then ``%AZP25``).
* **Buildkite**: a flat JSON object on the stdin of ``buildkite-agent redactor add --format
  json``, never on a command line.

GitHub's and Azure's runners read a step's output with ``ReadLine`` and mask each line on its own,
so a value that spans lines never matches whole: a form holding a line break is handed over line by
line instead (trimmed, as the runner trims the lines of a multi-line ``add-mask``). The whole value
is not sent as well, because the runner would then register each of its lines itself, down to a
lone ``{`` of a JSON secret, which masks every brace in the log (actions/runner#326); lines
shorter than the redactor's ``min_length`` are left out for the same reason.

Forms a runner derives itself from each value it is given (its "value encoders") are not sent:
GitHub's base64 (also of the value without its first one or two bytes), ``\\"``, ``''``, JSON,
``Uri.EscapeDataString``, XML, unquoted and PowerShell pieces; Azure's JSON and
``Uri.EscapeDataString``; Buildkite's Go ``%q`` body. Only encoders whose port here is exact for
the value are used to skip (JSON and Go quoting only for printable ASCII, where Newtonsoft and
``strconv.Quote`` escape just ``\\`` and ``"``): a form wrongly believed derived would leak.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote

from redactor.sinks.ci.protocol import escape_mask_data

__all__ = [
    "CI_NAMES",
    "DETECT_VARIABLES",
    "GITLAB_EXPLANATION",
    "azure_commands",
    "azure_derived",
    "buildkite_derived",
    "buildkite_payload",
    "detect_ci",
    "escape_azure_data",
    "github_commands",
    "github_derived",
    "masker_groups",
    "masker_values",
]

#: The systems ``redactor ci-mask`` can register values with, by their ``--ci`` name.
CI_NAMES = {
    "github": "GitHub Actions",
    "azure": "Azure Pipelines",
    "buildkite": "Buildkite",
}

#: The variable each CI sets in every step, and its value there (compared case-insensitively:
#: Azure sets TF_BUILD=True, the others "true").
DETECT_VARIABLES = {
    "github": ("GITHUB_ACTIONS", "true"),
    "azure": ("TF_BUILD", "true"),
    "buildkite": ("BUILDKITE", "true"),
    "gitlab": ("GITLAB_CI", "true"),
}

GITLAB_EXPLANATION = (
    "GitLab CI has no runtime API for masking: the runner masks only the variables marked "
    "'Masked' in the project's or group's CI/CD settings (or created masked through the API "
    "before the pipeline starts), whose values it receives when the job starts; a job cannot "
    "add one while it runs. Define each secret as a masked variable in Settings > CI/CD > "
    "Variables (GitLab requires a single line of at least 8 characters; it masks the literal "
    "value only, no encodings), and pipe the job's commands through 'redactor filter' or "
    "'redactor run' for the other forms"
)


def detect_ci(environ: Mapping[str, str]) -> list[str]:
    """The CI systems whose marker variable ``environ`` holds ("github", "azure", "buildkite",
    "gitlab"), in that order; usually none or one."""
    return [
        name
        for name, (variable, value) in DETECT_VARIABLES.items()
        if environ.get(variable, "").strip().lower() == value
    ]


# -- what each runner derives from a value itself ----------------------------------------------

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


def _simple_quoted(value: str) -> str | None:
    """JSON (Newtonsoft ``JsonConvert.ToString``) and Go (``strconv.Quote``) escaping of a printable
    ASCII value, without the quotes; None for other values, whose port would be less certain."""
    if not _PRINTABLE_ASCII.fullmatch(value):
        return None
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _uri_data_escape(value: str) -> str | None:
    """.NET's ``Uri.EscapeDataString``: every byte of the UTF-8 but the RFC 3986 unreserved
    characters as %XX, upper-case; Python's ``quote(safe="")`` keeps exactly the same set. The
    runner cuts values over 65,519 characters into chunks: those are not ported (None)."""
    if len(value) > 65519:
        return None
    try:
        return quote(value.encode("utf-8"), safe="")
    except UnicodeEncodeError:
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _powershell_pieces(value: str) -> list[str]:
    """``PowerShellPreAmpersandEscape`` and ``PowerShellPostAmpersandEscape``, as written."""
    if "&" not in value:
        return []
    if "&+" in value:
        k = value.index("&+")
        pre = value[: k + 2]
        post = value[k + 3 :] if len(value) > k + 3 else ""
    else:
        k = value.rindex("&")
        pre, post = value[: k + 1], value[k + 1 :]
    return [p for p in (pre, post) if len(p) >= 6]


def github_derived(value: str) -> set[str]:
    """What the GitHub runner registers besides ``value`` when it is added (HostContext's eleven
    value encoders, ``src/Sdk/DTLogging/Logging/ValueEncoders.cs`` in actions/runner)."""
    out: set[str] = set()
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        return out
    out.add(_b64(data))
    for shift in (1, 2):  # Base64StringEscapeShift: the bytes after the first one or two
        out.add(_b64(data[shift:] if len(data) > shift else data))
    out.add(value.replace('"', '\\"'))  # CommandLineArgumentEscape
    out.add(value.replace("'", "''"))  # ExpressionStringEscape
    for form in (_simple_quoted(value), _uri_data_escape(value)):
        if form is not None:
            out.add(form)
    # XmlDataEscape (SecurityElement.Escape): & first, so no escape is escaped again
    xml = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out.add(xml.replace('"', "&quot;").replace("'", "&apos;"))
    if len(value) > 8 and value.startswith('"') and value.endswith('"'):  # TrimDoubleQuotes
        out.add(value[1:-1])
    out.update(_powershell_pieces(value))
    out.discard("")
    return out


def azure_derived(value: str) -> set[str]:
    """What the Azure Pipelines agent registers besides ``value`` (its JSON and URI encoders,
    ``HostContext.CreateSecretMasker`` in microsoft/azure-pipelines-agent; the third one,
    BackslashEscape, undoes escapes and derives nothing the engine spells)."""
    return {f for f in (_simple_quoted(value), _uri_data_escape(value)) if f}


def buildkite_derived(value: str) -> set[str]:
    """What the Buildkite agent registers besides ``value`` (``redact.GoEscaped``: the body of
    Go's ``strconv.Quote``, in the job API's ``createRedaction``)."""
    quoted = _simple_quoted(value)
    return {quoted} if quoted else set()


# -- the values ---------------------------------------------------------------------------------

_LINE_BREAKS = re.compile(r"[\r\n]+")  # what .NET's ReadLine ends a line at


def _sendable(form: str) -> bool:
    try:
        form.encode("utf-8")  # a lone surrogate cannot be written for the runner to read
    except UnicodeEncodeError:
        return False
    return bool(form.strip())  # the runners reject whitespace-only values


def masker_values(
    forms: Iterable[set[str]],
    derived: Callable[[str], set[str]],
    *,
    min_length: int,
    by_line: bool,
) -> list[str]:
    """The values to register, all secrets' in one list (see :func:`masker_groups`)."""
    groups = masker_groups(forms, derived, min_length=min_length, by_line=by_line)
    return [value for group in groups for value in group]


def masker_groups(
    forms: Iterable[set[str]],
    derived: Callable[[str], set[str]],
    *,
    min_length: int,
    by_line: bool,
) -> list[list[str]]:
    """The values to register for each secret's forms (in order): the shortest first, each once
    over all secrets, leaving out the forms that ``derived`` (the runner's own encoders) makes
    from a value already sent. ``by_line``: a form with a line break becomes its trimmed lines of
    ``min_length`` or more (for runners that mask each line on its own)."""
    out: list[list[str]] = []
    covered: set[str] = set()
    for group in forms:
        candidates: set[str] = set()
        for form in group:
            if by_line and ("\n" in form or "\r" in form):
                lines = (line.strip() for line in _LINE_BREAKS.split(form))
                candidates.update(line for line in lines if len(line) >= min_length)
            else:
                candidates.add(form)
        sent: list[str] = []
        # Shortest first: the runner's encoders make longer forms from shorter ones (escapes,
        # base64), so sending the value before its escapes lets the escapes be skipped.
        for form in sorted(candidates, key=lambda f: (len(f), f)):
            if form in covered or not _sendable(form):
                continue
            sent.append(form)
            covered.add(form)
            covered |= derived(form)
        out.append(sent)
    return out


def escape_azure_data(value: str) -> str:
    """The agent's ``CommandStringConvertor.Escape(value, unescapePercents: true)``: ``%`` first
    (as ``%AZP25``), then ``;``, CR, LF and ``]``. With ``DECODE_PERCENTS`` false the agent keeps
    ``%AZP25`` in the data but also registers the data with it undone (``AddSecret``), so the value
    is registered either way."""
    escaped = value.replace("%", "%AZP25")
    for token, replacement in ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D")):
        escaped = escaped.replace(token, replacement)
    return escaped


def github_commands(values: Iterable[str]) -> bytes:
    """One ``::add-mask::`` line per value, in UTF-8, escaped as the runner unescapes it."""
    return b"".join(b"::add-mask::" + escape_mask_data(v.encode("utf-8")) + b"\n" for v in values)


def azure_commands(values: Iterable[str]) -> bytes:
    """One ``##vso[task.setsecret]`` line per value, in UTF-8, escaped as the agent unescapes it."""
    return b"".join(
        b"##vso[task.setsecret]" + escape_azure_data(v).encode("utf-8") + b"\n" for v in values
    )


def buildkite_payload(values: Iterable[str]) -> bytes:
    """The flat JSON object ``buildkite-agent redactor add --format json`` reads: one key per
    value (the agent needs unique keys and uses only the values), ASCII-escaped."""
    return json.dumps({f"v{i}": v for i, v in enumerate(values)}).encode("ascii")
