"""``redactor.install()`` keeps redacting until the process really ends: ``atexit`` handlers
registered before it, ``__del__`` at teardown, ``os.write`` and C stdio after the ``atexit`` phase
(``fd=True``), children that outlive the process, held-back tails, exit codes, ``os._exit`` and
signals. Every case runs a real interpreter on real pipes, on both engines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

R = "[REDACTED]"
# Secrets of the shapes the issue asks for: plain token, quotes, digits only, long.
SHAPES = [
    "sk-live-0123456789abcdef",
    "Tr0ub4dor'3\"xyzQ",
    "40512938776012",
    "L" + "0123456789abcdefghij" * 10 + "Z",
]

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX: the exit pump is a forked process"),
    pytest.mark.usefixtures("each_engine"),
]

PRELUDE = """
import atexit, os, sys
s = os.environ["DEMO_SECRET"]
"""


def run(code: str, secret: str, *, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEMO_SECRET=secret, PYTHONIOENCODING="utf-8")
    env.pop("PYTHONUNBUFFERED", None)
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        env=env,
        timeout=timeout,
        check=False,
        **kwargs,
    )


@pytest.mark.parametrize("fd", [False, True], ids=["streams", "fd"])
@pytest.mark.parametrize("secret", SHAPES, ids=["token", "quotes", "digits", "long"])
def test_atexit_before_install_and_del_at_teardown_are_redacted(secret, fd):
    proc = run(
        f"""
        import logging
        logging.basicConfig(stream=sys.stderr, format="log %(message)s")
        def early():
            print("atexit", s)
            print("atexit err", s, file=sys.stderr)
            logging.getLogger("x").warning("atexit log %r", s)
            sys.stdout.write("atexit split " + s[:5])
            sys.stdout.write(s[5:] + "\\n")
        atexit.register(early)
        class Global:
            def __del__(self):
                print("del", s)
                sys.stderr.write("del err " + s + "\\n")
        class Cycle:
            def __init__(self):
                self.me = self
            def __del__(self):
                print("cycle", s)
        g = Global()
        c = Cycle()
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd={fd})
        print("main", s)
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert secret not in out + err
    assert out.splitlines() == [
        f"main {R}",
        f"atexit {R}",
        f"atexit split {R}",
        f"del {R}",
        f"cycle {R}",
    ]
    assert sorted(err.splitlines()) == sorted(
        [f"atexit err {R}", f"log atexit log '{R}'", f"del err {R}"]
    )


@pytest.mark.parametrize("secret", SHAPES, ids=["token", "quotes", "digits", "long"])
def test_fd_writes_after_atexit_reach_the_exit_pump(secret):
    proc = run(
        """
        import ctypes
        libc = ctypes.CDLL(None)
        def early():
            os.write(1, ("atexit os.write " + s + "\\n").encode())
            libc.printf(b"atexit printf %s\\n", s.encode())  # C stdio: flushed by exit()
        atexit.register(early)
        class Global:
            def __del__(self):
                os.write(1, ("del os.write " + s + "\\n").encode())
                os.write(2, ("del fd2 " + s + "\\n").encode())
        g = Global()
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd=True)
        os.write(1, ("main " + s + "\\n").encode())
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert secret not in out + err
    assert out.splitlines() == [
        f"main {R}",
        f"atexit os.write {R}",
        f"del os.write {R}",
        f"atexit printf {R}",
    ]
    assert err == f"del fd2 {R}\n"


@pytest.mark.parametrize("fd", [False, True], ids=["streams", "fd"])
@pytest.mark.parametrize("secret", SHAPES, ids=["token", "quotes", "digits", "long"])
def test_held_back_tail_at_exit_is_complete(secret, fd):
    # The last thing printed is a prefix of the secret: it is held back, then released whole.
    proc = run(
        f"""
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd={fd})
        print("whole", s)
        sys.stdout.write("tail " + s[:-1])
        if {fd}:
            sys.stdout.flush()
            os.write(2, ("fd tail " + s[:-1]).encode())
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    # A prefix of 16 characters or more is itself hidden (fragment windows); a shorter one is
    # released as it is once nothing more can follow.
    tail = R if len(secret) - 1 >= 16 else secret[:-1]
    assert proc.stdout.decode() == f"whole {R}\ntail {tail}"
    assert proc.stderr.decode() == (f"fd tail {tail}" if fd else "")


