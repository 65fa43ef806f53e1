"""`redactor filter` benchmark: throughput against `cat` and `grep -F -f`, and line latency.

    python benchmarks/bench_filter.py            # 50 MB log, 1,000 secrets, 50 latency lines
    python benchmarks/bench_filter.py --quick    # 5 MB log, 1,000 secrets, 20 latency lines

Throughput: the same log file on stdin, stdout to a file (GNU grep stops early when its output is
/dev/null), best of three wall-clock runs per command, start-up included. The filter's secrets
come from a dotenv file through the real CLI, with every default encoding; `grep -F -f` gets the
same patterns (every byte form of every secret, one per line, LC_ALL=C). `cat` is the floor of a
pipe copy; grep only reports matching lines, so it does less work than a redactor, but it is the
usual fast multi-pattern scanner. The filter's output is checked against the engine in process.

Latency: a slow producer (this script) writes one line into the filter's stdin, waits until that
line comes out of the filter's stdout, then pauses before the next; the delay per line is
reported as median and p95, with `cat` in the same pipe setup as the baseline.

The machines are shared and noisy: read the ratios, which are measured in one run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MB = 1_000_000
REDACTOR = [sys.executable, "-m", "redactor"]


def make_secrets(n: int, seed: int = 7) -> dict[str, str]:
    rnd = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return {
        f"SECRET_{i:04d}": "".join(rnd.choice(alphabet) for _ in range(rnd.randint(24, 40)))
        for i in range(n)
    }


# Workflow commands that are not add-mask: a GitHub Actions log with step debugging on, or an
# Azure Pipelines log, has one on every other line; the filter passes them as text.
COMMANDS = (
    "::group::Run step",
    "::debug::evaluating condition",
    "::endgroup::",
    "##[section]Starting",
)


def make_log(
    size: int, secrets: list[str], seed: int = 1, commands: bool = False
) -> tuple[bytes, int]:
    """A CI-like log of ``size`` bytes; about one line in 500 leaks a secret in some encoding.
    ``commands``: every other line is a workflow command other than add-mask."""
    rnd = random.Random(seed)
    words = (
        "compiling linking test passed failed warning GET POST 200 404 cache hit miss retry "
        "worker job step upload download artifact module package resolved in ms s ok done"
    ).split()
    disguises = [
        lambda s: s,
        lambda s: base64.b64encode(s.encode()).decode(),
        lambda s: json.dumps({"token": s}),
        lambda s: quote(s, safe=""),
        lambda s: s.encode().hex(),
    ]
    lines: list[str] = []
    total = leaks = 0
    i = 0
    while total < size:
        i += 1
        stamp = f"2026-11-28T10:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
        body = " ".join(rnd.choice(words) for _ in range(rnd.randint(4, 14)))
        if i % 500 == 0:
            body += " secret=" + rnd.choice(disguises)(rnd.choice(secrets))
            leaks += 1
        line = f"{stamp} [{rnd.choice(('INFO', 'DEBUG', 'WARN'))}] {body}\n"
        if commands and i % 2:
            line = f"{COMMANDS[i % 4]} {body}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size], leaks


def compile_bytecode(root: Path) -> None:
    """Write the bytecode of ``root``'s redactor package, as ``pip install`` does.

    A checkout run from source compiles every module it imports in each process where the
    environment sets PYTHONDONTWRITEBYTECODE (this machine does) or the tree is read-only: 45 ms
    of ``redactor filter``'s 0.27 s start-up, which an installed package never pays (0.23 s). The
    trees compared are all compiled, so that start-up is measured as users run it.
    """
    package = root / "redactor"
    if package.is_dir():
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def best_of(runs: int, argv: list[str], stdin: Path, stdout: Path, env=None) -> float:
    best = float("inf")
    for _ in range(runs):
        with stdin.open("rb") as fin, stdout.open("wb") as fout:
            t0 = time.perf_counter()
            proc = subprocess.run(argv, stdin=fin, stdout=fout, env=env)
            elapsed = time.perf_counter() - t0
        if proc.returncode not in (0, 1):  # grep exits 1 when nothing matched
            raise SystemExit(f"{argv[0]} failed with {proc.returncode}")
        best = min(best, elapsed)
    return best


def line_latency(argv: list[str], lines: int, pause: float) -> list[float]:
    """Seconds from writing a line into ``argv``'s stdin to reading it back from its stdout."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    w, r = proc.stdin.fileno(), proc.stdout.fileno()
    try:
        # Wait for start-up (building the automaton) before measuring.
        os.write(w, b"warm-up line\n")
        _read_exactly(r, len(b"warm-up line\n"))
        delays = []
        for i in range(lines):
            line = f"step {i:04d}: compiled module_{i}.py, 3 warnings\n".encode()
            t0 = time.perf_counter()
            os.write(w, line)
            got = _read_exactly(r, len(line))
            delays.append(time.perf_counter() - t0)
            assert got == line, (got, line)
            time.sleep(pause)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
    return delays


