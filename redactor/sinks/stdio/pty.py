"""A command on a pseudo-terminal, its output redacted: the machinery of ``redactor run --pty``.

Why: a program that writes to a pipe decides it is not talking to a person. It drops its colours
and progress bars, and C's stdio buffers whole blocks instead of lines. Masking wrappers that
hand the program pipes change what it prints (``op run`` users lose their colours and turn
masking off to get them back: 1Password/shell-plugins #413). On a pseudo-terminal the program
behaves as it does in the user's terminal, and everything it prints still comes through one
place, the terminal's controller side, where this module redacts it.

:class:`PtySession` does the terminal's side:

* allocates the pseudo-terminal, copies the window size of redactor's own terminal to it (or
  :data:`DEFAULT_SIZE` when there is none) and again on every ``SIGWINCH`` (:meth:`resize`);
* gives the command the terminal as stdout, stderr (one stream, as in a terminal) and controlling
  terminal, and as stdin when redactor's own stdin is a terminal; any other stdin (a pipe, a
  file, ``/dev/null``) is passed to the command unchanged, so its bytes and its end of file are
  exactly what they are without a terminal;
* puts redactor's own terminal in raw mode while it forwards what is typed (Ctrl-C, Ctrl-D and
  arrows then reach the command's terminal, which turns them into signals and end of file as a
  terminal does), and restores it on every exit path (:meth:`raw_input`);
* redacts what the command prints with the same filter as the pipes of ``redactor run``
  (:class:`redactor.sinks.ci.MaskingFilter` over the engine's byte stream): a secret split across
  reads, across ``\\r`` progress updates or by colour codes is caught, and ``::add-mask::`` lines
  are honoured.

One difference from the pipes: a terminal is interactive, so a tail held back because it could
still grow into a secret (a prompt ending in the first characters of one) is written out after
:data:`FD_HOLD_SECONDS` of silence, as the fd pumps of ``install(fd=True)`` do. A secret whose
two parts are printed more than that far apart is then not recognised.

POSIX only (``os.openpty``, ``termios``); those modules are imported when a session starts, so
that the CLI still loads where they do not exist.
"""

from __future__ import annotations

import errno
import os
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from redactor.errors import CIError
from redactor.sinks.ci import MaskingFilter, OutputClosed, write_all
from redactor.sinks.stdio.fdpump import FD_HOLD_SECONDS

if TYPE_CHECKING:
    from redactor.engine.redactor import Redactor

__all__ = ["DEFAULT_SIZE", "PtySession", "copy_window_size", "window_size"]

#: (rows, columns) given to the command when redactor has no terminal to copy a size from: what
#: a terminal emulator opens with, and what ``stty`` reports on a console. A 0x0 size, which the
#: kernel gives a new pseudo-terminal, makes progress bars and pagers compute zero-wide lines.
DEFAULT_SIZE = (24, 80)

# A pseudo-terminal hands out at most 4095 bytes per read here (Linux 6.18, measured over 1 MB),
# however much is waiting. What is already waiting is read at once, up to _BATCH bytes, and fed
# to the filter in one piece: each feed has a fixed cost, and batching took 50 MB of command
# output through the filter in 2.3 s instead of 3.1 s (one run each on a loaded 2-core machine).
_READ_SIZE = 65536
_BATCH = 65536


def window_size(fd: int) -> tuple[int, int] | None:
    """``(rows, columns)`` of the terminal ``fd``, or None if it is not a terminal."""
    import fcntl
    import struct
    import termios

    try:
        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows, cols, _, _ = struct.unpack("HHHH", packed)
    return rows, cols


def _set_window_size(fd: int, rows: int, cols: int) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def copy_window_size(source: int | None, target: int) -> tuple[int, int]:
    """Give the terminal ``target`` the size of the terminal ``source`` (``DEFAULT_SIZE`` when
    ``source`` is None, not a terminal or reports 0x0); returns the size set."""
    size = window_size(source) if source is not None else None
    if not size or not all(size):
        size = DEFAULT_SIZE
    _set_window_size(target, *size)
    return size


def _outer_terminal(fds: tuple[int, ...]) -> int | None:
    """The first of ``fds`` that is a terminal: where the window size comes from."""
    for fd in fds:
        try:
            if os.isatty(fd):
                return fd
        except OSError:
            continue
    return None


