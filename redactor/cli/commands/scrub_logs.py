"""`redactor scrub-logs`: redacted copies of a folder of logs, the same layout under OUTPUT.

Every file under INPUT (names starting with ``.`` or ``_`` are skipped, as Spark skips them) is
copied to the same relative path under OUTPUT, line for line and byte for byte except that each
secret region becomes ``[REDACTED]``. Compressed files (``.gz``, ``.bz2``, ``.xz``, ``.lzma``,
``.zst`` with ``redactor[zstd]``) are read and written with the same codec, and zip and tar
archives (compressed or not) rewritten member by member; other archive or compressed formats
(7z, rar, lz4, brotli, Parquet...) are refused before anything is written, never copied
unscanned (``--skip-unsupported`` leaves them out of the copy instead).
Each file is written atomically (a temporary file, then a rename) with the input file's mode.
The report names secrets and counts records and matches, never values.

``--spark`` spreads the files over a Spark cluster's executors (one task per group of files; the
secrets travel once, as a broadcast, see :mod:`redactor.sinks.spark`). Without it the files are copied
in this process, with the same code and the same output. Executors open the paths themselves, so
on a cluster INPUT and OUTPUT must be mounted on every node (Databricks ``/dbfs/...`` or
``/Volumes/...``; ``dbfs:/`` paths are mapped to those mounts).

Exit codes: 0 every file copied; 2 a usage or configuration error, sources that hold no secret
value (unless ``--allow-empty``) or a file in a format that cannot be read (nothing written), or a
file that could not be copied (named; the others are still copied).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

from redactor import __version__
from redactor.cli.errors import report_warning
from redactor.cli.options import add_source_arguments
from redactor.config import settings_from_args
from redactor.engine.redactor import Redactor
from redactor.errors import CommandError
from redactor.sinks.logfiles import (
    FORMATS,
    FileOutcome,
    LogFile,
    Unsupported,
    list_log_files,
    scrub_log_file,
)
from redactor.sinks.sarif import CountFinding, count_report, located_counts
from redactor.sinks.scan import Finding, Scanner
from redactor.sinks.spark import scrub_files
from redactor.sources.load import load_secrets

_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "scrub-logs",
        help="write redacted copies of a folder of logs (optionally on Spark)",
        description=(
            "Copy every file under INPUT to the same path under OUTPUT with each secret value "
            "replaced by [REDACTED], and print how many records and matches per secret name "
            "were found. Text and JSON-lines logs, plain, compressed (.gz, .bz2, .xz, .lzma, "
            ".zst) or in zip and tar archives (rewritten member by member); other archive and "
            "compressed formats are refused."
        ),
        epilog=(
            "exit codes: 0 done; 2 a usage or configuration error (nothing written) or a file "
            "that could not be copied (named on stderr)"
        ),
    )
    p.add_argument("input", type=str, metavar="INPUT", help="a log file or a folder of logs")
    p.add_argument("output", type=str, metavar="OUTPUT", help="the folder to write copies into")
    p.add_argument(
        "--spark",
        action="store_true",
        help="run on Spark: the active session (spark-submit, Databricks) or a local one",
    )
    p.add_argument(
        "--master",
        metavar="URL",
        default=None,
        help="with --spark: the master to start (default: spark-submit's, else local[*])",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="text, jsonl (also redact JSON strings behind unusual escapes), or auto: jsonl for "
        ".jsonl/.ndjson/.json files (default)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into an OUTPUT folder that is not empty (files at the same paths are replaced)",
    )
    p.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="leave out (do not copy) files in archive or compressed formats that cannot be "
        "read, naming each on stderr, instead of refusing to run",
    )
    # --format already names the logs' format (text, jsonl), so the report's has its own option.
    p.add_argument(
        "--report-format",
        choices=["text", "json", "sarif"],
        default=None,
        help="report format: text (default), json, or sarif (SARIF 2.1.0, GitHub code scanning)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="deprecated: the same as --report-format json",
    )
    add_source_arguments(p)
    p.set_defaults(func=run)


def local_path(text: str) -> Path:
    """A path the executors can open: plain, ``file:``, or ``dbfs:`` mapped to its FUSE mount."""
    m = _URI.match(text)
    if m is None:
        return Path(text)
    scheme, rest = m.group(1).lower(), text[m.end() :]
    if scheme == "file":
        return Path(re.sub(r"^//[^/]*", "", rest))
    if scheme == "dbfs":
        rest = "/" + rest.lstrip("/")
        return Path(rest if rest.startswith("/Volumes/") else "/dbfs" + rest)
    raise CommandError(
        f"{text}: {scheme}: paths cannot be opened by the executors; mount the storage on every "
        "node (Databricks: /dbfs/... or /Volumes/...) and give that path"
    )


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def _check_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """INPUT and OUTPUT resolved, or CommandError with the reason; nothing is written here."""
    src, dest = local_path(args.input), local_path(args.output)
    if not src.exists():
        raise CommandError(f"input {args.input} does not exist")
    if not os.access(src, os.R_OK) or (src.is_dir() and not os.access(src, os.X_OK)):
        raise CommandError(f"cannot read input {args.input}: permission denied")
    src_real, dest_real = src.resolve(), dest.resolve()
    # Copies must never land on their originals, nor become inputs of a later run.
    if src.is_dir():
        overlap = _inside(dest_real, src_real) or _inside(src_real, dest_real)
    else:
        overlap = dest_real in (src_real, src_real.parent)
    if overlap:
        raise CommandError("INPUT and OUTPUT must not overlap (scrub-logs writes copies)")
    if dest.exists() and not dest.is_dir():
        raise CommandError(f"output {args.output} exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not args.force:
        raise CommandError(
            f"output {args.output} is not empty; pass --force to replace files at the same paths"
        )
    return src, dest


def _start_spark(master: str | None):
    """The active session, or a new one: spark-submit's master, else ``master`` or local[*]."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active, False
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[*]"  # not under spark-submit, which passes its own --master
    builder = SparkSession.builder.appName("redactor scrub-logs")
    if master is not None and master.startswith("local"):
        # Local executors run this Python, where redactor is installed; no web UI, no progress
        # bars in the report (a cluster keeps its own settings).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.ui.enabled", "false").config(
            "spark.ui.showConsoleProgress", "false"
        )
    if master is not None:
        builder = builder.master(master)
    with warnings.catch_warnings():
        # pyspark checks pandas' version on start; scrub-logs does not use pandas.
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


