"""The channel that carries secrets fetched in child processes to the carrier's redactor.

Real sockets and real processes throughout: a carrier in this process with children that are real
subprocesses or forks; another uid via ``os.setuid`` in a forked child (as root).
"""

from __future__ import annotations

import os
import pwd
import select
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor, RedactorWarning
from redactor.sources import channel as _channel
from redactor.sources.scopes import LocalStore

TIMEOUT = 60
VALUE = "chan-Zq7'\"-secret-4Wv8Nt3Bc6Yd"


class Recorder:
    """A register callable that keeps what it was given, optionally waiting for a go."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.got: list[tuple[str, str | bytes]] = []
        self.gate = gate
        self.redactor = Redactor()

    def __call__(self, name: str, value: str | bytes) -> bool:
        if self.gate is not None:
            self.gate.wait(TIMEOUT)
        self.got.append((name, value))
        return self.redactor.add(value, name)


@pytest.fixture
def carrier(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[_channel.Carrier, Recorder]]:
    monkeypatch.delenv(_channel.ENV_CHANNEL, raising=False)
    rec = Recorder()
    c = _channel.Carrier(rec, export=False)
    try:
        yield c, rec
    finally:
        c.close()


def child_env(path: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    if path is not None:
        env[_channel.ENV_CHANNEL] = path
    env.update(extra)
    return env


def run_child(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )


# -- the carrier's socket ---------------------------------------------------------------------


def test_private_directory_socket_mode_environment_and_cleanup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = Path(tempfile.mkdtemp(dir="/tmp"))  # short, as XDG_RUNTIME_DIR is
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv(_channel.ENV_CHANNEL, "/outer/socket")
    c = _channel.start_carrier(Recorder())
    assert c is not None
    directory = Path(c.path).parent
    assert directory.parent == runtime
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(c.path).st_mode) == 0o600 and Path(c.path).is_socket()
    assert os.environ[_channel.ENV_CHANNEL] == c.path and c.upstream == "/outer/socket"
    assert _channel.target() == "/outer/socket"  # this process never sends to itself
    c.close()
    assert os.environ[_channel.ENV_CHANNEL] == "/outer/socket"
    assert not directory.exists()
    runtime.rmdir()
    assert not any(t.name.startswith("redactor-channel") for t in threading.enumerate())


def test_a_runtime_dir_others_can_enter_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "shared"
    runtime.mkdir()
    runtime.chmod(0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    c = _channel.Carrier(Recorder(), export=False)
    try:
        assert Path(c.path).parent.parent == Path(tempfile.gettempdir())
        assert stat.S_IMODE(Path(c.path).parent.stat().st_mode) == 0o700
    finally:
        c.close()


# -- the protocol -----------------------------------------------------------------------------


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(min_size=1, max_size=40),
    value=st.one_of(
        st.text(min_size=8, max_size=300),
        st.binary(min_size=8, max_size=300),
        st.from_regex(r"[0-9]{8,30}", fullmatch=True),
        st.text(alphabet="'\"\\ab", min_size=8, max_size=50),
        st.text(min_size=3000, max_size=5000),
    ),
)
def test_values_arrive_exactly_whatever_they_hold(
    carrier: tuple[_channel.Carrier, Recorder], name: str, value: str | bytes
) -> None:
    c, rec = carrier
    rec.got.clear()
    assert _channel.send(c.path, name, value) is True
    assert rec.got == [(name, value)]
    assert type(rec.got[0][1]) is type(value)


def test_child_process_registers_before_add_secret_returns(
    carrier: tuple[_channel.Carrier, Recorder],
) -> None:
    c, rec = carrier
    gate = threading.Event()
    rec.gate = gate
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import redactor; redactor.add_secret({VALUE!r}, 'N'); print('back')",
        ],
        stdout=subprocess.PIPE,
        env=child_env(c.path),
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        assert not ready and rec.got == []  # the child is still waiting for the acknowledgement
        gate.set()
        assert proc.stdout.read() == b"back\n"
    finally:
        gate.set()
        proc.wait(TIMEOUT)
    assert rec.got == [("N", VALUE)]
    assert rec.redactor.redact(f"x{VALUE}y") == "x[REDACTED]y"


def test_forked_children_register_and_their_exit_leaves_the_carrier(tmp_path: Path) -> None:
    script = f"""
        import os, sys, redactor
        from redactor import Redactor
        from redactor.sources import channel as _channel
        r = Redactor()
        c = _channel.start_carrier(lambda n, v: r.add(v, n))
        for i in range(2):
            pid = os.fork()
            if pid == 0:
                redactor.add_secret({VALUE!r} + str(i), "F" + str(i))
                sys.exit(0)  # runs atexit: must not close the parent's channel
            print("child", os.waitpid(pid, 0)[1], os.path.exists(c.path), r.secret_names)
        print(r.redact({VALUE!r} + "0 " + {VALUE!r} + "1"))
        d = os.path.dirname(c.path)
        c.close()
        print(os.path.exists(d), "REDACTOR_CHANNEL" in os.environ)
    """
    result = run_child(script, child_env(None))
    assert (result.stdout, result.stderr) == (
        "child 0 True ['F0']\nchild 0 True ['F0', 'F1']\n[REDACTED] [REDACTED]\nFalse False\n",
        "",
    )


def test_get_in_the_carrier_process_itself_is_not_sent_to_itself(
    monkeypatch: pytest.MonkeyPatch, fresh_redactor: Redactor
) -> None:
    monkeypatch.delenv(_channel.ENV_CHANNEL, raising=False)
    rec = Recorder()
    c = _channel.start_carrier(rec)
    assert c is not None
    try:
        assert redactor.add_secret(VALUE, "own") is True
        assert rec.got == [] and fresh_redactor.secret_names == ["own"]
    finally:
        c.close()


def test_nested_redactor_run_forwards_to_the_outer_carrier(
    carrier: tuple[_channel.Carrier, Recorder],
) -> None:
    c, rec = carrier
    inner = f"import redactor; redactor.add_secret({VALUE!r}, 'deep'); print('deep', {VALUE!r})"
    cmd = [sys.executable, "-m", "redactor", "run", "--no-config", "--add-mask-only", "--"]
    result = subprocess.run(
        [*cmd, sys.executable, "-c", inner],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=child_env(c.path),
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "deep [REDACTED]\n", "")
    assert rec.got == [("deep", VALUE)]


# -- when the carrier is gone or slow ---------------------------------------------------------


def _dead_socket(tmp_path: Path) -> str:
    """A socket file nobody listens on: what a carrier killed with SIGKILL leaves behind."""
    d = tmp_path / "dead"
    d.mkdir(mode=0o700)
    path = str(d / "s")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    return path


@pytest.mark.parametrize("kind", ["refused", "missing"])
def test_a_gone_carrier_warns_once_and_get_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_redactor: Redactor, kind: str
) -> None:
    path = _dead_socket(tmp_path) if kind == "refused" else str(tmp_path / "no" / "s")
    monkeypatch.setenv(_channel.ENV_CHANNEL, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert redactor.add_secret(VALUE, "a") is True
        assert redactor.add_secret(VALUE + "x", "b") is True
    messages = [str(w.message) for w in caught if issubclass(w.category, RedactorWarning)]
    assert messages == [
        f"redactor: the process that carried this output is gone (REDACTOR_CHANNEL={path} no "
        "longer answers); secrets fetched here are redacted only in this process"
    ]
    assert fresh_redactor.secret_names == ["a", "b"]


def test_a_slow_carrier_makes_get_fail_without_the_value(
    carrier: tuple[_channel.Carrier, Recorder], tmp_path: Path
) -> None:
    c, rec = carrier
    gate = threading.Event()
    rec.gate = gate
    home = tmp_path / "home"
    store = LocalStore(home, environ={})
    store.create_scope("s")
    store.put_secret("s", "k", VALUE)
    code = """
        import time
        from redactor import dbutils
        from redactor.sources.scopes import SecretsError
        start = time.monotonic()
        try:
            dbutils.secrets.get("s", "k")
        except SecretsError as exc:
            print(exc)
            print(exc.__cause__, exc.__context__ is None, time.monotonic() - start < 20)
    """
    env = child_env(c.path, REDACTOR_HOME=str(home), REDACTOR_CHANNEL_TIMEOUT="1")
    try:
        result = run_child(code, env)
    finally:
        gate.set()
    assert (result.stdout, result.stderr) == (
        f"secret 's/k' not returned: the process carrying this output (redactor channel "
        f"{c.path}) did not confirm secret 's/k' within 1 s (REDACTOR_CHANNEL_TIMEOUT); "
        "not returning it\nNone True True\n",
        "",
    )


def test_no_channel_no_sending(monkeypatch: pytest.MonkeyPatch, fresh_redactor: Redactor) -> None:
    monkeypatch.delenv(_channel.ENV_CHANNEL, raising=False)
    assert _channel.target() is None
    assert redactor.add_secret(VALUE, "plain") is True


def test_the_engine_reaches_the_channel_only_through_its_hooks(
    monkeypatch: pytest.MonkeyPatch, fresh_redactor: Redactor
) -> None:
    """engine.default imports nothing above it: add_secret calls its listeners, the channel
    being one (registered when `import redactor` imports it); a listener's error reaches the
    caller after the value is held."""
    from redactor.engine import default

    monkeypatch.delenv(_channel.ENV_CHANNEL, raising=False)
    heard: list[tuple[str, str | bytes]] = []

    def listener(name: str, value: str | bytes) -> None:
        heard.append((name, value))
        if name == "fails":
            raise _channel.ChannelError("the carrier did not confirm")

    remove = default.on_secret_added(listener)
    try:
        assert default.on_secret_added(listener) is not None  # registered once only
        assert redactor.add_secret(VALUE, "heard") is True
        with pytest.raises(_channel.ChannelError, match="did not confirm"):
            redactor.add_secret(VALUE + "-2", "fails")
        with pytest.warns(RedactorWarning, match="too short"):
            assert redactor.add_secret("short", "too-short") is False  # refused: nobody told
    finally:
        remove()
    redactor.add_secret(VALUE + "-3", "after")
    assert heard == [("heard", VALUE), ("fails", VALUE + "-2")]
    assert fresh_redactor.secret_names == ["heard", "fails", "after"]
    # whoever imports the engine has imported the package root, which wires the channel in; the
    # channel module itself loads at the first add_secret (import redactor stays cheap)
    code = (
        "import sys, redactor.engine.default as d; c = 'redactor.sources.channel'\n"
        "print(c in sys.modules); d.add_secret('a-value-long-enough', 'x'); print(c in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.stdout, result.stderr) == ("False\nTrue\n", "")


# -- who may talk -----------------------------------------------------------------------------


def _as_nobody(work) -> bytes:
    """Run ``work()`` in a forked child that dropped to uid ``nobody``; returns what it wrote."""
    nobody = pwd.getpwnam("nobody")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            out = work()
        except BaseException as exc:
            out = f"{type(exc).__name__}".encode()
        os.write(w, out)
        os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    return b"".join(chunks)


def _frame(name: str, value: str) -> bytes:
    return _channel._encode(name, value)


needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as another uid needs root (os.setuid to nobody)"
)


@needs_root
def test_another_uid_cannot_register(carrier: tuple[_channel.Carrier, Recorder]) -> None:
    c, rec = carrier

    def attempt() -> bytes:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(c.path)
        except PermissionError:
            return b"connect: PermissionError"
        try:
            s.sendall(_frame("intruder", VALUE))
            answer = s.recv(16)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""  # closed before the frame was even read
        return b"closed unanswered" if answer == b"" else b"answer: " + answer

    # The private directory keeps another uid from reaching the socket at all.
    assert _as_nobody(attempt) == b"connect: PermissionError"
    # Even with the directory and socket opened up, SO_PEERCRED turns it away unanswered.
    os.chmod(Path(c.path).parent, 0o755)
    os.chmod(c.path, 0o666)
    assert _as_nobody(attempt) == b"closed unanswered"
    assert rec.got == [] and c.refused_peers == 1
    # And the client side refuses to register through a stranger's channel.
    assert _as_nobody(lambda: repr(_channel.send(c.path, "n", VALUE)).encode()) == b"ChannelError"


@needs_root
def test_a_strangers_socket_gets_nothing() -> None:
    shared = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's tmp_path is closed to nobody
    shared.chmod(0o777)
    path = str(shared / "s")
    ready_r, ready_w = os.pipe()
    nobody = pwd.getpwnam("nobody")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: a listener owned by nobody
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            os.chmod(path, 0o777)
            s.listen(1)
            os.write(ready_w, b"x")
            s.settimeout(3)
            conn, _ = s.accept()
            os.write(ready_w, conn.recv(1 << 16) or b"-")
        finally:
            os._exit(0)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"x"
    with pytest.raises(_channel.ChannelError) as info:
        _channel.send(path, "n", VALUE)
    assert str(info.value) == (
        f"the redactor channel {path} belongs to another user (uid {nobody.pw_uid}); "
        "not sending a secret there"
    )
    os.waitpid(pid, 0)
    assert os.read(ready_r, 1 << 16) == b""  # the stranger received nothing
    os.close(ready_r)
    shutil.rmtree(shared)


def test_messages_never_hold_the_value(carrier: tuple[_channel.Carrier, Recorder]) -> None:
    c, rec = carrier
    gate = threading.Event()
    rec.gate = gate
    start = time.monotonic()
    try:
        with pytest.raises(_channel.ChannelError) as info:
            _channel.send(c.path, "k", VALUE, timeout=0.5)
    finally:
        gate.set()
    assert time.monotonic() - start < 20
    text = f"{info.value!s} {info.value!r} {info.value.__context__!r}"
    assert VALUE not in text and VALUE[:8] not in text


def test_directories_of_killed_carriers_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    code = (
        "from redactor.sources import channel as _channel; import time\n"
        "print(_channel.start_carrier().path, flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=child_env(None)
    )
    try:
        assert proc.stdout is not None
        dead = Path(proc.stdout.readline().strip())
    finally:
        proc.kill()  # SIGKILL: no atexit, the directory stays behind
        proc.wait(TIMEOUT)
    assert dead.is_socket()
    alive = _channel.Carrier(Recorder(), export=False)
    try:
        assert not dead.parent.exists()
        other = _channel.Carrier(Recorder(), export=False)  # a live carrier's directory stays
        try:
            assert Path(alive.path).is_socket()
        finally:
            other.close()
    finally:
        alive.close()
