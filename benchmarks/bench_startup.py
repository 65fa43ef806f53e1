"""`redactor filter` start-up: how long before the first byte comes out, per engine, at 10,000
secrets, and the peak memory of the whole run.

    python benchmarks/bench_startup.py                  # 10,000 secrets, 50 MB log, best of 3
    python benchmarks/bench_startup.py --secrets 1000 --size-mb 5 --runs 1
    python benchmarks/bench_startup.py --tree /tmp/old  # the same against another checkout

For each engine (`auto`, `ahocorasick`, and `hyperscan` when it imports) the real CLI runs as
`redactor filter --secrets-file secrets.env` (every default encoding) with the log file on stdin,
so that `auto` is told the whole size at once and goes to the fast engine from the start; stdout
is a pipe read by this script. Reported per engine: the time from spawning the process to the
first byte of output and to the end of output (best of N), and the peak resident set size of the
filter process (`ru_maxrss` from `os.wait4`, largest of N). The outputs of all engines are
checked to be identical.

Under `auto` the Hyperscan database is compiled in a background thread while the reference
engine answers, so the first byte waits for the reference automaton only; `--engine hyperscan`
compiles before its first byte, as before. `--tree` puts another checkout's package first on
PYTHONPATH (a `git archive` of an older commit), for before/after figures in one session.

Then the phases, each engine in a fresh process of its own (``--no-phases`` skips them): the
seconds to register the secrets (forms, windows, tables), to build the first call's
IndexMatcher (when the checkout has one), the reference automaton and the Hyperscan database,
each as process CPU time (what a loaded machine's wall clock hides) and wall time, and each
process's peak RSS (`ru_maxrss`) once its matcher is built.

The machines are shared and noisy: read the ratios, which are measured in one run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_filter import MB, RESULTS, compile_bytecode, make_log, make_secrets  # noqa: E402


def run_once(
    argv: list[str], stdin: Path, env: dict[str, str], cwd: Path, first_only: bool = False
) -> dict:
    """One filter run: seconds to the first byte and to the end, peak RSS (MB), output digest.
    With ``first_only`` the process is stopped once its first byte is out (no end, no digest)."""
    with stdin.open("rb") as src:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=src, stdout=subprocess.PIPE, env=env, cwd=cwd)
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        digest = hashlib.sha256()
        first = None
        while True:
            chunk = os.read(fd, 1 << 20)
            if first is None:
                first = time.perf_counter() - t0
                if first_only:
                    proc.terminate()
                    break
            if not chunk:
                break
            digest.update(chunk)
        total = time.perf_counter() - t0
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if first_only:
        return {
            "first_byte_s": first,
            "total_s": float("nan"),
            "max_rss_mb": float("nan"),
            "sha256": "-",
        }
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited with {proc.returncode}")
    return {
        "first_byte_s": first,
        "total_s": total,
        "max_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "sha256": digest.hexdigest(),
    }


# Run in a fresh interpreter per engine (the checkout's package first on PYTHONPATH): register
# the secrets of the env file given, build that engine's matcher, print the phases as JSON.
PHASES = r"""
import json, resource, sys, time
from redactor import Redactor
import redactor.engine.matchers as matchers

def now():
    return time.perf_counter(), time.process_time()

def since(t):
    wall, cpu = now()
    return {"wall_s": wall - t[0], "cpu_s": cpu - t[1]}

engine, path = sys.argv[1], sys.argv[2]
pairs = [line.split("=", 1) for line in open(path).read().splitlines()]
out = {}
r = Redactor(engine=engine)
t = now()
for name, value in pairs:
    r.add(value, name)
out["register"] = since(t)
out["patterns"] = r.pattern_count
snap = r._current()
if hasattr(snap, "_plan"):  # since issue 20's plan: the plan (shared by every engine) first
    t = now()
    matchers.IndexMatcher(snap._plan(True), True).hold_length(b"x")
    out["interim"] = since(t)
    out["literals"] = snap._plan(True).pattern_count
elif hasattr(matchers, "IndexMatcher"):
    table = snap._tables[1][: snap._counts[1]]
    t = now()
    matchers.IndexMatcher(table, True).hold_length(b"x")  # hold_length's sort included
    out["interim"] = since(t)