def _read_exactly(fd: int, size: int, timeout: float = 30.0) -> bytes:
    buf = b""
    while len(buf) < size:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise SystemExit(f"no output within {timeout}s (got {buf!r})")
        buf += os.read(fd, size - len(buf))
    return buf


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 MB log, 20 latency lines")
    ap.add_argument("--secrets", type=int, default=1000)
    args = ap.parse_args(argv)
    size = 5 * MB if args.quick else 50 * MB
    latency_lines = 20 if args.quick else 50
    runs = 3

    from redactor.engine.encodings import SecretValue, default_encodings, forms_of, get_encoding
    from redactor.sinks.ci import CHUNK_SIZE, MaskingFilter
    from redactor.sources.load import SourceConfig, build_redactor

    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-filter-") as tmp_name:
        tmp = Path(tmp_name)
        secrets = make_secrets(args.secrets)
        env_file = tmp / "secrets.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
        log, leaks = make_log(size, list(secrets.values()))
        log_path = tmp / "ci.log"
        log_path.write_bytes(log)
        commands_log, _ = make_log(size, list(secrets.values()), commands=True)
        commands_path = tmp / "commands.log"
        commands_path.write_bytes(commands_log)

        encodings = [get_encoding(n) for n in default_encodings()]
        forms = set()
        for value in secrets.values():
            forms |= {f for f in forms_of(SecretValue.of(value), encodings) if len(f) >= 6}
        patterns = sorted(f.encode() for f in forms if "\n" not in f and "\r" not in f)
        pats_path = tmp / "patterns.txt"
        pats_path.write_bytes(b"\n".join(patterns) + b"\n")

        filter_argv = [*REDACTOR, "filter", "--no-config", "--secrets-file", str(env_file)]
        c_env = {**os.environ, "LC_ALL": "C"}
        out = tmp / "out"
        empty = tmp / "empty"
        empty.write_bytes(b"")

        n_lines = log.count(b"\n")
        print(
            f"log: {size / MB:.0f} MB, {n_lines} lines, {leaks} leaked secrets; "
            f"{len(secrets)} secrets -> {len(forms)} forms ({len(patterns)} for grep); "
            f"encodings: {', '.join(default_encodings())}"
        )
        timings: dict[str, float | None] = {}
        timings["cat"] = best_of(runs, ["cat"], log_path, out) if shutil.which("cat") else None
        timings["grep"] = (
            best_of(runs, ["grep", "-F", "-f", str(pats_path)], log_path, out, env=c_env)
            if shutil.which("grep")
            else None
        )
        timings["filter_startup"] = best_of(runs, filter_argv, empty, out)
        timings["filter"] = best_of(runs, filter_argv, log_path, out)
        filtered = out.read_bytes()
        timings["filter_commands"] = best_of(runs, filter_argv, commands_path, out)
        # The engine alone, in this process, automaton already built: what the pump adds on top.
        engine = build_redactor(SourceConfig(secrets_files=[env_file]))
        engine.matcher(binary=True)
        t0 = time.perf_counter()
        expected = engine.redact_bytes(log)
        timings["engine_in_process"] = time.perf_counter() - t0
        pump_filter = MaskingFilter(engine)
        t0 = time.perf_counter()
        pumped = [pump_filter.feed(log[i : i + CHUNK_SIZE]) for i in range(0, len(log), CHUNK_SIZE)]
        pumped.append(pump_filter.flush())
        timings["masking_filter_in_process"] = time.perf_counter() - t0
        assert b"".join(pumped) == expected
        correct = filtered == expected
        replaced = filtered.count(b"[REDACTED]")

        lat = {
            "filter": line_latency(filter_argv, latency_lines, 0.02),
            "cat": line_latency(["cat"], latency_lines, 0.02) if shutil.which("cat") else None,
        }

    def mbs(seconds: float | None) -> float | None:
        return size / MB / seconds if seconds else None

    net = timings["filter"] - timings["filter_startup"]
    row = {
        "size_mb": size / MB,
        "secrets": len(secrets),
        "forms": len(forms),
        "grep_patterns": len(patterns),
        "leaks_planted": leaks,
        "regions_replaced": replaced,
        "output_equals_engine": correct,
        "seconds": timings,
        "mb_s": {
            "cat": mbs(timings["cat"]),
            "grep": mbs(timings["grep"]),
            "filter": mbs(timings["filter"]),
            "filter_net_of_startup": mbs(net),
            "filter_commands": mbs(timings["filter_commands"]),
            "engine_in_process": mbs(timings["engine_in_process"]),
            "masking_filter_in_process": mbs(timings["masking_filter_in_process"]),
        },
        "latency_ms": {
            name: (
                {
                    "median": statistics.median(v) * 1e3,
                    "p95": p95(v) * 1e3,
                    "max": max(v) * 1e3,
                    "lines": len(v),
                }
                if v
                else None
            )
            for name, v in lat.items()
        },
    }
    row["ratios"] = {
        # target >= 0.5: a log of workflow commands is filtered at least half as fast
        "commands_log_vs_plain_log": timings["filter"] / timings["filter_commands"],
        "filter_vs_cat_throughput": (mbs(timings["filter"]) / row["mb_s"]["cat"])
        if timings["cat"]
        else None,
        "filter_vs_grep_throughput": (mbs(timings["filter"]) / row["mb_s"]["grep"])
        if timings["grep"]
        else None,
        "masking_filter_vs_engine_throughput": (
            timings["engine_in_process"] / timings["masking_filter_in_process"]
        ),
        "filter_vs_cat_median_latency": (
            row["latency_ms"]["filter"]["median"] / row["latency_ms"]["cat"]["median"]
        )
        if lat["cat"]
        else None,
    }

    def f(v, fmt="{:.1f}"):
        return "n/a" if v is None else fmt.format(v)

    print()
    print("| command | seconds (best of 3) | MB/s | filter is ... x as fast |")
    print("|---|---|---|---|")
    for name in ("cat", "grep"):
        label = "cat" if name == "cat" else "grep -F -f patterns (LC_ALL=C)"
        ratio = row["ratios"][f"filter_vs_{name}_throughput"]
        print(
            f"| {label} | {f(timings[name], '{:.3f}')} | {f(row['mb_s'][name])} | {f(ratio, '{:.3f}')} |"
        )
    print(
        f"| redactor filter | {timings['filter']:.3f} | {row['mb_s']['filter']:.1f} | 1 |\n"
        f"| (start-up: empty input) | {timings['filter_startup']:.3f} | | |\n"
        f"| redactor filter net of start-up | {net:.3f} | {f(row['mb_s']['filter_net_of_startup'])} | |\n"
        f"| redactor filter, a command every other line | {timings['filter_commands']:.3f} "
        f"| {f(row['mb_s']['filter_commands'])} | "
        f"{row['ratios']['commands_log_vs_plain_log']:.2f} of the plain log's rate (target >= 0.5) |"
    )
    print(
        f"| engine.redact_bytes(whole log), in process | {timings['engine_in_process']:.3f} "
        f"| {row['mb_s']['engine_in_process']:.1f} | |\n"
        f"| MaskingFilter, {CHUNK_SIZE // 1024} KiB chunks, in process | {timings['masking_filter_in_process']:.3f} "
        f"| {row['mb_s']['masking_filter_in_process']:.1f} | "
        f"{row['ratios']['masking_filter_vs_engine_throughput']:.2f} of the engine's |"
    )
    print()
    print(
        f"output == engine.redact_bytes(log): {correct}; regions replaced: {replaced} "
        f"(planted: {leaks})"
    )
    print()
    print(f"line latency through a pipe, slow producer ({latency_lines} lines, 20 ms apart):")
    print("| through | median ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for name, label in (("cat", "cat"), ("filter", "redactor filter (1,000 secrets)")):
        s = row["latency_ms"][name]
        if s:
            print(f"| {label} | {s['median']:.3f} | {s['p95']:.3f} | {s['max']:.3f} |")
    print(
        f"\nfilter / cat median latency: {f(row['ratios']['filter_vs_cat_median_latency'], '{:.1f}x')}"
    )
    result = {
        "benchmark": "filter",
        "quick": args.quick,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        **row,
    }
    path = RESULTS / ("bench_filter_quick.json" if args.quick else "bench_filter.json")
    path.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {path.relative_to(HERE.parent)}")
    return 0 if correct else 1


if __name__ == "__main__":
    raise SystemExit(main())
