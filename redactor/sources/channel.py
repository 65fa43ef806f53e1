"""Secrets fetched in child processes reach the redactor of the process that carries their output.

A *carrier* (the IPython extension in a kernel or terminal IPython; ``redactor run``) listens on a
Unix domain socket in a fresh private directory (0700, socket 0600, under ``XDG_RUNTIME_DIR`` or
the temp dir) and puts the socket's path, never a value, in ``REDACTOR_CHANNEL``, which child
processes inherit. In a process where that variable names a socket it does not own (a child, or a
forked copy of the carrier), ``dbutils.secrets.get``/``getBytes`` and ``redactor.add_secret`` send
(name, value) over the socket and wait for the acknowledgement, which the carrier sends only once
its redactor holds the value; so the value is redacted in everything the carrier passes on before
the child can print it. A carrier started inside another one forwards upward before it
acknowledges.

Who may talk: the carrier accepts peers of its own uid or root (``SO_PEERCRED`` on Linux; the
0700 directory elsewhere), and a child sends only to a socket owned by its own uid or root
(``lstat`` and ``SO_PEERCRED``), so a stranger's socket named in the variable gets nothing.

Failure policy (the value is registered in the child's own redactor first, in every case):

* the socket is gone or refuses connections (the carrier exited): nothing it carried can leak
  any more, so ``get`` returns, with one :class:`RedactorWarning` per socket naming the path;
* the carrier is alive but does not acknowledge within ``REDACTOR_CHANNEL_TIMEOUT`` seconds
  (default 30), or refuses this peer, or cannot forward upward: :class:`ChannelError` is raised
  and the value is not returned, since its output would pass through a redactor that does not
  know it.

POSIX only: without ``AF_UNIX`` no carrier starts and nothing is sent.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import os
import selectors
import shutil
import signal
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable

from redactor.engine.default import (
    register_once,
)
from redactor.engine.redactor import Redactor, RedactorWarning
from redactor.errors import SourceError

__all__ = [
    "ENV_CHANNEL",
    "ENV_TIMEOUT",
    "Carrier",
    "ChannelError",
    "announce",
    "send",
    "start_carrier",
]

ENV_CHANNEL = "REDACTOR_CHANNEL"
ENV_TIMEOUT = "REDACTOR_CHANNEL_TIMEOUT"
# Generous: a registration round trip (connect, send, the carrier's `add`, acknowledge) took
# 0.26-0.86 ms per call on a shared 2-core machine (300 calls, 3 runs), and a kernel busy in a
# pure-Python loop still answers within milliseconds (the GIL switches every 5 ms), so only a
# stopped or wedged carrier takes this long.
DEFAULT_TIMEOUT = 30.0
# How long the carrier waits for a connected peer to finish sending its one request.
READ_TIMEOUT = 10.0

_MAGIC = b"RDC1"
_HEADER = struct.Struct(">4sc2I")  # magic, kind (b"s" text / b"b" bytes), name length, value length
MAX_NAME = 4096
MAX_VALUE = 16 * 1024 * 1024  # the store caps values at 128 KiB; other sources are not capped
ACK_HELD = b"\x00"  # the carrier's redactor holds the value (or already did)
ACK_REFUSED = b"\x01"  # its redactor refused it (too short), as the sender's own did
ACK_FAILED = b"\x02"  # it could not register or forward it

Register = Callable[[str, "str | bytes"], bool]


class ChannelError(SourceError, RuntimeError):
    """A carrier is alive but did not confirm that it holds a value (never names the value)."""


# -- the carrier ------------------------------------------------------------------------------

_owned: dict[str, Carrier] = {}  # socket path -> the carrier that created it (any pid)
_owned_lock = threading.Lock()


def _private_dir_ok(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.geteuid()
        and not st.st_mode & 0o077
        and os.access(path, os.W_OK | os.X_OK)
    )


def _socket_dir() -> str:
    """A fresh 0700 directory for the socket, with a path short enough for ``sun_path``."""
    bases = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and _private_dir_ok(runtime):
        bases.append(runtime)
    bases += [tempfile.gettempdir(), "/tmp"]  # noqa: S108 - mkdtemp makes a private directory
    for base in bases:
        # sun_path holds 108 bytes on Linux and 104 on macOS; "/redactor-ch-XXXXXXXX/s" adds 23.
        if len(os.fsencode(base)) > 80:
            continue
        with contextlib.suppress(OSError):
            path = tempfile.mkdtemp(prefix=_PREFIX, dir=base)  # mode 0700
            _sweep_stale(base, keep=path)
            return path
    raise OSError(errno.ENAMETOOLONG, "no temp directory with a short enough path")


_PREFIX = "redactor-ch-"
# A directory still without its socket this long after it was made is not one being set up.
_STALE_EMPTY_SECONDS = 60.0


def _sweep_stale(base: str, keep: str) -> None:
    """Remove this user's channel directories whose carrier died without cleaning up (a kernel
    killed with SIGKILL): their socket refuses connections. Best effort, never raises."""
    try:
        names = [n for n in os.listdir(base) if n.startswith(_PREFIX)]
    except OSError:
        return
    for name in names:
        d = os.path.join(base, name)
        if d == keep:
            continue
        try:
            st = os.lstat(d)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                continue
            sock_path = os.path.join(d, "s")
            try:
                os.lstat(sock_path)
            except FileNotFoundError:
                if time.time() - st.st_mtime > _STALE_EMPTY_SECONDS:
                    shutil.rmtree(d, ignore_errors=True)
                continue
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.settimeout(1.0)
                probe.connect(sock_path)
            except ConnectionRefusedError:
                shutil.rmtree(d, ignore_errors=True)
            finally:
                probe.close()
        except OSError:
            continue


class Carrier:
    """Listens for registrations from child processes and adds them to ``register``'s redactor.

    ``register(name, value)`` returns True when the redactor holds the value and False when it
    refused it (too short). ``export`` puts the socket's path in ``os.environ`` (restored by
    :meth:`close`), so that every child started afterwards inherits it.
    """

    def __init__(self, register: Register, *, export: bool = True) -> None:
        self._register = register
        self.export = export
        self.pid = os.getpid()
        self.upstream = os.environ.get(ENV_CHANNEL) or None
        self.registrations = 0
        self.refused_peers = 0
        self._dir = _socket_dir()
        self.path = os.path.join(self._dir, "s")
        self._closed = False
        self._previous_env: str | None = None
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(self.path)
            # The directory is 0700, so nobody else can reach the socket before this chmod.
            os.chmod(self.path, 0o600)
            self._listener.listen(64)
            self._wake_r, self._wake_w = os.pipe()
        except BaseException:
            self._listener.close()
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self._thread = threading.Thread(target=self._serve, name="redactor-channel", daemon=True)
        _start_without_signals(self._thread)
        with _owned_lock:
            _owned[self.path] = self
        if export:
            self._previous_env = os.environ.get(ENV_CHANNEL)
            os.environ[ENV_CHANNEL] = self.path
        _register_atexit()

    # -- serving ----------------------------------------------------------------------------

    def _serve(self) -> None:
        # selectors (epoll/poll), not select(): a kernel may hold descriptors above FD_SETSIZE.
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                try:
                    ready = [key.fileobj for key, _ in sel.select()]
                except (OSError, ValueError):
                    return
                if self._wake_r in ready or self._closed:
                    return
                try:
                    conn, _ = self._listener.accept()
                except OSError:
                    continue
                threading.Thread(
                    target=self._handle, args=(conn,), name="redactor-channel-peer", daemon=True
                ).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            if not _peer_allowed(conn):
                self.refused_peers += 1
                return  # closed without reading: the peer learns nothing
            try:
                conn.settimeout(READ_TIMEOUT)
                request = _read_request(conn)
            except (OSError, ValueError):
                return
            if request is None:
                return
            name, value = request
            try:
                ack = self._accept(name, value)
            except Exception:  # never let a failure (or its message) escape with the value
                ack = ACK_FAILED
            with contextlib.suppress(OSError):
                conn.sendall(ack)

    def _accept(self, name: str, value: str | bytes) -> bytes:
        held = self._register(name, value)
        self.registrations += 1
        if held and self.upstream:
            try:
                _send_once(self.upstream, name, value)
            except ChannelError:
                return ACK_FAILED
        return ACK_HELD if held else ACK_REFUSED

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop listening, restore ``REDACTOR_CHANNEL`` and remove the directory (owner only)."""
        if self._closed:
            return
        self._closed = True
        if self.pid != os.getpid():
            self._close_fds()  # a forked copy: the directory is still the parent's
            return
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        self._close_fds()
        with _owned_lock:
            _owned.pop(self.path, None)
        if self.export and os.environ.get(ENV_CHANNEL) == self.path:
            if self._previous_env is None:
                os.environ.pop(ENV_CHANNEL, None)
            else:
                os.environ[ENV_CHANNEL] = self._previous_env
        shutil.rmtree(self._dir, ignore_errors=True)

    def _close_fds(self) -> None:
        self._listener.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def _after_fork_in_child(self) -> None:
        self._closed = True
        self._close_fds()


