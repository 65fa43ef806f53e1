"""`redactor scrub`: remove every known secret value from saved notebooks, keeping the outputs.

Files are rewritten atomically and only when something changed; a file that cannot be read as a
notebook is reported by name and left untouched while the others are still processed. With many
files the work is spread over the machine's cores: each worker gets the secrets once, through the
process pool's initializer (inherited memory or a pipe, never a command line).

Exit codes: 0 nothing found, 1 something was scrubbed (``--check``: would be) or a secret was found
in a cell's source, 2 an error. ``--stdin`` is the git clean filter mode: the scrubbed notebook goes
to stdout and the exit code is 0 unless the notebook could not be scrubbed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from redactor import Redactor, __version__
from redactor.cli.options import add_source_arguments
from redactor.config import Settings, settings_from_args
from redactor.engine.detect import Detector
from redactor.errors import CommandError, NotebookSinkError
from redactor.sinks.notebook import NotebookError, ScrubReport, scrub_text
from redactor.sinks.sarif import CountFinding, count_report, located_counts
from redactor.sinks.scan import Finding, Scanner
from redactor.sources.load import load_secrets

# Below this many files (or bytes) a process pool costs more than it saves.
PARALLEL_MIN_FILES = 8
PARALLEL_MIN_BYTES = 16 * 1024 * 1024  # about a second of work for one core
PROGRESS_MIN_FILES = 10


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "scrub",
        help="remove secret values from saved notebooks, keeping their outputs",
        description=(
            "Replace every known secret value in the outputs, attachments and metadata of "
            "Jupyter notebooks with [REDACTED]. Binary outputs holding a secret are dropped "
            "with a note. A secret in a cell's source is reported and fails the run "
            "(--fix-sources replaces it). Files with nothing to redact are not rewritten."
        ),
        epilog=(
            "exit codes: 0 nothing found; 1 a file was scrubbed (with --check: would be) or a "
            "source holds a secret; 2 an error (the file is named and left untouched)"
        ),
    )
    p.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="notebooks, or folders to search"
    )
    p.add_argument(
        "--check", action="store_true", help="only report what would change; write nothing"
    )
    p.add_argument(
        "--fix-sources",
        action="store_true",
        help="also replace secrets found in cell sources (default: report them and fail)",
    )
    p.add_argument(
        "--format",
        choices=["text", "json", "sarif"],
        default="text",
        help="report format: text (default), json, or sarif (SARIF 2.1.0, GitHub code scanning)",
    )
    p.add_argument(
        "--stdin",
        action="store_true",
        help="read one notebook on stdin and write it scrubbed to stdout (git clean filter)",
    )
    p.add_argument(
        "--stdin-name",
        default="<stdin>",
        metavar="NAME",
        help="the file name to use in messages with --stdin",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="worker processes (default: every core when there are many files)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors and findings")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    add_source_arguments(p)
    p.set_defaults(func=run)


# -- one file -------------------------------------------------------------------------------------


@dataclass
class FileResult:
    """What happened to one file; holds names and counts, never a value."""

    path: str
    status: str  # "unchanged" | "scrubbed" | "would-scrub" | "error"
    report: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # Where the copies are in the file as it was read (``--format sarif`` only): scan's findings.
    located: list[Finding] = field(default_factory=list)

    @property
    def unfixed_sources(self) -> list[dict[str, Any]]:
        return [f for f in self.report.get("source_findings", []) if not f["fixed"]]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "status": self.status}
        if self.error is not None:
            out["error"] = self.error
        else:
            out.update({k: v for k, v in self.report.items() if k != "changed"})
        return out


class ChangedMeanwhile(NotebookSinkError, OSError):
    """The file was modified between our read and our write (an editor saved it)."""


def atomic_write(path: Path, data: bytes, expect_mtime_ns: int | None = None) -> None:
    """Replace ``path``'s content with ``data`` through a temporary file and a rename.

    The permissions (and, when allowed, the owner) of the original are kept; a symlink is
    followed, so the link stays a link. A crash leaves either the old or the new file. With
    ``expect_mtime_ns``, a file modified since it was read is left alone (ChangedMeanwhile).
    """
    target = Path(os.path.realpath(path))
    st = target.stat()
    if expect_mtime_ns is not None and st.st_mtime_ns != expect_mtime_ns:
        raise ChangedMeanwhile("modified while it was being scrubbed")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if hasattr(os, "chown") and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass
        if expect_mtime_ns is not None and target.stat().st_mtime_ns != expect_mtime_ns:
            raise ChangedMeanwhile("modified while it was being scrubbed")
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def scrub_data(data: bytes, redactor: Redactor, fix_sources: bool) -> tuple[bytes, ScrubReport]:
    """Scrub the bytes of one ``.ipynb`` file. Raises ``NotebookError`` for anything else."""

    if not data or data.isspace():
        raise NotebookError("empty file, not a notebook")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    new, report = scrub_text(text, redactor, fix_sources=fix_sources)
    if new is text:
        return data, report
    return new.encode("utf-8"), report


def locate_copies(
    scanner: Scanner | None, data: bytes, name: str, report: ScrubReport
) -> list[Finding]:
    """Where the copies of a notebook that has something to report are, in its bytes as read
    (before any rewrite): ``redactor scan``'s findings (line, column, cell, output and field),
    for SARIF regions. Nothing without a ``scanner`` (another format) or nothing to report."""
    if scanner is None or not (report.changed or report.source_findings):
        return []
    return scanner.scan_text(data.decode("utf-8"), name, notebook=True)


def scrub_file(
    path: Path,
    redactor: Redactor,
    *,
    check: bool,
    fix_sources: bool,
    scanner: Scanner | None = None,
) -> FileResult:
    """Scrub one file in place (or only look, with ``check``); with a ``scanner``, also
    locate what was found (see :func:`locate_copies`)."""

    name = str(path)
    try:
        mtime = path.stat().st_mtime_ns
        data = path.read_bytes()
    except OSError as exc:
        return FileResult(name, "error", error=f"cannot read: {exc.strerror or exc}")
    try:
        new, report = scrub_data(data, redactor, fix_sources)
    except NotebookError as exc:
        return FileResult(name, "error", error=str(exc))
    located = locate_copies(scanner, data, name, report)
    status = "unchanged"
    if report.changed:
        status = "would-scrub" if check else "scrubbed"
        if not check:
            try:
                atomic_write(path, new, mtime)
            except ChangedMeanwhile as exc:
                return FileResult(name, "error", error=f"{exc}; run again")
            except OSError as exc:
                return FileResult(name, "error", error=f"cannot write: {exc.strerror or exc}")
    return FileResult(name, status, report.to_dict(), located=located)


# -- many files -----------------------------------------------------------------------------------

_worker_redactor: Redactor | None = None
_worker_scanner: Scanner | None = None


def _scanner(redactor: Redactor, items: list[tuple[str, str | bytes]]) -> Scanner:
    # The fingerprint key is the process's own: scrub's SARIF fingerprints are not scan's keyed
    # ones (see count_report), and what the scanner derives from a value never leaves it.
    return Scanner(redactor, items, key=os.urandom(32))


def _init_worker(
    items: list[tuple[str, str | bytes]],
    min_length: int,
    encodings: Any,
    engine: str | None,
    detect: tuple[Detector, ...] = (),
    locate: bool = False,
) -> None:
    global _worker_redactor, _worker_scanner

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the parent already warned about skipped secrets
        r = Redactor(min_length=min_length, encodings=encodings, engine=engine, detect=detect)
        r.add_many(items)
    _worker_redactor = r
    _worker_scanner = _scanner(r, items) if locate else None


def _work(path: str, check: bool, fix_sources: bool) -> FileResult:
    assert _worker_redactor is not None
    return scrub_file(
        Path(path),
        _worker_redactor,
        check=check,
        fix_sources=fix_sources,
        scanner=_worker_scanner,
    )


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def scrub_files(
    paths: list[Path],
    items: list[tuple[str, str | bytes]],
    *,
    min_length: int,
    encodings: list[str] | None,
    engine: str | None = None,
    check: bool = False,
    fix_sources: bool = False,
    jobs: int = 0,
    detect: tuple[Detector, ...] = (),
    locate: bool = False,
) -> Iterator[FileResult]:
    """Scrub ``paths`` in order, in worker processes when it pays; yields one result per path.

    ``detect`` are the token detectors (:meth:`Settings.enabled_detectors`): each worker gets
    them with the secrets and learns what it detects on its own. ``locate`` fills each result's
    ``located`` (for SARIF regions)."""

    if jobs <= 0:
        total = 0
        for p in paths:
            try:
                total += p.stat().st_size
            except OSError:
                pass
        many = len(paths) >= PARALLEL_MIN_FILES and total >= PARALLEL_MIN_BYTES
        jobs = min(cpu_count(), len(paths)) if many else 1
    if jobs <= 1 or len(paths) <= 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = Redactor(min_length=min_length, encodings=encodings, engine=engine, detect=detect)
            r.add_many(items)
        scanner = _scanner(r, items) if locate else None
        for p in paths:
            yield scrub_file(p, r, check=check, fix_sources=fix_sources, scanner=scanner)
        return
    chunksize = max(1, min(16, len(paths) // (jobs * 8)))
    work = partial(_work, check=check, fix_sources=fix_sources)
    with ProcessPoolExecutor(
        max_workers=jobs,
        initializer=_init_worker,
        initargs=(items, min_length, encodings, engine, detect, locate),
    ) as pool:
        yield from pool.map(work, [str(p) for p in paths], chunksize=chunksize)


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files as given; folders searched for ``*.ipynb``; missing paths become errors."""
    files: list[Path] = []
    errors: list[FileResult] = []
    seen: set[Path] = set()
    for p in paths:
        if p.is_dir():
            found = sorted(x for x in p.rglob("*.ipynb") if x.is_file())
        elif p.exists():
            found = [p]
        else:
            errors.append(FileResult(str(p), "error", error="no such file or directory"))
            continue
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, errors


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and total >= PROGRESS_MIN_FILES and stream.isatty()
        self.done = 0
        self._last = 0.0

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        width = 30
        filled = width * self.done // self.total
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\rscrubbing [{bar}] {self.done}/{self.total}")
        self.stream.flush()

    def clear(self) -> None:
        self.close()
        self._last = 0.0

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (44 + 2 * len(str(self.total))) + "\r")
            self.stream.flush()


