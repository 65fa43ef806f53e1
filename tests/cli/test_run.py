"""`redactor run` with real child processes: two redacted streams, exit statuses, signals."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import REDACTOR, TIMEOUT, py, read_until

SECRET = "hunter2-Sup3r-Secret"
ENV = {**os.environ, "APP_TOKEN": SECRET}


def run_cmd(*command: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [*REDACTOR, "run", "--no-config", "--secret-env", "APP_TOKEN", *extra, "--", *command]


def run(*command: str, input: bytes | None = None, extra=()) -> subprocess.CompletedProcess:
    return subprocess.run(
        run_cmd(*command, extra=extra), input=input, capture_output=True, timeout=TIMEOUT, env=ENV
    )


def test_stdout_and_stderr_redacted_and_kept_apart() -> None:
    result = run(
        *py(
            """
            import os, sys
            t = os.environ["APP_TOKEN"]
            print("out:", t, flush=True)
            print("err:", t, file=sys.stderr, flush=True)
            print("out again", flush=True)
            sys.exit(3)
            """
        )
    )
    assert result.returncode == 3
    assert result.stdout == b"out: [REDACTED]\nout again\n"
    assert result.stderr == b"err: [REDACTED]\n"


def test_split_secret_on_both_streams_at_once_with_pauses() -> None:
    result = run(
        *py(
            """
            import os, time
            s = os.environ["APP_TOKEN"].encode()
            for i in range(6):
                os.write(1, b"o%d " % i + s[:5]); os.write(2, b"e%d " % i + s[:11])
                time.sleep(0.03)
                os.write(1, s[5:12]); os.write(2, s[11:])
                time.sleep(0.03)
                os.write(1, s[12:] + b"\\n"); os.write(2, b"\\n")
            """
        )
    )
    assert result.returncode == 0
    assert result.stdout == b"".join(b"o%d [REDACTED]\n" % i for i in range(6))
    assert result.stderr == b"".join(b"e%d [REDACTED]\n" % i for i in range(6))


def test_order_within_each_stream_is_kept() -> None:
    result = run(
        *py(
            """
            import os, sys
            t = os.environ["APP_TOKEN"]
            for i in range(3000):
                sys.stdout.write(f"out {i} {t}\\n"); sys.stderr.write(f"err {i}\\n")
                if i % 7 == 0:
                    sys.stdout.flush(); sys.stderr.flush()
            """
        )
    )
    assert result.returncode == 0
    assert result.stdout == "".join(f"out {i} [REDACTED]\n" for i in range(3000)).encode()
    assert result.stderr == "".join(f"err {i}\n" for i in range(3000)).encode()


def test_stdin_is_passed_through() -> None:
    result = run(
        *py("import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"),
        input=f"piped {SECRET} in\n".encode() + bytes(range(256)),
    )
    assert result.returncode == 0
    assert result.stdout == b"piped [REDACTED] in\n" + bytes(range(256))


def test_binary_output_passes_untouched() -> None:
    result = run(
        *py(
            """
            import os, sys
            sys.stdout.buffer.write(bytes(range(256)) * 100 + b"\\xff" + os.environ["APP_TOKEN"].encode() + b"\\xfe")
            """
        )
    )
    assert result.stdout == bytes(range(256)) * 100 + b"\xff[REDACTED]\xfe"


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_code_is_the_commands(code: int) -> None:
    assert run(*py(f"raise SystemExit({code})")).returncode == code


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_death_by_signal_is_128_plus_n(sig: int) -> None:
    result = run(*py(f"import os; print('bye', flush=True); os.kill(os.getpid(), {int(sig)})"))
    assert result.returncode == 128 + sig
    assert result.stdout == b"bye\n"


def test_command_not_found_is_127() -> None:
    result = run("redactor-no-such-command-xyz", "arg")
    assert result.returncode == 127
    assert result.stdout == b""
    assert result.stderr == b"redactor: error: command not found: redactor-no-such-command-xyz\n"


def test_not_executable_is_126(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    result = run(str(script))
    assert result.returncode == 126
    assert result.stderr == f"redactor: error: permission denied: {script}\n".encode()


def test_messages_never_repeat_a_secret(tmp_path: Path) -> None:
    result = run(SECRET)  # a command named like the secret: the message must not echo it
    assert result.returncode == 127
    assert result.stderr == b"redactor: error: command not found: [REDACTED]\n"


def test_usage_errors() -> None:
    result = subprocess.run(
        [*REDACTOR, "run", "--no-config", "--secret-env", "APP_TOKEN"],
        capture_output=True,
        timeout=TIMEOUT,
        env=ENV,
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == b"redactor: error: no command given: redactor run [SOURCES] -- CMD [ARGS ...]\n"
    )
    result = subprocess.run(
        [*REDACTOR, "run", "--no-config", "--", "true"], capture_output=True, timeout=TIMEOUT
    )
    assert result.returncode == 2
    assert b"no secret is configured" in result.stderr
    result = subprocess.run(
        [*REDACTOR, "run", "--no-config", "--secret-env", "REDACTOR_UNSET_VAR", "--", "true"],
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stderr == (
        b"redactor: error: environment variable REDACTOR_UNSET_VAR (--secret-env) is not set\n"
    )


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
def test_sigint_and_sigterm_are_forwarded(sig: int) -> None:
    proc = subprocess.Popen(
        run_cmd(*py(HANDLER_CHILD)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )
    assert read_until(proc.stdout.fileno(), b"ready\n") == b"ready\n"
    proc.send_signal(sig)
    assert proc.wait(timeout=TIMEOUT) == 7  # the command decided how to end
    name = signal.Signals(sig).name.encode()
    assert proc.stdout.read() == b"got " + name + b" [REDACTED]\n"
    assert proc.stderr.read() == b""
    proc.stdout.close()
    proc.stderr.close()


def test_forwarded_sigterm_kills_a_command_that_does_not_catch_it() -> None:
    proc = subprocess.Popen(
        run_cmd(*py("import time; print('ready', flush=True); time.sleep(120)")),
        stdout=subprocess.PIPE,
        env=ENV,
    )
    read_until(proc.stdout.fileno(), b"ready\n")
    proc.terminate()
    assert proc.wait(timeout=TIMEOUT) == 128 + signal.SIGTERM
    proc.stdout.close()


def test_add_mask_on_stdout_masks_stderr_too() -> None:
    # The child announces a value on stdout, waits until the test has seen the (masked) echo,
    # then prints the value on stderr: by then the value must be registered for both streams.
    proc = subprocess.Popen(
        run_cmd(
            *py(
                """
                import sys
                print("::add-mask::runtime-value-77", flush=True)
                sys.stdin.readline()
                print("stderr has runtime-value-77", file=sys.stderr, flush=True)
                print("stdout has runtime-value-77", flush=True)
                """
            )
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert read_until(proc.stdout.fileno(), b"\n") == b"::add-mask::[REDACTED]\n"
    proc.stdin.write(b"go\n")
    proc.stdin.close()
    assert proc.wait(timeout=TIMEOUT) == 0
    assert proc.stdout.read() == b"stdout has [REDACTED]\n"
    assert proc.stderr.read() == b"stderr has [REDACTED]\n"
    proc.stdout.close()
    proc.stderr.close()


def test_no_add_mask_leaves_commands_alone() -> None:
    result = run(
        *py("print('::add-mask::runtime-value-77'); print('runtime-value-77')"),
        extra=("--no-add-mask",),
    )
    assert result.stdout == b"::add-mask::runtime-value-77\nruntime-value-77\n"


@pytest.mark.skipif(shutil.which("head") is None, reason="needs head")
def test_closed_stdout_downstream_reaches_the_command() -> None:
    proc = subprocess.Popen(
        run_cmd(
            *py(
                """
                import os, signal, sys
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                while True:
                    sys.stdout.buffer.write((os.environ["APP_TOKEN"] + " line\\n").encode() * 100)
                """
            )
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    head = subprocess.run(
        ["head", "-c", "10"], stdin=proc.stdout, capture_output=True, timeout=TIMEOUT
    )
    proc.stdout.close()
    assert head.stdout == b"[REDACTED]"
    # The command met the closed pipe as it would have without redactor run: SIGPIPE.
    assert proc.wait(timeout=TIMEOUT) == 128 + signal.SIGPIPE
    assert proc.stderr.read() == b""
    proc.stderr.close()


def test_output_leaves_while_the_command_still_runs() -> None:
    proc = subprocess.Popen(
        run_cmd(
            *py(
                """
                import sys
                print("first line", flush=True)
                print("to stderr", file=sys.stderr, flush=True)
                sys.stdin.readline()
                """
            )
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert read_until(proc.stdout.fileno(), b"\n") == b"first line\n"
    assert read_until(proc.stderr.fileno(), b"\n") == b"to stderr\n"
    proc.stdin.close()
    assert proc.wait(timeout=TIMEOUT) == 0
    proc.stdout.close()
    proc.stderr.close()


def _under_a_terminal(child: str) -> tuple[int, bytes]:
    """Run ``redactor run -- python -c child`` as the session leader of a new terminal, type
    Ctrl-C once the child says "ready", and return the exit status and what the terminal showed.
    """
    import fcntl
    import termios

    try:
        master, slave = os.openpty()
    except OSError as exc:  # a container without /dev/ptmx
        pytest.skip(f"no pseudo-terminal: {exc}")

    def become_terminal_owner() -> None:  # runs in the child before exec
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

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
        out = read_until(master, b"ready")
        os.write(master, b"\x03")  # Ctrl-C: SIGINT to the terminal's foreground process group
        code = proc.wait(timeout=TIMEOUT)
        while select.select([master], [], [], 0)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: no process has the terminal open any more
                break
            if not chunk:
                break
            out += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, out.replace(b"\r", b"").replace(b"^C", b"").replace(b"\n\n", b"\n")


# The child takes SIGINT synchronously, with the sender's details (si_code 0x80, SI_KERNEL, for
# the terminal's; <= 0 for kill()), for up to a second after "ready".
SIGINFO_CHILD = """
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
%s
print("ready", flush=True)
codes = []
while (info := signal.sigtimedwait({signal.SIGINT}, 1.0 if not codes else 0.5)) is not None:
    codes.append(info.si_code)
