"""SARIF 2.1.0 for ``redactor scan``: what GitHub code scanning uploads and shows.

One rule per form a secret was found in (``secret/raw``, ``secret/base64``, ...) and one per
token detector kind (``token/github-token``); each result has a physical location with a region
(line and column from 1, ``columnKind`` code points) and ``partialFingerprints`` holding the
finding's keyed fingerprint, never the value or a plain hash of it. GitHub documents that it
computes its own fingerprint from the file when none is given, which would hash the line text
(the secret): giving ours avoids that. Pure function: writing the file is the caller's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redactor.sinks.scan import Finding

__all__ = ["SARIF_SCHEMA", "sarif_report"]

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
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
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
        ],
    }