# -- reporting ------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe(result: FileResult) -> str:
    """One line for a changed file: counts per secret name, never a value."""
    report = result.report
    verb = "would scrub" if result.status == "would-scrub" else "scrubbed"
    counts = ", ".join(f"{name}: {n}" for name, n in report["counts"].items())
    line = f"{verb} {result.path}: {_plural(report['redactions'], 'redaction')} ({counts})"
    if report["removed"]:
        line += f", {_plural(len(report['removed']), 'binary output')} removed"
    return line


def describe_detections(result: FileResult) -> list[str]:
    """One line per token kind and place that a detector found (nobody registered the value):
    ``  detected github-token: cell 2 stream.stdout (1)``; never the value."""
    lines = []
    for d in result.report.get("detections", []):
        where = d["where"] if d["cell"] is None else f"cell {d['cell']} {d['where']}"
        lines.append(f"  detected {d['kind']}: {where} ({d['count']})")
    return lines


def describe_source(path: str, finding: dict[str, Any]) -> str:
    where = f"{path}: cell {finding['cell']}, line {finding['line']}"
    if finding["fixed"]:
        return f"{where}: secret {finding['secret']} replaced in the source"
    return f"{where}: secret {finding['secret']} in the source (remove it, or pass --fix-sources)"


_SOURCE_PLACE = re.compile(r"cell (\d+), source\b")


