"""The two engines side by side: `redactor filter` and `Redactor.redact_bytes`, reference
(pyahocorasick) against fast (Hyperscan), with the raw Hyperscan scan and `grep -F -f` as
baselines, all in one run.

    python benchmarks/bench_engines.py            # 50 MB texts, 1,000 and 10,000 secrets
    python benchmarks/bench_engines.py --quick    # 5 MB texts, 100 and 1,000 secrets
    python benchmarks/bench_engines.py --end-to-end --tree /tmp/main --chart  # issue 20's rows

The texts are bench_engine.py's: a log-like text and a base64-heavy text, each with 10 planted
secrets. Every secret is registered with every default encoding; the raw scan and grep get the
same byte patterns the filter matches (grep only those without a line break, LC_ALL=C).

What is measured, best of three each (six for the fast filter runs, which take under a second):

* raw Hyperscan: one literal database over the patterns, one block scan of the whole text with
  a callback that only counts. Scan time only: the ceiling of any Hyperscan-based redactor.
* ``redact_bytes``: in this process, matcher already built, the whole text in one call.
* ``redactor filter --engine E`` and ``grep -F -f``: the real commands, the text file on stdin
  and stdout to a file, wall clock, start-up included ("end to end"). The filter's "steady"
  throughput is the output written after its first output divided by the time from then to the
  end (start-up, reading the secrets and building the matcher are over by then): the rate that
  decides how long a large log takes. grep's "steady" subtracts its time on a one-line input.
  The filter is also run with stdout into a pipe that this script drains, next to ``cat`` in the
  same place (the pipe's own ceiling here).

Targets (issue 7): the filter on the fast engine at >= 0.3x the raw scan and >= 5x grep. The
machines are shared and noisy: read the ratios, which are measured in one run.

``--end-to-end`` measures issue 20's rows instead, on one log of ``--size-mb`` (300 by default)
at each of ``--counts`` (1,000 and 10,000 secrets): the raw Hyperscan scan of the same forms
(compile and scan timed apart), ``cat`` and ``grep -F -o -f`` file to file, and
``redactor filter --engine hyperscan`` file to file, into a pipe read by ``cat``, from a pipe
``cat`` writes (wall clock until both have exited) and on a one-line input (its start-up), all
wall clock with start-up included,
for this checkout and for each ``--tree`` (another checkout's package first on PYTHONPATH, e.g. a
``git archive`` of main), the runs of the trees interleaved and the best of ``--runs`` kept. Every
output of every tree must be identical. The load average is printed with the figures; ``--chart``
draws docs/img/filter-end-to-end.svg (``--chart-from`` the JSON redraws it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_engine import make_secrets, make_texts  # noqa: E402
from bench_filter import best_of, compile_bytecode  # noqa: E402

RESULTS = HERE / "results"
END_TO_END_CHART = HERE.parent / "docs" / "img" / "filter-end-to-end.svg"
MB = 1_000_000
REDACTOR = [sys.executable, "-m", "redactor"]
RUNS = 3
TARGETS = {"filter_fast_vs_raw_scan": 0.3, "filter_fast_vs_grep": 5.0}


def filter_timing(
    argv: list[str], stdin: Path, sink: Path | None, runs: int = RUNS
) -> tuple[float, float, float, bytes]:
    """Best of ``runs``: (end-to-end s, s until the first output, steady MB/s, output).

    Steady is the output written after the first output divided by the time that took: start-up
    (reading the secrets, building the matcher) is over once output flows, so no second run needs
    to be subtracted. With ``sink`` stdout is that file (polled for its first bytes, every 0.2 ms),
    else a pipe this script reads as fast as it can."""
    best = (float("inf"), float("inf"), 0.0)
    output = b""
    for _ in range(runs):
        with stdin.open("rb") as fin:
            if sink is None:
                t0 = time.perf_counter()
                proc = subprocess.Popen(argv, stdin=fin, stdout=subprocess.PIPE)
                fd = proc.stdout.fileno()
                first = len(os.read(fd, 1 << 20))
                t_first = time.perf_counter()
                parts = []
                while chunk := os.read(fd, 1 << 20):
                    parts.append(chunk)
                t_end = time.perf_counter()
                proc.stdout.close()
                after = sum(map(len, parts))
            else:
                with sink.open("wb") as fout:
                    t0 = time.perf_counter()
                    proc = subprocess.Popen(argv, stdin=fin, stdout=fout)
                    first = 0
                    while not first and proc.poll() is None:
                        first = os.fstat(fout.fileno()).st_size
                        time.sleep(0.0002)
                    t_first = time.perf_counter()
                    proc.wait()
                    t_end = time.perf_counter()
                after = sink.stat().st_size - first
            if proc.wait() != 0:
                raise SystemExit(f"{' '.join(argv[:4])} failed with {proc.returncode}")
        steady = after / MB / (t_end - t_first) if t_end > t_first and first else 0.0
        best = (min(best[0], t_end - t0), min(best[1], t_first - t0), max(best[2], steady))
        output = sink.read_bytes() if sink is not None else b""
    return (*best, output)


def time_best(fn) -> float:
    best = float("inf")
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def patterns_of(r) -> list[bytes]:
    """Every byte pattern the filter matches: the forms and every window of the fragments (the
    redactor's plan matches them through fewer literals; a baseline gets the whole list)."""
    return [p.encode("latin-1") for p in r._current()._plan(True).patterns()]


def literals_of(r) -> list[bytes]:
    """The literals the filter's engine compiles (the plan's anchors and short forms): the
    ceiling of this redactor's own scan, before its hits are checked."""
    return [p.encode("latin-1") for p in r._current()._plan(True).raw]


def raw_hyperscan(patterns: list[bytes], data: bytes) -> tuple[float, float, int]:
    """(compile seconds, best scan seconds, matches) for one literal database, no SOM."""
    import hyperscan

    t0 = time.perf_counter()
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    usable = [p for p in patterns if b"\0" not in p]  # the binding passes C strings
    db.compile(expressions=usable, ids=list(range(len(usable))), elements=len(usable), literal=True)
    compile_s = time.perf_counter() - t0
    count = [0]

    def on_match(*_args) -> None:
        count[0] += 1

    def scan() -> None:
        count[0] = 0
        db.scan(data, match_event_handler=on_match)

    return compile_s, time_best(scan), count[0]


def measure(n: int, size: int, tmp: Path) -> dict:
    from redactor import Redactor

    secrets = make_secrets(n)
    texts = make_texts(size, secrets, tmp / "texts")
    env_file = tmp / f"secrets-{n}.env"
    env_file.write_text("".join(f"S{i:05d}='{v}'\n" for i, v in enumerate(secrets)))
    one_line = tmp / "one-line.txt"
    one_line.write_bytes(b"2026-11-28T10:00:00.000Z INFO starting\n")
    out = tmp / "out"
    row: dict = {"secrets": n}

    engines = {}
    for name in ("ahocorasick", "hyperscan"):
        r = Redactor(engine=name)
        r.add_many((f"S{i:05d}", v) for i, v in enumerate(secrets))
        t0 = time.perf_counter()
        r.matcher(binary=True)
        row[f"build_s_{name}"] = time.perf_counter() - t0
        engines[name] = r
    patterns = patterns_of(engines["ahocorasick"])
    row["patterns"] = len(patterns)
    pats_path = tmp / f"patterns-{n}.txt"
    pats_path.write_bytes(b"\n".join(p for p in patterns if b"\n" not in p and b"\r" not in p))
    c_env = {**os.environ, "LC_ALL": "C"}

    for kind, path in texts.items():
        data = path.read_bytes()
        mb = len(data) / MB
        res: dict = {"mb": mb}
        compile_s, scan_s, hits = raw_hyperscan(patterns, data)
        res["raw_hyperscan"] = {"compile_s": compile_s, "mb_s": mb / scan_s, "matches": hits}
        # The ceiling of a pipe into this script, for the filter's figures into a pipe.
        res["cat_to_pipe_mb_s"] = filter_timing(["cat"], path, None, 2 * RUNS)[2]
        if shutil.which("grep"):
            grep = ["grep", "-F", "-f", str(pats_path)]
            t_all = best_of(RUNS, grep, path, out, c_env)
            t_one = best_of(RUNS, grep, one_line, out, c_env)
            res["grep"] = {"end_to_end_mb_s": mb / t_all, "steady_mb_s": mb / (t_all - t_one)}
        expected = None
        for name, r in engines.items():
            got: list[bytes] = []
            t = time_best(lambda r=r, got=got, data=data: got.append(r.redact_bytes(data)))
            if expected is None:
                expected = got[0]
            assert got[0] == expected, f"{name} differs from the reference on {kind}"
            argv = [*REDACTOR, "filter", "--no-config", "--secrets-file", str(env_file)]
            argv += ["--engine", name]
            # The fast runs take well under a second: more of them, against the machine's noise.
            runs = RUNS if name == "ahocorasick" else 2 * RUNS
            t_all, t_first, steady, filtered = filter_timing(argv, path, out, runs)
            assert filtered == expected, f"filter --engine {name} differs on {kind}"
            _, _, steady_pipe, _ = filter_timing(argv, path, None, runs)
            res[name] = {
                "redact_bytes_mb_s": mb / t,
                "filter_end_to_end_mb_s": mb / t_all,
                "filter_first_output_s": t_first,
                "filter_steady_mb_s": steady,
                "filter_steady_to_pipe_mb_s": steady_pipe,
            }
        fast, ref, raw = res["hyperscan"], res["ahocorasick"], res["raw_hyperscan"]
        res["ratios"] = {
            "filter_fast_vs_raw_scan": fast["filter_steady_mb_s"] / raw["mb_s"],
            "redact_bytes_fast_vs_raw_scan": fast["redact_bytes_mb_s"] / raw["mb_s"],
            "filter_fast_vs_reference": fast["filter_end_to_end_mb_s"]
            / ref["filter_end_to_end_mb_s"],
            "redact_bytes_fast_vs_reference": fast["redact_bytes_mb_s"] / ref["redact_bytes_mb_s"],
        }
        if "grep" in res:
            res["ratios"]["filter_fast_vs_grep"] = (
                fast["filter_steady_mb_s"] / res["grep"]["steady_mb_s"]
            )
            res["ratios"]["filter_fast_vs_grep_end_to_end"] = (
                fast["filter_end_to_end_mb_s"] / res["grep"]["end_to_end_mb_s"]
            )
        row[kind] = res
    return row


# -- --end-to-end: issue 20's filter rows, every baseline and every tree in one run -------------


def _tree_env(tree: Path | None) -> dict[str, str]:
    """The environment that runs ``tree``'s redactor package (None: this checkout's)."""
    env = dict(os.environ)
    env.pop("REDACTOR_ENGINE", None)
    root = tree.resolve() if tree is not None else HERE.parent
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _wall(argv: list[str], stdin: Path, stdout: Path, env: dict[str, str]) -> float:
    with stdin.open("rb") as fin, stdout.open("wb") as fout:
        t0 = time.perf_counter()
        proc = subprocess.run(argv, stdin=fin, stdout=fout, env=env, cwd=tempfile.gettempdir())
        elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # grep: 1 when nothing matched
        raise SystemExit(f"{argv[0]} failed with {proc.returncode}")
    return elapsed


def _wall_into_cat(argv: list[str], stdin: Path, stdout: Path, env: dict[str, str]) -> float:
    """``argv < stdin | cat > stdout``: wall clock until both have exited."""
    with stdin.open("rb") as fin, stdout.open("wb") as fout:
        t0 = time.perf_counter()
        prod = subprocess.Popen(
            argv, stdin=fin, stdout=subprocess.PIPE, env=env, cwd=tempfile.gettempdir()
        )
        cat = subprocess.Popen(["cat"], stdin=prod.stdout, stdout=fout)
        prod.stdout.close()  # type: ignore[union-attr] # (a pipe): cat holds the only reader
        codes = (prod.wait(), cat.wait())
        elapsed = time.perf_counter() - t0
    if codes != (0, 0):
        raise SystemExit(f"{argv[0]} | cat failed with {codes}")
    return elapsed


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _wall_from_cat(argv: list[str], stdin: Path, stdout: Path, env: dict[str, str]) -> float:
    """``cat stdin | argv > stdout``: wall clock until both have exited."""
    with stdin.open("rb") as fin, stdout.open("wb") as fout:
        t0 = time.perf_counter()
        cat = subprocess.Popen(["cat"], stdin=fin, stdout=subprocess.PIPE)
        cons = subprocess.Popen(
            argv, stdin=cat.stdout, stdout=fout, env=env, cwd=tempfile.gettempdir()
        )
        cat.stdout.close()  # type: ignore[union-attr] # (a pipe): the filter holds the only reader
        codes = (cat.wait(), cons.wait())
        elapsed = time.perf_counter() - t0
    if codes != (0, 0):
        raise SystemExit(f"cat | {argv[0]} failed with {codes}")
    return elapsed


def _best(runs: int, fn, *args) -> float:
    return min(fn(*args) for _ in range(runs))


def end_to_end(args: argparse.Namespace) -> int:
    """Issue 20's rows: ``redactor filter --engine hyperscan`` on a large log, file to file and
    into a pipe read by ``cat``, next to ``cat``, ``grep -F -o -f`` and the raw Hyperscan scan of
    the same byte forms, for this checkout and each ``--tree``, all in one run."""
    from redactor import Redactor

    size = int(args.size_mb * MB)
    counts = [int(c) for c in args.counts.split(",")]
    trees: list[tuple[str, Path | None]] = [("this", None)]
    trees += [(t.name or str(t), t) for t in args.tree]
    for _, tree in trees:  # start-up as installed: bytecode written, as pip does
        compile_bytecode(tree.resolve() if tree is not None else HERE.parent)
    given = [int(r) for r in args.runs.split(",")]  # per count; the last one for the rest
    runs_of = {n: given[min(i, len(given) - 1)] for i, n in enumerate(counts)}
    tmp_ctx = tempfile.TemporaryDirectory(prefix="bench-e2e-")
    tmp = Path(tmp_ctx.name)
    texts_dir = args.texts_dir or tmp / "texts"
    load = os.getloadavg()
    rows = []
    for n in counts:
        runs = runs_of[n]
        secrets = make_secrets(n)
        path = make_texts(size, secrets, texts_dir)["log"]
        mb = path.stat().st_size / MB
        env_file = tmp / f"secrets-{n}.env"
        env_file.write_text("".join(f"S{i:05d}='{v}'\n" for i, v in enumerate(secrets)))
        r = Redactor(engine="ahocorasick")
        r.add_many((f"S{i:05d}", v) for i, v in enumerate(secrets))
        patterns, literals = patterns_of(r), literals_of(r)
        del r
        pats_path = tmp / f"patterns-{n}.txt"
        pats_path.write_bytes(
            b"\n".join(p for p in patterns if b"\n" not in p and b"\r" not in p) + b"\n"
        )
        row: dict = {"secrets": n, "patterns": len(patterns), "mb": mb, "runs": runs}
        data = path.read_bytes()
        compile_s, scan_s, _ = raw_hyperscan(patterns, data)
        row["raw_hyperscan"] = {"compile_s": compile_s, "scan_s": scan_s, "mb_s": mb / scan_s}
        compile_s, scan_s, _ = raw_hyperscan(literals, data)
        del data
        row["literals"] = len(literals)
        row["raw_literals"] = {"compile_s": compile_s, "scan_s": scan_s, "mb_s": mb / scan_s}
        out = tmp / "out"
        one_line = tmp / "one-line.txt"
        one_line.write_bytes(b"2026-11-28T10:00:00.000Z INFO starting\n")
        c_env = {**os.environ, "LC_ALL": "C"}
        row["cat_s"] = _best(runs, _wall, ["cat"], path, out, c_env)
        grep = ["grep", "-F", "-o", "-f", str(pats_path)]
        row["grep_s"] = _best(args.grep_runs, _wall, grep, path, out, c_env)
        outputs: dict[str, str] = {}
        for label, _ in trees:
            row[label] = dict.fromkeys(
                ("file_s", "pipe_s", "from_cat_s", "startup_s"), float("inf")
            )
        # Runs interleaved (each tree once, then again): load that comes and goes on a shared
        # machine then falls on every tree alike.
        for _ in range(runs):
            for label, tree in trees:
                env = _tree_env(tree)
                argv = [*REDACTOR, "filter", "--no-config", "--secrets-file", str(env_file)]
                argv += ["--engine", "hyperscan"]
                res = row[label]
                res["file_s"] = min(res["file_s"], _wall(argv, path, out, env))
                outputs[f"{label} file"] = _digest(out)
                res["pipe_s"] = min(res["pipe_s"], _wall_into_cat(argv, path, out, env))
                outputs[f"{label} pipe"] = _digest(out)
                res["from_cat_s"] = min(res["from_cat_s"], _wall_from_cat(argv, path, out, env))
                outputs[f"{label} from cat"] = _digest(out)
                # Start-up: the same command on one line (Python, reading secrets, compiling).
                res["startup_s"] = min(res["startup_s"], _wall(argv, one_line, out, env))
        for label, _ in trees:
            print(f"... {n} secrets, {label}: {row[label]}", file=sys.stderr)
        if len(set(outputs.values())) != 1:
            raise SystemExit(f"outputs differ at {n} secrets: {outputs}")
        rows.append(row)
    tmp_ctx.cleanup()
    return _report_end_to_end(rows, trees, load, args)


def _report_end_to_end(rows: list[dict], trees, load: tuple[float, ...], args) -> int:
    load_end = os.getloadavg()
    print(
        f"\n{rows[0]['mb']:.0f} MB log, `redactor filter --engine hyperscan`, best of "
        f"{', '.join(str(r['runs']) for r in rows)} (grep: {args.grep_runs}); load average {load[0]:.2f} at the start, {load_end[0]:.2f} "
        "at the end; MB/s end to end (start-up included)\n"
    )
    head = "| secrets | patterns / literals | raw HS scan (compile s): patterns / literals | cat | grep -F -o -f |"
    head += "".join(f" {lab}: file / into cat / from cat / start-up s |" for lab, _ in trees)
    print(head)
    print("|" + "---|" * (5 + len(trees)))
    for row in rows:
        mb, raw = row["mb"], row["raw_hyperscan"]
        lit = row.get("raw_literals", raw)
        line = (
            f"| {row['secrets']:,} | {row['patterns']:,} / {row.get('literals', 0):,} | "
            f"{raw['mb_s']:.0f} ({raw['compile_s']:.2f}) / {lit['mb_s']:.0f} ({lit['compile_s']:.2f})"
            f" | {mb / row['cat_s']:.0f} | {mb / row['grep_s']:.0f} |"
        )
        for lab, _ in trees:
            res = row[lab]
            line += (
                f" {mb / res['file_s']:.0f} / {mb / res['pipe_s']:.0f} / "
                f"{mb / res['from_cat_s']:.0f} / {res['startup_s']:.2f} |"
            )
        print(line)
    print()
    for row in rows:
        mb, raw = row["mb"], row["raw_hyperscan"]
        for lab, _ in trees:
            res = row[lab]
            file_rate, pipe_rate = mb / res["file_s"], mb / res["pipe_s"]
            steady = res["file_s"] - res["startup_s"]
            net = mb / steady if steady > 0 else float("nan")
            lit = row.get("raw_literals", raw)
            res["ratios"] = {
                "file_vs_raw_scan": file_rate / raw["mb_s"],
                "file_vs_raw_literals": file_rate / lit["mb_s"],
                "net_of_startup_vs_raw_literals": net / lit["mb_s"],
                "file_vs_grep": file_rate / (mb / row["grep_s"]),
                "pipe_vs_file": pipe_rate / file_rate,
                "net_of_startup_vs_raw_scan": net / raw["mb_s"],
            }
            q = res["ratios"]
            print(
                f"{row['secrets']:,} secrets, {lab}: file {q['file_vs_raw_scan']:.2f}x the raw "
                f"scan (goal >= 0.5; net of start-up {q['net_of_startup_vs_raw_scan']:.2f}x), "
                f"{q['file_vs_raw_literals']:.2f}x the raw scan of the plan's literals "
                f"(net of start-up {q['net_of_startup_vs_raw_literals']:.2f}x), "
                f"{q['file_vs_grep']:.1f}x grep (goal >= 5), into cat {q['pipe_vs_file']:.2f}x "
                "the file rate (goal >= 0.8)"
            )
        if len(trees) > 1:
            this = row["this"]
            for lab, _ in trees[1:]:
                old = row[lab]
                print(
                    f"{row['secrets']:,} secrets, this / {lab}: file {old['file_s'] / this['file_s']:.2f}x "
                    f"as fast, into cat {old['pipe_s'] / this['pipe_s']:.2f}x, "
                    f"from cat {old['from_cat_s'] / this['from_cat_s']:.2f}x, "
                    f"start-up {old['startup_s'] / this['startup_s']:.2f}x"
                )
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average": {"start": load, "end": load_end},
        "trees": [lab for lab, _ in trees],
        "rows": rows,
    }
    (RESULTS / args.results).write_text(json.dumps(result, indent=2) + "\n")
    if args.chart:
        print(f"wrote {end_to_end_chart(result).relative_to(HERE.parent)}")
    return 0


