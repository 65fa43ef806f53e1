"""`redactor run --pty` on real pseudo-terminals.

Most tests play a terminal emulator: ``redactor run --pty`` runs as the session leader of an
outer pseudo-terminal (its stdin, stdout and stderr, and its controlling terminal) whose
controller side the test reads, types into and resizes. The command then runs on the inner
terminal that ``redactor run`` opened, and what it prints reaches the test through both.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from helpers.cli import REDACTOR, TIMEOUT, py
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.sinks.stdio.pty import DEFAULT_SIZE

SECRET = "hunter2-Sup3r-Secret"
ENV = {**os.environ, "APP_TOKEN": SECRET}
R = b"[REDACTED]"

try:
    _m, _s = os.openpty()
    os.close(_m)
    os.close(_s)
except OSError as exc:  # a container without /dev/ptmx
    pytest.skip(f"no pseudo-terminal: {exc}", allow_module_level=True)


def run_cmd(*command: str, pty: bool = True) -> list[str]:
    flags = ["--pty"] if pty else []
    return [*REDACTOR, "run", "--no-config", "--secret-env", "APP_TOKEN", *flags, "--", *command]


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


@dataclass
class Terminal:
    """The outer terminal: ``redactor run`` on its command side, the test on its controller."""

    proc: subprocess.Popen
    master: int
    slave: int  # kept open by the test: its modes can be read after redactor has exited
    received: bytearray = field(default_factory=bytearray)

    def read_until(self, marker: bytes, timeout: float = TIMEOUT) -> bytes:
        end = time.monotonic() + timeout
        while marker not in self.received:
            left = end - time.monotonic()
            assert left > 0, f"only {bytes(self.received)!r} arrived"
            if select.select([self.master], [], [], min(left, 0.2))[0]:
                self.received += os.read(self.master, 65536)
        return bytes(self.received)

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def finish(self, timeout: float = TIMEOUT) -> tuple[int, bytes]:
        """Wait for redactor to exit, read what is left; (exit status, everything shown)."""
        code = self.proc.wait(timeout=timeout)
        while select.select([self.master], [], [], 0.2)[0]:
            chunk = os.read(self.master, 65536)
            if not chunk:
                break
            self.received += chunk
        return code, bytes(self.received)


@contextmanager
def terminal(
    argv: list[str], *, rows: int = 24, cols: int = 80, stdin: int | None = None
) -> Iterator[Terminal]:
    """Run ``argv`` as the session leader of a new terminal of ``rows`` x ``cols``; ``stdin``
    replaces the terminal as its standard input."""
    master, slave = os.openpty()
    set_size(slave, rows, cols)

    def become_terminal_owner() -> None:  # in the child, before exec
        os.setsid()
        fcntl.ioctl(1, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv,
        stdin=slave if stdin is None else stdin,
        stdout=slave,
        stderr=slave,
        env=ENV,
        preexec_fn=become_terminal_owner,
    )
    term = Terminal(proc, master, slave)
    try:
        yield term
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)


# -- what the command sees and prints --------------------------------------------------------

# Colours and `\r` progress updates, with the secret split across writes (flushed between parts)
# and once split by a colour code inside it.
PROGRESS_CHILD = r"""
import os, sys
s = os.environ["APP_TOKEN"]
out = sys.stdout
print("tty", sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty(), flush=True)
for pct in (10, 55, 100):
    out.write(f"\r\x1b[32m{pct:3d}%\x1b[0m token={s[:3]}"); out.flush()
    out.write(s[3:11]); out.flush()
    out.write(s[11:] + " ok"); out.flush()
