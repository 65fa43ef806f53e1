"""Moving bytes between file descriptors through a :class:`MaskingFilter`, for ``redactor filter``
and ``redactor run``, and stopping cleanly on SIGINT/SIGTERM.

:func:`pump` moves bytes from one file descriptor to another through a filter with ``os.read``
(which returns as soon as anything is available) and ``os.write`` (no Python buffering).
"""

from __future__ import annotations

import errno
import os
import select
import signal
import stat
from collections.abc import Callable
from typing import TypeVar

from redactor.engine.matchers import usable_cores
from redactor.errors import CIError
from redactor.sinks.ci.protocol import MaskingFilter

__all__ = [
    "CHUNK_SIZE",
    "STOP_GRACE",
    "Interrupts",
    "OutputClosed",
    "pump",
    "read_some",
    "write_all",
]

T = TypeVar("T")

# Reads return what is there (a pipe holds 64 KiB); from a file, big reads keep the per-chunk
# work (hold-back check, command search, joins) small next to the scan itself.
CHUNK_SIZE = 1024 * 1024

# -- moving bytes between file descriptors ---------------------------------------------------


class OutputClosed(CIError):
    """The reader of the output went away (EPIPE): nothing more can be written."""


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (looping on short writes, waiting on a non-blocking fd)."""
    view = memoryview(data)
    while view:
        view = view[_write_some(fd, view) :]


def _write_some(fd: int, view: memoryview) -> int:
    try:
        return os.write(fd, view)
    except BlockingIOError:
        select.select([], [fd], [])
        return 0
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # BrokenPipeError
            raise OutputClosed() from None
        raise


# The first read is at most this much: at 10,000 secrets the engine answers the first call with
# an index that scans a few MB/s while its automaton is not built (redactor.engine.redactor,
# INTERIM_MIN_PATTERNS), so a 1 MB first chunk kept the first byte waiting for seconds on a
# loaded machine (benchmarks/bench_startup.py); the reads after it are CHUNK_SIZE again.
FIRST_READ = 1 << 16


def read_some(fd: int, size: int = CHUNK_SIZE) -> bytes:
    """``os.read`` that also works on a non-blocking fd (waits for data instead of failing)."""
    while True:
        try:
            return os.read(fd, size)
        except BlockingIOError:
            select.select([fd], [], [])


def pump(
    in_fd: int,
    out_fd: int,
    filt: MaskingFilter,
    *,
    interrupts: Interrupts | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> bool:
    """Copy ``in_fd`` to ``out_fd`` through ``filt`` until end of input, then flush.

    Returns True when the input ended (or ``interrupts`` caught a signal), False when the output
    was closed (EPIPE) first; the caller decides what a closed output means for its producer.
    """
    if interrupts is not None:
        return _pump_interruptible(in_fd, out_fd, filt, interrupts, chunk_size)
    try:
        size = min(chunk_size, FIRST_READ)
        while True:
            data = read_some(in_fd, size)
            size = chunk_size
            if not data:
                break
            write_all(out_fd, filt.feed(data))
        write_all(out_fd, filt.flush())
    except OutputClosed:
        return False
    return True


# -- stopping on SIGINT/SIGTERM (the filter, in the main thread) -----------------------------

# After a signal, how long a reader that takes nothing may keep us from exiting.
STOP_GRACE = 2.0


class Interrupts:
    """SIGINT/SIGTERM handling for the main-thread pump that never tears a stream's state.

    The handler records the signal and raises only while the pump waits: blocked in ``os.read``
    for input or in ``select`` for room in the output. Output goes out in pieces that fit the
    pipe once ``select`` says there is room, so a signal never lands in the middle of a write
    and the pump always knows exactly what has not been written. On a signal the pump writes
    that, then the held tail (redacted), and exits with ``128 + signal``; a reader that takes
    nothing for STOP_GRACE seconds, or a second signal, makes it give up the rest instead.
    """

    def __init__(self, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.signum: int | None = None
        self.waiting = False  # True while blocked where a signal may cut in
        self._signals = signals
        self._old: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        first = self.signum is None
        self.signum = signum if first else self.signum
        if self.waiting:
            self.waiting = False
            raise _Interrupted()

    def wait(self, func: Callable[..., T], *args: object) -> T:
        """``func(*args)`` (a blocking wait), cut short by a signal; raises if one came already."""
        if self.signum is not None:
            raise _Interrupted()
        self.waiting = True
        try:
            return func(*args)
        finally:
            self.waiting = False

    def __enter__(self) -> Interrupts:
        import threading

        if threading.current_thread() is threading.main_thread():  # else: signals stay as they are
            for sig in self._signals:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)  # type: ignore[arg-type]


class _Interrupted(Exception):
    """A signal cut a wait short."""


class _Output:
    """Writes to fd 1 so that only the wait for room is interruptible, never a write."""

    def __init__(self, fd: int, interrupts: Interrupts, *, behind: bool = False) -> None:
        self.fd = fd
        self.interrupts = interrupts
        self.pending = memoryview(b"")
        self._own_fd = False
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            mode = 0
        # A regular file (or /dev/null) never makes a writer wait; pipes, sockets and terminals
        # do, and for them a piece of PIPE_BUF bytes fits whenever select() reports room.
        self.waits = not stat.S_ISREG(mode) and not _is_devnull(mode, fd)
        self.piece = getattr(select, "PIPE_BUF", 512) if self.waits else 0
        if self.waits and stat.S_ISFIFO(mode):
            # Better: a non-blocking description of our own for the same pipe (Linux reopens a
            # pipe through /proc), so a write takes all the room there is and never blocks, and
            # O_NONBLOCK is not forced on a description the producer or the shell shares.
            self._reopen_nonblocking(fd)
        # A regular file: written by a thread of its own while the pump goes on (_WriteBehind).
        self._behind = (
            _WriteBehind(fd) if behind and stat.S_ISREG(mode) and usable_cores() >= 2 else None
        )

    def _reopen_nonblocking(self, fd: int) -> None:
        try:
            own = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        try:
            same = os.fstat(own)[:2] == os.fstat(fd)[:2]  # (mode, inode): the same pipe
        except OSError:
            same = False
        if not same:
            os.close(own)
            return
        self.fd, self._own_fd, self.piece = own, True, 0

    def drain(self) -> None:
        """Wait until everything handed to :meth:`write` is written; raise a write's error."""
        if self._behind is not None:
            self._behind.drain()

    def close(self) -> None:
        """Like :meth:`drain` without raising (the caller's error, if any, is the one told)."""
        if self._behind is not None:
            behind, self._behind = self._behind, None
            behind.close()
        if self._own_fd:
            os.close(self.fd)
            self._own_fd = False

    def write(self, data: bytes, *, grace: float | None = None) -> None:
        """Write ``pending`` then ``data``; with ``grace``, give up quietly after that long
        without room, or on another signal."""
        if self._behind is not None:
            self._behind.put(data)
            return
        self.pending = memoryview(bytes(self.pending) + data) if self.pending else memoryview(data)
        while self.pending:
            if self.piece:
                if not self._room(grace):
                    return
                n = _write_some(self.fd, self.pending[: self.piece])
            elif not self.waits:
                n = _write_some(self.fd, self.pending)
            else:
                try:
                    n = os.write(self.fd, self.pending)
                except BlockingIOError:
                    if not self._room(grace):
                        return
                    continue
                except BrokenPipeError:
                    raise OutputClosed() from None
            self.pending = self.pending[n:]

    def _room(self, grace: float | None) -> bool:
        """Wait (interruptibly) until the output can take a write; False when grace ran out."""
        if not self.waits:
            return True
        if grace is None:
            self.interrupts.wait(select.select, [], [self.fd], [])
            return True
        self.interrupts.waiting = True  # a second signal ends the wait
        try:
            return bool(select.select([], [self.fd], [], grace)[1])
        finally:
            self.interrupts.waiting = False


