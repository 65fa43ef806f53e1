"""`redactor scan --git` benchmark: the whole history, each blob once, against the obvious pipe.

    python benchmarks/bench_scan.py            # 10,000 commits, about 1 GB of blobs, 1,000 secrets
    python benchmarks/bench_scan.py --quick    # 1,000 commits, about 50 MB of blobs, 1,000 secrets

A repository is generated with ``git fast-import``: each commit changes a few files of a tree of
200 (so most blobs are shared by many commits, as in real history) and one commit in 20 leaks a
secret in some form (raw, base64, URL, JSON). Then, best of two wall-clock runs each:

* ``redactor scan --git --format json`` (every ref): each distinct blob scanned once;
* ``git log -p --all | redactor filter``: every commit's diff through the filter, the usual way to
  look at history with a stream tool (it sees each change, not each blob, and reports nothing
  about where: only how much it redacted);
* ``git log -p --all | grep -F -c -f FORMS``: the raw and base64 forms as fixed strings over the
  same diffs (what one does without a secrets scanner; GNU grep, LC_ALL=C). ``git grep -F -f``
  over every revision's tree was tried first: on the quick repository (1,000 commits of a
  200-file tree) it had not finished one run after 6 minutes, against 13 s for ``scan --git``,
  because it reads every file of every commit instead of every distinct blob once.

* ``trufflehog`` (when given with ``--trufflehog CMD`` or on PATH): trufflehog 2 is the Python
  tool on PyPI (``pip install trufflehog==2.2.1`` in a venv of its own; the Go trufflehog 3 and
  gitleaks are not on PyPI or the Debian archive). It is run once, on the same repository cloned
  by itself (``file://``), with ``--entropy=False`` and ``--rules`` holding one regex per secret,
  the raw value escaped: it diffs every commit against its parent (GitPython) and runs every rule
  over every diff, so its time grows with rules times commits (200 commits of the quick
  repository took 22 s); the base64 forms would double its rules, so it looks for the raw copies
  only. ``--trufflehog-timeout`` stops it (the figure is then a lower bound).

The machines are shared and noisy: read the ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

# the same generated secrets as the filter benchmark (this folder is on sys.path when run)
from bench_filter import make_secrets

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REDACTOR = [sys.executable, "-m", "redactor"]
FILES = 200
IDENTITY = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


def _text(rnd: random.Random, size: int) -> bytes:
    words = "alpha beta gamma delta config value import return data frame log step ok".split()
    out: list[str] = []
    n = 0
    while n < size:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(4, 14))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()


def make_repo(repo: Path, commits: int, blob_bytes: int, secrets: list[str]) -> dict[str, int]:
    """The repository, through one ``git fast-import`` stream; returns its measured shape."""
    rnd = random.Random(3)
    disguises = [
        lambda s: s,
        lambda s: base64.b64encode(s.encode()).decode(),
        lambda s: quote(s, safe=""),
        lambda s: json.dumps({"token": s}),
    ]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    proc = subprocess.Popen(
        ["git", "-C", str(repo), "fast-import", "--quiet"],
        stdin=subprocess.PIPE,
        env={**os.environ, **IDENTITY},
    )
    assert proc.stdin is not None
    w = proc.stdin.write
    per_commit = max(1, blob_bytes // commits // 4000)  # files changed per commit, ~4 KB each
    total = leaks = 0
    for i in range(commits):
        w(b"commit refs/heads/main\n")
        w(f"committer b <b@example.com> {1_700_000_000 + i} +0000\n".encode())
        msg = f"change {i}".encode()
        w(b"data %d\n%s\n" % (len(msg), msg))
        for _ in range(per_commit if i else FILES):
            name = f"src/mod{rnd.randrange(FILES):03d}.txt"
            data = _text(rnd, rnd.randint(2000, 6000))
            if rnd.random() < 0.05 / per_commit:
                data += f"leak {rnd.choice(disguises)(rnd.choice(secrets))}\n".encode()
                leaks += 1
            total += len(data)
            w(f"M 100644 inline {name}\n".encode())
            w(b"data %d\n%s\n" % (len(data), data))
        w(b"\n")
    proc.stdin.close()
    assert proc.wait() == 0
    return {"commits": commits, "blob_bytes": total, "leaks": leaks}


def best_of(n: int, cmd: str, cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    best = float("inf")
    code = 0
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, shell=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=False
        )
        best = min(best, time.perf_counter() - start)
        code = proc.returncode
    return best, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--trufflehog",
        metavar="CMD",
        default=shutil.which("trufflehog"),
        help="trufflehog 2's command (default: trufflehog on PATH, if any)",
    )
    parser.add_argument("--trufflehog-timeout", type=float, default=3600.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    commits, size = (1_000, 50_000_000) if args.quick else (10_000, 1_000_000_000)
    secrets = make_secrets(1_000)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        repo = work / "repo"
        t0 = time.perf_counter()
        shape = make_repo(repo, commits, size, list(secrets.values()))
        made = time.perf_counter() - t0
        env_file = work / "secrets.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
        forms = work / "forms.txt"
        forms.write_text(
            "".join(f"{v}\n{base64.b64encode(v.encode()).decode()}\n" for v in secrets.values())
        )
        env = {**os.environ, **IDENTITY, "LC_ALL": "C"}
        flags = f"--no-config --no-discover --no-detect --secrets-file {env_file}"
        redactor = " ".join(REDACTOR)
        commands = {
            "scan --git": f"{redactor} scan {flags} --format json --git",
            "git log -p | filter": f"git log -p --all | {redactor} filter {flags}",
        }
        commands["git log -p | grep -F -f"] = f"git log -p --all | grep -F -c -f {forms}"
        timings: dict[str, dict[str, object]] = {}
        for name, cmd in commands.items():
            seconds, code = best_of(2, cmd, repo, env)
            timings[name] = {"seconds": round(seconds, 2), "exit_code": code}
            print(f"{name:32s} {seconds:8.2f} s (exit {code})", flush=True)
        if args.trufflehog:
            rules = work / "rules.json"
            rules.write_text(
                json.dumps({f"s{i}": re.escape(v) for i, v in enumerate(secrets.values())})
            )
            th = [args.trufflehog, "--regex", "--entropy=False", "--rules", str(rules)]
            th += ["--json", repo.as_uri()]
            start = time.perf_counter()
            try:
                proc = subprocess.run(
                    th, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    timeout=args.trufflehog_timeout, check=False,
                )  # fmt: skip
                code, stopped = proc.returncode, False
            except subprocess.TimeoutExpired:
                code, stopped = -1, True
            seconds = time.perf_counter() - start
            timings["trufflehog 2 (raw values)"] = {
                "seconds": round(seconds, 2),
                "exit_code": code,
                "stopped_at_timeout": stopped,
            }
            print(f"{'trufflehog 2 (raw values)':32s} {seconds:8.2f} s (exit {code})", flush=True)
        scan = subprocess.run(
            commands["scan --git"], shell=True, cwd=repo, env=env, capture_output=True, text=True
        )
        found = json.loads(scan.stdout)["findings"]
        base = float(timings["scan --git"]["seconds"])  # type: ignore[arg-type]
        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "repository": {**shape, "generate_seconds": round(made, 1)},
            "findings": len(found),
            "findings_commits": sum(len(f["commits"]) for f in found),
            "timings": timings,
            "ratios_to_scan": {
                k: round(float(v["seconds"]) / base, 2)  # type: ignore[arg-type]
                for k, v in timings.items()
            },
            "scan_mb_per_s": round(shape["blob_bytes"] / 1e6 / base, 1),
        }
    print(json.dumps(result, indent=1))
    path = RESULTS / ("bench_scan_quick.json" if args.quick else "bench_scan.json")
    path.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