def _take_terminal() -> None:  # pragma: no cover - runs in the command's process before exec
    """In the command, after ``setsid``: make its stdout (the terminal) its controlling terminal,
    so that the terminal's Ctrl-C, window changes and hang-up reach it."""
    import fcntl
    import termios

    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


class PtySession:
    """A pseudo-terminal for one command: its window size, the raw mode of redactor's own
    terminal while input is forwarded, and the threads that move bytes in and out.

    Use: ``popen_kwargs()`` for ``subprocess.Popen``, :meth:`started` once the command runs (the
    terminal's command side is then closed here), :meth:`start` for the threads, :meth:`stop_input`
    once the command has ended, and :meth:`close` at the end (``with`` does it).
    """

    def __init__(
        self,
        redactor: Redactor,
        *,
        add_mask: bool,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
        stderr_fd: int = 2,
        hold: float = FD_HOLD_SECONDS,
    ) -> None:
        try:
            master, slave = os.openpty()
        except (OSError, AttributeError) as exc:  # no /dev/ptmx (a container), or not POSIX
            why = getattr(exc, "strerror", None) or str(exc)
            raise CIError(f"cannot open a pseudo-terminal for the command: {why}") from None
        self.master = master
        self.slave: int | None = slave
        self.stdin_fd = stdin_fd
        self.out_fd = stdout_fd
        self.hold = hold
        self.filter = MaskingFilter(redactor, add_mask=add_mask, label="terminal")
        self.outer = _outer_terminal((stdin_fd, stdout_fd, stderr_fd))
        self.size = copy_window_size(self.outer, slave)
        # Typed input is forwarded only from a terminal; other input is the command's own stdin.
        self.forwards_input = _isatty(stdin_fd)
        self.errors: list[str] = []
        self.output_closed = False
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._lock = threading.Lock()  # the master is closed once, not under a thread using it
        self._input: threading.Thread | None = None
        self._saved: list | None = None  # our terminal's modes while it is raw

    # -- starting the command ------------------------------------------------------------------

    def popen_kwargs(self) -> dict[str, object]:
        """What ``subprocess.Popen`` needs: the terminal as stdout and stderr (and stdin when
        input is forwarded), a new session, and the terminal made its controlling terminal."""
        assert self.slave is not None
        return {
            "stdin": self.slave if self.forwards_input else None,
            "stdout": self.slave,
            "stderr": self.slave,
            "start_new_session": True,
            "preexec_fn": _take_terminal,
        }

    def started(self) -> None:
        """The command runs: close our copy of its side, so that reading ours ends (EIO) once
        the command and every descendant that holds the terminal have closed it."""
        if self.slave is not None:
            os.close(self.slave)
            self.slave = None

    def foreground_group(self) -> int | None:
        """The process group the command's terminal sends its signals to (the command's, or
        the job a shell in it runs in front), or None once the terminal is gone."""
        try:
            return os.tcgetpgrp(self.master)
        except OSError:
            return None

    def resize(self) -> None:
        """Copy redactor's terminal size to the command's (on SIGWINCH); the kernel then sends
        the command's foreground group a SIGWINCH of its own."""
        if self.outer is None:
            return
        try:
            self.size = copy_window_size(self.outer, self.master)
        except OSError:  # the terminal is gone
            pass

    @contextmanager
    def raw_input(self) -> Iterator[None]:
        """Redactor's own terminal in raw mode while input is forwarded, restored on the way out.

        Raw: every key goes to the command's terminal as typed (its line editing, echo, Ctrl-C
        and Ctrl-Z are the command's terminal's business now, as in ``script`` or ``ssh -t``).
        Only when redactor is in its terminal's foreground: a background job that changed the
        terminal's modes would be stopped by SIGTTOU.
        """
        if not self.forwards_input or not _in_foreground(self.stdin_fd):
            yield
            return
        import termios

        try:
            saved = termios.tcgetattr(self.stdin_fd)
            self._raw()
        except termios.error:
            yield
            return
        self._saved = saved
        try:
            yield
        finally:
            self._saved = None
            self._restore(saved)

    def _raw(self) -> None:
        import termios
        import tty

        tty.setraw(self.stdin_fd, termios.TCSANOW)

    def _restore(self, saved: list) -> None:
        import termios

        try:
            # TCSADRAIN: what was written in raw mode goes out first, then the modes change.
            termios.tcsetattr(self.stdin_fd, termios.TCSADRAIN, saved)
        except termios.error:  # the terminal is gone: nothing to restore
            pass

    def suspend(self) -> None:
        """SIGTSTP (a ``kill -TSTP``, or Ctrl-Z when input is not forwarded): give our terminal
        back in the modes it had, stop as the default action would, and on SIGCONT go on."""
        import signal

        saved = self._saved
        if saved is not None:
            self._restore(saved)
        os.kill(os.getpid(), signal.SIGSTOP)
        self.resume()

    def resume(self) -> None:
        """SIGCONT: raw mode again if we are in the foreground (a shell puts its own modes back
        when a job stops, and ``fg`` does not restore the job's)."""
        if self._saved is None or not _in_foreground(self.stdin_fd):
            return
        import termios

        try:
            self._raw()
        except termios.error:
            pass

    # -- the threads ---------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        """Start forwarding input (if any) and the output thread; returns the output thread,
        which ends when everything the command's terminal received has been written."""
        if self.forwards_input:
            self._input = threading.Thread(
                target=self._forward_input, name="redactor-pty-input", daemon=True
            )
            self._input.start()
        thread = threading.Thread(target=self._pump_output, name="redactor-pty-output", daemon=True)
        thread.start()
        return thread

    def _pump_output(self) -> None:
        """Terminal output -> filter -> our stdout; a held tail goes out after ``hold`` seconds
        of silence; ends at EIO (no process holds the command's side any more)."""
        filt, master = self.filter, self.master
        try:
            while True:
                if filt.pending:
                    ready, _, _ = select.select([master], [], [], self.hold)
                    if not ready:
                        write_all(self.out_fd, filt.release())
                        continue
                data, ended = _read_waiting(master)
                if data:
                    write_all(self.out_fd, filt.feed(data))
                if ended:
                    break
            write_all(self.out_fd, filt.flush())
        except OutputClosed:
            # Our reader went away: hang up the command's terminal, as closing a terminal
            # window does (the command gets SIGHUP, then EIO on its writes).
            self.output_closed = True
            self.close()
        except OSError as exc:
            # Our terminal hung up (EIO), or another error: nothing more can be shown, so the
            # command's terminal is hung up too, as `redactor run` closes a command's pipe.
            self.errors.append(f"cannot copy the command's terminal: {exc.strerror or exc}")
            self.close()

    def _forward_input(self) -> None:
        """Our terminal's bytes -> the command's terminal, until either end goes or we stop."""
        src, wake = self.stdin_fd, self._wake_r
        while True:
            try:
                ready, _, _ = select.select([src, wake], [], [])
            except (OSError, ValueError):
                return
            if wake in ready:
                return
            try:
                data = os.read(src, 4096)
            except OSError:  # EIO: our terminal hung up
                return
            if not data:
                return
            with self._lock:
                if self._closed:
                    return
                master = self.master
            try:
                write_all(master, data)
            except (OSError, CIError):
                return

    def stop_input(self, timeout: float = 1.0) -> None:
        """Stop forwarding input (the command has ended): keys typed from now on are for
        whatever reads redactor's terminal next, not swallowed by this thread."""
        if self._input is None:
            return
        with self._lock:
            if self._closed:  # close() has woken it already (and the wake pipe is gone)
                return
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        self._input.join(timeout)

    def close(self) -> None:
        """Close the terminal (idempotent). Closing the controller side hangs the terminal up."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            fds = [self.master, self._wake_r, self._wake_w]
            if self.slave is not None:
                fds.append(self.slave)
                self.slave = None
        if self._input is not None and self._input.is_alive():
            # The input thread still waits on the wake pipe: wake it before closing.
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
            self._input.join(1.0)
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> PtySession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_waiting(master: int) -> tuple[bytes, bool]:
    """One blocking read, then whatever else is already waiting (up to ``_BATCH`` bytes):
    ``(data, ended)``, ``ended`` once no process holds the command's side any more (EIO on
    Linux, end of file on the BSDs)."""
    pieces: list[bytes] = []
    size = 0
    while True:
        try:
            data = os.read(master, _READ_SIZE)
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b"".join(pieces), True
            raise
        if not data:
            return b"".join(pieces), True
        pieces.append(data)
        size += len(data)
        if size >= _BATCH or not select.select([master], [], [], 0)[0]:
            return (pieces[0] if len(pieces) == 1 else b"".join(pieces)), False


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _in_foreground(fd: int) -> bool:
    """Whether this process's group is the foreground group of the terminal ``fd``."""
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