def _is_devnull(mode: int, fd: int) -> bool:
    if not stat.S_ISCHR(mode):
        return False
    try:
        null = os.stat(os.devnull)
        st = os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (null.st_dev, null.st_ino)


def _pump_interruptible(
    in_fd: int, out_fd: int, filt: MaskingFilter, interrupts: Interrupts, chunk_size: int
) -> bool:
    grow_pipe(in_fd, chunk_size)
    grow_pipe(out_fd, chunk_size)
    out = _Output(out_fd, interrupts, behind=True)
    ahead = _ReadAhead.start(in_fd, filt, chunk_size)
    try:
        done = _pump_to(out, in_fd, filt, interrupts, chunk_size, ahead)
        out.drain()  # everything written to the file: a write error of its thread is ours
        return done
    finally:
        if ahead is not None:
            ahead.close()
        out.close()


class _ReadAhead:
    """For a regular file on stdin: a thread that reads the next chunks, and finds the
    ``::add-mask::`` candidates in them, while the pump redacts and writes the one before.

    Both release the GIL (``os.read``, Hyperscan's scan), so on a second core they leave the
    pump's path: at 1,000 secrets they were 0.04 and 0.05 s of a 300 MB file's 0.26 s after
    start-up. Only for a file: it never blocks, so reading ahead never keeps the pump from
    releasing output it has, and the read offset is set back, on close, to where the pump
    stopped taking chunks (a shell may read on from the same file). A pipe is read in the pump.
    """

    DEPTH = 2  # chunks read ahead, at most: 2 MiB more memory

    def __init__(
        self, fd: int, finder: Callable[[bytes], list[int]] | None, chunk_size: int
    ) -> None:
        import queue
        import threading

        self._fd = fd
        self._finder = finder
        self._chunk_size = chunk_size
        self._offset = os.lseek(fd, 0, os.SEEK_CUR)  # what the pump has taken, up to here
        self._queue: queue.Queue[tuple[bytes, list[int] | None] | Exception]
        self._queue = queue.Queue(self.DEPTH)
        self._full = queue.Full
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redactor-read", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, fd: int, filt: MaskingFilter, chunk_size: int) -> _ReadAhead | None:
        if usable_cores() < 2:
            return None  # the reader would only take turns with the pump
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return cls(fd, filt.command_finder(), chunk_size)
        except OSError:  # not seekable after all: read in the pump
            return None

    def _run(self) -> None:
        size = min(self._chunk_size, FIRST_READ)
        try:
            while not self._stop.is_set():
                data = read_some(self._fd, size)
                size = self._chunk_size
                found = self._finder(data) if data and self._finder is not None else None
                if not self._put((data, found)) or not data:
                    return
        except Exception as exc:  # handed to the pump and raised there, as if its own (an
            self._put(exc)  # OSError as its read's); never a reader gone and a pump waiting

    def _put(self, item: tuple[bytes, list[int] | None] | Exception) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except self._full:
                continue
        return False

    def get(self) -> tuple[bytes, list[int] | None]:
        """The next chunk and its command lines (b"" at the end); raises the reader's error."""
        item = self._queue.get()
        if isinstance(item, Exception):
            raise item
        self._offset += len(item[0])
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()  # within a read of a chunk, or a tenth of a second in _put
        try:
            os.lseek(self._fd, self._offset, os.SEEK_SET)
        except OSError:
            pass


