"""Terminal IPython on a real pseudo-terminal: what a cell writes below ``sys.stdout`` (``!cmd``,
``os.system``, ``subprocess`` without capture, ``os.write``, C ``printf``) is redacted, children
still see a terminal of the real size, and prompt_toolkit's prompts between cells are drawn as
before. Also IPython reading a pipe (the descriptors are pipes then)."""

from __future__ import annotations

import fcntl
import functools
import os
import struct
import subprocess
import sys
import termios

import pytest
import test_terminal_ipython
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_terminal_ipython import _run_piped, read_pty_until

SECRET = "sk-live-Zk7Qm2Xr9Lp4Wv8Nt3"
R = "[REDACTED]"
IPYTHON = [*test_terminal_ipython.IPYTHON, "--no-confirm-exit"]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

CELLS = [
    "import os, subprocess, sys, ctypes",
    "!echo shell $DEMO_SECRET",
    'os.system("echo system $DEMO_SECRET; echo system-err $DEMO_SECRET >&2")',
    'subprocess.run(["sh", "-c", "echo sub $DEMO_SECRET; echo sub-err $DEMO_SECRET >&2"]).returncode',
    "!python -c \"import os, sys; print('child', sys.stdout.isatty(), sys.stderr.isatty(), os.get_terminal_size())\"",
    'os.write(1, b"split " + os.environ["DEMO_SECRET"][:6].encode()); os.write(1, os.environ["DEMO_SECRET"][6:].encode() + b" end\\n")',
    'ctypes.CDLL(None).printf(b"printf %s\\n", os.environ["DEMO_SECRET"].encode())',
    'print("py", os.environ["DEMO_SECRET"], os.ttyname(1) != os.ttyname(0))',
    # the real terminal is resized while a cell runs: the channel follows (SIGWINCH)
    "import fcntl, termios, struct, time; fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 140, 0, 0)); "
    "_ = [time.sleep(0.01) for _ in range(1000) if os.get_terminal_size(1).columns != 140]",
    "!python -c \"import os; print('resized', os.get_terminal_size())\"",
    'os.write(1, b"tail " + os.environ["DEMO_SECRET"][:9].encode())',
    "%redactor",
    "%unload_ext redactor",
    'print("restored", os.ttyname(1) == os.ttyname(0), os.environ["DEMO_SECRET"][:4])',
]


def _session(tmp_path, cells, *, ext=True):
    import pty

    try:
        controller, terminal = pty.openpty()
    except OSError as exc:  # a container without /dev/ptmx
        pytest.skip(f"no pseudo-terminal: {exc}")
    fcntl.ioctl(controller, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 123, 0, 0))
    ipdir = tmp_path / "ipython"
    ipdir.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        DEMO_SECRET=SECRET,
        IPYTHONDIR=str(ipdir),
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="dumb",
        SHELL="/bin/sh",
    )
    args = [*IPYTHON, "--ext", "redactor"] if ext else IPYTHON
    proc = subprocess.Popen(
        args, stdin=terminal, stdout=terminal, stderr=terminal, env=env, close_fds=True
    )
    os.close(terminal)
    received = bytearray()
    read_until = functools.partial(read_pty_until, controller, received, timeout=60.0)

    try:
        prompt = 1
        for cell in cells:
            read_until(f"In [{prompt}]: ".encode())
            os.write(controller, cell.encode() + b"\r")
            prompt += 1
        read_until(f"In [{prompt}]: ".encode())
        os.write(controller, b"exit\r")
        read_until(b"\x00", timeout=10)  # until the process closes the terminal
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(controller)
    return received.decode(errors="replace").replace("\r", "")


def test_fd_output_of_cells_is_redacted_on_a_pty(tmp_path):
    text = _session(tmp_path, ["%redactor add-env DEMO_SECRET", *CELLS])
    assert SECRET not in text
    for line in (
        f"shell {R}",
        f"system {R}",
        f"system-err {R}",
        f"sub {R}",
        f"sub-err {R}",
        f"split {R} end",
        f"printf {R}",
        f"py {R} True",
    ):
        assert f"\n{line}\n" in text, line
    # children see a terminal, of the real terminal's size
    assert "child True True os.terminal_size(columns=123, lines=37)\n" in text
    assert "resized os.terminal_size(columns=140, lines=50)\n" in text
    # the secret prefix written last in a cell came out whole, before the next prompt
    assert f"tail {SECRET[:9]}" in text
    assert text.index(f"tail {SECRET[:9]}") < text.index("redactor 0.1")
    assert "hooks: sys.stdout, sys.stderr, prompt_toolkit output, fds 1, 2 during cells (pty)" in (
        text
    )
    # after %unload_ext the descriptors are the real terminal again
    assert f"restored True {SECRET[:4]}" in text
    # every prompt was drawn, in order
    prompts = [int(p.split("]")[0]) for p in text.split("In [")[1:]]
    assert prompts == list(range(1, len(CELLS) + 3))


