"""``redactor.install()``: the stream wrapper (in-process, with hypothesis) and whole processes
with real pipes, child processes and C-level writes (``fd=True``)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor
from redactor.sinks.stdio import RedactingTextIO

SECRET = "sk-live-0123456789abcdef"
R = "[REDACTED]"
SECRETS = ["sk-live-0123456789abcdef", "pw-abcabcabc", "tok_xyz_9876"]


@pytest.fixture
def engine():
    r = Redactor()
    for i, value in enumerate(SECRETS):
        r.add(value, f"s{i}")
    return r


def run_python(code: str, *, secret: str = SECRET, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEMO_SECRET=secret, PYTHONIOENCODING="utf-8")
    env.pop("PYTHONUNBUFFERED", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
        **kwargs,
    )


# -- the wrapper --------------------------------------------------------------------------------


def test_wrapper_holds_back_only_a_possible_prefix(engine):
    out = io.StringIO()
    w = RedactingTextIO(out, engine)
    assert w.write("hello sk-live-") == len("hello sk-live-")
    assert out.getvalue() == "hello "
    assert w.pending == len("sk-live-")
    w.write("0123456789abcdef and sk-x")
    assert out.getvalue() == f"hello {R} and sk-x"
    w.write("pw-abc")
    w.flush()
    assert out.getvalue() == f"hello {R} and sk-xpw-abc"
    assert w.pending == 0


def test_wrapper_keeps_what_libraries_ask(engine, tmp_path):
    raw = open(tmp_path / "f.txt", "w", encoding="latin-1", errors="replace")
    w = RedactingTextIO(raw, engine)
    assert w.encoding == "latin-1"
    assert w.errors == "replace"
    assert w.fileno() == raw.fileno()
    assert w.isatty() is False
    assert w.writable() and not w.readable() and not w.seekable()
    assert w.name == raw.name
    assert isinstance(w, io.TextIOBase)
    w.write("text " + SECRET + "\n")
    w.buffer.write(b"bytes " + SECRET.encode() + b"\n")
    w.write("more text\n")
    w.close()
    assert w.closed and not raw.closed
    raw.close()
    assert (tmp_path / "f.txt").read_text() == f"text {R}\nbytes {R}\nmore text\n"
    with pytest.raises(ValueError):
        w.write("x")
    with pytest.raises(TypeError):
        RedactingTextIO(io.StringIO(), engine).write(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        _ = RedactingTextIO(io.StringIO(), engine).buffer


def test_wrapper_follows_the_default_redactor():
    previous = redactor.set_redactor(Redactor())
    try:
        out = io.StringIO()
        w = RedactingTextIO(out)
        w.write(SECRET + "\n")
        redactor.add_secret(SECRET, "late")
        w.write(SECRET + "\n")
        redactor.set_redactor(Redactor())
        w.write(SECRET + "\n")
        w.flush()
        assert out.getvalue() == f"{SECRET}\n{R}\n{SECRET}\n"
    finally:
        redactor.set_redactor(previous)


chunkings = st.lists(
    st.one_of(st.sampled_from(SECRETS), st.text("sk-live0123pw-abc_ tok\né\n", max_size=10)),
    max_size=10,
)


def _cut(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    out, pos = [], 0
    for c in [*points, len(text)]:
        out.append(text[pos:c])
        pos = c
    return out


@settings(max_examples=150, deadline=None)
@given(pieces=chunkings, cuts=st.lists(st.integers(0, 200), max_size=8))
def test_property_text_any_chunking(pieces, cuts):
    engine = Redactor()
    for i, value in enumerate(SECRETS):
        engine.add(value, f"s{i}")
    text = "".join(pieces)
    out = io.StringIO()
    w = RedactingTextIO(out, engine)
    for chunk in _cut(text, cuts):
        w.write(chunk)
    w.flush()
    result = out.getvalue()
    assert result == engine.redact(text)
    assert not engine.contains_secret(result)
    if not engine.contains_secret(text):
        assert result == text


@settings(max_examples=100, deadline=None)
@given(pieces=chunkings, cuts=st.lists(st.integers(0, 200), max_size=8))
def test_property_buffer_any_chunking(pieces, cuts):
    engine = Redactor()
    for i, value in enumerate(SECRETS):
        engine.add(value, f"s{i}")
    data = "".join(pieces).encode()
    raw = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    w = RedactingTextIO(raw, engine)
    for chunk in _cut(data.decode(), cuts):
        w.buffer.write(chunk.encode())
    w.flush()
    assert raw.buffer.getvalue() == engine.redact_bytes(data)


# -- install() in real processes ----------------------------------------------------------------


def test_install_redacts_print_and_releases_at_exit():
    proc = run_python(
        """
        import os, sys, redactor
        s = os.environ["DEMO_SECRET"]
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install()
        print("plain line")
        print("token", s)
        print("err", s, file=sys.stderr)
        sys.stdout.write("split " + s[:7])
        sys.stdout.write(s[7:] + "\\n")
        print(sys.stdout.encoding, sys.stdout.isatty(), sys.stdout.fileno(), type(sys.stdout).__name__)
        sys.stdout.write("tail at exit " + s[:9])
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == (
        f"plain line\ntoken {R}\nsplit {R}\nutf-8 False 1 RedactingTextIO\ntail at exit {SECRET[:9]}"
    )
    assert proc.stderr.decode() == f"err {R}\n"


