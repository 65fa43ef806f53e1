"""`scrub-logs --spark` on local[2] against single-process `redactor filter`, on the same logs.

    python benchmarks/bench_spark.py            # ~1 GB of logs in 16 files, 1,000 secrets
    python benchmarks/bench_spark.py --quick    # ~64 MB in 8 files
    python benchmarks/bench_spark.py --size-mb 256 --files 8
    python benchmarks/bench_spark.py --engine ahocorasick   # the reference engine everywhere

The logs are CI-like lines (benchmarks/bench_filter.make_log, a different seed per file; about one
line in 500 leaks a secret in some encoding), generated once and kept under
benchmarks/results/data/. The secrets come from a dotenv file through the real CLI, every default
encoding on. Three commands, one wall-clock run each, start-up included (a JVM for Spark):

- ``redactor filter --no-add-mask``: one process per file, stdin to stdout, files in sequence;
- ``redactor scrub-logs`` without --spark: the whole folder in one process;
- ``redactor scrub-logs --spark --master local[2]``: the files spread over two executor cores.

Records are lines. Every output file of scrub-logs (both modes) is checked byte for byte against
the filter's. The machine has 2 cores and is shared: read the ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MB = 1_000_000
REDACTOR = [str(Path(sys.executable).parent / "redactor")]

sys.path.insert(0, str(HERE))
from bench_filter import make_log, make_secrets  # noqa: E402


def generate(root: Path, total: int, files: int, secrets: list[str]) -> tuple[int, int]:
    """``files`` logs of ``total`` bytes in all under ``root`` (kept between runs)."""
    marker = root / "_DONE"
    if marker.exists():
        info = json.loads(marker.read_text())
        return info["lines"], info["leaks"]
    lines = leaks = 0
    per = total // files
    for i in range(files):
        data, n = make_log(per, secrets, seed=100 + i)
        path = root / f"day-{i // 4:02d}" / f"worker-{i:03d}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        lines += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        leaks += n
    # A name starting with "_" is skipped by scrub-logs, as Spark skips it.
    marker.write_text(json.dumps({"lines": lines, "leaks": leaks}))
    return lines, leaks


def timed(argv: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, **kw)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{argv[1:3]} failed ({proc.returncode}): {proc.stderr[-2000:]!r}")
    return elapsed, proc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="~64 MB in 8 files")
    ap.add_argument("--size-mb", type=int, default=None, help="total size (default 1000)")
    ap.add_argument("--files", type=int, default=None, help="how many files (default 16)")
    ap.add_argument("--secrets", type=int, default=1000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument(
        "--engine",
        default=None,
        help="REDACTOR_ENGINE for every command (default: as set, else the engine's auto)",
    )
    args = ap.parse_args(argv)
    if args.engine:
        os.environ["REDACTOR_ENGINE"] = args.engine
    engine = os.environ.get("REDACTOR_ENGINE", "auto")
    size_mb = args.size_mb or (64 if args.quick else 1000)
    n_files = args.files or (8 if args.quick else 16)

    from redactor.sources.load import SourceConfig, build_redactor

    secrets = make_secrets(args.secrets)
    data_root = RESULTS / "data" / f"spark-logs-{size_mb}mb-{n_files}f-{args.secrets}s"
    data_root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    lines, leaks = generate(data_root, size_mb * MB, n_files, list(secrets.values()))
    gen_seconds = time.perf_counter() - t0
    inputs = sorted(p for p in data_root.rglob("*.log"))
    total_bytes = sum(p.stat().st_size for p in inputs)

    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp_name:
        tmp = Path(tmp_name)
        env_file = tmp / "secrets.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
        sources = ["--no-config", "--secrets-file", str(env_file)]
        redactor = build_redactor(SourceConfig(secrets_files=[env_file]))
        broadcast_bytes = len(pickle.dumps(redactor, protocol=pickle.HIGHEST_PROTOCOL))
        print(
            f"logs: {total_bytes / MB:.0f} MB in {len(inputs)} files, {lines} records, "
            f"{leaks} leaked secrets (generated in {gen_seconds:.0f}s or reused); "
            f"{len(secrets)} secrets -> {redactor.pattern_count} forms; "
            f"the broadcast pickle is {broadcast_bytes / 1e6:.2f} MB; engine {engine}"
        )

        # 1. redactor filter, one process per file, in sequence
        filter_out = tmp / "filter"
        t_filter = 0.0
        for path in inputs:
            rel = path.relative_to(data_root)
            (filter_out / rel).parent.mkdir(parents=True, exist_ok=True)
            with path.open("rb") as fin, (filter_out / rel).open("wb") as fout:
                seconds, _ = timed(
                    [*REDACTOR, "filter", "--no-add-mask", *sources], stdin=fin, stdout=fout
                )
            t_filter += seconds
        print(f"filter: {t_filter:.1f}s", flush=True)

        # 2. scrub-logs, one process
        t_single, single = timed(
            [*REDACTOR, "scrub-logs", "--json", *sources, str(data_root), str(tmp / "single")],
            capture_output=True,
            text=True,
        )
        print(f"scrub-logs: {t_single:.1f}s", flush=True)

        # 3. scrub-logs --spark
        t_spark, spark = timed(
            [
                *REDACTOR,
                "scrub-logs",
                "--json",
                "--spark",
                "--master",
                args.master,
                *sources,
                str(data_root),
                str(tmp / "spark"),
            ],
            capture_output=True,
            text=True,
        )
        print(f"scrub-logs --spark: {t_spark:.1f}s", flush=True)
        # Spark's start-up alone: the same command on an empty folder.
        (tmp / "empty").mkdir()
        t_spark_empty, _ = timed(
            [
                *REDACTOR,
                "scrub-logs",
                "--spark",
                "--master",
                args.master,
                *sources,
                str(tmp / "empty"),
                str(tmp / "spark-empty"),
            ],
            capture_output=True,
            text=True,
        )

        same_single = same_spark = True
        for path in inputs:
            rel = path.relative_to(data_root)
            expected = (filter_out / rel).read_bytes()
            same_single &= (tmp / "single" / rel).read_bytes() == expected
            same_spark &= (tmp / "spark" / rel).read_bytes() == expected
        replaced = sum(
            (filter_out / p.relative_to(data_root)).read_bytes().count(b"[REDACTED]")
            for p in inputs
        )
        rep_single, rep_spark = json.loads(single.stdout), json.loads(spark.stdout)

    def rps(seconds: float) -> float:
        return lines / seconds

    row = {
        "size_mb": total_bytes / MB,
        "files": len(inputs),
        "records": lines,
        "secrets": len(secrets),
        "forms": redactor.pattern_count,
        "broadcast_bytes": broadcast_bytes,
        "leaks_planted": leaks,
        "regions_replaced_by_filter": replaced,
        "matches_reported": {"single": rep_single["matches"], "spark": rep_spark["matches"]},
        "records_reported": {"single": rep_single["records"], "spark": rep_spark["records"]},
        "outputs_equal_filter": {"single": same_single, "spark": same_spark},
        "master": args.master,
        "engine": engine,
        "seconds": {
            "filter": t_filter,
            "scrub_logs": t_single,
            "scrub_logs_spark": t_spark,
            "scrub_logs_spark_empty_input": t_spark_empty,
        },
        "records_per_s": {
            "filter": rps(t_filter),
            "scrub_logs": rps(t_single),
            "scrub_logs_spark": rps(t_spark),
            "scrub_logs_spark_net_of_startup": rps(t_spark - t_spark_empty),
        },
        "mb_s": {
            "filter": total_bytes / MB / t_filter,
            "scrub_logs": total_bytes / MB / t_single,
            "scrub_logs_spark": total_bytes / MB / t_spark,
        },
    }
    row["ratios"] = {
        "spark_vs_filter": t_filter / t_spark,
        "spark_net_of_startup_vs_filter": t_filter / (t_spark - t_spark_empty),
        "scrub_logs_single_vs_filter": t_filter / t_single,
        "spark_vs_scrub_logs_single": t_single / t_spark,
    }
    print()
    print("| command | seconds | records/s | MB/s | x filter |")
    print("|---|---|---|---|---|")
    for key, label in (
        ("filter", "redactor filter (one process per file)"),
        ("scrub_logs", "redactor scrub-logs (one process)"),
        ("scrub_logs_spark", f"redactor scrub-logs --spark ({args.master})"),
    ):
        s = row["seconds"][key]
        print(
            f"| {label} | {s:.1f} | {row['records_per_s'][key]:,.0f} | "
            f"{row['mb_s'][key]:.1f} | {t_filter / s:.2f} |"
        )
    print(
        f"| (Spark start-up and stop: empty folder) | {t_spark_empty:.1f} | | | |\n"
        f"| scrub-logs --spark net of start-up | {t_spark - t_spark_empty:.1f} | "
        f"{row['records_per_s']['scrub_logs_spark_net_of_startup']:,.0f} | | "
        f"{row['ratios']['spark_net_of_startup_vs_filter']:.2f} |"
    )
    print()
    print(
        f"outputs equal filter's: single {same_single}, spark {same_spark}; regions replaced "
        f"{replaced} (planted {leaks}); matches reported: single {rep_single['matches']}, "
        f"spark {rep_spark['matches']}"
    )
    result = {
        "benchmark": "spark",
        "quick": args.quick,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_at_end": os.getloadavg(),
        **row,
    }
    name = f"bench_spark_{'quick' if args.quick else f'{size_mb}mb'}_{engine}.json"
    path = RESULTS / name
    path.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {path.relative_to(HERE.parent)}")
    return 0 if same_single and same_spark else 1


if __name__ == "__main__":
    raise SystemExit(main())