def end_to_end_chart(result: dict) -> Path:
    """docs/img/filter-end-to-end.svg: MB/s against the number of secrets, per command and tree."""
    from chart import write_chart

    rows = result["rows"]
    series: dict[str, list[tuple[float, float | None]]] = {
        "raw Hyperscan scan (scan only)": [
            (r["secrets"], r["raw_hyperscan"]["mb_s"]) for r in rows
        ],
        "cat": [(r["secrets"], r["mb"] / r["cat_s"]) for r in rows],
        "grep -F -o -f": [(r["secrets"], r["mb"] / r["grep_s"]) for r in rows],
    }
    for lab in result["trees"]:
        name = "this checkout" if lab == "this" else lab
        series[f"filter, file to file ({name})"] = [
            (r["secrets"], r["mb"] / r[lab]["file_s"]) for r in rows
        ]
        series[f"filter into cat ({name})"] = [
            (r["secrets"], r["mb"] / r[lab]["pipe_s"]) for r in rows
        ]
        if all("from_cat_s" in r[lab] for r in rows):
            series[f"filter from cat ({name})"] = [
                (r["secrets"], r["mb"] / r[lab]["from_cat_s"]) for r in rows
            ]
    return write_chart(
        END_TO_END_CHART,
        series,
        title=f"redactor filter --engine hyperscan, {rows[0]['mb']:.0f} MB log, end to end",
        x_label="secrets",
        y_label="MB/s",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 MB texts, 100 and 1,000 secrets")
    ap.add_argument(
        "--end-to-end",
        action="store_true",
        help="issue 20's filter rows: the fast filter file to file and into cat, against cat, "
        "grep -F -o -f and the raw scan, for this checkout and each --tree",
    )
    ap.add_argument("--size-mb", type=float, default=300, help="--end-to-end: the log's size")
    ap.add_argument("--counts", default="1000,10000", help="--end-to-end: numbers of secrets")
    ap.add_argument(
        "--runs", default="5,2", help="--end-to-end: best of this many, per count (5,2)"
    )
    ap.add_argument("--grep-runs", type=int, default=1, help="--end-to-end: grep's runs")
    ap.add_argument(
        "--tree",
        type=Path,
        action="append",
        default=[],
        help="--end-to-end: also run another checkout's package (a git archive), e.g. main",
    )
    ap.add_argument("--texts-dir", type=Path, help="--end-to-end: keep the generated logs here")
    ap.add_argument(
        "--results", default="bench_engines_end_to_end.json", help="--end-to-end: JSON's name"
    )
    ap.add_argument(
        "--chart", action="store_true", help=f"--end-to-end: draw {END_TO_END_CHART.name}"
    )
    ap.add_argument(
        "--chart-from", type=Path, help="redraw the --end-to-end chart from its results JSON"
    )
    args = ap.parse_args(argv)
    if args.chart_from:
        print(end_to_end_chart(json.loads(args.chart_from.read_text())))
        return 0
    from redactor import hyperscan_available

    if not hyperscan_available():
        raise SystemExit("this benchmark needs the fast engine: pip install 'redactor[fast]'")
    if args.end_to_end:
        RESULTS.mkdir(parents=True, exist_ok=True)
        return end_to_end(args)
    size = 5 * MB if args.quick else 50 * MB
    counts = (100, 1000) if args.quick else (1000, 10_000)
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp_name:
        for n in counts:
            rows.append(measure(n, size, Path(tmp_name)))
            print(f"... {n} secrets done", file=sys.stderr)

    def f(v: float, fmt: str = "{:.0f}") -> str:
        return fmt.format(v)

    print(
        "\n| secrets | text | raw HS scan MB/s | grep MB/s (end/steady) | redact_bytes AC / HS MB/s "
        "| filter AC MB/s (end/steady) | filter HS MB/s (end/steady) | HS filter into a pipe "
        "(cat) MB/s | HS filter vs raw | HS filter vs grep (steady/end) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    met = True
    for row in rows:
        for kind in ("log", "b64"):
            res = row[kind]
            ac, hs, q = res["ahocorasick"], res["hyperscan"], res["ratios"]
            grep = res.get("grep")
            print(
                f"| {row['secrets']:,} | {kind} | {f(res['raw_hyperscan']['mb_s'])} "
                f"| {f(grep['end_to_end_mb_s']) + ' / ' + f(grep['steady_mb_s']) if grep else '-'} "
                f"| {f(ac['redact_bytes_mb_s'])} / {f(hs['redact_bytes_mb_s'])} "
                f"| {f(ac['filter_end_to_end_mb_s'])} / {f(ac['filter_steady_mb_s'])} "
                f"| {f(hs['filter_end_to_end_mb_s'])} / {f(hs['filter_steady_mb_s'])} "
                f"| {f(hs['filter_steady_to_pipe_mb_s'])} ({f(res['cat_to_pipe_mb_s'])}) "
                f"| {q['filter_fast_vs_raw_scan']:.2f}x "
                f"| {q.get('filter_fast_vs_grep', 0):.1f}x / "
                f"{q.get('filter_fast_vs_grep_end_to_end', 0):.1f}x |"
            )
            met &= q["filter_fast_vs_raw_scan"] >= TARGETS["filter_fast_vs_raw_scan"]
            met &= q.get("filter_fast_vs_grep", 0) >= TARGETS["filter_fast_vs_grep"]
    for row in rows:
        print(
            f"build at {row['secrets']:,} secrets ({row['patterns']:,} byte patterns): "
            f"reference {row['build_s_ahocorasick']:.2f} s, Hyperscan {row['build_s_hyperscan']:.2f} s; "
            f"filter's first output after: reference {row['log']['ahocorasick']['filter_first_output_s']:.2f} s, "
            f"Hyperscan {row['log']['hyperscan']['filter_first_output_s']:.2f} s"
        )
    print(
        f"targets (steady filter throughput): >= {TARGETS['filter_fast_vs_raw_scan']}x raw scan, "
        f">= {TARGETS['filter_fast_vs_grep']}x grep: {'met' if met else 'NOT met'}"
    )
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "size_mb": size / MB,
        "targets": TARGETS,
        "targets_met": met,
        "rows": rows,
    }
    name = "bench_engines_quick.json" if args.quick else "bench_engines.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
