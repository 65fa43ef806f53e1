"""Real ipykernel kernels for the tests: a private kernelspec, start and stop, and a client wrapper."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path


def strings(value, out):
    """Every string (and bytes, decoded) anywhere in a message."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out.append(bytes(value).decode("utf-8", "replace"))
    elif isinstance(value, dict):
        for k, v in value.items():
            strings(k, out)
            strings(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            strings(v, out)
    return out


def kernelspec(tmp: Path) -> Path:
    """A kernelspec for this interpreter, so a python3 kernelspec installed elsewhere cannot interfere."""
    spec = tmp / "share" / "jupyter" / "kernels" / "redactor-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "t", "language": "python"})
    )
    return tmp / "share" / "jupyter"


class Kernel:
    def __init__(self, km, kc, log: Path, check: Callable[[list], None] | None = None):
        self.km, self.kc, self.log = km, kc, log
        self.check = check or (lambda msgs: None)  # asserts every message is clean

    def run(self, code, *, stdin=None, timeout=60, user_expressions=None):
        """Execute ``code``; returns (iopub messages, execute_reply, stdin messages)."""
        iopub, stdin_msgs = [], []

        def on_stdin(msg):
            stdin_msgs.append(msg)
            self.kc.input(stdin(msg) if stdin else "")

        reply = self.kc.execute_interactive(
            textwrap.dedent(code),
            output_hook=iopub.append,
            stdin_hook=on_stdin,
            allow_stdin=stdin is not None,
            timeout=timeout,
            user_expressions=user_expressions or {},
        )
        self.check([*iopub, reply, *stdin_msgs])
        return iopub, reply, stdin_msgs

    def drain(self, quiet=1.5, limit=10.0):
        """iopub messages that arrive after a cell finished (threads)."""
        out, end = [], time.monotonic() + limit
        while time.monotonic() < end:
            try:
                out.append(self.kc.get_iopub_msg(timeout=quiet))
            except Exception:
                break
        self.check(out)
        return out


def start(tmp: Path, env: dict, extra: list[str]):
    from jupyter_client.manager import start_new_kernel

    log = tmp / "kernel-output.log"
    fh = open(log, "wb")  # the kernel process writes to it until shutdown
    km, kc = start_new_kernel(
        kernel_name="redactor-test",
        startup_timeout=120,
        extra_arguments=extra,
        env=env,
        stdout=fh,
        stderr=fh,
    )
    fh.close()
    return km, kc, log


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)