def test_fd_split_across_main_and_teardown_is_redacted():
    secret = SHAPES[0]
    proc = run(
        """
        class Global:
            def __del__(self):
                os.write(1, (s[7:] + " end\\n").encode())
        g = Global()
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd=True)
        os.write(1, ("split " + s[:7]).encode())
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == f"split {R} end\n"


def test_fd_large_output_at_teardown_is_not_lost_and_does_not_block():
    # Four times a pipe's buffer, written after the atexit phase: the exit pump drains it all.
    secret = SHAPES[0]
    proc = run(
        """
        class Global:
            def __del__(self):
                line = ("x" * 90 + " " + s + "\\n").encode()
                for _ in range(3000):
                    os.write(1, line)
        g = Global()
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd=True)
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == ("x" * 90 + f" {R}\n") * 3000


@pytest.mark.parametrize("fd", [False, True], ids=["streams", "fd"])
def test_exit_codes_are_unchanged(fd):
    secret = SHAPES[0]
    proc = run(
        f"""
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd={fd})
        print("bye", s)
        sys.exit(3)
        """,
        secret,
    )
    assert (proc.returncode, proc.stdout.decode()) == (3, f"bye {R}\n")
    proc = run(
        f"""
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd={fd})
        raise RuntimeError(s)
        """,
        secret,
    )
    assert proc.returncode == 1
    assert proc.stderr.decode().endswith(f"RuntimeError: {R}\n")
    assert secret not in proc.stderr.decode()


def test_os_exit_and_signals_do_not_hang():
    secret = SHAPES[0]
    started = time.monotonic()
    proc = run(
        """
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd=True)
        print("before", s, flush=True)
        import time; time.sleep(0.3)  # the pump thread has written it
        os._exit(5)
        """,
        secret,
    )
    assert proc.returncode == 5
    assert proc.stdout.decode() == f"before {R}\n"
    for sig in (signal.SIGTERM, signal.SIGKILL):
        proc = run(
            f"""
            import redactor, signal
            redactor.add_secret(s, "DEMO_SECRET")
            redactor.install(fd=True)
            print("before", s, flush=True)
            import time; time.sleep(0.3)
            os.kill(os.getpid(), {int(sig)})
            """,
            secret,
        )
        assert proc.returncode == -sig
        assert proc.stdout.decode() == f"before {R}\n"
    assert time.monotonic() - started < 50


def test_child_that_outlives_the_process_is_still_redacted():
    # A background child inherits fd 1 and writes after its parent has exited.
    secret = SHAPES[0]
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PRELUDE
            + textwrap.dedent(
                """
                import subprocess, redactor
                redactor.add_secret(s, "DEMO_SECRET")
                redactor.install(fd=True)
                subprocess.Popen([sys.executable, "-c",
                    "import os, time; time.sleep(1.0); print('late child', os.environ['DEMO_SECRET'])"])
                print("parent", s)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        env=dict(os.environ, DEMO_SECRET=secret),
    )
    assert proc.wait(timeout=60) == 0
    parent_done = time.monotonic() - started
    out = proc.stdout.read().decode()  # until the child (and the exit pump) closed the pipe
    proc.stdout.close()
    assert out == f"parent {R}\nlate child {R}\n"
    assert parent_done < 30


def test_forked_child_exiting_normally_keeps_the_parents_pump():
    secret = SHAPES[0]
    proc = run(
        """
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd=True)
        pid = os.fork()
        if pid == 0:
            atexit.register(lambda: os.write(1, ("child atexit " + s + "\\n").encode()))
            print("child", s)
            sys.exit(0)
        os.waitpid(pid, 0)
        print("parent", s)
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.decode().splitlines()) == sorted(
        [f"child atexit {R}", f"child {R}", f"parent {R}"]
    )