t = now()
r.matcher(binary=True)
out["build"] = since(t)
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def phases(engines: list[str], env_file: Path, env: dict[str, str], cwd: Path) -> dict:
    """Per engine, in a process of its own: register, interim build, the engine's build."""
    out = {}
    for engine in engines:
        if engine == "auto":
            continue  # auto builds what the other two do
        proc = subprocess.run(
            [sys.executable, "-c", PHASES, engine, str(env_file)],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        )
        out[engine] = json.loads(proc.stdout)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--secrets", type=int, default=10_000)
    ap.add_argument("--size-mb", type=float, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--pad-mb",
        type=float,
        default=0,
        help="extend the log with a hole to this size (zeros): a size that `auto` is told, "
        "large enough to cross its switch point (16 bytes per pattern byte: 196 MB at 10,000 "
        "secrets); then only the first byte is timed and the filter stopped",
    )
    ap.add_argument("--tree", type=Path, help="a checkout whose redactor package to run instead")
    ap.add_argument("--label", default=None, help="name of the results file (default: after/tree)")
    ap.add_argument("--no-phases", action="store_true", help="skip the per-phase breakdown")
    args = ap.parse_args(argv)

    from redactor.engine.matchers import hyperscan_available

    engines = ["auto", "ahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
    env = dict(os.environ)
    env.pop("REDACTOR_ENGINE", None)
    if args.tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(args.tree.resolve()), *filter(None, [env.get("PYTHONPATH")])]
        )
    # Start-up as installed: the tree's bytecode written, as pip does (see compile_bytecode).
    compile_bytecode(args.tree.resolve() if args.tree is not None else HERE.parent)
    where = subprocess.run(
        [sys.executable, "-c", "import redactor; print(redactor.__file__)"],
        env=env,
        cwd=tempfile.gettempdir(),  # not this checkout: the current directory comes first
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp_name:
        tmp = Path(tmp_name)
        secrets = make_secrets(args.secrets)
        env_file = tmp / "secrets.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
        log, leaks = make_log(int(args.size_mb * MB), list(secrets.values()))
        log_path = tmp / "ci.log"
        log_path.write_bytes(log)
        if args.pad_mb:
            os.truncate(log_path, int(args.pad_mb * MB))
        base = [sys.executable, "-m", "redactor", "filter", "--no-config"]
        print(
            f"redactor from {where}; {args.secrets} secrets, {len(log) / MB:.0f} MB log "
            f"({leaks} leaks), best of {args.runs}"
        )
        for engine in engines:
            runs = []
            for _ in range(args.runs):
                argv = [*base, "--secrets-file", str(env_file)]
                runs.append(
                    run_once(
                        argv, log_path, {**env, "REDACTOR_ENGINE": engine}, tmp, bool(args.pad_mb)
                    )
                )
            results[engine] = {
                "first_byte_s": min(r["first_byte_s"] for r in runs),
                "total_s": min(r["total_s"] for r in runs),
                "max_rss_mb": max(r["max_rss_mb"] for r in runs),
                "first_byte_all_s": [r["first_byte_s"] for r in runs],
                "total_all_s": [r["total_s"] for r in runs],
                "sha256": {r["sha256"] for r in runs},
            }
        phase = {} if args.no_phases else phases(engines, env_file, env, tmp)
    digests = set().union(*(r.pop("sha256") for r in results.values()))
    identical = len(digests) == 1  # "-" alone with --pad-mb: not compared

    print(f"{'engine':<12} {'first byte s':>12} {'end s':>8} {'MB/s':>7} {'peak RSS MB':>12}")
    for engine, r in results.items():
        print(
            f"{engine:<12} {r['first_byte_s']:>12.2f} {r['total_s']:>8.2f} "
            f"{len(log) / MB / r['total_s']:>7.1f} {r['max_rss_mb']:>12.0f}"
        )
    if phase:
        print(f"{'phases':<12} {'register s':>11} {'interim s':>10} {'build s':>9} {'peak MB':>8}")
        print(f"{'(cpu/wall)':<12}")
        for engine, ph in phase.items():
            interim = ph.get("interim")
            cells = [
                f"{ph['register']['cpu_s']:.2f}/{ph['register']['wall_s']:.2f}",
                f"{interim['cpu_s']:.2f}/{interim['wall_s']:.2f}" if interim else "-",
                f"{ph['build']['cpu_s']:.2f}/{ph['build']['wall_s']:.2f}",
            ]
            print(
                f"{engine:<12} {cells[0]:>11} {cells[1]:>10} {cells[2]:>9} {ph['max_rss_mb']:>8.0f}"
            )
    ratios = {}
    if "hyperscan" in results:
        ratios["auto_vs_hyperscan_first_byte"] = (
            results["auto"]["first_byte_s"] / results["hyperscan"]["first_byte_s"]
        )
    ratios["auto_vs_ahocorasick_first_byte"] = (
        results["auto"]["first_byte_s"] / results["ahocorasick"]["first_byte_s"]
    )
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x")
    print(f"outputs identical across engines and runs: {identical}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    label = args.label or ("tree" if args.tree else "after")
    (RESULTS / f"bench_startup-{label}.json").write_text(
        json.dumps(
            {
                "secrets": args.secrets,
                "size_mb": len(log) / MB,
                "runs": args.runs,
                "redactor": where,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "results": results,
                "phases": phase,
                "ratios": ratios,
                "identical": identical,
            },
            indent=2,
        )
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
