"""`redactor scrub-logs` as a real process on real folders, and the file copier it is built on."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from helpers.chunks import split_at
from helpers.cli import REDACTOR_SCRIPT as REDACTOR
from helpers.nbfactory import PASSWORD, TOKEN, demo_redactor
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import redactor
from redactor.sinks.logfiles import (
    CountingRedactor,
    FileOutcome,
    LogFile,
    list_log_files,
    redact_json_line,
    scrub_log_file,
)

TIMEOUT = 180  # a Spark start on a loaded 2-core machine; an upper bound, never a timing test
P, T = "secrets.env/PASSWORD", "secrets.env/TOKEN"


def scrub_logs(secrets_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*REDACTOR, "scrub-logs", "--no-config", "--secrets-file", str(secrets_file), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def one_process_and_spark(
    secrets_file: Path, tmp_path: Path
) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """``scrub-logs --json`` of tmp_path/in, in one process into tmp_path/one and on local[2]
    Spark into tmp_path/spark."""
    single = scrub_logs(secrets_file, "--json", str(tmp_path / "in"), str(tmp_path / "one"))
    spark = scrub_logs(
        secrets_file,
        "--json",
        "--spark",
        "--master",
        "local[2]",
        str(tmp_path / "in"),
        str(tmp_path / "spark"),
    )
    return single, spark


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, compressed files decompressed."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            elif path.suffix == ".bz2":
                data = bz2.decompress(data)
            out[path.relative_to(root).as_posix()] = data
    return out


def make_logs(root: Path) -> None:
    """A small archive with every case: nesting, encodings, JSON, CRLF, bad UTF-8, compression."""
    (root / "app" / "2026-11").mkdir(parents=True)
    (root / "app" / "2026-11" / "worker.log").write_bytes(
        f"10:00 INFO connect password={PASSWORD}\r\n"
        f"10:01 INFO token {TOKEN} ok\r\n"
        "10:02 DEBUG caf\xe9 \u2603 nothing here\r\n".encode()
        + b"10:03 raw \xff\xfe bytes "
        + TOKEN.encode()
        + b" end"  # no final newline
    )
    (root / "app" / "events.jsonl").write_text(
        json.dumps({"msg": "login", "password": PASSWORD})
        + "\n"
        # escapes the registered JSON forms do not cover ("g", "1", "b"), one every 12 characters
        # or fewer, so no 16-character window of the token shows as text either
        + '{"tok": "\\u0067hp_demoT0ken\\u0031234567890a\\u0062cdefXYZ", "n": 1.50}\n'
        + "not json "
        + TOKEN
        + "\n"
        + json.dumps({"ok": "clean", "n": 1e3})
        + "\n",
        encoding="utf-8",
    )
    with gzip.open(root / "old.log.gz", "wb") as f:
        f.write(f"archived {TOKEN}\n".encode())
    (root / "empty.log").write_bytes(b"")
    (root / "_SUCCESS").write_bytes(b"")
    (root / ".hidden.log").write_text(f"{TOKEN}\n")
    os.chmod(root / "app" / "events.jsonl", 0o640)


EXPECTED = {
    "app/2026-11/worker.log": b"10:00 INFO connect password=[REDACTED]\r\n"
    b"10:01 INFO token [REDACTED] ok\r\n"
    + "10:02 DEBUG caf\xe9 \u2603 nothing here\r\n".encode()
    + b"10:03 raw \xff\xfe bytes [REDACTED] end",
    "app/events.jsonl": b'{"msg": "login", "password": "[REDACTED]"}\n'
    b'{"tok": "[REDACTED]", "n": 1.50}\n'
    b"not json [REDACTED]\n"
    b'{"ok": "clean", "n": 1000.0}\n',
    "empty.log": b"",
    "old.log.gz": b"archived [REDACTED]\n",
}


def test_copies_the_layout_redacted_and_reports_counts(tmp_path, secrets_file):
    make_logs(tmp_path / "in")
    before = tree(tmp_path / "in")
    proc = scrub_logs(secrets_file, str(tmp_path / "in"), str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert tree(tmp_path / "out") == EXPECTED
    assert tree(tmp_path / "in") == before  # the originals are untouched
    assert (tmp_path / "out" / "app" / "events.jsonl").stat().st_mode & 0o777 == 0o640
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("4 files, 2 hidden skipped, 9 records, 7 matches (single process")
    assert lines[1:] == [f"  {T}: 5", f"  {P}: 2"]
    assert PASSWORD not in proc.stdout + proc.stderr and TOKEN not in proc.stdout + proc.stderr


def test_json_report_and_text_format(tmp_path, secrets_file):
    make_logs(tmp_path / "in")
    proc = scrub_logs(
        secrets_file, "--json", "--format", "text", str(tmp_path / "in"), str(tmp_path / "out")
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    # As plain text the \u0067-escaped token is not seen: that is what --format jsonl adds.
    assert {k: report[k] for k in ("files", "failed", "skipped", "records", "matches")} == {
        "files": 4,
        "failed": 0,
        "skipped": 2,
        "records": 9,
        "matches": 6,
    }
    assert report["by_secret"] == {T: 4, P: 2}
    out = (tmp_path / "out" / "app" / "events.jsonl").read_bytes()
    assert b"\\u0067hp_demoT0ken" in out


def test_single_file_input(tmp_path, secrets_file):
    (tmp_path / "one.log").write_text(f"a {PASSWORD} b\n")
    proc = scrub_logs(secrets_file, str(tmp_path / "one.log"), str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert tree(tmp_path / "out") == {"one.log": b"a [REDACTED] b\n"}


@pytest.mark.parametrize("where", ["missing", "output-inside", "input-inside", "not-empty"])
def test_refuses_before_writing_anything(tmp_path, secrets_file, where):
    src, dest = tmp_path / "in", tmp_path / "out"
    make_logs(src)
    expect = {
        "missing": "input {} does not exist",
        "output-inside": "INPUT and OUTPUT must not overlap",
        "input-inside": "INPUT and OUTPUT must not overlap",
        "not-empty": "is not empty; pass --force",
    }[where]
    if where == "missing":
        src = tmp_path / "nowhere"
    elif where == "output-inside":
        dest = src / "clean"
    elif where == "input-inside":
        dest = tmp_path
    else:
        dest.mkdir()
        (dest / "keep.txt").write_text("mine")
    before = tree(tmp_path)
    # --spark too: the checks come before Spark starts, so this needs no JVM
    proc = scrub_logs(secrets_file, "--spark", str(src), str(dest))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("redactor: error: ")
    assert expect.format(src) in proc.stderr
    assert tree(tmp_path) == before
    assert (dest.exists()) == (where in ("not-empty", "input-inside"))


def test_force_replaces_same_paths_and_keeps_the_rest(tmp_path, secrets_file):
    make_logs(tmp_path / "in")
    dest = tmp_path / "out"
    (dest / "app").mkdir(parents=True)
    (dest / "app" / "events.jsonl").write_text("stale")
    (dest / "keep.txt").write_text("mine")
    proc = scrub_logs(secrets_file, "--force", str(tmp_path / "in"), str(dest))
    assert proc.returncode == 0, proc.stderr
    assert tree(dest) == {**EXPECTED, "keep.txt": b"mine"}
    assert not [p for p in dest.rglob(".*.tmp")]


def test_a_corrupt_file_is_named_and_the_others_are_copied(tmp_path, secrets_file):
    make_logs(tmp_path / "in")
    whole = gzip.compress(f"secret {TOKEN}\n".encode() * 100)
    (tmp_path / "in" / "broken.log.gz").write_bytes(whole[: len(whole) // 2])
    proc = scrub_logs(secrets_file, str(tmp_path / "in"), str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "redactor: error: broken.log.gz: cannot copy: corrupt or truncated compressed file" in (
        proc.stderr
    )
    assert tree(tmp_path / "out") == EXPECTED  # no partial copy of the broken file
    assert not list((tmp_path / "out").rglob(".*.tmp"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_refused_before_writing(tmp_path, secrets_file):
    make_logs(tmp_path / "in")
    locked = tmp_path / "in" / "app" / "events.jsonl"
    locked.chmod(0)
    proc = scrub_logs(secrets_file, str(tmp_path / "in"), str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Permission denied" in proc.stderr and "events.jsonl" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_no_secret_source_is_an_error(tmp_path):
    make_logs(tmp_path / "in")
    proc = subprocess.run(
        [*REDACTOR, "scrub-logs", "--no-config", str(tmp_path / "in"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 2
    assert "no secret is configured" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_unsupported_uri_scheme(tmp_path, secrets_file):
    proc = scrub_logs(secrets_file, "s3a://bucket/logs", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "s3a: paths cannot be opened by the executors" in proc.stderr


def test_paths_for_executors():
    from redactor.cli.commands.scrub_logs import local_path

    assert local_path("logs/a") == Path("logs/a")
    assert local_path("file:///data/logs") == Path("/data/logs")
    assert local_path("dbfs:/mnt/logs") == Path("/dbfs/mnt/logs")
    assert local_path("dbfs:/Volumes/main/default/logs") == Path("/Volumes/main/default/logs")


@pytest.mark.slow
def test_spark_gives_the_same_copies_as_one_process(tmp_path, secrets_file):
    make_logs(tmp_path / "in")
    for i in range(6):  # more files than local[2] has cores
        (tmp_path / "in" / "app" / f"extra-{i}.log").write_text(f"{i} {TOKEN} {PASSWORD}\n" * i)
    single, spark = one_process_and_spark(secrets_file, tmp_path)
    assert single.returncode == 0, single.stderr
    assert spark.returncode == 0, spark.stderr
    assert tree(tmp_path / "spark") == tree(tmp_path / "one")
    assert tree(tmp_path / "spark")["app/extra-3.log"] == b"3 [REDACTED] [REDACTED]\n" * 3
    one, many = json.loads(single.stdout), json.loads(spark.stdout)
    assert many["engine"] == "spark local[2]"
    for key in ("files", "skipped", "records", "matches", "by_secret"):
        assert many[key] == one[key]
    assert one["by_secret"] == {T: 5 + 15, P: 2 + 15}
    assert TOKEN not in spark.stdout + spark.stderr and PASSWORD not in spark.stdout + spark.stderr


# -- the copier, in process ---------------------------------------------------------------------

pieces = st.lists(
    st.sampled_from(["a", "\n", "\r\n", "\xe9", "\u2603", "{", '"', "\\", PASSWORD, TOKEN])
    | st.sampled_from([PASSWORD[:5], TOKEN[-6:], TOKEN + TOKEN, PASSWORD[3:] + TOKEN[:4]])
    | st.text(max_size=6),
    max_size=30,
)
cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=8)


ENGINES = ["ahocorasick"] + (["hyperscan"] if redactor.hyperscan_available() else [])


def engine_redactor(engine: str) -> redactor.Redactor:
    r = redactor.Redactor(engine=engine)
    r.add(PASSWORD, "db/password")
    r.add(TOKEN, "api/token")
    return r


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=100, deadline=None)
@given(parts=pieces, points=cuts)
def test_counting_redactor_any_chunking_equals_one_shot(engine, parts, points):
    r = engine_redactor(engine)
    text = "".join(parts)
    stream = CountingRedactor(r)
    out = "".join(stream.feed(c) for c in split_at(text, points)) + stream.flush()
    expected, counts = r.redact_with_counts(text)
    assert out == expected
    assert stream.counts == counts
    assert PASSWORD not in out and TOKEN not in out


@pytest.mark.parametrize("engine", ENGINES)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(
        st.binary(max_size=12)
        | st.sampled_from(
            [PASSWORD.encode(), TOKEN.encode(), b"\n", b"\xff", "\u2603".encode()[:2]]
        ),
        max_size=20,
    ),
    chunk=st.integers(min_value=1, max_value=40),
)
def test_file_copy_equals_the_bytes_engine(tmp_path, monkeypatch, engine, parts, chunk):
    """Any bytes, read in chunks of any size: the copy is what redact_bytes makes of the whole."""
    from redactor.sinks import logfiles as _logfiles

    monkeypatch.setattr(_logfiles, "CHUNK", chunk)
    r = engine_redactor(engine)
    data = b"".join(parts)
    # Bytes that start with an archive's or a codec's signature are read as such, or refused
    # (tests/test_scrub_logs_archives.py); Hypothesis finds those signatures in the code.
    assume(_plain(data))
    src = tmp_path / "in.log"
    src.write_bytes(data)
    job = LogFile(str(src), str(tmp_path / "out.log"), "in.log", len(data), "text")
    outcome = scrub_log_file(job, r)
    assert outcome.error is None
    assert (tmp_path / "out.log").read_bytes() == r.redact_bytes(data)
    assert outcome.records == data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    assert outcome.bytes_in == len(data)


def _plain(data: bytes) -> bool:
    from redactor.sinks.logfiles import Unsupported, sniff

    try:
        return sniff(data[:512], "in.log") is None
    except Unsupported:
        return False


def test_text_without_secrets_is_copied_byte_for_byte(tmp_path):
    data = bytes(range(256)) * 50 + "caf\xe9 \u2603\r\n".encode() * 1000
    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    outcome = scrub_log_file(
        LogFile(str(src), str(tmp_path / "o"), "x", 0, "jsonl"), demo_redactor()
    )
    assert (tmp_path / "o").read_bytes() == data
    assert outcome == FileOutcome("x", records=1050, bytes_in=len(data), counts=Counter())


def test_a_file_is_read_in_chunks(tmp_path, monkeypatch):
    """Small chunks, secrets across the boundaries, JSON lines split anywhere: the same copy."""
    from redactor.sinks import logfiles as _logfiles

    lines = [json.dumps({"i": i, "t": TOKEN, "p": PASSWORD}) + "\n" for i in range(50)]
    lines += ['{"e": "\\u0067hp_demoT0ken1234567890abcdefXYZ"}\n'] * 3
    data = "".join(lines).encode()
    src = tmp_path / "big.jsonl"
    src.write_bytes(data)
    job = LogFile(str(src), str(tmp_path / "o"), "big", 0, "jsonl")
    whole = scrub_log_file(job, demo_redactor())
    expected = (tmp_path / "o").read_bytes()
    monkeypatch.setattr(_logfiles, "CHUNK", 7)
    assert scrub_log_file(job, demo_redactor()) == whole
    assert (tmp_path / "o").read_bytes() == expected
    assert expected.count(b"[REDACTED]") == 103
    assert whole.counts == Counter({"api/token": 53, "db/password": 50})


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # the text pass already replaced these; the JSON pass leaves the bytes alone
        ('{"a": "[REDACTED]", "b": 1.50}\n', '{"a": "[REDACTED]", "b": 1.50}\n'),
        # an escaped key, duplicate keys, raw numbers and literals, non-ASCII kept as written
        (
            '{"\\u0067hp_demoT0ken1234567890abcdefXYZ":1,"k":[true,null,-0.0],"k":"\u00e9\\/"}\r\n',
            '{"[REDACTED]": 1, "k": [true, null, -0.0], "k": "\u00e9/"}\r\n',
        ),
        ('{"a": "\\u0067hp_demoT0ken1234567890abcdefXYZ"}', '{"a": "[REDACTED]"}'),
        ("not json \\u0067hp_demoT0ken1234567890abcdefXYZ\n", None),
    ],
)
def test_json_line_pass(line, expected):
    counts: Counter[str] = Counter()
    assert redact_json_line(line, demo_redactor(), counts) == (expected or line)
    assert counts == (Counter({"api/token": 1}) if expected and "\\u0067" in line else Counter())


def test_listing_skips_hidden_and_formats_by_suffix(tmp_path):
    make_logs(tmp_path / "in")
    (tmp_path / "in" / "_temporary").mkdir()
    (tmp_path / "in" / "_temporary" / "part.log").write_text("x")
    (tmp_path / "in" / "x.ndjson.bz2").write_bytes(bz2.compress(b"{}\n"))
    files, skipped = list_log_files(tmp_path / "in", tmp_path / "out")
    assert [(f.rel, f.fmt) for f in files] == [
        ("empty.log", "text"),
        ("old.log.gz", "text"),
        ("x.ndjson.bz2", "jsonl"),
        ("app/events.jsonl", "jsonl"),
        ("app/2026-11/worker.log", "text"),
    ]
    assert skipped == 3
    assert files[2].dest == str(tmp_path / "out" / "x.ndjson.bz2")


def test_compressed_copy_is_compressed(tmp_path):
    src = tmp_path / "a.log.bz2"
    src.write_bytes(bz2.compress(f"{PASSWORD}\n".encode()))
    scrub_log_file(LogFile(str(src), str(tmp_path / "b.log.bz2"), "a", 0, "text"), demo_redactor())
    with bz2.open(tmp_path / "b.log.bz2") as f:
        assert f.read() == b"[REDACTED]\n"


def test_spark_that_cannot_start_is_a_clear_error(tmp_path, secrets_file):
    make_logs(tmp_path / "in")
    proc = subprocess.run(
        [
            *REDACTOR,
            "scrub-logs",
            "--no-config",
            "--secrets-file",
            str(secrets_file),
            "--spark",
            str(tmp_path / "in"),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "JAVA_HOME": str(tmp_path / "no-java")},
    )
    assert proc.returncode == 2
    assert "redactor: error: cannot start Spark" in proc.stderr
    assert not (tmp_path / "out").exists()
