"""The pty machinery of ``redactor run --pty`` in process (:mod:`redactor.sinks.stdio.pty`), on
real pseudo-terminals: the output thread against any chunking, the window size without a
terminal, and the filter's release of a held tail after silence."""

from __future__ import annotations

import fcntl
import os
import struct
import termios
import threading
import time

import pytest
from helpers.cli import TIMEOUT
from hypothesis import given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.sinks.ci import MaskingFilter
from redactor.sinks.stdio.pty import DEFAULT_SIZE, PtySession, copy_window_size, window_size

SECRET = "hunter2-Sup3r-Secret"
PIECES = st.sampled_from(["SECRET", "\r", "\x1b[32m", "\x1b[0m", " 42% ", "[###   ]", "x"])

try:
    _m, _s = os.openpty()
    os.close(_m)
    os.close(_s)
except OSError as exc:  # a container without /dev/ptmx
    pytest.skip(f"no pseudo-terminal: {exc}", allow_module_level=True)


def _redactor() -> Redactor:
    r = Redactor()
    r.add(SECRET, "APP_TOKEN")
    return r


# The same property in-process, with many more chunkings: the session's output thread on a real
# pseudo-terminal, the test writing the command's side itself and waiting after each write until
# the thread has read it, so that the thread sees exactly these chunks.


def _unread(fd: int) -> int:
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(PIECES, min_size=1, max_size=8), data=st.data())
def test_any_chunking_through_a_pty_session(parts: list[str], data) -> None:
    r = _redactor()
    full = ("".join(parts) + "SECRET").replace("SECRET", SECRET).encode()
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(full) - 1), max_size=10))))
    out_r, out_w = os.pipe()
    with open(os.devnull, "rb") as devnull:
        session = PtySession(r, add_mask=True, stdin_fd=devnull.fileno(), stdout_fd=out_w)
    slave = session.slave
    assert slave is not None
    # The command's side, as the command would open it: raw output (no \n translation here).
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    command_side = os.dup(slave)
    session.started()
    received = bytearray()
    reader = threading.Thread(target=lambda: _drain(out_r, received))
    reader.start()
    try:
        thread = session.start()
        for a, b in zip([0, *cuts], [*cuts, len(full)]):
            os.write(command_side, full[a:b])
            time.sleep(0.001)  # the kernel hands the bytes to the controller side asynchronously
            deadline = time.monotonic() + TIMEOUT
            while _unread(session.master) and time.monotonic() < deadline:
                time.sleep(0.0005)
        os.close(command_side)
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    finally:
        session.close()
        os.close(out_w)
        reader.join(TIMEOUT)
        os.close(out_r)
    assert bytes(received) == r.redact_bytes(full)


def _drain(fd: int, into: bytearray) -> None:
    while chunk := os.read(fd, 65536):
        into += chunk


def test_session_window_size_defaults_without_a_terminal() -> None:
    r = _redactor()
    with open(os.devnull, "rb") as devnull:
        with PtySession(
            r, add_mask=True, stdin_fd=devnull.fileno(), stdout_fd=devnull.fileno(),
            stderr_fd=devnull.fileno(),
        ) as session:  # fmt: skip
            assert session.outer is None
            assert not session.forwards_input
            assert window_size(session.master) == DEFAULT_SIZE
            session.resize()  # nothing to copy from: stays
            assert window_size(session.master) == DEFAULT_SIZE


def test_window_size_is_copied_from_a_terminal() -> None:
    outer_m, outer_s = os.openpty()
    inner_m, inner_s = os.openpty()
    try:
        fcntl.ioctl(outer_s, termios.TIOCSWINSZ, struct.pack("HHHH", 51, 171, 0, 0))
        assert copy_window_size(outer_s, inner_s) == (51, 171)
        assert window_size(inner_m) == (51, 171)
        # A terminal that reports 0x0 (a new pseudo-terminal) is no size to copy.
        fcntl.ioctl(outer_s, termios.TIOCSWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
        assert copy_window_size(outer_s, inner_s) == DEFAULT_SIZE
        with open(os.devnull, "rb") as devnull:
            assert window_size(devnull.fileno()) is None
    finally:
        for fd in (outer_m, outer_s, inner_m, inner_s):
            os.close(fd)


# -- MaskingFilter.release: the held tail after silence ---------------------------------------


def test_release_gives_the_held_tail_and_the_stream_goes_on() -> None:
    filt = MaskingFilter(_redactor())
    assert filt.feed(b"prompt hunt") == b"prompt "  # "hunt" may still become the secret
    assert filt.release() == b"hunt"
    assert filt.pending == 0
    assert filt.feed(b"\r\n" + SECRET.encode() + b"\n") == b"\r\n[REDACTED]\n"


def test_release_keeps_a_possible_add_mask_command() -> None:
    # Releasing "::add-ma" as text would let the value that follows through in clear.
    filt = MaskingFilter(_redactor())
    assert filt.feed(b"line\n::add-ma") == b"line\n"
    assert filt.release() == b""
    out = filt.feed(b"sk::late-value-123\nlate-value-123\n") + filt.flush()
    assert out == b"::add-mask::[REDACTED]\n[REDACTED]\n"
