"""`redactor filter` as a real process in real pipes: exact outputs, latency, memory, signals."""

from __future__ import annotations

import hashlib
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from helpers.cli import REDACTOR, TIMEOUT, run_redactor

from redactor.config import Settings
from redactor.sources.load import build_redactor

SECRET = "hunter2-Sup3r-Secret"
OTHER = 'p@ss "quoted" & more'


@pytest.fixture
def secrets_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.env"
    path.write_text(f"TOKEN={SECRET}\nOTHER='{OTHER}'\n", encoding="utf-8")
    return path


def filter_cmd(secrets_file: Path | None, *extra: str) -> list[str]:
    sources = ["--secrets-file", str(secrets_file)] if secrets_file else []
    return [*REDACTOR, "filter", "--no-config", *sources, *extra]


def run_filter(secrets_file: Path | None, data: bytes, *extra: str) -> subprocess.CompletedProcess:
    sources = ["--secrets-file", str(secrets_file)] if secrets_file else []
    return run_redactor("filter", "--no-config", *sources, *extra, input=data)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def read_exactly(fd: int, size: int, timeout: float = TIMEOUT) -> bytes:
    """Read ``size`` bytes, failing (not hanging) if they do not all arrive in time."""
    buf = b""
    deadline = time.monotonic() + timeout
    while len(buf) < size:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"only {buf!r} arrived"
        chunk = os.read(fd, size - len(buf))
        assert chunk, f"EOF after {buf!r}"
        buf += chunk
    return buf


def nothing_arrives(fd: int, wait: float = 0.3) -> bool:
    ready, _, _ = select.select([fd], [], [], wait)
    return not ready


# -- the basics --------------------------------------------------------------------------------


def test_redacts_every_encoding_exactly(secrets_file: Path) -> None:
    data = (
        f"plain {SECRET}\n"
        "basic aHVudGVyMi1TdXAzci1TZWNyZXQ=\n"  # base64
        'json {"o": "p@ss \\"quoted\\" & more"}\n'
        "html p@ss &quot;quoted&quot; &amp; more\n"
        "url p%40ss%20%22quoted%22%20%26%20more\n"
        "nothing to see\n"
    ).encode()
    result = run_filter(secrets_file, data)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert result.stdout == (
        b"plain [REDACTED]\n"
        b"basic [REDACTED]\n"
        b'json {"o": "[REDACTED]"}\n'
        b"html [REDACTED]\n"
        b"url [REDACTED]\n"
        b"nothing to see\n"
    )


