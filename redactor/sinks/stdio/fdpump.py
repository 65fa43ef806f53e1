"""The fd pump: file descriptors 1 and 2 (or a kernel's raw echo copies) routed through a pipe
whose reader thread redacts the bytes and writes them where the descriptor pointed, and the exit
hand-over that keeps redacting after the interpreter has stopped its threads.

``install(fd=True)`` uses it to catch what never passes through ``sys.stdout``: C extensions
that ``printf``, ``os.write(1, ...)`` and child processes.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import threading
import warnings

from redactor.engine.default import get_redactor
from redactor.engine.redactor import Redactor
from redactor.engine.silence import SilenceTimer
from redactor.engine.stream import Stream

__all__ = ["FD_HOLD_SECONDS", "FdPump", "exit_pump", "flush_c_stdio", "hand_over", "write_fd"]

#: How long the fd pump keeps a possible secret prefix before writing it out when nothing follows.
FD_HOLD_SECONDS = 0.5


class FdPump:
    """Points ``fd`` at a pipe; a thread redacts what arrives and writes it where ``fd`` pointed.

    The reader blocks on the pipe and passes every chunk on as soon as it is read, except the
    tail that could be the start of a secret; that is written out when more data decides it, or
    after ``hold`` seconds of silence, or at end of file. The thread runs until every writer
    (this process, and children that inherited the descriptor) has closed the pipe, or until
    :meth:`stop` hands the pipe over to the exit pump (see :func:`hand_over`).
    """

    def __init__(
        self, fd: int, redactor: Redactor | None, hold: float, *, thread: bool = True
    ) -> None:
        self.fd = fd
        self.saved = os.dup(fd)
        self.was_tty = os.isatty(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._read_end = read_end
        self._feeder: Stream[bytes] = Stream(
            redactor if redactor is not None else get_redactor, binary=True
        )
        self._hold = hold
        self._lock = threading.Lock()
        # Releases the held tail after `hold` seconds without input (a prompt, a progress bar).
        self._timer = SilenceTimer(hold, self._release, self._lock, name=f"redactor-fd{fd}-hold")
        self._restored = False
        self._stopping = False
        # POSIX: a second pipe wakes the reader out of select() so that it can stop without
        # closing the data pipe (whose writers are this process's fds 1 and 2).
        self._wake: tuple[int, int] | None = os.pipe() if os.name == "posix" else None
        self.thread = threading.Thread(target=self._run, name=f"redactor-fd{fd}", daemon=True)
        if thread:  # (without: made at exit, for the exit pump alone)
            self.thread.start()

    @property
    def restored(self) -> bool:
        """Whether ``fd`` points where it pointed before (or the exit pump owns the pipe)."""
        return self._restored

    def _write(self, data: bytes) -> None:
        write_fd(self.saved, data)

    def _release(self) -> None:
        # Called by the timer, under self._lock, only if no chunk came since it was started.
        if self._stopping:
            return  # the exit pump owns the held tail now
        out = self._feeder.flush()
        if out:
            self._write(out)

    def _read(self) -> bytes | None:
        """The next chunk, ``b""`` at end of file, ``None`` when asked to stop."""
        while True:
            if self._wake is not None:
                try:
                    ready, _, _ = select.select([self._read_end, self._wake[0]], [], [])
                except InterruptedError:
                    continue
                except (OSError, ValueError):
                    return b""  # a descriptor closed under us: end of file, as os.read would say
                if self._wake[0] in ready:
                    return None
            try:
                return os.read(self._read_end, 65536)
            except InterruptedError:
                continue
            except OSError:
                return b""

    def _run(self) -> None:
        stopped = False
        try:
            while True:
                chunk = self._read()
                with self._lock:
                    self._timer.cancel()
                    if chunk is None:
                        stopped = True
                        break
                    if not chunk:
                        out = self._feeder.flush()
                        if out:
                            self._write(out)
                        break
                    out = self._feeder.feed(chunk)
                    if out:
                        self._write(out)
                    if self._feeder.pending:
                        self._timer.restart()
        finally:
            if not stopped:
                self._close()

    def _close(self) -> None:
        for fd in (self._read_end, self.saved, *(self._wake or ())):
            try:
                os.close(fd)
            except OSError:
                pass

    def stop(self, timeout: float) -> bool:
        """Stop the reader thread, keeping the pipe, the held tail and the destination open."""
        if self._wake is None or self._restored:
            return False
        if self.thread.ident is None:
            return True  # never started
        with self._lock:
            self._stopping = True
            self._timer.cancel()
        os.write(self._wake[1], b"x")
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def restore(self, timeout: float) -> None:
        """Point ``fd`` back where it was; wait up to ``timeout`` for the pipe to drain."""
        if self._restored:
            return
        self._restored = True
        os.dup2(self.saved, self.fd)
        self.thread.join(timeout)
        # Still alive: a child process still holds the pipe. The daemon thread keeps forwarding
        # (redacted) until that child closes it, and closes its descriptors itself.


def write_fd(fd: int, data: bytes) -> bool:
    """Write all of ``data``; False when the destination is gone (closed terminal, broken pipe)."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return False
        view = view[n:]
    return True