def test_without_the_extension_fd_output_is_raw(tmp_path):
    # The control: the same shell commands print the value when the extension is not loaded.
    text = _session(tmp_path, ["!echo shell $DEMO_SECRET"], ext=False)
    assert f"shell {SECRET}" in text


def test_piped_ipython_redacts_children_too(tmp_path):
    ipdir = tmp_path / "ipython"
    ipdir.mkdir()
    out, err = _run_piped(
        ["--ext", "redactor"],
        [
            "%redactor add-env DEMO_SECRET",
            "import os, subprocess",
            "!echo shell $DEMO_SECRET",
            'os.system("echo system $DEMO_SECRET")',
            'subprocess.run(["sh", "-c", "echo sub $DEMO_SECRET >&2"]).returncode',
            "!python -c \"import sys; print('child', sys.stdout.isatty())\"",
            'print("last")',
        ],
        dict(os.environ, DEMO_SECRET=SECRET, IPYTHONDIR=str(ipdir), SHELL="/bin/sh"),
        ipython=IPYTHON,
    )
    assert SECRET not in out + err
    order = [f"shell {R}\n", f"system {R}\n", "child False\n", "last\n"]
    positions = [out.index(line) for line in order]
    assert positions == sorted(positions)
    assert err == f"sub {R}\n"


TYPED = "typed-Secr3t-value-42"


def test_logstart_file_and_history_database_are_redacted(tmp_path):
    import sqlite3

    ipdir = tmp_path / "ipython"
    ipdir.mkdir()
    log = tmp_path / "session_log.py"
    db = tmp_path / "history.sqlite"
    cells = [
        f"%logstart -o {log}",
        "%redactor add-env DEMO_SECRET",
        's = __import__("os").environ["DEMO_SECRET"]',
        "s",
        '{"k": s, "n": 1}',
        # a cell that types a value and registers it: its input line is logged redacted too
        f'import redactor; redactor.add_secret("{TYPED}", "TYPED")',
        f'"{TYPED}"',
        "%logstop",
        "s[:4]",
    ]
    out, err = _run_piped(
        [
            "--ext",
            "redactor",
            "--HistoryManager.enabled=True",
            "--HistoryManager.db_log_output=True",
            f"--HistoryManager.hist_file={db}",
        ],
        cells,
        dict(os.environ, DEMO_SECRET=SECRET, IPYTHONDIR=str(ipdir)),
        ipython=IPYTHON[:-2],
    )
    assert SECRET not in out + err
    text = log.read_text()
    assert SECRET not in text and TYPED not in text
    assert f"#[Out]# '{R}'\n" in text
    assert f"#[Out]# {{'k': '{R}', 'n': 1}}\n" in text
    assert f'import redactor; redactor.add_secret("{R}", "TYPED")\n' in text
    assert 's = __import__("os").environ["DEMO_SECRET"]\n' in text
    with sqlite3.connect(db) as conn:
        outputs = [
            row[0] for row in conn.execute("SELECT output FROM output_history ORDER BY line")
        ]
    assert outputs == [f"'{R}'", f"{{'k': '{R}', 'n': 1}}", "True", f"'{R}'", f"'{SECRET[:4]}'"]


# -- the channel itself, in-process, on real pipes ------------------------------------------------

secret_values = st.one_of(
    st.text(alphabet="abcXYZ019'\"-_=/+ ", min_size=8, max_size=30),
    st.text(alphabet="0123456789", min_size=8, max_size=20),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=200, max_size=400),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=secret_values,
    before=st.text(alphabet="ab x\n'\"é", max_size=20),
    after=st.text(alphabet="ab x\n'\"é", max_size=20),
    cuts=st.lists(st.integers(0, 500), max_size=8),
)
def test_property_channel_redacts_any_chunking(secret, before, after, cuts):
    import redactor
    from ipython_extension._terminal import _Channel
    from redactor import Redactor

    engine = Redactor()
    assume(engine.add(secret, "S"))
    data = (before + secret + after + secret[:-1]).encode()
    previous = redactor.set_redactor(engine)
    dest_r, dest_w = os.pipe()
    try:
        channel = _Channel(dest_w, hold=60.0)  # no timer release: only the drain decides
        os.close(dest_w)
        points = sorted({min(c, len(data)) for c in cuts})
        pos = 0
        for c in [*points, len(data)]:
            os.write(channel.writer, data[pos:c])
            pos = c
        assert channel.drain(timeout=60)
        channel.close()
        channel.thread.join(60)
        out = b""
        while chunk := os.read(dest_r, 65536):
            out += chunk
    finally:
        redactor.set_redactor(previous)
        os.close(dest_r)
    assert out == engine.redact_bytes(data)
    assert secret.encode() not in out