def locate_counts(
    outcomes: list[FileOutcome],
    files: list[LogFile],
    redactor: Redactor,
    items: list[tuple[str, str | bytes]],
) -> list[CountFinding]:
    """The SARIF results of a run: each input file that held something is read once more, by
    ``redactor scan``'s scanner (compressed files and archives member by member), for the line
    and column of every copy; the input is never changed, so what it reads is what was copied.
    Only with ``--report-format sarif``: the second read costs the time of a scan of those files.
    A file that cannot be read again (removed meanwhile, or remote under --spark) keeps its
    counts, reported on its first line."""
    scanner = Scanner(redactor, items, key=os.urandom(32), binary=True)
    kinds = {d.kind for d in redactor.detectors}
    src = {job.rel: job.src for job in files}
    out: list[CountFinding] = []

    def rule(f: Finding) -> str:
        return f"token/{f.secret}" if f.detected else "secret/redacted"

    def note(f: Finding) -> str:
        return "redacted in the copy"

    def unplaced_rule(name: str) -> str:
        return f"token/{name}" if name in kinds else "secret/redacted"

    for o in outcomes:
        if o.error is not None or not o.counts:
            continue
        path = src.get(o.rel, o.rel)
        try:
            located = scanner.scan_file(Path(path), name=o.rel)
        except (OSError, Unsupported):
            located = []
        for f in located:
            if f.path != o.rel:
                f.place = f.path  # a compressed file's or an archive's member
        # Only what the copy counted (as scrub's SARIF does: see scrub.count_findings).
        located = [f for f in located if f.secret in o.counts]
        out += located_counts(path, located, o.counts, rule, note, unplaced_rule)
    return out


