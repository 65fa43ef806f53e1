"""Benchmark `redactor scrub` on a folder of notebooks: one process against every core.

Default: 1,000 notebooks of about 1 MB each (stream logs, HTML tables, JSON, PNG images, an
ANSI traceback), 1,000 secrets, a quarter of the notebooks holding a few of them (one inside a
PNG's bytes). Runs the real command (`redactor scrub -q --secrets-file ...`) as a subprocess on two
identical copies of the folder, with `--jobs 1` and with `--jobs N` (N = usable cores), plus two
baselines measured in the same run: reading every file and scanning its raw text with the engine
once (`Redactor.redact`, the lower bound for any scrubber), and `--check` on the scrubbed folder.

    python benchmarks/bench_scrub.py [--quick] [--files N] [--size-kb K] [--secrets S]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import string
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REDACTOR = Path(sys.executable).parent / "redactor"


def png(payload: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + bytes(range(64)) for _ in range(64))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + payload)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_secrets(n: int, rng: random.Random) -> list[str]:
    alphabet = string.ascii_letters + string.digits
    return [f"tok_{''.join(rng.choices(alphabet, k=28))}" for _ in range(n)]


def make_notebook(size: int, rng: random.Random, planted: list[str]) -> str:
    """About ``size`` bytes of nbformat JSON; each planted secret lands in a different field."""
    words = ["alpha", "beta", "gamma", "delta", "rows", "loaded", "epoch", "loss=0.123", "ok"]
    cells = []
    total = 0
    i = 0
    plant = list(planted)
    noise = base64.b64encode(rng.randbytes(3000)).decode()
    while total < size:
        i += 1
        log = "".join(
            f"[{i:04d}:{j:03d}] {' '.join(rng.choices(words, k=8))}\n" for j in range(120)
        )
        table = "".join(
            f"<tr><td>{j}</td><td>{rng.random():.6f}</td><td>{rng.choice(words)}</td></tr>"
            for j in range(60)
        )
        image = png(noise.encode()[: rng.randint(500, 3000)])
        payload = {"rows": [{"id": j, "name": rng.choice(words)} for j in range(30)]}
        if plant:
            where, secret = i % 4, plant.pop()
            if where == 0:
                log += f"connecting with {secret}\n"
            elif where == 1:
                table += f"<tr><td>token</td><td>{secret}</td></tr>"
            elif where == 2:
                image = png(f"key={secret}".encode())
            else:
                payload["auth"] = {"Authorization": f"Bearer {secret}"}
        outputs = [
            {"name": "stdout", "output_type": "stream", "text": log.splitlines(True)},
            {
                "data": {"text/html": [f"<table>{table}</table>"], "text/plain": [f"<table {i}>"]},
                "execution_count": i,
                "metadata": {},
                "output_type": "execute_result",
            },
            {
                "data": {
                    "image/png": base64.b64encode(image).decode(),
                    "application/json": payload,
                    "text/plain": ["<Figure size 640x480 with 1 Axes>"],
                },
                "metadata": {},
                "output_type": "display_data",
            },
        ]
        cell = {
            "cell_type": "code",
            "execution_count": i,
            "id": f"cell-{i}",
            "metadata": {},
            "outputs": outputs,
            "source": [f"step_{i}()\n", "show()"],
        }
        cells.append(cell)
        total += len(json.dumps(cell))
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(folders: list[Path], files: int, size: int, secrets: list[str], seed: int) -> int:
    rng = random.Random(seed)
    for folder in folders:
        folder.mkdir(parents=True)
    total = 0
    for n in range(files):
        planted = rng.sample(secrets, 4) if n % 4 == 0 else []
        text = make_notebook(size, rng, planted).encode()
        total += len(text)
        for folder in folders:
            (folder / f"nb{n:04d}.ipynb").write_bytes(text)
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall-clock seconds, CPU seconds of the process and its workers, and the result."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, _children_cpu() - cpu, proc


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.glob("*.ipynb")):
        h.update(p.read_bytes())
    return h.hexdigest()


def engine_scan(folder: Path, secrets: list[str]) -> tuple[float, float, int]:
    """Read every file and scan its raw text once: the floor for any scrubber."""
    from redactor import Redactor

    r = Redactor()
    for i, s in enumerate(secrets):
        r.add(s, f"S{i:04d}")
    r.redact("warm up the automaton")
    start = time.perf_counter()
    cpu = time.process_time()
    found = 0
    for p in sorted(folder.glob("*.ipynb")):
        text = p.read_text(encoding="utf-8")
        found += r.redact(text) != text
    return time.perf_counter() - start, time.process_time() - cpu, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 notebooks of 100 kB, 100 secrets")
    parser.add_argument("--files", type=int)
    parser.add_argument("--size-kb", type=int)
    parser.add_argument("--secrets", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    files = args.files or (40 if args.quick else 1000)
    size = (args.size_kb or (100 if args.quick else 1000)) * 1000
    n_secrets = args.secrets or (100 if args.quick else 1000)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1

    rng = random.Random(args.seed)
    secrets = make_secrets(n_secrets, rng)
    with tempfile.TemporaryDirectory(prefix="bench-scrub-") as tmp:
        base = Path(tmp)
        env_file = base / "secrets.env"
        env_file.write_text("".join(f"S{i:04d}={s}\n" for i, s in enumerate(secrets)))
        one, many = base / "one", base / "many"
        print(f"generating {files} notebooks of ~{size // 1000} kB ({n_secrets} secrets)...")
        t0 = time.perf_counter()
        total = generate([one, many], files, size, secrets, args.seed)
        mb = total / 1e6
        print(f"  {mb:.1f} MB per folder in {time.perf_counter() - t0:.1f} s")

        load_before = os.getloadavg()[0]
        scan_s, scan_cpu, leaky = engine_scan(one, secrets)
        common = [str(REDACTOR), "scrub", "-q", "--no-progress", "--no-config"]
        common += ["--secrets-file", str(env_file)]
        t1, c1, p1 = timed([*common, "--jobs", "1", "one"], base)
        tn, cn, pn = timed([*common, "--jobs", str(cores), "many"], base)
        tc, cc, pc = timed([*common, "--check", "many"], base)
        load_after = os.getloadavg()[0]
        for name, proc, want in (("jobs=1", p1, 1), (f"jobs={cores}", pn, 1), ("check", pc, 0)):
            if proc.returncode != want:
                print(f"{name}: exit {proc.returncode}\n{proc.stderr}", file=sys.stderr)
                return 1
        same = digest(one) == digest(many)
        _, _, left = engine_scan(many, secrets)
        if not same or left:
            print(f"outputs differ ({same=}) or secrets left ({left})", file=sys.stderr)
            return 1
        shutil.rmtree(one)

    rows = [
        ("engine scan of raw text (1 process)", scan_s, scan_cpu),
        ("redactor scrub --jobs 1", t1, c1),
        (f"redactor scrub --jobs {cores}", tn, cn),
        ("redactor scrub --check (scrubbed folder, auto jobs)", tc, cc),
    ]
    print()
    print(f"{'run':<52} {'seconds':>8} {'MB/s':>8} {'files/s':>8} {'CPU s':>8} {'MB/CPU s':>9}")
    for name, secs, cpu in rows:
        print(
            f"{name:<52} {secs:>8.2f} {mb / secs:>8.1f} {files / secs:>8.1f}"
            f" {cpu:>8.2f} {mb / cpu:>9.1f}"
        )
    print()
    speedup = t1 / tn
    print(f"speed-up with {cores} processes over 1 (wall clock): {speedup:.2f}x")
    print(f"CPU cost of {cores} processes over 1:                {cn / c1:.2f}x")
    print(f"scrub (1 process) / engine scan of raw text:      {t1 / scan_s:.2f}x the time")
    print(f"notebooks holding secrets: {leaky} of {files}; identical results, none left")
    print(f"load average: {load_before:.2f} before, {load_after:.2f} after (other work skews)")

    results = {
        "benchmark": "scrub",
        "quick": args.quick,
        "files": files,
        "megabytes": round(mb, 1),
        "secrets": n_secrets,
        "notebooks_with_secrets": leaky,
        "cores": cores,
        "seconds": {name: round(secs, 3) for name, secs, _ in rows},
        "cpu_seconds": {name: round(cpu, 3) for name, _, cpu in rows},
        "mb_per_s": {name: round(mb / secs, 1) for name, secs, _ in rows},
        "speedup_parallel": round(speedup, 2),
        "cpu_ratio_parallel": round(cn / c1, 2),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "scrub_vs_engine_scan": round(t1 / scan_s, 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    name = "bench_scrub_quick.json" if args.quick else "bench_scrub.json"
    (out / name).write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
