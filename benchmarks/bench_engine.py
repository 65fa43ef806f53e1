"""Engine benchmark: build time, peak memory, throughput and latency, with baselines in the same run.

    python benchmarks/bench_engine.py            # 50 MB texts, 10 / 1,000 / 10,000 secrets
    python benchmarks/bench_engine.py --quick    # 5 MB texts, 10 / 1,000 secrets
    python benchmarks/bench_engine.py --chart    # also draw docs/img/throughput.svg
    python benchmarks/bench_engine.py --chart-from benchmarks/results/engine.json  # redraw only

Every engine measurement runs in a fresh subprocess so that peak memory (ru_maxrss) belongs to it
alone. Baselines, on the same texts and the same pattern set (every default form of every secret):
a regex alternation of escaped forms (Airflow's and Jenkins' approach), a per-form ``str.replace``
loop (the GitHub Actions runner's approach), ``grep -F -o -f`` (LC_ALL=C, start-up included) and,
when the ``hyperscan`` package imports, a raw Hyperscan literal scan as the practical ceiling (and
the fast engine's ``redact`` is measured next to the reference's). The
slow baselines run on a slice and are reported in MB/s. The machines are shared and noisy: read
the ratios, which are measured in one run, not the absolute figures.

``--chart`` draws the log text's throughput against the number of secrets, one line per engine and
per baseline, as an SVG (benchmarks/chart.py) for the docs' benchmark page; ``--counts`` and
``--size-mb`` choose the points and the text size (a chart wants more than two points), and
``--regex-up-to 1000`` skips the regex alternation above 1,000 secrets (Python's re had not finished
241,940 alternatives after 20 minutes). The committed chart: ``--counts 10,100,1000,10000
--size-mb 5 --regex-up-to 1000 --chart``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from chart import write_chart  # noqa: E402

RESULTS = HERE / "results"
CHART = HERE.parent / "docs" / "img" / "throughput.svg"
MB = 1_000_000

TARGETS = {
    "throughput_vs_grep_at_1k": 0.5,
    "throughput_vs_regex_at_1k": 100.0,
    "latency_100b_1k_us": 5.0,
    "build_10k_s": 2.0,
    "build_10k_peak_mb": 300.0,
}


def make_secrets(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(24, 40))) for _ in range(n)]


def make_texts(size: int, secrets: list[str], folder: Path) -> dict[str, Path]:
    """A log-like text and a base64-heavy text of ``size`` bytes, each with 10 planted secrets."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"log": folder / f"log-{size}.txt", "b64": folder / f"b64-{size}.txt"}
    if all(p.exists() for p in paths.values()):
        return paths
    rnd = random.Random(1)
    words = [
        "GET",
        "POST",
        "user",
        "request",
        "completed",
        "in",
        "ms",
        "status",
        "200",
        "cache",
        "miss",
        "retry",
        "worker",
        "job",
        "rows",
        "loaded",
        "table",
        "sales",
        "token",
        "ok",
    ]
    lines, total, i = [], 0, 0
    while total < size:
        i += 1
        line = (
            f"2026-11-28T10:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z "
            f"{rnd.choice(['INFO', 'DEBUG', 'WARN'])} [{rnd.randrange(16):02d}] "
            + " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 14)))
            + f" id={rnd.getrandbits(64):016x}\n"
        )
        lines.append(line)
        total += len(line)
    step = len(lines) // 10
    for k in range(10):
        lines[k * step + 1] = (
            lines[k * step + 1].rstrip("\n") + f" password={secrets[k % len(secrets)]}\n"
        )
    paths["log"].write_text("".join(lines), encoding="ascii")
    n, piece = size * 3 // 4, 1 << 27  # randbytes takes fewer than 2**31 bits at once
    raw = (
        rnd.randbytes(n)
        if n <= piece
        else b"".join(rnd.randbytes(min(piece, n - i)) for i in range(0, n, piece))
    )
    blob = base64.encodebytes(raw).decode("ascii")
    del raw
    parts = blob.split("\n")
    step = len(parts) // 10
    for k in range(10):
        parts[k * step + 1] = base64.b64encode(secrets[k % len(secrets)].encode()).decode()
    paths["b64"].write_text("\n".join(parts), encoding="ascii")
    return paths