def test_explicit_uninstall_still_restores():
    secret = SHAPES[0]
    proc = run(
        """
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        before = sys.__stdout__
        redactor.install(fd=True)
        print("on", s, flush=True)
        redactor.uninstall()
        print("off", s[:4], sys.stdout is before, sys.__stdout__ is before)
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == f"on {R}\noff {secret[:4]} True True\n"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.one_of(
        st.text(alphabet="abcXYZ019'\"-_=/+", min_size=8, max_size=30),
        st.text(alphabet="0123456789", min_size=8, max_size=20),
    ),
    cut=st.integers(1, 7),
    around=st.text(alphabet="ab x'\"", max_size=10),
)
def test_property_teardown_writes_any_secret_any_split(secret, cut, around):
    # A print from an atexit handler registered first, then an fd write split between a
    # module-global __del__ and C stdio flushed by exit(): every piece after install's atexit.
    from redactor import Redactor

    assume(Redactor().add(secret, "S"))
    proc = run(
        f"""
        import ctypes
        around = {around!r}
        atexit.register(lambda: print("atexit", around + s + around))
        class Global:
            def __del__(self):
                os.write(1, (around + s[:{cut}]).encode())
                ctypes.CDLL(None).printf(b"%s", (s[{cut}:] + around + "\\n").encode())
        g = Global()
        import redactor
        redactor.add_secret(s, "S")
        redactor.install(fd=True)
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert secret not in out
    expected = Redactor()
    expected.add(secret, "S")
    line = around + secret + around
    assert out == f"atexit {expected.redact(line)}\n{expected.redact(line)}\n"


@pytest.mark.parametrize("fd", [False, True], ids=["streams", "fd"])
def test_del_in_a_module_imported_after_install_and_a_tail_written_last(tmp_path, fd):
    # Teardown clears the globals of modules imported after redactor first, and a wrapper alive
    # at the very end is never flushed: neither may leak nor lose the text.
    secret = SHAPES[0]
    (tmp_path / "holder.py").write_text(
        textwrap.dedent(
            """
            import os, sys
            s = os.environ["DEMO_SECRET"]
            class Holder:
                def __del__(self):
                    print("module del", s)
                    os.write(1, ("module del fd " + s + "\\n").encode())
            class Cycle:
                def __init__(self):
                    self.me = self
                def __del__(self):
                    sys.stderr.write("module cycle " + s + "\\n")
            h, c = Holder(), Cycle()
            """
        )
    )
    proc = run(
        f"""
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install(fd={fd})
        import holder
        class Last:
            def __del__(self):
                sys.stdout.write("late tail " + s[:9])
        last = Last()
        """,
        secret,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == (f"module del {R}\nmodule del fd {R}\nlate tail {secret[:9]}")
    assert proc.stderr.decode() == f"module cycle {R}\n"


def test_streams_only_install_redacts_fd_writes_after_exit():
    # install() without fd=True: from the exit phase on, fds 1 and 2 go through the exit pump.
    secret = SHAPES[0]
    proc = run(
        """
        import subprocess
        def early():
            os.write(1, ("atexit os.write " + s + "\\n").encode())
            subprocess.run([sys.executable, "-c", "import os; print('child', os.environ['DEMO_SECRET'])"])
        atexit.register(early)
        import redactor
        redactor.add_secret(s, "DEMO_SECRET")
        redactor.install()
        print("main", s)
        """,
        secret,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == f"main {R}\natexit os.write {R}\nchild {R}\n"