def start_carrier(register: Register | None = None, *, export: bool = True) -> Carrier | None:
    """A running :class:`Carrier` (default: into the process-wide redactor), or None where Unix
    sockets are missing or cannot be created (with a warning in the latter case)."""
    if not hasattr(socket, "AF_UNIX") or os.name != "posix":
        return None
    if register is None:

        def register(name: str, value: str | bytes) -> bool:
            return register_once(value, name)

    try:
        return Carrier(register, export=export)
    except OSError as exc:
        warnings.warn(
            "redactor: cannot open the channel for child processes "
            f"({exc.strerror or type(exc).__name__}); secrets fetched only in a child process "
            "will not be redacted here",
            RedactorWarning,
            stacklevel=2,
        )
        return None


_for_install: Carrier | None = None


def open_for_install(redactor: Redactor | None = None) -> None:
    """:func:`redactor.install` carries its children's output (``fd=True``) and prints what its
    workers return: open a channel for it, unless this process already serves one (a kernel)."""
    global _for_install
    with _owned_lock:
        if any(c.pid == os.getpid() and not c._closed for c in _owned.values()):
            return
    register: Register | None = None
    if redactor is not None:
        chosen = redactor

        def register(name: str, value: str | bytes) -> bool:
            return register_once(value, name, chosen)

    _for_install = start_carrier(register)


