"""Running the ``redactor`` command and reading what it writes: the one runner every test uses."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

# `python -m redactor`: this interpreter, whatever is on PATH.
REDACTOR = [sys.executable, "-m", "redactor"]
# The installed console script (tests that the entry point works, as users and git call it).
SCRIPT = str(Path(sys.executable).parent / "redactor")
REDACTOR_SCRIPT = [SCRIPT]
TIMEOUT = 60  # generous upper bounds for a loaded 2-core CI machine, never timing assertions


def run_redactor(
    *args: str | os.PathLike[str],
    input: bytes | str | None = None,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    text: bool = False,
    timeout: float = TIMEOUT,
    script: bool = False,
) -> subprocess.CompletedProcess:
    """``redactor ARGS...`` to completion, stdout and stderr captured (bytes unless ``text``).

    ``script=True`` runs the console script instead of ``python -m redactor``."""
    return subprocess.run(
        [*(REDACTOR_SCRIPT if script else REDACTOR), *map(str, args)],
        input=input,
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=text,
        timeout=timeout,
        check=False,
    )


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
