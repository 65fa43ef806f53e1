"""Test oracles: the GitHub runner's and the Azure agent's handling of a step's output, ported.

Each function says which source it ports. Sources read: actions/runner @258d6c8 (GHR) and
microsoft/azure-pipelines-agent @42bde98 (AZA); see /work/shared/notes/ci-masking.md. Written
from the C#, independently of :mod:`redactor.sinks.ci.maskers`, so that the tests check that
module against the runners rather than against itself.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from urllib.parse import quote

# -- reading a step's output ---------------------------------------------------------------------


def read_lines(data: bytes) -> list[str]:
    """``StreamReader.ReadLine`` until end of stream (GHR ``src/Runner.Sdk/ProcessInvoker.cs``
    ``StartReadStream``): UTF-8, a line ends at "\\n", "\\r" or "\\r\\n", and a final line
    break does not start another line."""
    text = data.decode("utf-8")
    if not text:
        return []
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if lines[-1] == "" else lines


# -- GitHub Actions --------------------------------------------------------------------------------


def _github_unescape_data(escaped: str) -> str:
    # GHR src/Runner.Common/ActionCommand.cs UnescapeData: _escapeDataMappings in order.
    for token, replacement in (("\r", "%0D"), ("\n", "%0A"), ("%", "%25")):
        escaped = escaped.replace(replacement, token)
    return escaped


def _github_unescape(escaped: str) -> str:
    # ActionCommand.Unescape (the legacy form): _escapeMappings in order.
    for token, replacement in ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D")):
        escaped = escaped.replace(replacement, token)
    return escaped.replace("%25", "%")


def github_parse(message: str, commands: frozenset[str] = frozenset({"add-mask"})):
    """``(command, data)`` of a workflow command line, or None: ``ActionCommand.TryParseV2``,
    then ``TryParse`` (as ``ActionCommandManager.TryProcessCommand``); command names compare
    case-insensitively (the HashSet's ``StringComparer.OrdinalIgnoreCase``)."""
    if not message:
        return None
    trimmed = message.lstrip()  # TrimStart
    if trimmed.startswith("::"):
        end = trimmed.find("::", 2)
        if end >= 0:
            info = trimmed[2:end]
            name = info.split(" ", 1)[0]
            if name.lower() in commands:
                return name.lower(), _github_unescape_data(trimmed[end + 2 :])
    prefix = message.find("##[")
    if prefix < 0:
        return None
    rb = message.find("]", prefix)
    if rb < 0:
        return None
    name = message[prefix + 3 : rb].split(" ", 1)[0]
    if name.lower() not in commands:
        return None
    return name.lower(), _github_unescape(message[rb + 1 :])


def _net_whitespace_strip(s: str) -> str:
    return s.strip()  # char.IsWhiteSpace and str.isspace agree on the characters used here


def _newtonsoft_json(value: str) -> str:
    # GHR ValueEncoders.JsonStringEscape: JsonConvert.ToString without the quotes (Newtonsoft's
    # default escaping: ", \, control characters, U+0085, U+2028, U+2029).
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
    short["\r"] = "\\r"
    out = []
    for c in value:
        if c in short:
            out.append(short[c])
        elif ord(c) < 0x20 or c in "\u0085\u2028\u2029":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def _github_encoders() -> list[Callable[[str], str]]:
    """GHR ``src/Sdk/DTLogging/Logging/ValueEncoders.cs``, registered in ``HostContext``."""

    def b64(value: str, shift: int = 0) -> str:
        data = value.encode("utf-8")
        if shift and len(data) > shift:
            data = data[shift:]
        return base64.b64encode(data).decode("ascii")

    def xml(value: str) -> str:  # SecurityElement.Escape
        table = {"<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "&": "&amp;"}
        return "".join(table.get(c, c) for c in value)

    def trim_double_quotes(value: str) -> str:
        if len(value) > 8 and value.startswith('"') and value.endswith('"'):
            return value[1:-1]
        return ""

    def ps_pre(value: str) -> str:
        if "&" not in value:
            return ""
        if "&+" in value:
            section = value[: value.index("&+") + 2]
        else:
            section = value[: value.rindex("&") + 1]
        return section if len(section) >= 6 else ""

    def ps_post(value: str) -> str:
        if "&" not in value:
            return ""
        section = ""
        if "&+" in value:
            if len(value) > value.index("&+") + 3:
                section = value[value.index("&+") + 3 :]
        else:
            section = value[value.rindex("&") + 1 :]
        return section if len(section) >= 6 else ""

    return [
        b64,
        lambda v: b64(v, 1),
        lambda v: b64(v, 2),
        lambda v: v.replace('"', '\\"'),  # CommandLineArgumentEscape
        lambda v: v.replace("'", "''"),  # ExpressionStringEscape
        _newtonsoft_json,
        lambda v: quote(v.encode("utf-8"), safe=""),  # Uri.EscapeDataString
        xml,
        trim_double_quotes,
        ps_pre,
        ps_post,
    ]


class SecretMasker:
    """GHR ``src/Sdk/DTLogging/Logging/SecretMasker.cs``: ``AddValue`` stores the value and each
    non-empty encoding of it; ``MaskSecrets`` finds every value with an ordinal IndexOf loop
    (overlapping hits too), merges overlapping or adjacent hits and writes each as ``***``."""

    def __init__(self, encoders: list[Callable[[str], str]]) -> None:
        self.encoders = encoders
        self.values: set[str] = set()

    def add_value(self, value: str) -> None:
        if not value:
            return
        self.values.add(value)
        for encoder in self.encoders:
            encoded = encoder(value)
            if encoded:
                self.values.add(encoded)

    def mask(self, line: str) -> str:
        hits: list[tuple[int, int]] = []
        for value in self.values:
            i = line.find(value)
            while i >= 0:
                hits.append((i, i + len(value)))
                i = line.find(value, i + 1)
        if not hits:
            return line
        hits.sort()
        merged = [list(hits[0])]
        for start, stop in hits[1:]:
            if start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        out, pos = [], 0
        for start, stop in merged:
            out.append(line[pos:start] + "***")
            pos = stop
        return "".join(out) + line[pos:]


class GitHubRunner:
    """A job's masker fed a step's output: each line that is an ``add-mask`` command registers
    its data and each trimmed line of it (``AddMaskCommandExtension``), and is not logged; other
    lines are logged masked."""

    def __init__(self) -> None:
        self.masker = SecretMasker(_github_encoders())
        self.registered: list[str] = []
        self.log: list[str] = []

    def step(self, output: bytes) -> list[str]:
        logged = []
        for line in read_lines(output):
            command = github_parse(line)
            if command is None:
                logged.append(self.masker.mask(line))
                continue
            data = command[1]
            if not data.strip():  # string.IsNullOrWhiteSpace: a warning, nothing registered
                logged.append("Warning: Can't add secret mask for empty string")
                continue
            self.registered.append(data)
            self.masker.add_value(data)
            for item in re.split(r"[\r\n]", data):  # RemoveEmptyEntries | TrimEntries
                if _net_whitespace_strip(item):
                    self.masker.add_value(_net_whitespace_strip(item))
        self.log += logged
        return logged


# -- Azure Pipelines -------------------------------------------------------------------------------


def azure_unescape(escaped: str, unescape_percents: bool) -> str:
    """AZA ``src/Agent.Sdk/CommandStringConvertor.cs`` ``Unescape``."""
    for token, replacement in ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D")):
        escaped = escaped.replace(replacement, token)
    if unescape_percents:
        escaped = escaped.replace("%AZP25", "%")
    return escaped


def azure_parse(message: str, unescape_percents: bool = True):
    """``(area.event, data)`` or None: AZA ``src/Microsoft.VisualStudio.Services.Agent/Command.cs``
    ``TryParse`` (``##vso[`` anywhere in the line, info up to the first ``]``)."""
    prefix = message.find("##vso[")
    if prefix < 0:
        return None
    rb = message.find("]", prefix)
    if rb < 0:
        return None
    name = message[prefix + 6 : rb].split(" ", 1)[0]
    parts = [p for p in name.split(".") if p]
    if len(parts) != 2:
        return None
    return f"{parts[0]}.{parts[1]}".lower(), azure_unescape(message[rb + 1 :], unescape_percents)


class AzureAgent:
    """``task.setsecret`` as ``TaskSetSecretCommand`` and ``TaskCommandHelper.AddSecret`` handle
    it (with ``DECODE_PERCENTS`` false the data is also registered with ``%AZP25`` undone), and
    the agent's masker: the legacy one's IndexOf, merge and ``***`` with the JSON and URI
    encoders (``HostContext.CreateSecretMasker``)."""

    def __init__(self, decode_percents: bool = True) -> None:
        self.decode_percents = decode_percents
        self.masker = SecretMasker([_newtonsoft_json, lambda v: quote(v.encode("utf-8"), safe="")])
        self.registered: list[str] = []

    def step(self, output: bytes) -> list[str]:
        logged = []
        for line in read_lines(output):
            command = azure_parse(line, self.decode_percents)
            if command is None:
                logged.append(self.masker.mask(line))
                continue
            if command[0] != "task.setsecret" or not command[1]:
                continue
            data = command[1]
            self.registered.append(data)
            self.masker.add_value(data)
            if not self.decode_percents:
                self.masker.add_value(azure_unescape(data, True))
        return logged