out.write("\n")
print("\x1b[1;31m" + s + "\x1b[0m plain", flush=True)
print("inside:", s[:6] + "\x1b[4m" + s[6:] + "\x1b[0m.", flush=True)
print("err", s, file=sys.stderr, flush=True)
sys.exit(5)
"""
PROGRESS_SHOWN = (
    b"tty True True True\r\n"
    + b"".join(b"\r\x1b[32m%3d%%\x1b[0m token=%s ok" % (p, R) for p in (10, 55, 100))
    + b"\r\n"
    + b"\x1b[1;31m" + R + b"\x1b[0m plain\r\n"
    + b"inside: " + R + b"\x1b[0m.\r\n"
    + b"err " + R + b"\r\n"
)  # fmt: skip


def test_command_sees_a_terminal_and_colours_and_progress_are_exact_but_the_secret() -> None:
    with terminal(run_cmd(*py(PROGRESS_CHILD))) as term:
        code, shown = term.finish()
    assert code == 5
    assert shown == PROGRESS_SHOWN


def test_output_is_line_buffered_as_on_a_terminal() -> None:
    # No flush: on a pipe this line would wait in the command's buffer until it exits.
    child = "import sys; print('waiting for input'); sys.stdin.readline(); print('done')"
    with terminal(run_cmd(*py(child))) as term:
        term.read_until(b"waiting for input\r\n")
        term.type(b"\r")
        code, shown = term.finish()
    assert code == 0
    assert shown == b"waiting for input\r\n\r\ndone\r\n"


def test_without_pty_the_command_gets_pipes_even_under_a_terminal() -> None:
    child = "import sys; print(sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty())"
    with terminal(run_cmd(*py(child), pty=False)) as term:
        code, shown = term.finish()
    assert code == 0
    assert shown == b"True False False\r\n"  # stdin is inherited: our terminal


def test_stdout_not_a_terminal_still_gets_a_pty_of_the_default_size() -> None:
    # Like `script`: the pty is allocated as asked; with no terminal to copy, 80x24.
    child = """
    import os, sys
    print(sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty(), *os.get_terminal_size())
    print("secret", os.environ["APP_TOKEN"], file=sys.stderr)
    """
    result = subprocess.run(
        run_cmd(*py(child)), stdin=subprocess.DEVNULL, capture_output=True, env=ENV, timeout=TIMEOUT
    )
    assert result.returncode == 0
    rows, cols = DEFAULT_SIZE
    assert result.stdout == b"False True True %d %d\r\nsecret [REDACTED]\r\n" % (cols, rows)
    assert result.stderr == b""


def test_piped_stdin_is_passed_through_unchanged_with_its_end() -> None:
    child = "import sys; data = sys.stdin.buffer.read(); print(len(data)); sys.stdout.buffer.write(data)"
    data = b"piped " + SECRET.encode() + b" in\n" + bytes(range(256))
    result = subprocess.run(
        run_cmd(*py(child)), input=data, capture_output=True, env=ENV, timeout=TIMEOUT
    )
    assert result.returncode == 0
    # The terminal's output processing turns \n into \r\n, as on any terminal.
    shown = b"piped [REDACTED] in\n" + bytes(range(256))
    assert result.stdout == b"%d\r\n" % len(data) + shown.replace(b"\n", b"\r\n")


def test_add_mask_lines_are_honoured_on_the_terminal() -> None:
    child = "print('::add-mask::runtime-value-77'); print('now runtime-value-77 hidden')"
    with terminal(run_cmd(*py(child))) as term:
        code, shown = term.finish()
    assert code == 0
    assert shown == b"::add-mask::[REDACTED]\r\nnow [REDACTED] hidden\r\n"


def test_closed_stdout_downstream_hangs_up_the_commands_terminal() -> None:
    # Our reader goes away: the command's terminal is hung up, as closing a terminal window
    # does, and the command dies of SIGHUP (128 + 1) instead of blocking on a full terminal.
    child = """
    import os, sys
    while True:
        sys.stdout.write((os.environ["APP_TOKEN"] + " line\\n") * 100)
    """
    proc = subprocess.Popen(
        run_cmd(*py(child)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    head = subprocess.run(
        ["head", "-c", "10"], stdin=proc.stdout, capture_output=True, timeout=TIMEOUT
    )
    proc.stdout.close()
    assert head.stdout == b"[REDACTED]"
    assert proc.wait(timeout=TIMEOUT) == 128 + signal.SIGHUP
    assert proc.stderr.read() == b""
    proc.stderr.close()


# -- input, raw mode, window size --------------------------------------------------------------


def test_typed_input_reaches_the_command_raw_and_the_terminal_is_restored() -> None:
    # The prompt ends in the secret's first characters: held back, then shown after the
    # silence; the typed secret is echoed by the command's terminal, redacted.
    child = r"""
    import os, sys
    s = os.environ["APP_TOKEN"]
    sys.stdout.write("prompt " + s[:4]); sys.stdout.flush()
    line = input()
    print("got", line, flush=True)
    """
    with terminal(run_cmd(*py(child))) as term:
        before = termios.tcgetattr(term.slave)
        term.read_until(b"prompt hunt")
        during = termios.tcgetattr(term.slave)
        term.type(b"typed " + SECRET.encode() + b"\r")
        code, shown = term.finish()
        after = termios.tcgetattr(term.slave)
    assert code == 0
    assert shown == b"prompt hunttyped [REDACTED]\r\ngot typed [REDACTED]\r\n"
    assert before[3] & termios.ICANON and before[3] & termios.ECHO
    assert not during[3] & (termios.ICANON | termios.ECHO | termios.ISIG)  # raw
    assert after == before


def test_terminal_is_restored_when_the_command_dies_of_a_signal() -> None:
    child = "import os, signal; print('ready', flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    with terminal(run_cmd(*py(child))) as term:
        before = termios.tcgetattr(term.slave)
        code, shown = term.finish()
        after = termios.tcgetattr(term.slave)
    assert code == 128 + signal.SIGKILL
    assert shown == b"ready\r\n"
    assert after == before


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _wait_for(predicate, timeout: float = TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stopped_redactor_gives_the_terminal_back_and_takes_raw_mode_again() -> None:
    child = "import sys; print('ready', flush=True); print('got', input(), flush=True)"
    with terminal(run_cmd(*py(child))) as term:
        before = termios.tcgetattr(term.slave)
        term.read_until(b"ready\r\n")
        raw = termios.tcgetattr(term.slave)
        assert raw != before
        term.proc.send_signal(signal.SIGTSTP)
        _wait_for(lambda: _state(term.proc.pid) == "T")
        assert termios.tcgetattr(term.slave) == before  # what the shell gets back
        term.proc.send_signal(signal.SIGCONT)
        _wait_for(lambda: termios.tcgetattr(term.slave) == raw)
        term.type(b"line\r")
        code, shown = term.finish()
        after = termios.tcgetattr(term.slave)
    assert code == 0
    assert shown == b"ready\r\nline\r\ngot line\r\n"
    assert after == before


def test_window_size_is_copied_and_changes_are_forwarded() -> None:
    child = """
    import os, signal, time
    changed = []
    signal.signal(signal.SIGWINCH, lambda n, f: changed.append(n))
    print("size", *os.get_terminal_size(), flush=True)
    while not changed:
        time.sleep(0.01)
    print("size", *os.get_terminal_size(), flush=True)
    """
    with terminal(run_cmd(*py(child)), rows=33, cols=101) as term:
        term.read_until(b"size 101 33\r\n")
        set_size(term.master, 47, 133)  # the user resizes the window
        code, shown = term.finish()
    assert code == 0
    assert shown == b"size 101 33\r\nsize 133 47\r\n"


# -- exit status and signals -------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_code_is_the_commands(code: int) -> None:
    with terminal(run_cmd(*py(f"raise SystemExit({code})"))) as term:
        assert term.finish()[0] == code


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGSEGV])
def test_death_by_signal_is_128_plus_n(sig: int) -> None:
    child = f"import os; print('bye', flush=True); os.kill(os.getpid(), {int(sig)})"
    with terminal(run_cmd(*py(child))) as term:
        assert term.finish() == (128 + sig, b"bye\r\n")


def test_command_not_found_is_127_and_the_terminal_untouched() -> None:
    with terminal(run_cmd("redactor-no-such-command-xyz")) as term:
        before = termios.tcgetattr(term.slave)
        code, shown = term.finish()
        after = termios.tcgetattr(term.slave)
    assert code == 127
    assert shown == b"redactor: error: command not found: redactor-no-such-command-xyz\r\n"
    assert after == before


HANDLER_CHILD = """
import os, signal, sys, time
def handler(signum, frame):
    print("got", signal.Signals(signum).name, os.environ["APP_TOKEN"], flush=True)
    sys.exit(7)