print("got", codes, flush=True)
sys.exit(len(codes))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sender details need Linux")
def test_ctrl_c_at_a_terminal_reaches_the_command_from_the_terminal() -> None:
    code, out = _under_a_terminal(SIGINFO_CHILD % "")
    assert out == b"ready\ngot [128]\n"
    assert code == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sender details need Linux")
def test_ctrl_c_at_a_terminal_is_not_forwarded_a_second_time() -> None:
    # The child leaves the foreground group, so only redactor run sees the terminal's SIGINT:
    # forwarding it would show up here as a SIGINT from a process.
    code, out = _under_a_terminal(SIGINFO_CHILD % "os.setpgid(0, 0)")
    assert out == b"ready\ngot []\n"
    assert code == 0


def test_sighup_and_sigusr1_are_forwarded_too() -> None:
    child = """
    import signal, sys, time
    got = []
    for s in (signal.SIGHUP, signal.SIGUSR1):
        signal.signal(s, lambda n, f: got.append(signal.Signals(n).name))
    print("ready", flush=True)
    while len(got) < 2:
        time.sleep(0.01)
    print(*got, flush=True)
    """
    proc = subprocess.Popen(run_cmd(*py(child)), stdout=subprocess.PIPE, env=ENV)
    read_until(proc.stdout.fileno(), b"ready\n")
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)  # two distinct signals; the order is checked only if both arrive apart
    proc.send_signal(signal.SIGUSR1)
    assert proc.wait(timeout=TIMEOUT) == 0
    assert proc.stdout.read() in (b"SIGHUP SIGUSR1\n", b"SIGUSR1 SIGHUP\n")
    proc.stdout.close()


