"""What a Databricks workspace scope costs: the first and the cached ``get``, and listing 1,000
secrets, through the unmodified databricks-sdk against the local HTTPS workspace of the tests.

    python benchmarks/bench_scopes_databricks.py            # 5 cold processes, 200 warm gets, ...
    python benchmarks/bench_scopes_databricks.py --cold 3 --gets 50 --lists 5

The workspace (tests/helpers/databricks_server.py) runs in this process on 127.0.0.1 with TLS (its
test CA trusted through REQUESTS_CA_BUNDLE) and a personal access token; one scope holds 1,000
secrets (the workspace's limit per scope) of 40 characters. Measured, as best and median
(timings are reported, never asserted; a real workspace adds its network round trip to every
figure but the cached get):

* cold first get: a fresh interpreter running ``dbutils.secrets.get`` once, split into importing
  the SDK (``import databricks.sdk``, which loads every service module), creating the client
  (``Config``: environment, profile and, in recent SDKs, the host-metadata probe) and the request;
* first get in a warm process: a key not fetched before, the client already made (one HTTPS
  request on a kept-alive connection);
* cached get: the same key again (in-memory cache, no request);
* list: ``list_secrets`` on the 1,000-secret scope. The secrets list API has no paging: one
  request answers the whole scope (1,000 entries at most), which the SDK returns as one list;
* every value: ``scope_items`` (what ``--scope`` reads): the listing and 1,000 gets;
* every value again with each answer delayed by ``--latency`` ms (20 by default, a remote
  workspace's round trip), one get at a time and ``ITEMS_WORKERS`` at a time.

Figures go to benchmarks/results/bench_scopes_databricks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.databricks_server import DatabricksServer  # noqa: E402

COLD = """
import time
t0 = time.perf_counter()
import databricks.sdk  # noqa: F401
t1 = time.perf_counter()
from redactor.sources.scopes import open_scope
scope = open_scope("bench")
client = scope._client()
t2 = time.perf_counter()
value = scope.get("key-0000")
t3 = time.perf_counter()
assert len(value) == 40
print(t1 - t0, t2 - t1, t3 - t2)
"""


def stats(samples: list[float]) -> dict[str, float]:
    return {"best_ms": min(samples) * 1000, "median_ms": statistics.median(samples) * 1000}


def show(label: str, s: dict[str, float]) -> None:
    print(f"{label:<44} best {s['best_ms']:9.3f} ms   median {s['median_ms']:9.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=5, help="fresh processes for the cold get")
    parser.add_argument("--gets", type=int, default=200, help="first gets in a warm process")
    parser.add_argument("--cached", type=int, default=10000, help="cached gets")
    parser.add_argument("--lists", type=int, default=20, help="listings of the 1,000 secrets")
    parser.add_argument("--items", type=int, default=3, help="reads of every value")
    parser.add_argument(
        "--latency", type=float, default=20.0, help="simulated round trip (ms) for the last test"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, DatabricksServer(Path(tmp)) as ws:
        ws.create_scope("bench")
        for i in range(1000):
            ws.put("bench", f"key-{i:04d}", f"value-{i:04d}-" + "x" * 29)
        (Path(tmp) / "user").mkdir()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("REDACTOR_", "DATABRICKS_"))
        }
        env.update(
            HOME=str(Path(tmp) / "user"),
            REDACTOR_HOME=str(Path(tmp) / "redactor-home"),
            REQUESTS_CA_BUNDLE=str(ws.ca_path),
            DATABRICKS_TOKEN=ws.add_token("bench@example.com"),
        )
        os.environ.clear()
        os.environ.update(env)

        from redactor.sources.scopes import create_scope, databricks, open_scope, scope_items

        create_scope("bench", "DATABRICKS_WORKSPACE", {"host": ws.url})
        results: dict[str, object] = {"secrets": 1000, "sdk": _sdk_version()}

        cold = []
        for _ in range(args.cold):
            out = subprocess.run(
                [sys.executable, "-c", textwrap.dedent(COLD)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            ).stdout.split()
            cold.append([float(x) for x in out])
        for i, part in enumerate(("import_sdk", "client", "request")):
            results[f"cold_{part}"] = stats([c[i] for c in cold])
        results["cold_total"] = stats([sum(c) for c in cold])
        show("cold: import databricks.sdk", results["cold_import_sdk"])  # type: ignore[arg-type]
        show("cold: create the client (Config)", results["cold_client"])  # type: ignore[arg-type]
        show("cold: the first get (one request)", results["cold_request"])  # type: ignore[arg-type]
        show("cold: all three", results["cold_total"])  # type: ignore[arg-type]

        scope = open_scope("bench")
        scope.get("key-0999")  # the client and a kept-alive connection
        first = []
        for i in range(args.gets):
            t = time.perf_counter()
            scope.get(f"key-{i % 999:04d}")
            first.append(time.perf_counter() - t)
            if i % 999 == 998:
                databricks.clear_cache()
                scope.get("key-0999")
        results["warm_first_get"] = stats(first)
        show("warm process: first get of a key", results["warm_first_get"])  # type: ignore[arg-type]

        cached = []
        for _ in range(args.cached):
            t = time.perf_counter()
            scope.get("key-0000")
            cached.append(time.perf_counter() - t)
        results["cached_get"] = stats(cached)
        show("cached get", results["cached_get"])  # type: ignore[arg-type]

        lists = []
        requests_before = len(ws.api_requests())
        for _ in range(args.lists):
            t = time.perf_counter()
            listed = scope.list()
            lists.append(time.perf_counter() - t)
            assert len(listed) == 1000
        results["list_1000_requests_each"] = (len(ws.api_requests()) - requests_before) / args.lists
        results["list_1000"] = stats(lists)
        show("list 1,000 secrets", results["list_1000"])  # type: ignore[arg-type]

        items = []
        for _ in range(args.items):
            databricks.clear_cache()
            t = time.perf_counter()
            got = list(scope_items("bench"))
            items.append(time.perf_counter() - t)
            assert len(got) == 1000
        results["items_1000"] = stats(items)
        show("every value (list + 1,000 gets, cache cold)", results["items_1000"])  # type: ignore[arg-type]
        print(
            f"requests per listing: {results['list_1000_requests_each']:.0f} (the API has no paging)"
        )

        # A remote workspace: every answer delayed by --latency ms; every value read one request at
        # a time, then ITEMS_WORKERS at a time (what items() does).
        ws.latency = args.latency / 1000
        workers = databricks.ITEMS_WORKERS
        for label, n in (("sequential", 1), (f"{workers} at a time", workers)):
            databricks.ITEMS_WORKERS = n
            databricks.clear_cache()
            t = time.perf_counter()
            got = list(scope_items("bench"))
            elapsed = time.perf_counter() - t
            assert len(got) == 1000
            results[f"items_1000_latency_{n}_workers_s"] = elapsed
            print(f"every value, {args.latency:g} ms round trip, {label}: {elapsed:.2f} s")
        databricks.ITEMS_WORKERS = workers
        ws.latency = 0.0

    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bench_scopes_databricks.json").write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("databricks-sdk")


if __name__ == "__main__":
    sys.exit(main())