def count_findings(results: list[FileResult]) -> list[CountFinding]:
    """What SARIF reports for a scrub: per file, one result per secret (or token kind), field
    and line where the copies are (``located``, scan's code on the file as read): a copy in a
    cell's source is ``secret/source``, a detected token ``token/KIND``, any other copy
    ``secret/redacted``. Copies the scrubber counted but the saved text does not show as such
    are one more result per secret (see :func:`~redactor.sinks.sarif.located_counts`)."""
    out: list[CountFinding] = []
    for r in results:
        if r.status in ("scrubbed", "would-scrub") or r.report.get("source_findings"):
            out += _file_counts(r)
    return out


def _file_counts(r: FileResult) -> list[CountFinding]:
    report = r.report
    changed = r.status in ("scrubbed", "would-scrub")
    scrubbed = "would be scrubbed" if r.status == "would-scrub" else "scrubbed"
    sources = report.get("source_findings", [])
    fixed = {(s["cell"], s["secret"]) for s in sources if s["fixed"]}
    kinds = {d["kind"] for d in report.get("detections", [])}
    # The scrubber's counts hold fixed source copies and detected tokens (by kind); the unfixed
    # source copies are only listed.
    counted: dict[str, int] = dict(report.get("counts", {}))
    for s in sources:
        if not s["fixed"]:
            counted[s["secret"]] = counted.get(s["secret"], 0) + 1

    def rule(f: Finding) -> str:
        if f.detected:
            return f"token/{f.secret}"
        if f.place and _SOURCE_PLACE.match(f.place):
            return "secret/source"
        return "secret/redacted"

    def note(f: Finding) -> str | None:
        m = _SOURCE_PLACE.match(f.place or "")
        if m and not f.detected:
            return "replaced in the source" if (int(m[1]), f.secret) in fixed else None
        return scrubbed if changed else None

    def unplaced_rule(name: str) -> str:
        return f"token/{name}" if name in kinds else "secret/redacted"

    # What the scrubber itself did not count is not reported: the copy of a registered secret
    # that a detector also matches in the JSON text (an escaped header) is the one copy,
    # reported under the secret's name as the scrubber counted it.
    located = [f for f in r.located if f.secret in counted]
    return located_counts(r.path, located, counted, rule, note, unplaced_rule)


