"""`redactor run --pty` benchmark: what a pseudo-terminal costs against the pipes of `redactor run`.

    python benchmarks/bench_run_pty.py            # 50 MB of log lines, best of three
    python benchmarks/bench_run_pty.py --quick    # 5 MB

A command (this interpreter) writes log lines, one in 1,000 holding the secret, to its stdout,
which is, in turn: a file (the floor); a bare pseudo-terminal whose controller side a small relay
copies to a file with no redaction (what the terminal itself costs); `redactor run` (pipes); and
`redactor run --pty`, stdin /dev/null, output to a file. Best of three wall-clock runs each,
start-up included; the redacted outputs are checked to hold no secret.

The machines are shared and noisy: read the ratios, which are measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MB = 1_000_000
REDACTOR = [sys.executable, "-m", "redactor"]
SECRET = "hunter2-Sup3r-Secret-bench"

CHILD = """
import os, sys
size = int(sys.argv[1])
s = os.environ["APP_TOKEN"]
line = "2026-12-01T00:00:00Z worker job step upload artifact module resolved in 12 ms ok\\n"
block = (line * 999 + "token=" + s + "\\n").encode()
w = sys.stdout.buffer
for _ in range(max(1, size // len(block))):
    w.write(block)
w.flush()
"""

# The relay: the command on a bare pseudo-terminal, the controller side copied to stdout as read.
RELAY = """
import errno, os, subprocess, sys
m, s = os.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=s, stderr=s)
os.close(s)
while True:
    try:
        d = os.read(m, 65536)
    except OSError as e:
        if e.errno != errno.EIO:
            raise
        break
    if not d:
        break
    os.write(1, d)
sys.exit(p.wait())
"""


def best_of(runs: int, argv: list[str], out: Path, env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(runs):
        with open(out, "wb") as sink:
            start = time.perf_counter()
            subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=sink, env=env, check=True)
            best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 MB instead of 50 MB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    size = 5 * MB if args.quick else 50 * MB
    env = {**os.environ, "APP_TOKEN": SECRET, "REDACTOR_DISCOVER": "0"}
    child = [sys.executable, "-c", CHILD, str(size)]
    run = [*REDACTOR, "run", "--no-config", "--secret-env", "APP_TOKEN"]
    cases = {
        "file": child,
        "bare pty": [sys.executable, "-c", RELAY, *child],
        "redactor run": [*run, "--", *child],
        "redactor run --pty": [*run, "--pty", "--", *child],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    written = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, command in cases.items():
            out = Path(tmp) / "out.bin"
            times[name] = best_of(args.runs, command, out, env)
            data = out.read_bytes()
            if name == "file":
                written = len(data)
            if name.startswith("redactor"):
                assert SECRET.encode() not in data, f"{name} let the secret through"
                assert b"token=[REDACTED]" in data
    print(f"{written / MB:.1f} MB of log lines, best of {args.runs} (start-up included)")
    print(f"{'stdout':<22}{'seconds':>9}{'MB/s':>9}{'x run':>8}")
    for name, seconds in times.items():
        ratio = seconds / times["redactor run"]
        print(f"{name:<22}{seconds:>9.2f}{written / MB / seconds:>9.1f}{ratio:>8.2f}")
    result = {
        "bytes": written,
        "runs": args.runs,
        "seconds": times,
        "pty_over_pipes": times["redactor run --pty"] / times["redactor run"],
        "pty_over_bare_pty": times["redactor run --pty"] / times["bare pty"],
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
    }
    path = RESULTS / ("bench_run_pty_quick.json" if args.quick else "bench_run_pty.json")
    path.write_text(json.dumps(result, indent=1))
    print(f"written to {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
