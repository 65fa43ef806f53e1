"""What matching across colour codes costs: ``redact``/``redact_bytes`` and the byte stream on
text without ESC (the fast path: one memchr more) and on coloured text, per engine.

    python benchmarks/bench_ansi.py            # 5 MB texts, 1,000 secrets
    python benchmarks/bench_ansi.py --size 1   # 1 MB

Runs with any version of redactor (only public calls that every version has), so the same
script run by another checkout's interpreter gives the baseline, in MB/s, best of five:

* ``plain``: a log-like text with no ESC, 10 secrets planted;
* ``lines``: the same text with every line coloured (timestamp dim, level green, as coloured
  log formatters do): about one sequence per 25 characters; ``lines, no secret``: the same
  without the planted secrets (the common case: nothing found, the quick path);
* ``dense``: syntax-highlighting density, a colour code every 6 characters or so, secrets split.
"""

from __future__ import annotations

import argparse
import random
import time
from functools import partial

from redactor import Redactor, hyperscan_available

MB = 1_000_000


def texts(size: int, secrets: list[str]) -> dict[str, str]:
    rng = random.Random(7)
    words = ["GET", "/api/v1/items", "200", "user=alice", "took", "12ms", "cache", "miss", "id="]
    lines, n = [], 0
    while n < size:
        line = f"10:{rng.randrange(60):02d}:{rng.randrange(60):02d} INFO " + " ".join(
            rng.choice(words) for _ in range(10)
        )
        lines.append(line)
        n += len(line) + 1
    clean = list(lines)
    for i, s in enumerate(secrets[:10]):
        k = (i + 1) * len(lines) // 11
        lines[k] += " token=" + s
    plain = "\n".join(lines) + "\n"

    def colour(lines: list[str]) -> str:
        return "\n".join(
            f"\x1b[2m{ln[:8]}\x1b[0m \x1b[32m{ln[9:13]}\x1b[0m{ln[13:]}" for ln in lines
        )

    coloured = colour(lines)
    dense = "".join(plain[i : i + 6] + f"\x1b[3{i % 8}m" for i in range(0, len(plain), 6))
    return {
        "plain": plain,
        "lines": coloured + "\n",
        "lines, no secret": colour(clean) + "\n",
        "dense": dense,
    }


def best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=float, default=5, help="text size in MB")
    ap.add_argument("--secrets", type=int, default=1000)
    args = ap.parse_args()
    rng = random.Random(1)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    secrets = [
        "sk-" + "".join(rng.choice(alphabet) for _ in range(29)) for _ in range(args.secrets)
    ]
    engines = ["ahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
    print("| engine | text | redact MB/s | redact_bytes MB/s | bytes stream (64 KiB) MB/s |")
    print("|---|---|---|---|---|")
    for engine in engines:
        r = Redactor(engine=engine)
        for i, s in enumerate(secrets):
            r.add(s, f"s{i}")
        for kind, text in texts(int(args.size * MB), secrets).items():
            data = text.encode()
            r.redact(text[:1000])
            r.redact_bytes(data[:1000])
            if kind == "plain":
                assert secrets[0] not in r.redact(text)

            mb = len(data) / MB
            print(
                f"| {engine} | {kind} | {mb / best(partial(r.redact, text)):.0f} "
                f"| {mb / best(partial(r.redact_bytes, data)):.0f} "
                f"| {mb / best(partial(stream, r, data)):.0f} |"
            )


def stream(r: Redactor, data: bytes) -> None:
    s = r.bytes_stream()
    for i in range(0, len(data), 1 << 16):
        s.feed(data[i : i + (1 << 16)])
    s.flush()


if __name__ == "__main__":
    main()