signal.signal(signal.SIGTERM, handler)
signal.signal(signal.SIGINT, handler)
print("ready", flush=True)
time.sleep(120)
sys.exit(1)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_sent_to_redactor_are_forwarded(sig: int) -> None:
    with terminal(run_cmd(*py(HANDLER_CHILD))) as term:
        before = termios.tcgetattr(term.slave)
        term.read_until(b"ready\r\n")
        term.proc.send_signal(sig)
        code, shown = term.finish()
        assert termios.tcgetattr(term.slave) == before
    assert code == 7
    assert shown == b"ready\r\ngot " + signal.Signals(sig).name.encode() + b" [REDACTED]\r\n"


def test_ctrl_c_typed_reaches_the_command_through_its_terminal() -> None:
    # Raw mode: Ctrl-C is a byte for the command's terminal, which echoes it and sends SIGINT.
    with terminal(run_cmd(*py(HANDLER_CHILD))) as term:
        term.read_until(b"ready\r\n")
        term.type(b"\x03")
        code, shown = term.finish()
    assert code == 7
    assert shown == b"ready\r\n^Cgot SIGINT [REDACTED]\r\n"


def test_ctrl_c_from_our_terminal_without_forwarded_input_reaches_the_command() -> None:
    # Input not forwarded (stdin is /dev/null): our terminal stays cooked and its Ctrl-C signals
    # redactor's process group; the command, in a session of its own, gets it from redactor.
    with (
        open(os.devnull, "rb") as devnull,
        terminal(run_cmd(*py(HANDLER_CHILD)), stdin=devnull.fileno()) as term,
    ):
        term.read_until(b"ready\r\r\n")  # our cooked terminal adds its own \r to the \r\n
        term.type(b"\x03")
        code, shown = term.finish()
    assert code == 7
    assert shown == b"ready\r\r\n^Cgot SIGINT [REDACTED]\r\r\n"