def rss_mb() -> float:
    """Peak resident memory of this process in MB. VmHWM belongs to this exec alone, whereas
    ru_maxrss carries over the parent's peak across fork+exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- worker: one engine measurement in a fresh process ------------------------------------------


def worker(n: int, texts: dict[str, str], latency: bool) -> dict:
    from redactor import Redactor

    secrets = make_secrets(n)
    base_rss = rss_mb()
    t0 = time.perf_counter()
    r = Redactor(engine="ahocorasick")  # the reference; bench_engines.py compares both
    for i, s in enumerate(secrets):
        r.add(s, name=f"bench/{i}")
    r.redact("warm")  # builds the automaton
    build_s = time.perf_counter() - t0
    build_peak = rss_mb() - base_rss
    out: dict = {
        "secrets": n,
        "patterns": r.pattern_count,
        "build_s": build_s,
        "build_peak_mb": build_peak,
    }
    for kind, path in texts.items():
        text = Path(path).read_text(encoding="ascii")
        best = min(_timed(r.redact, text) for _ in range(3))
        redacted = r.redact(text)
        out[f"{kind}_mb_s"] = len(text) / MB / best
        out[f"{kind}_regions"] = redacted.count("[REDACTED]")
        del text, redacted
    out["peak_mb"] = rss_mb() - base_rss
    if latency:
        rnd = random.Random(3)
        msg100 = "INFO request completed in 12ms status=200 user=alice id=" + "".join(
            rnd.choice("0123456789abcdef") for _ in range(45)
        )
        msg10k = (msg100 * 103)[:10_000]
        for label, msg in (("100b", msg100[:100]), ("10kb", msg10k)):
            number = 20_000 if label == "100b" else 200
            per = min(timeit.repeat(lambda m=msg: r.redact(m), number=number, repeat=5)) / number
            out[f"latency_{label}_us"] = per * 1e6
    fast = _fast_engine(secrets, texts)
    if fast:
        out.update(fast)
    return out


def _fast_engine(secrets: list[str], texts: dict[str, str]) -> dict:
    """The fast engine's ``redact`` on the same texts (after the reference's figures, so that
    its build does not count in their peak memory); empty when Hyperscan does not import."""
    from redactor import Redactor, hyperscan_available

    if not hyperscan_available():
        return {}
    r = Redactor(engine="hyperscan")
    for i, s in enumerate(secrets):
        r.add(s, name=f"bench/{i}")
    t0 = time.perf_counter()
    r.redact("warm")  # compiles the database
    out: dict = {"fast_build_s": time.perf_counter() - t0}
    for kind, path in texts.items():
        text = Path(path).read_text(encoding="ascii")
        out[f"fast_{kind}_mb_s"] = len(text) / MB / min(_timed(r.redact, text) for _ in range(3))
    return out


def _timed(fn, arg) -> float:
    t = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t


# -- baselines --------------------------------------------------------------------------------


def forms_for(n: int) -> list[str]:
    from redactor import Redactor

    r = Redactor(engine="ahocorasick")  # the reference; bench_engines.py compares both
    for s in make_secrets(n):
        r.add(s)
    return r._current()._plan(False).patterns()  # the forms and the fragments' windows


def regex_baseline(forms: list[str], text: str) -> float:
    rx = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
    t = time.perf_counter()
    rx.sub("[REDACTED]", text)
    return len(text) / MB / (time.perf_counter() - t)


def replace_baseline(forms: list[str], text: str) -> float:
    t = time.perf_counter()
    for f in forms:
        text = text.replace(f, "[REDACTED]")
    return len(text) / MB / (time.perf_counter() - t)


def grep_baseline(forms: list[str], path: Path, tmp: Path) -> float | None:
    if not shutil.which("grep"):
        return None
    pats = tmp / "patterns.txt"
    pats.write_text("\n".join(f for f in forms if "\n" not in f and "\r" not in f) + "\n")
    size = path.stat().st_size
    best = float("inf")
    sink = tmp / "grep-out.txt"
    for _ in range(3):
        t = time.perf_counter()
        # Not to /dev/null: GNU grep then stops at the first match, as with -q.
        with sink.open("wb") as out:
            subprocess.run(
                ["grep", "-F", "-o", "-f", str(pats), str(path)],
                stdout=out,
                env={**os.environ, "LC_ALL": "C"},
                check=False,
            )
        best = min(best, time.perf_counter() - t)
    return size / MB / best


def hyperscan_baseline(forms: list[str], path: Path) -> float | None:
    try:
        import hyperscan
    except ImportError:
        return None
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    exprs = [f.encode() for f in forms]
    db.compile(
        expressions=exprs,
        ids=list(range(len(exprs))),
        elements=len(exprs),
        flags=[hyperscan.HS_FLAG_SOM_LEFTMOST] * len(exprs),
        literal=True,
    )
    data = path.read_bytes()
    hits = []
    best = float("inf")
    for _ in range(3):
        hits.clear()
        t = time.perf_counter()
        db.scan(data, match_event_handler=lambda *a: hits.append(a[1]))
        best = min(best, time.perf_counter() - t)
    return len(data) / MB / best


CHART_SERIES = {
    # label: (key in a result row, engine or baseline)
    "redactor, reference engine (pyahocorasick)": "log_mb_s",
    "redactor, fast engine (Hyperscan)": "fast_log_mb_s",
    "raw Hyperscan literal scan": "hyperscan_log_mb_s",
    "grep -F -o -f": "grep_log_mb_s",
    "str.replace loop": "replace_mb_s",
    "regex alternation": "regex_mb_s",
}


def draw_chart(rows: list[dict], path: Path, size_mb: float) -> Path:
    """The log text's throughput against the number of secrets: a line per engine and baseline."""
    series = {
        label: [(row["secrets"], row.get(key)) for row in rows]
        for label, key in CHART_SERIES.items()
    }
    return write_chart(
        path,
        series,
        title=f"Throughput on a {size_mb:g} MB log-like text, all default encodings",
        x_label="secrets (log scale)",
        y_label="MB/s (log scale)",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 MB texts, 10 and 1,000 secrets")
    ap.add_argument("--counts", help="comma-separated numbers of secrets (default 10,1000,10000)")
    ap.add_argument("--size-mb", type=float, help="size of each text in MB (default 50, quick 5)")
    ap.add_argument(
        "--chart",
        nargs="?",
        const=CHART,
        type=Path,
        help=f"write the throughput chart as SVG (default {CHART.relative_to(HERE.parent)})",
    )
    ap.add_argument(
        "--chart-from", type=Path, help="only redraw the chart from a results JSON file"
    )
    ap.add_argument(
        "--regex-up-to",
        type=int,
        metavar="N",
        help="run the regex alternation baseline only up to N secrets: with the fragment windows, "
        "10,000 secrets make 240,000 alternatives, which Python's re takes many minutes over",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(worker(spec["n"], spec["texts"], spec["latency"])))
        return 0
    if args.chart_from:
        saved = json.loads(args.chart_from.read_text())
        path = draw_chart(saved["rows"], args.chart or CHART, saved.get("size_mb", 50))
        print(f"chart written to {path}")
        return 0

    size = int((args.size_mb or (5 if args.quick else 50)) * MB)
    counts = [10, 1000] if args.quick else [10, 1000, 10_000]
    if args.counts:
        counts = sorted({int(c.replace("_", "")) for c in args.counts.split(",")})
    RESULTS.mkdir(parents=True, exist_ok=True)
    texts = make_texts(size, make_secrets(max(counts)), RESULTS / "data")
    print(
        f"texts: {size / MB:.0f} MB log-like and base64-heavy; secrets {counts}; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus\n"
    )
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    for n in counts:
        spec = json.dumps(
            {"n": n, "texts": {k: str(v) for k, v in texts.items()}, "latency": n == 1000}
        )
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", spec], capture_output=True, text=True, check=True
        )
        row = json.loads(proc.stdout)
        forms = forms_for(n)
        log = texts["log"].read_text(encoding="ascii")
        slice_len = 1 * MB if n <= 10 else 100_000
        slow = args.regex_up_to is None or n <= args.regex_up_to
        row["regex_mb_s"] = regex_baseline(forms, log[:slice_len]) if slow else None
        row["replace_mb_s"] = replace_baseline(forms, log[:slice_len])
        row["grep_log_mb_s"] = grep_baseline(forms, texts["log"], scratch)
        row["grep_b64_mb_s"] = grep_baseline(forms, texts["b64"], scratch)
        row["hyperscan_log_mb_s"] = hyperscan_baseline(forms, texts["log"])
        row["hyperscan_b64_mb_s"] = hyperscan_baseline(forms, texts["b64"])
        rows.append(row)
        del log
        partial = RESULTS / "engine-partial.json"  # kept if a later, larger count is interrupted
        partial.write_text(json.dumps({"rows": rows, "size_mb": size / MB}, indent=1))
        print(f"... {n:,} secrets done", file=sys.stderr)
    shutil.rmtree(scratch, ignore_errors=True)

    def f(v, fmt="{:.1f}"):
        return "-" if v is None else fmt.format(v)

    print(
        "| secrets | patterns | build s | build peak MB | scan peak MB | log MB/s | b64 MB/s "
        "| grep -F log | grep -F b64 | regex | str.replace | hyperscan log | vs grep | vs regex |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        vs_grep = r["log_mb_s"] / r["grep_log_mb_s"] if r["grep_log_mb_s"] else None
        vs_regex = r["log_mb_s"] / r["regex_mb_s"] if r["regex_mb_s"] else None
        r["vs_grep"], r["vs_regex"] = vs_grep, vs_regex
        r["vs_replace"] = r["log_mb_s"] / r["replace_mb_s"]
        print(
            f"| {r['secrets']:,} | {r['patterns']:,} | {r['build_s']:.2f} | {r['build_peak_mb']:.0f} "
            f"| {r['peak_mb']:.0f} | {r['log_mb_s']:.1f} | {r['b64_mb_s']:.1f} | {f(r['grep_log_mb_s'])} "
            f"| {f(r['grep_b64_mb_s'])} | {f(r['regex_mb_s'], '{:.3f}')} | {r['replace_mb_s']:.2f} "
            f"| {f(r['hyperscan_log_mb_s'], '{:.0f}')} | {f(vs_grep, '{:.2f}x')} | {f(vs_regex, '{:.0f}x')} |"
        )
    fast = [r for r in rows if "fast_log_mb_s" in r]
    if fast:
        print("\nfast engine (Hyperscan) redact, MB/s:")
        for r in fast:
            print(
                f"  {r['secrets']:,} secrets: log {r['fast_log_mb_s']:.0f}, b64 "
                f"{r['fast_b64_mb_s']:.0f} (build {r['fast_build_s']:.2f} s)"
            )
    one_k = next((r for r in rows if r["secrets"] == 1000), None)
    if one_k is None:
        one_k = {"vs_grep": None, "vs_regex": None, "latency_100b_us": None}
    else:
        print(
            f"\nper-call latency with 1,000 secrets: 100 bytes {one_k['latency_100b_us']:.2f} us, "
            f"10 KB {one_k['latency_10kb_us']:.1f} us"
        )
    checks = {
        "throughput_vs_grep_at_1k": (one_k["vs_grep"], ">="),
        "throughput_vs_regex_at_1k": (one_k["vs_regex"], ">="),
        "latency_100b_1k_us": (one_k["latency_100b_us"], "<="),
    }
    ten_k = next((r for r in rows if r["secrets"] == 10_000), None)
    if ten_k:
        checks["build_10k_s"] = (ten_k["build_s"], "<=")
        checks["build_10k_peak_mb"] = (ten_k["build_peak_mb"], "<=")
    print("\ntargets:")
    for key, (value, op) in checks.items():
        target = TARGETS[key]
        ok = value is not None and (value >= target if op == ">=" else value <= target)
        print(f"  {key}: {f(value, '{:.2f}')} (target {op} {target}) {'met' if ok else 'NOT met'}")
    out = RESULTS / ("engine-quick.json" if args.quick else "engine.json")
    out.write_text(json.dumps({"rows": rows, "targets": TARGETS, "size_mb": size / MB}, indent=1))
    print(f"\nresults written to {out.relative_to(HERE.parent)}")
    if args.chart:
        print(f"chart written to {draw_chart(rows, args.chart, size / MB)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
