"""What discovery costs at start-up (``%load_ext``): every credential file present, realistic sizes.

    python benchmarks/bench_discovery.py            # best of 50 warm calls, best of 5 cold processes
    python benchmarks/bench_discovery.py -n 200

A temporary HOME holds each file a developer's machine may have, sized like a busy one: 20
Databricks profiles, 10 AWS profiles (credentials and config), 20 netrc machines, 10 Docker
registries, 10 git credentials, 20 pgpass lines, a 3-index pypirc, 3 gh hosts and a kube config of
10 clusters and users with 2.3 KB client keys; the environment has 100 variables, 10 of them
secret. Warm: discover() in this process (best of N). Cold: a fresh interpreter importing
redactor.sources.discovery and running discover() once after ``import redactor`` (what
``%load_ext`` pays, YAML import included), once with PyYAML importable and once with it blocked (the built-in reader).
The target (issue 14) is <= 50 ms.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def token(rng: random.Random, n: int = 40) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def build_home(home: Path) -> dict[str, str]:
    """Write every file; return the environment."""
    rng = random.Random(14)

    def write(rel: str, text: str) -> None:
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")

    write(
        ".databrickscfg",
        "".join(
            f"[p{i}]\nhost = https://adb-{i}.azuredatabricks.net\ntoken = dapi{token(rng, 32)}\n"
            f"cluster_id = 0123-456789-{i:08d}\n\n"
            for i in range(20)
        ),
    )
    write(
        ".aws/credentials",
        "".join(
            f"[p{i}]\naws_access_key_id = AKIA{token(rng, 16)}\n"
            f"aws_secret_access_key = {token(rng, 40)}\naws_session_token = {token(rng, 300)}\n\n"
            for i in range(10)
        ),
    )
    write(
        ".aws/config",
        "".join(f"[profile p{i}]\nregion = us-west-2\noutput = json\n\n" for i in range(10)),
    )
    write(
        ".netrc",
        "".join(
            f"machine m{i}.example.com login u{i} password {token(rng, 24)}\n" for i in range(20)
        ),
    )
    auths = {
        f"registry{i}.example.com": {
            "auth": base64.b64encode(f"user{i}:{token(rng, 30)}".encode()).decode()
        }
        for i in range(10)
    }
    write(".docker/config.json", json.dumps({"auths": auths, "credsStore": "desktop"}, indent=2))
    write(
        ".git-credentials",
        "".join(f"https://u{i}:{token(rng, 40)}@git{i}.example.com\n" for i in range(10)),
    )
    write(
        ".pgpass", "".join(f"db{i}.example.com:5432:app:u{i}:{token(rng, 20)}\n" for i in range(20))
    )
    write(
        ".pypirc",
        "[distutils]\nindex-servers =\n    pypi\n    testpypi\n    private\n\n"
        + "".join(
            f"[{n}]\nusername = __token__\npassword = pypi-{token(rng, 150)}\n\n"
            for n in ("pypi", "testpypi", "private")
        ),
    )
    write(
        ".config/gh/hosts.yml",
        "".join(
            f"gh{i}.example.com:\n    users:\n        u{i}:\n            oauth_token: gho_{token(rng, 36)}\n"
            f"    git_protocol: https\n    user: u{i}\n    oauth_token: gho_{token(rng, 36)}\n"
            for i in range(3)
        ),
    )
    key = base64.b64encode(token(rng, 1700).encode()).decode()
    cert = base64.b64encode(token(rng, 1100).encode()).decode()
    kube = ["apiVersion: v1", "kind: Config", "clusters:"]
    for i in range(10):
        kube += [
            "- cluster:",
            f"    certificate-authority-data: {cert}",
            f"    server: https://10.0.0.{i}:6443",
            f"  name: c{i}",
        ]
    kube.append("contexts:")
    for i in range(10):
        kube += ["- context:", f"    cluster: c{i}", f"    user: u{i}", f"  name: ctx{i}"]
    kube += ["current-context: ctx0", "users:"]
    for i in range(10):
        kube += [
            f"- name: u{i}",
            "  user:",
            f"    client-certificate-data: {cert}",
            f"    client-key-data: {key[:-8]}{i:08d}",
        ]
    write(".kube/config", "\n".join(kube) + "\n")
    env = {f"VAR_{i}": f"value-{i}" for i in range(90)}
    env.update({f"SERVICE_{i}_TOKEN": token(rng, 40) for i in range(10)})
    return env


COLD = """
import json, sys, time
from pathlib import Path
if sys.argv[1] == "block":
    sys.modules["yaml"] = None
import redactor  # already imported when %load_ext runs discovery: not counted
t0 = time.perf_counter()
from redactor.sources.discovery import discover
found = discover(environ=json.loads(sys.argv[2]), home=Path(sys.argv[3]))
print(time.perf_counter() - t0, len(found))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=50, help="warm repetitions (best of)")
    ap.add_argument("--cold", type=int, default=5, help="cold processes per variant (best of)")
    args = ap.parse_args()
    from redactor.sources.discovery import discover

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = build_home(home)
        size = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
        found = discover(environ=env, home=home)
        print(f"{len(found)} secrets from {size / 1000:.1f} KB of files and {len(env)} variables")
        times = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            discover(environ=env, home=home)
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(f"warm discover(): best of {args.n} = {best * 1000:.2f} ms")
        for variant in ("pyyaml", "block"):
            times = []
            for _ in range(args.cold):
                out = subprocess.run(
                    [sys.executable, "-c", COLD, variant, json.dumps(env), str(home)],
                    check=True,
                    capture_output=True,
                    text=True,
                    env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
                ).stdout.split()
                times.append(float(out[0]))
            label = "PyYAML" if variant == "pyyaml" else "built-in YAML reader"
            print(
                f"cold import + discover() ({label}): best of {args.cold} = "
                f"{min(times) * 1000:.2f} ms"
            )


if __name__ == "__main__":
    main()