def test_our_terminal_closing_hangs_up_the_command(tmp_path) -> None:
    # The window is closed: the kernel sends redactor SIGHUP; the command, in a session of its
    # own, gets it from redactor (it writes a file, since no terminal is left to read).
    marker = tmp_path / "hup"
    child = f"""
    import os, signal, sys, time
    def handler(signum, frame):
        open({str(marker)!r}, "w").write(signal.Signals(signum).name)
        sys.exit(7)
    signal.signal(signal.SIGHUP, handler)
    print("ready", flush=True)
    time.sleep(120)
    """
    master, slave = os.openpty()

    def become_terminal_owner() -> None:
        os.setsid()
        fcntl.ioctl(1, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        run_cmd(*py(child)),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=ENV,
        preexec_fn=become_terminal_owner,
    )
    os.close(slave)
    try:
        term = Terminal(proc, master, -1)
        term.read_until(b"ready\r\n")
        os.close(master)
        master = -1
        assert proc.wait(timeout=TIMEOUT) == 7
        assert marker.read_text() == "SIGHUP"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if master >= 0:
            os.close(master)


# -- secrets split across writes: a property --------------------------------------------------

SPLIT_CHILD = """
import json, os, sys
s = os.environ["APP_TOKEN"]
text = sys.argv[1].replace("SECRET", s)
cuts = json.loads(sys.argv[2])
for a, b in zip([0, *cuts], [*cuts, len(text)]):
    sys.stdout.write(text[a:b]); sys.stdout.flush()
"""

PIECES = st.sampled_from(["SECRET", "\r", "\x1b[32m", "\x1b[0m", " 42% ", "[###   ]", "x"])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(parts=st.lists(PIECES, min_size=1, max_size=6), data=st.data())
def test_any_chunking_of_progress_output_through_run_pty(parts: list[str], data) -> None:
    text = "".join(parts) + "SECRET"  # at least one secret, the last thing written
    full = text.replace("SECRET", SECRET)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(full) - 1), max_size=8))))
    # The command line holds the text with SECRET in place of the value, never the value.
    with terminal(run_cmd(*py(SPLIT_CHILD), text, json.dumps(cuts))) as term:
        code, shown = term.finish()
    assert code == 0
    r = Redactor()
    r.add(SECRET, "APP_TOKEN")
    assert shown == r.redact(full).encode()
    assert SECRET.encode() not in shown


def test_runner_from_a_thread_with_pty(capfd) -> None:
    # Off the main thread there are no signal handlers (nor SIGWINCH): the portable path.
    from redactor.cli.commands.run import _Runner

    r = Redactor()
    r.add(SECRET, "t")
    codes = []
    command = py(f"import sys; print(sys.stdout.isatty(), {SECRET!r}, flush=True); sys.exit(4)")
    runner = _Runner(r, command, add_mask=True, pty=True)
    thread = threading.Thread(target=lambda: codes.append(runner.run()))
    thread.start()
    thread.join(TIMEOUT)
    assert codes == [4]
    assert capfd.readouterr().out == "True [REDACTED]\r\n"