@pytest.mark.kernel
def test_logstart_and_history_database_in_a_kernel(tmp_path, monkeypatch):
    # The same disk copies in a real Jupyter kernel (ipykernel has the same Logger and history).
    import sqlite3

    from helpers.kernel import Kernel
    from helpers.kernel import kernelspec as _kernelspec
    from helpers.kernel import start as _start
    from helpers.kernel import stop as _stop

    ipdir = tmp_path / "ipython"
    ipdir.mkdir()
    log = tmp_path / "kernel_log.py"
    db = tmp_path / "history.sqlite"
    env = dict(os.environ, DEMO_SECRET=SECRET, IPYTHONDIR=str(ipdir))
    env.pop("PYTEST_CURRENT_TEST", None)
    monkeypatch.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path)))
    km, kc, _ = _start(
        tmp_path,
        env,
        [
            "--ext=redactor",
            "--HistoryManager.db_log_output=True",
            f"--HistoryManager.hist_file={db}",
        ],
    )
    k = Kernel(km, kc, tmp_path / "unused")
    try:
        k.run("%redactor add-env DEMO_SECRET")
        k.run(f"%logstart -o {log}")
        k.run('import os; s = os.environ["DEMO_SECRET"]')
        k.run("s")
        k.run(f'import redactor; redactor.add_secret("{TYPED}", "TYPED")')
        k.run("%logstop")
        k.run("get_ipython().history_manager.writeout_cache()")
        with sqlite3.connect(db) as conn:
            outputs = [
                r[0] for r in conn.execute("SELECT output FROM output_history ORDER BY line")
            ]
    finally:
        _stop(km, kc)
    assert outputs == [f"'{R}'", "True"]
    text = log.read_text()
    assert SECRET not in text and TYPED not in text
    assert f"#[Out]# '{R}'\n" in text
    assert f'import redactor; redactor.add_secret("{R}", "TYPED")\n' in text


def test_notebook_history_and_save_exports_are_redacted(tmp_path):
    import json

    ipdir = tmp_path / "ipython"
    ipdir.mkdir()
    out_nb = tmp_path / "export.ipynb"
    cells = [
        "%redactor add-env DEMO_SECRET",
        's = __import__("os").environ["DEMO_SECRET"]',
        # one stream output written in two pieces: joined before it is redacted
        'import sys; sys.stdout.write("split " + s[:5]); sys.stdout.write(s[5:] + "\\n")',
        "s",
        'display({"k": s})',
        "raise ValueError(s)",
        f'typed = "{SECRET}"',  # a source that holds the value
        f"%notebook {out_nb}",
        f"%history -n -o -f {tmp_path / 'history.txt'}",
        f"%save -r {tmp_path / 'saved.py'} 1-7",
        'print("kept", get_ipython().history_manager.outputs[3][0].bundle["stream"][0][:8])',
    ]
    out, _ = _run_piped(
        ["--ext", "redactor"],
        cells,
        dict(os.environ, DEMO_SECRET=SECRET, IPYTHONDIR=str(ipdir)),
        ipython=IPYTHON[:-2],
    )
    raw = out_nb.read_text()
    assert SECRET not in raw
    nb = json.loads(raw)
    by_count = {c["execution_count"]: c for c in nb["cells"]}
    assert by_count[3]["outputs"][0]["text"] == [f"split {R}\n"]
    assert by_count[4]["outputs"][0]["data"]["text/plain"] == [f"'{R}'"]
    assert by_count[5]["outputs"][0]["data"]["text/plain"] == [f"{{'k': '{R}'}}"]
    error = by_count[6]["outputs"][-1]
    assert error["output_type"] == "error" and error["evalue"] == R
    assert by_count[7]["source"] == [f'typed = "{R}"']
    history = (tmp_path / "history.txt").read_text()
    assert SECRET not in history
    assert f"   4: s\n'{R}'\n" in history
    assert f'   7: typed = "{R}"\n' in history
    saved = (tmp_path / "saved.py").read_text()
    assert SECRET not in saved
    assert f'typed = "{R}"\n' in saved
    # the in-memory history is untouched (it is printed through the redacted streams only)
    assert "kept split s" in out
