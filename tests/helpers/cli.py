"""Running the ``redactor`` command and reading what it writes."""

from __future__ import annotations

import os
import select
import sys
import textwrap
import time

REDACTOR = [sys.executable, "-m", "redactor"]
TIMEOUT = 60  # generous upper bounds for a loaded 2-core CI machine, never timing assertions


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def read_until(fd: int, marker: bytes, timeout: float = TIMEOUT) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while marker not in buf:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"only {buf!r} arrived"
        chunk = os.read(fd, 65536)
        assert chunk, f"EOF after {buf!r}"
        buf += chunk
    return buf