def _report(
    outcomes: list[FileOutcome],
    skipped: int,
    seconds: float,
    engine: str,
    report_format: str,
    left_out: int = 0,
    located: list[CountFinding] | None = None,
) -> None:
    ok = [o for o in outcomes if o.error is None]
    counts: Counter[str] = Counter()
    for o in ok:
        counts.update(o.counts)
    records = sum(o.records for o in ok)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if report_format == "sarif":
        # One result per secret and line of an input file: the copy is clean, the input still
        # holds them (see locate_counts).
        log = count_report(located or [], __version__, successful=len(ok) == len(outcomes))
        print(json.dumps(log, indent=2))
        return
    if report_format == "json":
        report = {
            "files": len(ok),
            "failed": len(outcomes) - len(ok),
            "skipped": skipped,
            "left_out": left_out,
            "records": records,
            "bytes": sum(o.bytes_in for o in ok),
            "matches": sum(counts.values()),
            "by_secret": dict(ranked),
            "engine": engine,
            "seconds": round(seconds, 3),
        }
        print(json.dumps(report, indent=1))
        return
    extra = f", {skipped} hidden skipped" if skipped else ""
    if left_out:
        extra += f", {left_out} unsupported left out"
    print(
        f"{len(ok)} files{extra}, {records} records, {sum(counts.values())} matches "
        f"({engine}, {seconds:.1f}s)"
    )
    for name, n in ranked:
        print(f"  {name}: {n}")


def run(args: argparse.Namespace) -> int:
    if args.json and args.report_format not in (None, "json"):
        raise CommandError(f"--json contradicts --report-format {args.report_format}")
    items, redactor = load_secrets(settings_from_args(args))
    if not len(redactor):  # only with --allow-empty: sources that give nothing fail otherwise
        report_warning(
            "the configured sources hold no secret value; the copies are not redacted (allowed "
            "by allow-empty)"
        )

    refused: list[str] | None = [] if args.skip_unsupported else None
    try:
        src, dest = _check_paths(args)
        files, skipped = list_log_files(src, dest, args.format, refused)
    except Unsupported as exc:
        raise CommandError(f"{exc}; pass --skip-unsupported to leave such files out") from None
    except OSError as exc:
        where = exc.filename or args.input
        why = exc.strerror or type(exc).__name__
        raise CommandError(f"cannot read {where}: {why}") from None
    for message in refused or ():
        print(f"redactor: warning: left out {message}", file=sys.stderr)
    started = time.perf_counter()
    if args.spark:
        try:
            import pyarrow  # noqa: F401  (the executors need it too)
            from pyspark.sql import SparkSession  # noqa: F401

        except ImportError:
            raise CommandError(
                "--spark needs pyspark and pyarrow: pip install 'redactor[spark]'"
            ) from None
        try:
            spark, own = _start_spark(args.master)
        except Exception as exc:
            why = type(exc).__name__
            raise CommandError(f"cannot start Spark ({why}); is Java 17+ installed?") from None
        engine = f"spark {spark.sparkContext.master}"
        try:
            outcomes = scrub_files(spark, files, redactor)
        except Exception as exc:
            why = type(exc).__name__
            raise CommandError(f"the Spark job failed ({why}); see the executor logs") from None
        finally:
            if own:
                spark.stop()
    else:
        engine = "single process"
        dest.mkdir(parents=True, exist_ok=True)
        outcomes = [scrub_log_file(job, redactor) for job in files]
    if not files:
        dest.mkdir(parents=True, exist_ok=True)
    for o in outcomes:
        if o.error is not None:
            print(f"redactor: error: {o.rel}: {o.error}", file=sys.stderr)
    seconds = time.perf_counter() - started
    report_format = args.report_format or ("json" if args.json else "text")
    located = None
    if report_format == "sarif":
        located = locate_counts(outcomes, files, redactor, items)
    _report(outcomes, skipped, seconds, engine, report_format, len(refused or ()), located)
    return 2 if any(o.error for o in outcomes) else 0