def exit_code(results: list[FileResult]) -> int:
    if any(r.status == "error" for r in results):
        return 2
    if any(r.status in ("scrubbed", "would-scrub") or r.unfixed_sources for r in results):
        return 1
    return 0


def summary(results: list[FileResult]) -> dict[str, int]:
    def count(status: str) -> int:
        return sum(r.status == status for r in results)

    return {
        "files": len(results),
        "scrubbed": count("scrubbed"),
        "would_scrub": count("would-scrub"),
        "unchanged": count("unchanged"),
        "errors": count("error"),
        "source_findings": sum(len(r.unfixed_sources) for r in results),
        "redactions": sum(r.report.get("redactions", 0) for r in results),
    }


def _summary_line(s: dict[str, int], check: bool) -> str:
    parts = []
    if s["would_scrub"] or check:
        parts.append(f"{_plural(s['would_scrub'], 'file')} would be scrubbed")
    if s["scrubbed"] or not check:
        parts.append(f"{_plural(s['scrubbed'], 'file')} scrubbed")
    parts.append(f"{s['unchanged']} unchanged")
    if s["source_findings"]:
        parts.append(_plural(s["source_findings"], "secret") + " in sources")
    if s["errors"]:
        parts.append(_plural(s["errors"], "error"))
    return "redactor scrub: " + ", ".join(parts)


# -- the command ----------------------------------------------------------------------------------


def _load_secrets(
    args: argparse.Namespace,
) -> tuple[list[tuple[str, str | bytes]], Settings, Redactor]:
    """The accepted secrets, the settings and the redactor; fails closed (see sources)."""
    cfg = settings_from_args(args)
    items, redactor = load_secrets(cfg)
    return items, cfg, redactor


