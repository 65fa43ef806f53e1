"""`redactor scan`: report where known secrets (and detected tokens) already went; change nothing.

Files (notebooks located by cell, output and field; text and JSON-lines logs; compressed logs and
archives member by member; binary files skipped unless ``--binary``) or, with ``--git``, every
blob reachable from some revisions, each scanned once. Reports name the secret and the form of the
copy, never the value: ``--format text`` (one line a finding), ``json`` or ``sarif`` (GitHub code
scanning).

A baseline (``--baseline FILE``) lists accepted findings by keyed fingerprint, so that a
repository that already leaked can adopt the check and fail only on new findings;
``--write-baseline FILE`` records the current ones. The fingerprint key is the baseline's own
(random, written in it), else ``REDACTOR_HASH_KEY``, else random for the run (fingerprints then
differ between runs).

Exit codes: 0 nothing found (or only baselined findings), 1 a finding, 2 an error.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from redactor import __version__
from redactor.cli.commands.scrub import atomic_write
from redactor.cli.errors import report_error, report_warning
from redactor.cli.options import add_source_arguments
from redactor.config import settings_from_args
from redactor.engine.redactor import ENV_HASH_KEY
from redactor.errors import CommandError, LogFilesError
from redactor.sinks.gitscan import scan_history
from redactor.sinks.sarif import GITHUB_MAX_RESULTS, sarif_report
from redactor.sinks.scan import Finding, Scanner, iter_files
from redactor.sources.load import load_secrets

__all__ = ["add_parser", "run"]

BASELINE_VERSION = 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "scan",
        help="report where secret values already are: files, notebooks, logs, git history",
        description=(
            "Report every place where a known secret value (in any registered form: raw, "
            "base64, url, json, ...) or a detected token appears, without changing anything: "
            "in files and folders (notebooks by cell, output and field; text, JSON-lines and "
            "compressed logs; binary files only with --binary), or with --git in every blob "
            "of git history. Reports name the secret and the form, never the value."
        ),
        epilog="exit codes: 0 nothing found (or only baselined findings); 1 found; 2 an error",
    )
    p.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: .)"
    )
    p.add_argument(
        "--git",
        nargs="?",
        const="",
        default=None,
        metavar="REV-RANGE",
        help="scan git history instead: every blob reachable from REV-RANGE (default: all "
        "refs) of the repository at PATH (default: .), each blob once",
    )
    p.add_argument(
        "--format", choices=["text", "json", "sarif"], default="text", help="report format"
    )
    p.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the report to FILE (atomically)"
    )
    p.add_argument(
        "--binary", action="store_true", help="also scan files that look binary (a NUL byte)"
    )
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="accepted findings (from --write-baseline): only findings not in it fail the run",
    )
    p.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="record every current finding in FILE as accepted (by keyed fingerprint) and exit 0",
    )
    add_source_arguments(p)
    p.set_defaults(func=run)


# -- the baseline ----------------------------------------------------------------------------------


def read_baseline(path: Path) -> tuple[bytes, set[str]]:
    """The key and the accepted fingerprints of a baseline file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        key = bytes.fromhex(doc["key"])
        accepted = {str(f["fingerprint"]) for f in doc["findings"]}
        if doc.get("version") != BASELINE_VERSION or not key:
            raise ValueError
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError):
        raise CommandError(
            f"{path}: not a redactor scan baseline (write one with --write-baseline)"
        ) from None
    return key, accepted


def write_baseline(path: Path, key: bytes, findings: list[Finding]) -> None:
    """The baseline: the key and, per accepted finding, its fingerprint with the secret's name,
    form and path (for review; never the value, nor line numbers, which move)."""
    entries = {
        f.fingerprint: {
            "fingerprint": f.fingerprint,
            "secret": f.secret,
            "form": f.form,
            "path": f.path,
        }
        for f in findings
    }
    doc = {
        "version": BASELINE_VERSION,
        "generated_by": f"redactor {__version__}",
        "key": key.hex(),
        "findings": sorted(entries.values(), key=lambda e: (e["path"], e["secret"], e["form"])),
    }
    _write(path, json.dumps(doc, indent=2) + "\n")


