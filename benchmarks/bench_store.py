"""What the local store's store-wide integrity check costs, by store size.

    python benchmarks/bench_store.py                 # stores of 10, 100, 1,000 and 3,000 secrets
    python benchmarks/bench_store.py --sizes 10 100 -n 50

Every transaction (a read too) recomputes the manifest of the whole store (a SHA-256 over every
row's fields and ciphertext, see redactor/sources/scopes/local/integrity.py) and checks its MAC,
and every write re-seals it, so the check is O(rows) per operation. For each size this measures,
as the best of N (timings are reported, never asserted; the machines are shared):

* ``get`` on a warm LocalStore (the data key already unwrapped), the common case in a process;
* ``put`` (an overwrite of an existing key);
* the manifest alone (``integrity.manifest_of`` in a read transaction), and its share of ``get``.

The master key comes from REDACTOR_MASTER_KEY so that no KDF or keychain time is counted. Figures
are written to benchmarks/results/bench_store.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def best_of(n: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def measure(size: int, n: int) -> dict[str, float]:
    from redactor.sources.scopes import LocalStore
    from redactor.sources.scopes.local import db, integrity

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {"REDACTOR_MASTER_KEY": os.urandom(32).hex()}
        store = LocalStore(home, environ=env)
        scopes = max(1, size // 100)
        for s in range(scopes):
            store.create_scope(f"scope-{s}")
        for i in range(size):
            store.put_secret(f"scope-{i % scopes}", f"key-{i}", f"value-{i}-" + "x" * 40)
        get = best_of(n, lambda: store.get_secret("scope-0", "key-0"))
        put = best_of(n, lambda: store.put_secret("scope-0", "key-0", "another value"))

        def manifest() -> None:
            conn = db.connect(store.path)
            try:
                with db.transaction(conn, write=False):
                    integrity.manifest_of(conn, 0)
            finally:
                conn.close()

        mani = best_of(n, manifest)
        return {
            "secrets": size,
            "get_ms": get * 1e3,
            "put_ms": put * 1e3,
            "manifest_ms": mani * 1e3,
            "manifest_share_of_get": mani / get,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 3000])
    ap.add_argument("-n", type=int, default=30, help="repetitions; the best is kept")
    args = ap.parse_args()
    rows = [measure(size, args.n) for size in args.sizes]
    print(f"{'secrets':>8} {'get ms':>8} {'put ms':>8} {'manifest ms':>12} {'share':>6}")
    for r in rows:
        print(
            f"{r['secrets']:>8} {r['get_ms']:>8.2f} {r['put_ms']:>8.2f} "
            f"{r['manifest_ms']:>12.2f} {r['manifest_share_of_get']:>6.0%}"
        )
    out = Path(__file__).parent / "results" / "bench_store.json"
    out.parent.mkdir(exist_ok=True)
    meta = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}
    meta["machine"] = platform.machine()
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