def test_output_held_open_by_a_grandchild_is_drained_and_a_signal_ends_the_wait() -> None:
    # The command exits at once but leaves a background child holding its stdout open.
    child = """
    import subprocess, sys
    p = subprocess.Popen([sys.executable, "-c",
        "import os, time; time.sleep(0.3); print('late', os.environ['APP_TOKEN'], flush=True); time.sleep(120)"])
    print("grandchild", p.pid, flush=True)
    """
    proc = subprocess.Popen(run_cmd(*py(child)), stdout=subprocess.PIPE, env=ENV)
    out = read_until(proc.stdout.fileno(), b"late [REDACTED]\n")
    grandchild = int(out.split()[1])
    try:
        assert out == b"grandchild %d\nlate [REDACTED]\n" % grandchild
        assert proc.poll() is None  # still draining: the grandchild holds the pipe
        proc.terminate()
        assert proc.wait(timeout=TIMEOUT) == 128 + signal.SIGTERM
    finally:
        os.kill(grandchild, signal.SIGKILL)
        proc.stdout.close()


def test_runner_from_a_thread_uses_plain_waiting(capfd) -> None:
    # Off the main thread there are no signal handlers to install: the portable path.
    import threading

    from redactor import Redactor
    from redactor.cli.commands.run import _Runner

    r = Redactor()
    r.add(SECRET, "t")
    codes = []
    command = py(
        f"import sys; print({SECRET!r}); print('e', {SECRET!r}, file=sys.stderr); sys.exit(4)"
    )
    thread = threading.Thread(target=lambda: codes.append(_Runner(r, command, add_mask=True).run()))
    thread.start()
    thread.join(TIMEOUT)
    assert codes == [4]
    captured = capfd.readouterr()
    assert captured.out == "[REDACTED]\n"
    assert captured.err == "e [REDACTED]\n"


def test_signals_ignored_at_start_stay_ignored_for_the_command() -> None:
    # A shell starts background jobs with SIGINT ignored; the command must inherit that.
    child = "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)"
    result = subprocess.run(
        run_cmd(*py(child)),
        capture_output=True,
        timeout=TIMEOUT,
        env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert result.stdout == b"True False\n"