def _write(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    if path.exists():
        atomic_write(path, data)
    else:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def _key(args: argparse.Namespace) -> tuple[bytes, set[str] | None]:
    if args.baseline is not None:
        return read_baseline(args.baseline)
    if args.write_baseline is not None and args.write_baseline.exists():
        return read_baseline(args.write_baseline)[0], None
    env = os.environ.get(ENV_HASH_KEY)
    return (env.encode("utf-8") if env else secrets.token_bytes(32)), None


# -- reports -----------------------------------------------------------------------------------------


def describe(f: Finding) -> str:
    """``path:line:column: secret NAME (FORM) [in cell 2, output 1, text]``; never the value."""
    what = f"token {f.secret} (detected)" if f.detected else f"secret {f.secret} ({f.form})"
    line = f"{f.path}:{f.line}:{f.column}: {what}"
    if f.place:
        line += f" in {f.place}"
    if f.blob is not None:
        line += f" [blob {f.blob[:12]}; commits {' '.join(c[:12] for c in f.commits)}"
        if len(f.paths) > 1:
            line += f"; paths {' '.join(f.paths)}"
        line += "]"
    return line


def _report(args: argparse.Namespace, findings: list[Finding], summary: dict[str, Any]) -> str:
    if args.format == "sarif":
        if len(findings) > GITHUB_MAX_RESULTS:
            report_warning(
                f"{len(findings)} results: GitHub code scanning rejects a SARIF run of more than "
                f"{GITHUB_MAX_RESULTS:,}; record the accepted ones with --write-baseline"
            )
        return json.dumps(sarif_report(findings, __version__), indent=2) + "\n"
    if args.format == "json":
        doc = {"findings": [f.to_dict() for f in findings], "summary": summary}
        return json.dumps(doc, indent=2) + "\n"
    lines = [describe(f) for f in findings]
    parts = [f"{summary['findings']} finding{'s' if summary['findings'] != 1 else ''}"]
    if summary["baselined"]:
        parts.append(f"{summary['baselined']} in the baseline")
    if summary["skipped_binary"]:
        parts.append(f"{summary['skipped_binary']} binary skipped")
    if summary["errors"]:
        parts.append(f"{summary['errors']} error{'s' if summary['errors'] != 1 else ''}")
    lines.append("redactor scan: " + ", ".join(parts))
    return "\n".join(lines) + "\n"


# -- the command ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.baseline is not None and args.write_baseline is not None:
        raise CommandError("--baseline and --write-baseline do not go together")
    key, accepted = _key(args)
    cfg = settings_from_args(args)
    items, redactor = load_secrets(cfg)
    scanner = Scanner(redactor, items, key=key, binary=args.binary)
    errors = 0
    findings: list[Finding] = []
    if args.git is not None:
        if len(args.paths) > 1:
            raise CommandError("--git scans one repository: pass at most one PATH")
        repo = args.paths[0] if args.paths else Path(".")
        findings = scan_history(scanner, repo, args.git.split())
    else:
        for path, error in iter_files(args.paths or [Path(".")]):
            if error is not None:
                report_error(f"{path}: {error}")
                errors += 1
                continue
            try:
                findings += scanner.scan_file(path)
            except OSError as exc:
                report_error(f"{path}: cannot read: {exc.strerror or exc}")
                errors += 1
            except LogFilesError as exc:
                report_error(str(exc))
                errors += 1
            except (EOFError, ValueError) as exc:  # a truncated or corrupt compressed file
                report_error(f"{path}: cannot read: {type(exc).__name__}")
                errors += 1
    if args.write_baseline is not None:
        write_baseline(args.write_baseline, key, findings)
        print(
            f"redactor scan: {len(findings)} finding(s) recorded in {args.write_baseline}",
            file=sys.stderr,
        )
        return 2 if errors else 0
    baselined = 0
    if accepted is not None:
        new = [f for f in findings if f.fingerprint not in accepted]
        baselined, findings = len(findings) - len(new), new
    summary = {
        "findings": len(findings),
        "baselined": baselined,
        "skipped_binary": len(scanner.skipped),
        "errors": errors,
    }
    code = 2 if errors else (1 if findings else 0)
    summary["exit_code"] = code
    text = _report(args, findings, summary)
    if args.output is not None:
        _write(args.output, text)
    else:
        sys.stdout.write(text)
    return code