def close_for_install() -> None:
    global _for_install
    carrier, _for_install = _for_install, None
    if carrier is not None:
        carrier.close()


def _start_without_signals(thread: threading.Thread) -> None:
    """Start ``thread`` with every signal blocked, so that signals keep going to the threads that
    wait for them (``redactor run`` collects its signals with ``sigtimedwait``; ipykernel's main
    thread takes SIGINT as an interrupt)."""
    if not hasattr(signal, "pthread_sigmask"):
        thread.start()
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


_atexit_done = False


def _register_atexit() -> None:
    global _atexit_done
    if _atexit_done:
        return
    _atexit_done = True
    atexit.register(_close_all)


def _close_all() -> None:
    with _owned_lock:
        carriers = list(_owned.values())
    for carrier in carriers:
        carrier.close()  # a forked child only closes its copies of the descriptors


def _after_fork_in_child() -> None:
    # A forked child inherits the listener but not its thread: close its copies so that the
    # socket belongs to the parent alone. The directory stays (the parent still uses it). Locks
    # another thread held at the fork would never be released in the child: make new ones.
    global _owned_lock, _send_lock
    _owned_lock, _send_lock = threading.Lock(), threading.Lock()
    for carrier in list(_owned.values()):
        if carrier.pid != os.getpid():
            with contextlib.suppress(Exception):
                carrier._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# -- credentials ------------------------------------------------------------------------------