def test_uninstall_restores_streams():
    proc = run_python(
        """
        import os, sys, redactor
        s = os.environ["DEMO_SECRET"]
        redactor.add_secret(s, "DEMO_SECRET")
        before = sys.stdout
        redactor.install()
        redactor.install()  # idempotent
        print("during", s)
        redactor.uninstall()
        print(sys.stdout is before, redactor.sinks.stdio.installed())
        """
    )
    assert proc.stdout.decode() == f"during {R}\nTrue False\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX C library and pseudo-terminals")
def test_install_fd_catches_c_level_writes_and_children():
    proc = run_python(
        """
        import ctypes, os, stat, subprocess, sys, redactor
        s = os.environ["DEMO_SECRET"]
        redactor.add_secret(s, "DEMO_SECRET")
        ino = os.fstat(1).st_ino
        redactor.install(fd=True)
        during = os.fstat(1).st_ino
        print("python", s, flush=True)
        os.write(1, ("os.write " + s + "\\n").encode())
        libc = ctypes.CDLL(None)
        line = ("libc write " + s + "\\n").encode()
        libc.write(1, line, len(line))
        libc.printf(b"printf %s\\n", s.encode())   # stays in C's stdio buffer until fflush
        subprocess.run([sys.executable, "-c", "import os; print('child', os.environ['DEMO_SECRET'])"], check=True)
        subprocess.run([sys.executable, "-c", "import os; os.write(2, b'child err ' + os.environ['DEMO_SECRET'].encode() + b'\\\\n')"], check=True)
        os.write(1, b"split " + s[:5].encode())
        os.write(1, s[5:].encode() + b"\\n")
        redactor.uninstall()
        print("restored", os.fstat(1).st_ino == ino, during != ino, flush=True)
        """
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    lines = out.splitlines()
    assert sorted(lines) == sorted(
        [
            f"python {R}",
            f"os.write {R}",
            f"libc write {R}",
            f"printf {R}",
            f"child {R}",
            f"split {R}",
            "restored True True",
        ]
    )
    assert lines[-1] == "restored True True"
    assert proc.stderr.decode() == f"child err {R}\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX C library and pseudo-terminals")
def test_install_fd_keeps_isatty_and_flushes_tail_after_silence():
    import pty

    try:
        controller, terminal = pty.openpty()
    except OSError as exc:  # a container without /dev/ptmx
        pytest.skip(f"no pseudo-terminal: {exc}")
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    """
                    import os, sys, time, redactor
                    s = os.environ["DEMO_SECRET"]
                    redactor.add_secret(s, "DEMO_SECRET")
                    redactor.install(fd=True, hold=0.2)
                    print(sys.stdout.isatty(), sys.stderr.isatty(), os.isatty(1), flush=True)
                    os.write(1, ("tail " + s[:6]).encode())
                    time.sleep(0.6)   # longer than hold: the possible prefix goes out on its own
                    os.write(1, b"|next\\n")
                    print("tok", s, flush=True)
                    """
                ),
            ],
            stdout=terminal,
            stderr=terminal,
            env=dict(os.environ, DEMO_SECRET=SECRET),
        )
        os.close(terminal)
        terminal = -1
        data = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    text = data.decode().replace("\r\n", "\n")
    assert text == f"True True False\ntail {SECRET[:6]}|next\ntok {R}\n"


def test_install_redacts_existing_and_later_handlers_and_uninstall_restores():
    proc = run_python(
        """
        import logging, os, sys, redactor
        s = os.environ["DEMO_SECRET"]
        redactor.add_secret(s, "DEMO_SECRET")
        early = logging.StreamHandler(sys.__stdout__)
        logging.getLogger("early").addHandler(early)
        logging.getLogger("early").propagate = False
        redactor.install()
        logging.basicConfig(stream=sys.__stdout__, format="%(name)s %(message)s", level=logging.INFO)
        late = logging.StreamHandler(sys.__stdout__)
        logging.getLogger("late").addHandler(late)
        logging.getLogger("late").propagate = False
        for name in ("early", "root", "late"):
            logging.getLogger(name).warning("msg %s", s)
        sys.__stdout__.flush()
        originals = (logging.Logger.callHandlers.__wrapped__, logging.Handler.handle.__wrapped__)
        redactor.uninstall()
        print((logging.Logger.callHandlers, logging.Handler.handle) == originals)
        logging.getLogger("early").warning("after %s", s[:4])
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == (f"msg {R}\nroot msg {R}\nmsg {R}\nTrue\nafter {SECRET[:4]}\n")
