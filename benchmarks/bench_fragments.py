"""What the fragment windows cost: false positives on clean text, patterns and build time.

    python benchmarks/bench_fragments.py              # 2,000 secrets, F = none / 16 / 12
    python benchmarks/bench_fragments.py --quick      # 500 secrets, a smaller corpus

Many random, realistic secrets (tokens, passwords with symbols, UUIDs, hex keys, words+digits
passwords and four-word passphrases made of common English words, long base64 blobs) are registered, and a corpus of text that holds
none of them (this interpreter's standard library sources, the documentation files in
site-packages, the project's fixtures/*.log) is redacted. Every [REDACTED] there is a false
positive. Windows off (``fragment_length=None``) is the baseline: whole forms only.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import string
import sys
import sysconfig
import time
import uuid
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ROOT = HERE.parent


def corpus(limit_mb: float) -> tuple[list[str], dict[str, int]]:
    """Clean texts: stdlib sources, site-packages docs, the fixtures' logs (up to ``limit_mb``)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    site = Path(sysconfig.get_paths()["purelib"])
    groups = {
        "stdlib .py": sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts),
        "site-packages docs": sorted(
            p
            for pattern in ("*.md", "*.rst", "*.txt", "METADATA")
            for p in site.rglob(pattern)
            if p.is_file()
        ),
        "fixtures/*.log": sorted((ROOT / "fixtures").glob("*.log")),
    }
    texts, sizes = [], {}
    budget = int(limit_mb * 1_000_000)
    for name, paths in groups.items():
        total = 0
        share = budget if name == "fixtures/*.log" else budget // 2
        for p in paths:
            try:
                t = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            texts.append(t)
            total += len(t)
            if total >= share:
                break
        sizes[name] = total
    return texts, sizes


def english_words(texts: list[str], rnd: random.Random) -> list[str]:
    """Common words of 4 to 10 letters from prose (the site-packages docs): what people pick."""
    counts = Counter(
        w.lower() for t in texts for w in re.findall(r"\b[A-Za-z]{4,10}\b", t) if not w.isupper()
    )
    return [w for w, _ in counts.most_common(5000)]


def make_secrets(n: int, words: list[str], seed: int = 11) -> dict[str, list[str]]:
    rnd = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    per = n // 8
    kinds = {
        "token": lambda: (
            rnd.choice(["ghp_", "sk-live-", "xoxb-", "glpat-"])
            + "".join(rnd.choices(alnum, k=rnd.randint(20, 40)))
        ),
        "password": lambda: "".join(
            rnd.choices(alnum + "!@#$%^&*()-_=+[]{};:',.<>/?", k=rnd.randint(10, 24))
        ),
        "uuid": lambda: str(uuid.UUID(int=rnd.getrandbits(128))),
        "hex": lambda: f"{rnd.getrandbits(4 * (k := rnd.choice([32, 40, 64]))):0{k}x}",
        "words+digits": lambda: (
            "".join(
                (w.capitalize() if rnd.random() < 0.5 else w)
                for w in rnd.sample(words, rnd.randint(2, 4))
            )
            + str(rnd.randint(0, 9999))
            + rnd.choice(["", "!", "#", "$"])
        ),
        # the worst case for windows: common words and spaces, as prose has them
        "passphrase": lambda: " ".join(rnd.sample(words[:2000], 4)),
        "aws": lambda: "".join(rnd.choices(alnum + "+/", k=40)),
        "long base64": lambda: base64.b64encode(rnd.randbytes(rnd.randint(60, 300))).decode(),
    }
    return {kind: [make() for _ in range(per)] for kind, make in kinds.items()}


def measure(secrets: dict[str, list[str]], texts: list[str], fragment: int | None) -> dict:
    from redactor import Redactor

    t0 = time.perf_counter()
    r = Redactor(engine="ahocorasick", fragment_length=fragment)
    ids: dict[str, str] = {}
    for kind, values in secrets.items():
        for i, v in enumerate(values):
            r.add(v, name=f"{kind}/{i}")
            ids[f"{kind}/{i}"] = kind
    r.redact("warm")
    build = time.perf_counter() - t0
    hits: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    chars = 0
    t0 = time.perf_counter()
    for text in texts:
        chars += len(text)
        spans = r.matcher().spans(text, with_ids=True)
        for start, stop, sids in spans:
            for name in {r.secret_names[i] for i in sids or ()}:
                kind = ids[name]
                hits[kind] += 1
                if len(examples.setdefault(kind, [])) < 3:
                    examples[kind].append(text[max(0, start - 10) : stop + 10])
    scan = time.perf_counter() - t0
    return {
        "fragment_length": fragment,
        "patterns": r.pattern_count,
        "build_s": build,
        "scan_mb_s": chars / 1e6 / scan,
        "false_positives": sum(hits.values()),
        "by_kind": dict(hits),
        "examples": examples,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="500 secrets, 10 MB of text")
    ap.add_argument("--secrets", type=int, help="how many secrets (default 2,000; --quick 500)")
    ap.add_argument("--corpus-mb", type=float, help="MB of clean text (default 40; --quick 10)")
    args = ap.parse_args(argv)
    n = args.secrets or (500 if args.quick else 2000)
    texts, sizes = corpus(args.corpus_mb or (10 if args.quick else 40))
    words = english_words(texts, random.Random(3))
    secrets = make_secrets(n, words)
    total = sum(sizes.values())
    print(
        f"{sum(map(len, secrets.values())):,} secrets; clean corpus {total / 1e6:.1f} MB: {sizes}"
    )
    print(f"python {sys.version.split()[0]}\n")
    rows = [measure(secrets, texts, f) for f in (None, 16, 12)]
    print("| fragment length | patterns | build s | scan MB/s | false positives | by kind |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(row["by_kind"].items())) or "-"
        f = row["fragment_length"] or "off"
        print(
            f"| {f} | {row['patterns']:,} | {row['build_s']:.2f} | {row['scan_mb_s']:.1f} "
            f"| {row['false_positives']} | {kinds} |"
        )
    for row in rows:
        for kind, found in row["examples"].items():
            print(f"  F={row['fragment_length']} {kind}: {found[:2]!r}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("fragments-quick.json" if args.quick else "fragments.json")
    out.write_text(json.dumps({"corpus": sizes, "rows": rows}, indent=1))
    print(f"\nresults written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
