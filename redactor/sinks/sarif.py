"""SARIF 2.1.0 for ``redactor scan``: what GitHub code scanning uploads and shows.

One rule per form a secret was found in (``secret/raw``, ``secret/base64``, ...) and one per
token detector kind (``token/github-token``); each result has a physical location with a region
(line and column from 1, ``columnKind`` code points) and ``partialFingerprints`` holding the
finding's keyed fingerprint, never the value or a plain hash of it. GitHub documents that it
computes its own fingerprint from the file when none is given, which would hash the line text
(the secret): giving ours avoids that. Pure function: writing the file is the caller's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from redactor.sinks.scan import Finding

__all__ = ["SARIF_SCHEMA", "CountFinding", "count_report", "sarif_report"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/redactor-dev/redactor"
FINGERPRINT_KEY = "redactorFinding/v1"


def rule_id(finding: Finding) -> str:
    return f"token/{finding.secret}" if finding.detected else f"secret/{finding.form}"


def _rule(rid: str, finding: Finding) -> dict[str, Any]:
    if finding.detected:
        text = f"A token of kind {finding.secret} (found by its shape)"
    else:
        text = f"A known secret value, in its {finding.form} form"
    return {
        "id": rid,
        "name": "".join(w.capitalize() for w in rid.replace("/", "-").split("-")),
        "shortDescription": {"text": f"{text} appears in the file"},
        "fullDescription": {
            "text": f"{text} appears in the file. Rotate the secret, then remove the copy "
            "(and from git history if it was committed)."
        },
        "help": {
            "text": "Rotate the credential first: a value that reached a file or a commit must "
            "be treated as known. Then remove the copy (redactor scrub for notebooks, "
            "redactor scrub-logs for logs; git filter-repo for history)."
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "secret"], "security-severity": "9.0"},
    }


def _message(finding: Finding) -> str:
    what = (
        f"token of kind {finding.secret}"
        if finding.detected
        else f"secret {finding.secret} ({finding.form})"
    )
    where = f" in {finding.place}" if finding.place else ""
    text = f"{what}{where}"
    if finding.commits:
        shown = ", ".join(c[:12] for c in finding.commits[:5])
        more = f" and {len(finding.commits) - 5} more" if len(finding.commits) > 5 else ""
        text += f"; in commits {shown}{more}"
    return text


def sarif_report(findings: Sequence[Finding], version: str) -> dict[str, Any]:
    """The SARIF log of one scan."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for f in findings:
        rid = rule_id(f)
        if rid not in index:
            index[rid] = len(rules)
            rules.append(_rule(rid, f))
        properties: dict[str, Any] = {"secret": f.secret, "form": f.form}
        if f.place:
            properties["place"] = f.place
        if f.blob is not None:
            properties.update(blob=f.blob, commits=f.commits, paths=f.paths)
        results.append(
            {
                "ruleId": rid,
                "ruleIndex": index[rid],
                "level": "error",
                "message": {"text": _message(f)},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                            "region": {
                                "startLine": f.line,
                                "startColumn": f.column,
                                "endLine": f.end_line,
                                # SARIF's endColumn is one past the last character
                                "endColumn": f.end_column + 1,
                            },
                        }
                    }
                ],
                "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
                "properties": properties,
            }
        )
    return _log(rules, results, version)


def _log(
    rules: list[dict[str, Any]],
    results: list[dict[str, Any]],
    version: str,
    invocation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "redactor",
                "version": version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if invocation is not None:
        run["invocations"] = [invocation]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


# -- scrub and scrub-logs: counts per file, not places ---------------------------------------------

COUNT_FINGERPRINT_KEY = "redactorCount/v1"

# What the rules of ``scrub`` and ``scrub-logs`` say; a token kind gets ``token/KIND``.
_COUNT_RULES = {
    "secret/redacted": (
        "A known secret value (in any registered form) was found and redacted",
        "The copy was replaced with [REDACTED] (or, with --check, would be). The value had "
        "reached the file: rotate the credential.",
    ),
    "secret/source": (
        "A known secret value appears in a notebook cell's source",
        "Code that holds a secret leaks it wherever the notebook goes: remove it (or pass "
        "--fix-sources) and rotate the credential.",
    ),
}


@dataclass(frozen=True)
class CountFinding:
    """A secret (or a token kind) that ``scrub`` or ``scrub-logs`` found ``count`` times in one
    file. These sinks count per file rather than locate each copy, so the SARIF location has a
    region only when ``line`` is known. Names and counts only, never the value."""

    path: str
    secret: str
    count: int
    rule: str  # "secret/redacted", "secret/source" or "token/KIND"
    place: str | None = None  # "cell 2, line 3", "cell 2 stream.stdout"
    line: int | None = None  # a line of the file itself, when the sink knows it
    note: str | None = None  # "replaced in the source", "would be scrubbed"


def _count_rule(rid: str) -> dict[str, Any]:
    if rid in _COUNT_RULES:
        short, full = _COUNT_RULES[rid]
    else:
        kind = rid.split("/", 1)[1]
        short = f"A token of kind {kind} (found by its shape) was found and redacted"
        full = "The token had reached the file: revoke it."
    return {
        "id": rid,
        "name": "".join(w.capitalize() for w in rid.replace("/", "-").split("-")),
        "shortDescription": {"text": short},
        "fullDescription": {"text": f"{short}. {full}"},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "secret"], "security-severity": "9.0"},
    }


def count_report(
    findings: Sequence[CountFinding], version: str, *, successful: bool = True
) -> dict[str, Any]:
    """The SARIF log of one ``scrub`` or ``scrub-logs`` run (same driver as :func:`sarif_report`).

    ``partialFingerprints`` hash the rule, the secret's name, the path and the place: nothing
    derived from the value, so the fingerprint cannot be checked against guesses of it."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for f in findings:
        if f.rule not in index:
            index[f.rule] = len(rules)
            rules.append(_count_rule(f.rule))
        if f.rule.startswith("token/"):
            what = f"token of kind {f.rule.split('/', 1)[1]}"
        else:
            what = f"secret {f.secret}"
        text = f"{what}: {f.count} {'copy' if f.count == 1 else 'copies'}"
        if f.place:
            text += f" in {f.place}"
        if f.note:
            text += f" ({f.note})"
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": quote(f.path), "uriBaseId": "%SRCROOT%"}
        }
        if f.line is not None:
            physical["region"] = {"startLine": f.line}
        key = "\0".join((f.rule, f.secret, f.path, f.place or ""))
        properties: dict[str, Any] = {"secret": f.secret, "count": f.count}
        if f.place:
            properties["place"] = f.place
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": "error",
                "message": {"text": text + "."},
                "locations": [{"physicalLocation": physical}],
                "partialFingerprints": {
                    COUNT_FINGERPRINT_KEY: hashlib.sha256(key.encode()).hexdigest()
                },
                "properties": properties,
            }
        )
    return _log(rules, results, version, {"executionSuccessful": successful})