class _WriteBehind:
    """A thread that writes to a regular file what the pump hands it, in order, while the pump
    redacts the next chunk: the write (copying into the page cache, allocating it) was 0.2 to
    0.5 s of a 1 GB file's 1.0 s of pump, all of it on the pump's path (1,000 secrets, the
    2-core machine; ``os.write`` releases the GIL).

    Only for a regular file: a write there never waits for a reader, so the signal handling of
    :class:`_Output` (only a wait for room is interruptible) has nothing to cut short, and a
    hand-over waits for one chunk's write at most. The first write error stops the writing;
    the pump gets it at its next hand-over, or from :meth:`drain` at the end, as its own.
    """

    DEPTH = 2  # chunks handed over and not yet written, at most: 2 MiB more memory

    def __init__(self, fd: int) -> None:
        import queue
        import threading

        self._fd = fd
        self._queue: queue.Queue[bytes | None] = queue.Queue(self.DEPTH)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="redactor-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:  # after an error: take the rest, write nothing
                try:
                    write_all(self._fd, data)
                except Exception as exc:  # OSError (ENOSPC, EFBIG, EIO), or anything else
                    self._error = exc

    def put(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        if data:
            self._queue.put(bytes(data) if type(data) is not bytes else data)

    def drain(self) -> None:
        self.close()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def grow_pipe(fd: int, size: int) -> None:
    """Let a pipe hold ``size`` bytes (Linux ``F_SETPIPE_SZ``; the default is 64 KiB). Never
    shrinks a pipe; anything else is left as it is (not a pipe, another system, over the
    per-user limit of pipe memory: the default size then stays).

    Done for the filter's input: a producer that runs ahead then fills a chunk, and the filter
    reads it in one piece. The per-chunk work (hold-back, command search, joins) made 64 KiB
    reads cost 0.95 s of CPU for 300 MB against 0.73 s with 1 MiB reads (1,000 secrets). And
    for its output since the filter got faster (issue 20's plan): ``redactor filter < log |
    cat`` on 300 MB took 0.74-0.90 s against 1.09-1.24 s with the default 64 KiB pipe (file to
    file: 0.64 s), three alternate runs on the quiet 2-core machine; with both cores busy,
    1.20-1.55 s against 1.23-1.47 s, no worse. (When the filter ran at a third of that rate,
    the larger output pipe saved no CPU and lost under load: 12.4-12.9 s against 8.0-11.1 s.)
    """
    try:
        import fcntl
    except ImportError:  # Windows
        return
    setsz = getattr(fcntl, "F_SETPIPE_SZ", None)
    getsz = getattr(fcntl, "F_GETPIPE_SZ", None)
    if setsz is None or getsz is None:
        return
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode) or fcntl.fcntl(fd, getsz) >= size:
            return
        fcntl.fcntl(fd, setsz, size)
    except OSError:
        pass


def _pump_to(
    out: _Output,
    in_fd: int,
    filt: MaskingFilter,
    interrupts: Interrupts,
    chunk_size: int,
    ahead: _ReadAhead | None = None,
) -> bool:
    try:
        try:
            size = min(chunk_size, FIRST_READ)
            while True:
                if ahead is not None:
                    data, commands = interrupts.wait(ahead.get)
                else:
                    data, commands = interrupts.wait(read_some, in_fd, size), None
                size = chunk_size
                if not data:
                    break
                out.write(filt.feed(data, commands))
            out.write(filt.flush())
            return True
        except _Interrupted:
            pass
        # A signal: what the filter released and what it holds go out (nothing was cut in two:
        # a read cut short was never fed, a write never starts before there is room).
        try:
            out.write(filt.flush(), grace=STOP_GRACE)
        except _Interrupted:
            pass  # a second signal: give up the rest
    except OutputClosed:
        return False
    return True
