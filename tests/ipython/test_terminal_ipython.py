"""Terminal IPython with the extension, driven as a real subprocess: through a pipe (the simple
prompt) and through a pseudo-terminal (prompt_toolkit, including a thread printing while the prompt
is shown)."""

from __future__ import annotations

import functools
import os
import secrets
import select
import subprocess
import sys
import time

import pytest

SECRET = "sk-live-" + secrets.token_hex(10)
R = "[REDACTED]"
IPYTHON = [
    sys.executable,
    "-m",
    "IPython",
    "--no-banner",
    "--colors=nocolor",
    "--HistoryManager.enabled=False",
]


def _env(tmp_path, **extra):
    ipdir = tmp_path / "ipython"
    ipdir.mkdir(exist_ok=True)
    return dict(os.environ, DEMO_SECRET=SECRET, IPYTHONDIR=str(ipdir), **extra)


def read_pty_until(controller: int, received: bytearray, marker: bytes, timeout: float) -> None:
    """Read a pseudo-terminal's output into ``received`` until it holds ``marker``, the terminal
    closes or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while marker not in received and time.monotonic() < end:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:
                return
            if not data:
                return
            received.extend(data)


def _run_piped(args, lines, env, *, ipython=IPYTHON):
    proc = subprocess.run(
        ipython + args,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


CELLS = [
    "%redactor add-env DEMO_SECRET",
    's = __import__("os").environ["DEMO_SECRET"]',
    'print("tok", s, "plain")',
    "s",
    'display({"k": s})',
    "raise ValueError(s)",
    'import sys; print("err", s, file=sys.stderr)',
    'sys.stdout.write("split " + s[:9]); sys.stdout.write(s[9:] + "\\n")',
    'print("no secret here")',
]


def test_piped_with_ext_argument(tmp_path):
    out, err = _run_piped(["--ext", "redactor"], [*CELLS, "%redactor"], _env(tmp_path))
    assert SECRET not in out and SECRET not in err
    assert "registered DEMO_SECRET\n" in out
    assert f"tok {R} plain\n" in out
    assert f"Out[4]: '{R}'\n" in out
    assert f"{{'k': '{R}'}}\n" in out
    assert f"ValueError: {R}\n" in out
    assert f"split {R}\n" in out
    assert "no secret here\n" in out
    assert f"err {R}\n" in err
    assert "1 secret (DEMO_SECRET)" in out
    assert "hooks: sys.stdout, sys.stderr" in out


def test_config_file_and_unload(tmp_path):
    env = _env(tmp_path)
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_config.py").write_text('c.InteractiveShellApp.extensions = ["redactor"]\n')
    out, _ = _run_piped(
        [],
        [
            "%redactor add-env DEMO_SECRET",
            "import sys, os",
            "before = type(sys.stdout).__name__",
            'print("on", os.environ["DEMO_SECRET"])',
            "%unload_ext redactor",
            'print(before, type(sys.stdout).__name__, "redactor" in get_ipython().magics_manager.magics["line"])',
            'print("off", os.environ["DEMO_SECRET"][:4])',
        ],
        env,
    )
    assert f"on {R}\n" in out
    assert "RedactingTextIO TextIOWrapper False\n" in out
    assert "off sk-l\n" in out


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_prompt_toolkit_in_a_pty_including_thread_output_during_the_prompt(tmp_path):
    import pty

    try:
        controller, terminal = pty.openpty()
    except OSError as exc:  # a container without /dev/ptmx
        pytest.skip(f"no pseudo-terminal: {exc}")
    env = _env(tmp_path, PROMPT_TOOLKIT_NO_CPR="1", TERM="dumb")
    proc = subprocess.Popen(
        [*IPYTHON, "--ext", "redactor", "--no-confirm-exit"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        close_fds=True,
    )
    os.close(terminal)
    received = bytearray()
    read_until = functools.partial(read_pty_until, controller, received, timeout=30.0)

    try:
        prompt = 1
        cells = [
            *CELLS[:6],
            # printed 0.5 s later, while prompt_toolkit shows the next prompt (patch_stdout)
            'import threading, time; threading.Thread(target=lambda: (time.sleep(0.5), print("thread", s))).start()',
        ]
        for cell in cells:
            read_until(f"In [{prompt}]: ".encode())
            os.write(controller, cell.encode() + b"\r")
            prompt += 1
        read_until(b"thread ")
        read_until(b"\n", timeout=5)
        os.write(controller, b"exit\r")
        read_until(b"\x00", timeout=5)  # until the process closes the terminal
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(controller)
    text = received.decode(errors="replace").replace("\r", "")
    assert SECRET not in text
    assert f"tok {R} plain" in text
    assert f"'{R}'" in text
    assert f"ValueError: {R}" in text
    assert f"thread {R}" in text