def run(args: argparse.Namespace) -> int:
    if not args.stdin and not args.paths:
        raise CommandError("no notebook given: pass one or more PATHs (or --stdin)")
    if args.stdin and args.paths:
        raise CommandError("--stdin reads one notebook from stdin: do not pass PATHs as well")
    # Built here once so that warnings (too short secrets, by name) appear once. Sources that
    # give nothing stop the run here (exit 2, a RedactorError for the one handler in main) before
    # any file is read or written: a hook that passes with nothing to redact would commit the
    # secrets it exists to stop.
    items, cfg, redactor = _load_secrets(args)
    if not len(redactor):
        print(
            "redactor: warning: the configured sources hold no secret value; nothing to redact "
            "(allowed by allow-empty)",
            file=sys.stderr,
        )
    if args.stdin:
        return _run_stdin(args, redactor, items)

    files, results = expand_paths(args.paths)
    if args.format != "json":  # text; sarif names errors on stderr too
        for result in results:
            _print_text(result, args.quiet)
    progress = Progress(len(files), sys.stderr, not (args.no_progress or args.quiet))
    try:
        for result in scrub_files(
            files,
            items,
            min_length=cfg.min_length,
            encodings=None if cfg.encodings is None else list(cfg.encodings),
            engine=cfg.engine,
            check=args.check,
            fix_sources=args.fix_sources,
            jobs=args.jobs,
            detect=cfg.enabled_detectors(),
            locate=args.format == "sarif",
        ):
            progress.step()
            results.append(result)
            if args.format == "sarif" and result.status == "error":
                progress.clear()
                _print_text(result, args.quiet)
            elif args.format == "text" and (
                result.status != "unchanged" or result.report.get("source_findings")
            ):
                progress.clear()
                _print_text(result, args.quiet)
    finally:
        progress.close()
    code = exit_code(results)
    if args.format == "json":
        doc = {
            "files": [r.to_dict() for r in results],
            "summary": summary(results),
            "exit_code": code,
        }
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "sarif":
        log = count_report(count_findings(results), __version__, successful=code != 2)
        json.dump(log, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not args.quiet:
        print(_summary_line(summary(results), args.check))
    return code


def _print_text(result: FileResult, quiet: bool) -> None:
    if result.status == "error":
        print(f"redactor: error: {result.path}: {result.error}; left untouched", file=sys.stderr)
        return
    if result.status != "unchanged" and not quiet:
        print(describe(result))
        for line in describe_detections(result):
            print(line)
    for finding in result.report.get("source_findings", []):
        print(describe_source(result.path, finding))


def _run_stdin(
    args: argparse.Namespace, redactor: Redactor, items: list[tuple[str, str | bytes]]
) -> int:
    name = args.stdin_name
    data = sys.stdin.buffer.read()
    try:
        new, report = scrub_data(data, redactor, args.fix_sources)
    except NotebookError as exc:
        # Nothing on stdout: as a git filter this fails `git add` instead of staging a secret.
        raise CommandError(f"{name}: {exc}") from None
    result = FileResult(
        name, ("would-scrub" if args.check else "scrubbed") if report.changed else "unchanged"
    )
    result.report = report.to_dict()
    if args.format == "sarif":
        result.located = locate_copies(_scanner(redactor, items), data, name, report)
    if not args.check:
        sys.stdout.buffer.write(new)
        sys.stdout.buffer.flush()
    if args.format == "json":
        doc = {"files": [result.to_dict()], "summary": summary([result])}
        print(json.dumps(doc, indent=2), file=sys.stderr)
    elif args.format == "sarif":
        log = count_report(count_findings([result]), __version__)
        print(json.dumps(log, indent=2), file=sys.stderr)
    else:
        if result.status != "unchanged" and not args.quiet:
            print(f"redactor: {describe(result)}", file=sys.stderr)
            for line in describe_detections(result):
                print(f"redactor: {line}", file=sys.stderr)
        for finding in result.report["source_findings"]:
            print(f"redactor: {describe_source(name, finding)}", file=sys.stderr)
    if args.check and report.changed:
        return 1
    return 1 if result.unfixed_sources else 0