def test_binary_and_invalid_utf8_pass_through_untouched(secrets_file: Path) -> None:
    rnd = random.Random(7)
    pieces = [bytes(range(256)) * 4]
    for _ in range(50):
        pieces += [rnd.randbytes(rnd.randrange(4000)), b"\xff" + SECRET.encode() + b"\xc3"]
    data = b"".join(pieces)
    expected = build_redactor(Settings(secrets_file=(secrets_file,))).redact_bytes(data)
    assert expected.count(b"[REDACTED]") >= 50
    result = run_filter(secrets_file, data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    clean = b"".join(pieces[0::2][:1] + pieces[1::2])
    assert run_filter(secrets_file, clean).stdout == clean


def test_no_secret_configured_is_an_error_that_says_how(tmp_path: Path) -> None:
    result = subprocess.run(
        [*REDACTOR, "filter", "--no-config"],
        input=b"x\n",
        capture_output=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode() == (
        "redactor: error: no secret is configured: pass --scope NAME, --secret-env NAME, "
        "--env-pattern GLOB or --secrets-file PATH, or set them under [tool.redactor] in "
        'pyproject.toml or in .redactor.toml (e.g. env-pattern = ["*_TOKEN"]) '
        "(or pass --add-mask-only to rely on '::add-mask::' lines alone)\n"
    )


def test_add_mask_only_runs_with_no_configured_secret(tmp_path: Path) -> None:
    data = b"a\n::add-mask::only-from-the-log\nsee only-from-the-log\n"
    result = run_filter(None, data, "--add-mask-only")
    assert result.returncode == 0
    assert result.stdout == b"a\n::add-mask::[REDACTED]\nsee [REDACTED]\n"
    assert result.stderr == b""
    both = run_filter(None, b"", "--add-mask-only", "--no-add-mask")
    assert both.returncode == 2
    assert b"not allowed with argument" in both.stderr


def test_missing_secrets_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run_filter(tmp_path / "nope.env", b"x")
    assert result.returncode == 2
    assert (
        result.stderr.decode()
        == f"redactor: error: secrets file {tmp_path / 'nope.env'} does not exist\n"
    )


def test_sources_from_pyproject(tmp_path: Path, secrets_file: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.redactor]\nsecrets-file = ["secrets.env"]\n', encoding="utf-8"
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    result = subprocess.run(
        [*REDACTOR, "filter"],
        input=f"x {SECRET}\n".encode(),
        capture_output=True,
        timeout=TIMEOUT,
        cwd=sub,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"x [REDACTED]\n", b"")


def test_env_sources_and_no_value_in_warnings(tmp_path: Path) -> None:
    env = {**os.environ, "DEPLOY_TOKEN": "env-token-value-1", "SHORT_TOKEN": "abc"}
    result = subprocess.run(
        [*REDACTOR, "filter", "--no-config", "--env-pattern", "*_TOKEN"],
        input=b"env-token-value-1 abc\n::add-mask::xyz\n",
        capture_output=True,
        timeout=TIMEOUT,
        env=env,
    )
    assert result.returncode == 0
    assert result.stdout == b"[REDACTED] abc\n::add-mask::[REDACTED]\n"
    assert result.stderr.decode() == (
        "redactor: warning: secret 'env/SHORT_TOKEN' is too short (fewer than 6 characters) "
        "and will not be redacted\n"
        "redactor: warning: secret '::add-mask:: #1 on input' is too short (fewer than 6 "
        "characters) and will not be redacted\n"
    )


# -- add-mask in a live stream -----------------------------------------------------------------


def test_add_mask_mid_stream_from_a_slow_producer(secrets_file: Path) -> None:
    producer = subprocess.Popen(
        python(
            """
            import os, time
            for piece in [b"start\\n", b"::add-", b"mask::late-", b"secret-1234%0Asecond-line-5678",
                          b"\\n", b"using late-secret-", b"1234 and second-line-5678\\n",
                          b"::add-mask::bad%25value-99\\r\\n", b"bad%value-99 bad%25value-99\\n"]:
                os.write(1, piece)
                time.sleep(0.05)
            """
        ),
        stdout=subprocess.PIPE,
    )
    filt = subprocess.Popen(
        filter_cmd(secrets_file),
        stdin=producer.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    producer.stdout.close()
    out, err = filt.communicate(timeout=TIMEOUT)
    assert producer.wait(timeout=TIMEOUT) == 0
    assert filt.returncode == 0, err
    assert out == (
        b"start\n"
        b"::add-mask::[REDACTED]\n"
        b"using [REDACTED] and [REDACTED]\n"
        b"::add-mask::[REDACTED]\r\n"
        b"[REDACTED] [REDACTED]\n"
    )


def test_secret_split_across_writes_from_both_streams_merged(secrets_file: Path) -> None:
    # `cmd 2>&1 | redactor filter`: halves of one secret from stdout and stderr, with pauses.
    producer = subprocess.Popen(
        python(
            f"""
            import os, time
            s = {SECRET!r}.encode()
            for i in range(5):
                os.write(1, b"out " + s[:7]); time.sleep(0.03)
                os.write(2, s[7:13]); time.sleep(0.03)
                os.write(1, s[13:] + b" end\\n"); time.sleep(0.03)
            """
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    filt = subprocess.Popen(filter_cmd(secrets_file), stdin=producer.stdout, stdout=subprocess.PIPE)
    producer.stdout.close()
    out, _ = filt.communicate(timeout=TIMEOUT)
    assert producer.wait(timeout=TIMEOUT) == 0
    assert out == b"out [REDACTED] end\n" * 5


# -- latency and memory ------------------------------------------------------------------------


def test_output_leaves_before_the_producer_writes_more(secrets_file: Path) -> None:
    """A line is released while the producer is still running and silent (no EOF, no next line)."""
    filt = subprocess.Popen(filter_cmd(secrets_file), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    w, r = filt.stdin.fileno(), filt.stdout.fileno()
    try:
        os.write(w, b"step 1 done\n")
        assert read_exactly(r, 12) == b"step 1 done\n"
        # A partial line is not held either (when it ends in no piece of a secret: with fragment
        # windows, a tail that is a piece of a secret shorter than the fragment length may be).
        os.write(w, b"no newline yet.")
        assert read_exactly(r, 15) == b"no newline yet."
        # A secret's beginning is held (it may be the secret), and nothing else is:
        os.write(w, b"\ntoken=" + SECRET[:9].encode())
        assert read_exactly(r, 7) == b"\ntoken="
        assert nothing_arrives(r)
        os.write(w, SECRET[9:].encode() + b"\n")
        assert read_exactly(r, 11) == b"[REDACTED]\n"
        # The start of a line that may be ::add-mask:: is held until it is decided.
        os.write(w, b"::add-m")
        assert nothing_arrives(r)
        os.write(w, b"ore\n")
        assert read_exactly(r, 11) == b"::add-more\n"
    finally:
        filt.stdin.close()
        assert filt.wait(timeout=TIMEOUT) == 0
        filt.stdout.close()


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_huge_line_in_bounded_memory(secrets_file: Path) -> None:
    """100 MB without a newline: the filter's peak RSS grows by a few MB at most."""

    def peak_after(blocks: int, block: bytes, redacted: bytes) -> int:
        filt = subprocess.Popen(
            filter_cmd(secrets_file), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        digest, expected = hashlib.sha256(), hashlib.sha256()
        for _ in range(blocks):
            expected.update(redacted)
        expected.update(b"\nEND\n")
        got = bytearray()  # only the last few bytes, to spot the end marker

        def reader() -> None:
            for chunk in iter(lambda: os.read(filt.stdout.fileno(), 1 << 20), b""):
                digest.update(chunk)
                got[:] = (bytes(got) + chunk)[-5:]
                if bytes(got) == b"\nEND\n":
                    done.set()

        done = threading.Event()
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        batch = block * (1 << 20 // len(block) or 1)
        per_batch = len(batch) // len(block)
        sent = 0
        while sent + per_batch <= blocks:
            filt.stdin.write(batch)
            sent += per_batch
        filt.stdin.write(block * (blocks - sent) + b"\nEND\n")
        filt.stdin.flush()
        assert done.wait(TIMEOUT * 3), "the filter did not pass everything through"
        peak = _hwm_kib(filt.pid)  # measured while the filter is still running
        filt.stdin.close()
        assert filt.wait(timeout=TIMEOUT) == 0
        thread.join(TIMEOUT)
        filt.stdout.close()
        assert digest.hexdigest() == expected.hexdigest()
        return peak

    block = (b"0123456789abcdef" * 64)[:1004] + SECRET.encode()
    redacted = block[:1004] + b"[REDACTED]"
    small = peak_after(10, block, redacted)
    huge = peak_after(100 * (1 << 20) // len(block), block, redacted)  # 100 MB, ~100k secrets
    print(f"peak RSS: {small} KiB after 10 kB, {huge} KiB after 100 MB")
    assert huge - small < 16 * 1024, f"peak RSS grew from {small} KiB to {huge} KiB"


# -- the end of the stream ---------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("head") is None, reason="needs head")
def test_closed_pipe_downstream_ends_quietly(secrets_file: Path) -> None:
    producer = subprocess.Popen(
        python(
            f"""
            import signal, sys
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            line = b"x {SECRET} y\\n" * 100
            while True:
                sys.stdout.buffer.write(line)
            """
        ),
        stdout=subprocess.PIPE,
    )
    filt = subprocess.Popen(
        filter_cmd(secrets_file),
        stdin=producer.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    producer.stdout.close()
    head = subprocess.run(
        ["head", "-c", "10"], stdin=filt.stdout, capture_output=True, timeout=TIMEOUT
    )
    filt.stdout.close()
    assert head.stdout == b"x [REDACTE"
    assert filt.wait(timeout=TIMEOUT) == 0  # quietly, as documented
    assert filt.stderr.read() == b""
    filt.stderr.close()
    # ... and the producer meets the closed pipe as it would without the filter.
    assert producer.wait(timeout=TIMEOUT) == -signal.SIGPIPE


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_flushes_what_is_held_then_exits(secrets_file: Path, sig: int) -> None:
    filt = subprocess.Popen(
        filter_cmd(secrets_file),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.write(filt.stdin.fileno(), b"line one\n::add-ma")
    assert read_exactly(filt.stdout.fileno(), 9) == b"line one\n"
    filt.send_signal(sig)
    assert filt.wait(timeout=TIMEOUT) == 128 + sig
    assert filt.stdout.read() == b"::add-ma"
    assert filt.stderr.read() == b""
    for f in (filt.stdin, filt.stdout, filt.stderr):
        f.close()


def test_sigterm_ends_a_filter_blocked_on_a_stalled_reader(secrets_file: Path) -> None:
    # Nobody reads the filter's stdout: it blocks in write once the pipe is full. SIGTERM must
    # still end it at once (a CI runner cancelling a job), without writing anything more.
    filt = subprocess.Popen(
        filter_cmd(secrets_file),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    writer = threading.Thread(
        target=lambda: _write_ignoring_epipe(filt.stdin, b"x" * 99 + b"\n", 40_000), daemon=True
    )
    writer.start()
    read_exactly(filt.stdout.fileno(), 100)  # it is running (its handlers are installed) ...
    # ... and then, as nobody reads, its output pipe fills up and our writes block.
    deadline = time.monotonic() + TIMEOUT
    while writer.is_alive() and time.monotonic() < deadline:
        if not select.select([], [filt.stdin], [], 0.2)[1]:
            break
    filt.send_signal(signal.SIGTERM)
    assert filt.wait(timeout=TIMEOUT) == 128 + signal.SIGTERM
    assert filt.stderr.read() == b""
    data = filt.stdout.read()
    assert set(data) <= set(b"x\n")
    writer.join(TIMEOUT)
    for f in (filt.stdout, filt.stderr):
        f.close()


def _write_ignoring_epipe(f, line: bytes, count: int) -> None:
    try:
        for _ in range(count):
            f.write(line)
    except OSError:  # the filter is gone
        pass
    finally:
        try:
            f.close()
        except OSError:  # flushing into a closed pipe
            pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: F_GETPIPE_SZ/F_SETPIPE_SZ")
def test_pipes_grow_to_a_chunk_and_a_large_stream_comes_out_whole(secrets_file: Path) -> None:
    import fcntl

    from redactor.sinks.ci import CHUNK_SIZE

    filt = subprocess.Popen(filter_cmd(secrets_file), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    w, r = filt.stdin.fileno(), filt.stdout.fileno()
    os.write(w, f"first {SECRET}\n".encode())
    assert read_exactly(r, 17) == b"first [REDACTED]\n"
    # Both pipes now hold a chunk (grown before the first read).
    assert fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) == CHUNK_SIZE
    assert fcntl.fcntl(r, fcntl.F_GETPIPE_SZ) == CHUNK_SIZE
    line = f"2026-12-02T03:00:00Z step {SECRET} done\n".encode()
    writer = threading.Thread(target=lambda: (os.write(w, line * 100_000), filt.stdin.close()))
    writer.start()
    out = filt.stdout.read()
    writer.join()
    assert filt.wait(timeout=TIMEOUT) == 0
    assert out == b"2026-12-02T03:00:00Z step [REDACTED] done\n" * 100_000
    filt.stdout.close()


def test_output_to_a_file_and_to_devnull(secrets_file: Path, tmp_path: Path) -> None:
    data = f"to a file {SECRET}\n".encode() * 20_000
    out_path = tmp_path / "out.log"
    with out_path.open("wb") as out:
        result = subprocess.run(
            filter_cmd(secrets_file),
            input=data,
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
        )
    assert (result.returncode, result.stderr) == (0, b"")
    assert out_path.read_bytes() == b"to a file [REDACTED]\n" * 20_000
    result = subprocess.run(
        filter_cmd(secrets_file),
        input=data,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=TIMEOUT,
    )
    assert (result.returncode, result.stderr) == (0, b"")


# -- a file on stdin is a batch ----------------------------------------------------------------


def test_a_file_on_stdin_is_announced_as_a_batch_and_a_pipe_is_not(tmp_path: Path) -> None:
    """A file's reader waits for the whole of it: a large one waits for Hyperscan's compile
    instead of scanning with the reference meanwhile (WAIT_FOR_FAST_MIN); a pipe's lines keep
    flowing. What is left of the file from where stdin stands is what counts."""
    from redactor import Redactor
    from redactor.cli.commands.filter import _announce_work

    log = tmp_path / "big.log"
    log.write_bytes(b"x" * 10_000)
    redactor = Redactor()
    redactor.add(SECRET)
    with log.open("rb") as f:
        f.seek(1_000)
        _announce_work(redactor, f.fileno())
    assert redactor._current().batch == 9_000
    read, write = os.pipe()
    try:
        os.write(write, b"x" * 1_000)
        piped = Redactor()
        piped.add(SECRET)
        _announce_work(piped, read)
        assert piped._current().batch == 0
    finally:
        os.close(read)
        os.close(write)


def test_a_write_error_on_a_file_stops_the_filter_with_a_clear_message(
    secrets_file: Path, tmp_path: Path
) -> None:
    """A file on stdout is written by a thread behind the pump (fdio._WriteBehind): a write
    that fails there (here EFBIG, past a file-size limit) still ends the filter with the
    error, at once and without a value in it, never a hang or a silent short file. What was
    written is a prefix of the redacted output."""
    import resource

    line = f"2026-12-03T06:00:00Z step {SECRET} done\n".encode()
    src = tmp_path / "in.log"
    src.write_bytes(line * 200_000)  # 8.6 MB: several chunks handed to the writer
    limit = 3 * 1024 * 1024 + 17

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out_path = tmp_path / "out.log"
    with src.open("rb") as fin, out_path.open("wb") as fout:
        result = subprocess.run(
            filter_cmd(secrets_file),
            stdin=fin,
            stdout=fout,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            preexec_fn=limited,
        )
    assert result.returncode == 1
    assert result.stderr == b"redactor: error: cannot copy stdin to stdout: File too large\n"
    out = out_path.read_bytes()
    assert len(out) == limit
    assert out == (b"2026-12-03T06:00:00Z step [REDACTED] done\n" * 200_000)[:limit]