def hand_over(pumps: list[FdPump], redactor: Redactor | None) -> bool:
    """At exit, move the fd pumps into a forked process that outlives this interpreter.

    After the ``atexit`` phase CPython stops every daemon thread, yet the interpreter still
    writes: ``atexit`` handlers registered before :func:`install`, ``__del__`` methods and C code
    at teardown, and children that inherited fds 1 and 2. Restoring the descriptors would send all
    that out in clear; keeping the pipes without a reader would lose it (or block the writer once
    the pipe is full). So the reader threads stop (their held tails kept), and a forked child
    reads both pipes until every writer has closed them, i.e. until this process and its
    inheriting children have really ended. The child uses a private copy of the redactor (made
    here, before the fork) so that no lock held by another thread at the fork can block it.
    Returns False (nothing changed) where this is not possible; the caller then restores.

    Cost: a process that calls ``install()`` and prints one line ends 9 ms later than before as
    its caller sees it (54 vs 46 ms, waiting for end of file; best of 15 runs on a shared
    2-core machine): the copy, the fork, and the child's start.
    """
    if os.name != "posix" or not hasattr(os, "fork") or not pumps:
        return False

    try:
        source = redactor or get_redactor()
        copy = pickle.loads(pickle.dumps(source))  # noqa: S301 - our own object, in memory
        copy.prepare(text=False, binary=True)  # built in the parent: the child pumps at once
    except Exception:
        return False
    if not all(p.stop(5.0) for p in pumps):
        return False
    for pump in pumps:
        pump._feeder.pin(copy)
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a process with threads: the child here runs no
            # code that another thread could have left locked (pumps stopped, private redactor).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except Exception:
        return False
    if pid == 0:  # pragma: no cover - runs in the forked child, measured by the exit tests
        code = 0
        try:
            exit_pump(pumps)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    for pump in pumps:
        pump._close()  # the child owns the read ends and destinations now
        pump._restored = True
    return True


def exit_pump(pumps: list[FdPump]) -> None:
    """The forked child's loop: redact every pipe until all its writers are gone, then exit."""
    # A Ctrl-C meant for the program must not cut off the output it is still writing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep = {fd for p in pumps for fd in (p._read_end, p.saved)}
    # Every other descriptor goes, above all fds 1 and 2 (the pipes' write ends): a copy kept
    # here would keep the pipe open forever.
    top = max(keep) + 1
    for fd in range(0, top):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    os.closerange(top, _max_fd())
    live = {p._read_end: p for p in pumps}
    hold = min(p._hold for p in pumps)
    broken: set[int] = set()

    def send(pump: FdPump, data: bytes) -> None:
        if data and pump.saved not in broken and not write_fd(pump.saved, data):
            broken.add(pump.saved)  # keep reading (and dropping) so that writers never block

    while live:
        waiting = any(p._feeder.pending for p in live.values())
        try:
            ready, _, _ = select.select(list(live), [], [], hold if waiting else None)
        except InterruptedError:
            continue
        if not ready:
            for pump in live.values():
                send(pump, pump._feeder.flush())
            continue
        for fd in ready:
            pump = live[fd]
            try:
                chunk = os.read(fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                send(pump, pump._feeder.feed(chunk))
            else:
                send(pump, pump._feeder.flush())
                del live[fd]


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 16)
    except (ValueError, OSError):
        return 4096


def flush_c_stdio() -> None:
    """``fflush(NULL)``: C code's buffered stdout must reach the pipe before it is swapped."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.fflush(None)
    except Exception:  # noqa: S110 - no C library to flush (Windows without msvcrt lookup)
        pass
