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
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from redactor.sinks.scan import Finding

__all__ = [
    "GITHUB_MAX_RESULTS",
    "SARIF_SCHEMA",
    "CountFinding",
    "artifact_location",
    "count_report",
    "located_counts",
    "sarif_report",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub's code scanning upload rejects a run with more results than this (and keeps the top
# 5,000 by severity of the rest): documented with its REST endpoint for SARIF uploads.
GITHUB_MAX_RESULTS = 25_000
INFORMATION_URI = "https://github.com/redactor-dev/redactor"
FINGERPRINT_KEY = "redactorFinding/v1"


def artifact_location(path: str) -> dict[str, Any]:
    """Where a file is, as GitHub's upload wants it: a URI relative to the root of the checkout
    (``uriBaseId`` ``%SRCROOT%``; the working directory, from which a CI job runs the command),
    percent-encoded. A path outside the working directory can only be an absolute ``file:``
    URI, which GitHub cannot place in the repository but SARIF viewers open."""
    p = Path(path)
    if not p.is_absolute() and ".." not in p.parts:
        return {"uri": quote(p.as_posix()), "uriBaseId": "%SRCROOT%"}
    full = Path(os.path.abspath(path))
    try:
        rel = full.relative_to(Path.cwd())
    except ValueError:
        return {"uri": full.as_uri()}
    return {"uri": quote(rel.as_posix()), "uriBaseId": "%SRCROOT%"}


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
                            "artifactLocation": artifact_location(f.path),
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


# -- scrub and scrub-logs: counts per place, located by scan's code --------------------------------------------

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
    """A secret (or a token kind) that ``scrub`` or ``scrub-logs`` found ``count`` times at one
    place of one file: on one line of one field (see :func:`located_counts`), the region running
    from the first copy to the last. Names and counts only, never the value."""

    path: str
    secret: str
    count: int
    rule: str  # "secret/redacted", "secret/source" or "token/KIND"
    place: str | None = None  # "cell 2, output 1, text.0"; an archive's member
    line: int | None = None  # a line of the file itself (from 1)
    note: str | None = None  # "replaced in the source", "would be scrubbed"
    column: int | None = None  # of the first copy, from 1, in code points
    end_line: int | None = None  # of the last copy's last character
    end_column: int | None = None
    forms: tuple[str, ...] = ()  # raw, base64, ... (scan's names)
    ordinal: int = 0  # the n-th result of this rule, secret, path and place (fingerprint)


# Where the copies that the scan of the saved text could not place are reported: SARIF wants
# a region for GitHub (startLine is required), and the file's first line is the honest "somewhere
# in this file".
UNPLACED = "a place the saved text does not show (a decoded base64 output, joined stream outputs)"


def located_counts(
    path: str,
    located: Sequence[Finding],
    counted: Mapping[str, int],
    rule: Callable[[Finding], str],
    note: Callable[[Finding], str | None],
    unplaced_rule: Callable[[str], str],
) -> list[CountFinding]:
    """The results of one file that ``scrub`` or ``scrub-logs`` changed: ``located`` are the
    copies ``redactor scan``'s :class:`~redactor.sinks.scan.Scanner` finds in the file as it was
    read (line, column, notebook place), grouped by rule, secret, place and line; ``counted`` are
    the sink's own counts by secret name (or token kind). A sink that decodes what it reads
    (base64 outputs, stream outputs joined across cells' outputs) can count copies that the
    saved text does not show as such: those are reported as one more result per secret, on the
    file's first line, so that no count is lost."""
    groups: dict[tuple[str, str, str | None, int], list[Finding]] = {}
    for f in located:
        groups.setdefault((rule(f), f.secret, f.place, f.line), []).append(f)
    out: list[CountFinding] = []
    seen: Counter[tuple[str, str, str | None]] = Counter()
    for (rid, secret, place, line), copies in groups.items():
        last = max(copies, key=lambda f: (f.end_line, f.end_column))
        ordinal = seen[rid, secret, place]
        seen[rid, secret, place] += 1
        out.append(
            CountFinding(
                path,
                secret,
                len(copies),
                rid,
                place,
                line,
                note(copies[0]),
                column=copies[0].column,
                end_line=last.end_line,
                end_column=last.end_column,
                forms=tuple(sorted({f.form for f in copies})),
                ordinal=ordinal,
            )
        )
    placed = Counter(f.secret for f in located)
    for secret, n in sorted(counted.items()):
        if n > placed[secret]:
            out.append(
                CountFinding(path, secret, n - placed[secret], unplaced_rule(secret), UNPLACED, 1)
            )
    return out


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
        if f.forms and not f.rule.startswith("token/"):
            what += f" ({', '.join(f.forms)})"
        text = f"{what}: {f.count} {'copy' if f.count == 1 else 'copies'}"
        if f.place:
            text += f" in {f.place}"
        if f.note:
            text += f" ({f.note})"
        physical: dict[str, Any] = {"artifactLocation": artifact_location(f.path)}
        if f.line is not None:
            region: dict[str, Any] = {"startLine": f.line}
            if f.column is not None and f.end_line is not None and f.end_column is not None:
                # SARIF's endColumn is one past the last character
                region.update(startColumn=f.column, endLine=f.end_line, endColumn=f.end_column + 1)
            physical["region"] = region
        parts = [f.rule, f.secret, f.path, f.place or ""]
        if f.ordinal:
            parts.append(str(f.ordinal))
        key = "\0".join(parts)
        properties: dict[str, Any] = {"secret": f.secret, "count": f.count}
        if f.place:
            properties["place"] = f.place
        if f.forms:
            properties["forms"] = list(f.forms)
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