def _peer_uid(sock: socket.socket) -> int | None:
    """The peer's uid (Linux ``SO_PEERCRED``), or None where it cannot be asked."""
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None or not sys.platform.startswith("linux"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def _trusted_uid(uid: int) -> bool:
    # Root can read any process's memory anyway, so trusting it gives nothing away.
    return uid in (os.geteuid(), 0)


def _peer_allowed(sock: socket.socket) -> bool:
    try:
        uid = _peer_uid(sock)
    except OSError:
        return False
    return uid is None or _trusted_uid(uid)


# -- the protocol -----------------------------------------------------------------------------


def _encode(name: str, value: str | bytes) -> bytes:
    if isinstance(value, str):
        kind, data = b"s", value.encode("utf-8", "surrogatepass")
    else:
        kind, data = b"b", bytes(value)
    raw_name = name.encode("utf-8", "surrogatepass")[:MAX_NAME]
    if len(data) > MAX_VALUE:
        raise ChannelError(f"secret {name!r} is too large to send to the redactor channel")
    return _HEADER.pack(_MAGIC, kind, len(raw_name), len(data)) + raw_name + data


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_request(sock: socket.socket) -> tuple[str, str | bytes] | None:
    head = _recv_exact(sock, _HEADER.size)
    if head is None:
        return None
    magic, kind, name_len, value_len = _HEADER.unpack(head)
    if magic != _MAGIC or kind not in (b"s", b"b") or name_len > MAX_NAME or value_len > MAX_VALUE:
        return None
    body = _recv_exact(sock, name_len + value_len)
    if body is None:
        return None
    name = body[:name_len].decode("utf-8", "surrogatepass")
    data = body[name_len:]
    value: str | bytes = data.decode("utf-8", "surrogatepass") if kind == b"s" else data
    return name, value


# -- the sending side -------------------------------------------------------------------------

_sent: set[bytes] = set()  # digests of (socket, name, value) already acknowledged
_gone: set[str] = set()  # sockets found dead (warned once)
_send_lock = threading.Lock()


def _timeout() -> float:
    try:
        value = float(os.environ.get(ENV_TIMEOUT, ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def _check_socket_owner(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ChannelError(
            f"cannot reach the redactor channel {path} ({exc.strerror or type(exc).__name__})"
        ) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise ChannelError(f"{ENV_CHANNEL}={path} is not a socket; not sending a secret there")
    if not _trusted_uid(st.st_uid):
        raise ChannelError(
            f"the redactor channel {path} belongs to another user (uid {st.st_uid}); "
            "not sending a secret there"
        )


def send(path: str, name: str, value: str | bytes, timeout: float | None = None) -> bool:
    """Register (name, value) with the carrier at ``path`` and wait for its acknowledgement.

    Returns True once the carrier holds the value (or refused it as too short, as the caller's
    own redactor did) and False when the carrier is gone. Raises :class:`ChannelError` otherwise.
    """
    timeout = _timeout() if timeout is None else timeout
    try:
        _check_socket_owner(path)
    except FileNotFoundError:
        return False
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            return False
        except OSError as exc:
            raise ChannelError(
                f"cannot reach the redactor channel {path} ({exc.strerror or type(exc).__name__})"
            ) from None
        uid = _peer_uid(sock)
        if uid is not None and not _trusted_uid(uid):
            raise ChannelError(
                f"the redactor channel {path} is served by another user (uid {uid}); "
                "not sending a secret there"
            )
        try:
            sock.sendall(_encode(name, value))
            ack = _recv_exact(sock, 1)
        except TimeoutError:
            raise ChannelError(
                f"the process carrying this output (redactor channel {path}) did not confirm "
                f"secret {name!r} within {timeout:g} s ({ENV_TIMEOUT}); not returning it"
            ) from None
        except OSError as exc:
            ack = None
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET):
                raise ChannelError(
                    f"the redactor channel {path} failed ({exc.strerror or type(exc).__name__})"
                ) from None
    finally:
        sock.close()
    if ack is None:
        raise ChannelError(
            f"the redactor channel {path} refused secret {name!r} (another user's process?)"
        )
    if ack == ACK_FAILED:
        raise ChannelError(
            f"the process carrying this output (redactor channel {path}) could not register "
            f"secret {name!r}"
        )
    return True


def _digest(path: str, name: str, value: str | bytes) -> bytes:
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
    h = hashlib.sha256()
    for part in (os.fsencode(path), name.encode("utf-8", "surrogatepass"), data):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    h.update(b"s" if isinstance(value, str) else b"b")
    return h.digest()


def _send_once(path: str, name: str, value: str | bytes) -> None:
    """:func:`send` unless already acknowledged; a dead carrier is warned about once."""
    ident = _digest(path, name, value)
    with _send_lock:
        if ident in _sent or path in _gone:
            return
    if send(path, name, value):
        with _send_lock:
            _sent.add(ident)
        return
    with _send_lock:
        first = path not in _gone
        _gone.add(path)
    if first:
        warnings.warn(
            f"redactor: the process that carried this output is gone ({ENV_CHANNEL}={path} "
            "no longer answers); secrets fetched here are redacted only in this process",
            RedactorWarning,
            stacklevel=4,
        )


def target() -> str | None:
    """The socket this process must tell about its secrets: the one named in ``REDACTOR_CHANNEL``,
    unless this very process serves it (then that carrier's own upstream, if any)."""
    path = os.environ.get(ENV_CHANNEL) or None
    seen: set[str] = set()
    while path and path not in seen:
        carrier = _owned.get(path)
        if carrier is None or carrier.pid != os.getpid():
            return path
        seen.add(path)
        path = carrier.upstream
    return None


def announce(name: str, value: str | bytes) -> None:
    """Tell the carrier of this process's output about a secret (no-op without one).

    Call it after registering the value locally and before handing it to the caller; raises
    :class:`ChannelError` when the carrier is alive and does not confirm (see the module doc).
    """
    path = target()
    if path is None or not hasattr(socket, "AF_UNIX"):
        return
    _send_once(path, name, value)
