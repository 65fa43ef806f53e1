"""What discovery costs at start-up (``%load_ext``): every credential file present, realistic sizes.

    python benchmarks/bench_discovery.py            # best of 50 warm calls, 5 cold processes, 5 kernels
    python benchmarks/bench_discovery.py -n 200 --cold 10 --kernels 0

A temporary HOME holds each file a developer's machine may have, sized like a busy one: 20
Databricks profiles, 10 AWS profiles (credentials and config), 20 netrc machines, 10 Docker
registries, 10 git credentials, 20 pgpass lines, a 3-index pypirc, 3 gh hosts and a kube config of
10 clusters and users with 2.3 KB client keys; the environment has 100 variables, 10 of them
secret. Measured, each as the best of N (timings are reported, never asserted):

* warm: discover() in this process;
* cold discover(): a fresh interpreter importing redactor.sources.discovery and running
  discover() once after ``import redactor``, once with PyYAML importable and once with it blocked
  (the built-in YAML reader);
* cold register_discovered(): the same, through what ``%load_ext`` and ``install()`` call
  (discovery plus registering every value with the process-wide redactor), and then the first
  redact(), which builds the automaton;
* ``%load_ext redactor`` in a fresh real kernel with that HOME and environment, with
  REDACTOR_DISCOVER=0 and =1 (alternating), timed inside the kernel; the difference is what
  discovery adds to the extension's start-up.

The target (issue 14) is <= 50 ms for discovery at ``%load_ext``. Figures are written to
benchmarks/results/bench_discovery-{busy,typical}.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import string
import subprocess
import sys
import tempfile
import textwrap
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
environ, home = json.loads(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter()
if sys.argv[1] == "register":
    from redactor.sources.load import register_discovered
    found = sum(map(len, register_discovered(environ).values()))
    t1 = time.perf_counter()
    redactor.redact("warm up")  # the first redact builds the automaton
else:
    from redactor.sources.discovery import discover
    found = len(discover(environ=environ, home=home))
    t1 = time.perf_counter()
print(t1 - t0, time.perf_counter() - t0, found)
"""

#: timed inside the kernel, so that the client round trip is not counted. The kernel starts with
#: REDACTOR_DISCOVER=0: a first load pays the imports; unloaded, a second load is the extension
#: alone (warm, discovery off); unloaded again with REDACTOR_DISCOVER=1, a third load is the same
#: plus discovery and registering what it found. In one kernel, so the difference is paired and
#: not drowned by the spread between kernel starts (tens of ms on a loaded machine). Then the
#: first redact(), which builds the automaton over every registered form.
LOAD_EXT = textwrap.dedent(
    """
    import os, time as _t
    import redactor as _r
    def _load():
        t0 = _t.perf_counter()
        get_ipython().run_line_magic("load_ext", "redactor")
        return _t.perf_counter() - t0
    _cold = _load()
    get_ipython().run_line_magic("unload_ext", "redactor")
    _off = _load()
    get_ipython().run_line_magic("unload_ext", "redactor")
    os.environ["REDACTOR_DISCOVER"] = "1"
    _on = _load()
    _t0 = _t.perf_counter()
    _r.get_redactor().redact("first output")
    _first = _t.perf_counter() - _t0
    print(_cold, _off, _on, _first, len(_r.get_redactor().secret_names))
    """
)


def cold(variant: str, env: dict[str, str], home: Path, n: int) -> tuple[float, float, int]:
    """Best of ``n`` fresh interpreters: (seconds to the result, seconds including the first
    redact, values found)."""
    runs = []
    for _ in range(n):
        out = subprocess.run(
            [sys.executable, "-c", COLD, variant, json.dumps(env), str(home)],
            check=True,
            capture_output=True,
            text=True,
            # HOME too: register_discovered() reads the files under Path.home(), as %load_ext does
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "", "HOME": str(home)},
        ).stdout.split()
        runs.append((float(out[0]), float(out[1]), int(out[2])))
    return min(runs)


def kernel_env(env: dict[str, str], home: Path) -> dict[str, str]:
    """The kernel's environment: this one without the machine's own credentials or path
    overrides, HOME at the benchmark's files, plus the benchmark's 100 variables."""
    from redactor.sources.discovery import env_source

    taken = {name.removeprefix("env:") for name, _ in env_source(os.environ, home)}
    overrides = (
        "DATABRICKS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE NETRC DOCKER_CONFIG "
        "PGPASSFILE GH_CONFIG_DIR XDG_CONFIG_HOME KUBECONFIG PYTEST_CURRENT_TEST"
    ).split()
    base = {k: v for k, v in os.environ.items() if k not in taken and k not in overrides}
    return {**base, **env, "HOME": str(home), "USERPROFILE": str(home)}


def load_ext_in_kernels(env: dict[str, str], home: Path, tmp: Path, n: int) -> list[tuple]:
    """:data:`LOAD_EXT` in ``n`` fresh kernels: (cold, off, on, first redact, secrets) each."""
    from jupyter_client.manager import start_new_kernel

    spec = tmp / "share" / "jupyter" / "kernels" / "redactor-bench"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "b"}))
    os.environ["JUPYTER_PATH"] = str(tmp / "share" / "jupyter")
    kenv = {
        **kernel_env(env, home),
        "REDACTOR_DISCOVER": "0",
        "IPYTHONDIR": str(tmp / "ipython"),
    }
    runs = []
    for _ in range(n):
        km, kc = start_new_kernel(kernel_name="redactor-bench", startup_timeout=120, env=kenv)
        try:
            out: list[str] = []

            def hook(msg: dict, out: list[str] = out) -> None:
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])

            reply = kc.execute_interactive(LOAD_EXT, output_hook=hook, timeout=120)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"cell failed: {reply['content'].get('evalue')}")
            *seconds, secrets = "".join(out).split()
            runs.append((*map(float, seconds), int(secrets)))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=50, help="warm repetitions (best of)")
    ap.add_argument("--cold", type=int, default=5, help="cold processes per variant (best of)")
    ap.add_argument("--kernels", type=int, default=5, help="kernels per setting (0: skip)")
    ap.add_argument(
        "--home",
        choices=("busy", "typical"),
        default="busy",
        help="busy: the sizes above; typical: one or two entries per file, as the tests write "
        "them (tests/helpers/credentials.py: 21 secrets)",
    )
    args = ap.parse_args()
    from redactor.sources.discovery import discover

    results: dict[str, object] = {"home": args.home}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        if args.home == "busy":
            env = build_home(home)
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from helpers.credentials import fill_home

            creds = fill_home(home, seed=14)
            env = {
                k: creds.env[k] for k in ("DATABRICKS_TOKEN", "DATABRICKS_HOST", "XDG_CONFIG_HOME")
            }
        size = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
        found = discover(environ=env, home=home)
        print(f"{len(found)} secrets from {size / 1000:.1f} KB of files and {len(env)} variables")
        times = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            discover(environ=env, home=home)
            times.append(time.perf_counter() - t0)
        best = min(times)
        results["warm_discover_ms"] = best * 1000
        print(f"warm discover(): best of {args.n} = {best * 1000:.2f} ms")
        for variant, label in (
            ("pyyaml", "discover(), PyYAML importable"),
            ("block", "discover(), built-in YAML reader"),
            ("register", "register_discovered()"),
        ):
            first, with_redact, count = cold(variant, env, home, args.cold)
            results[f"cold_{variant}_ms"] = first * 1000
            line = f"cold import + {label}: best of {args.cold} = {first * 1000:.2f} ms"
            if variant == "register":
                results["cold_register_first_redact_ms"] = with_redact * 1000
                line += (
                    f" ({count} registered; with the first redact(): {with_redact * 1000:.2f} ms)"
                )
            print(line)
        if args.kernels:
            runs = load_ext_in_kernels(env, home, Path(tmp), args.kernels)
            cold_ms = min(r[0] for r in runs) * 1000
            off_ms = min(r[1] for r in runs) * 1000
            on_ms = min(r[2] for r in runs) * 1000
            added_ms = min(r[2] - r[1] for r in runs) * 1000
            first_ms = min(r[3] for r in runs) * 1000
            results.update(
                load_ext_first_ms=cold_ms,
                load_ext_off_ms=off_ms,
                load_ext_on_ms=on_ms,
                load_ext_discovery_adds_ms=added_ms,
                first_redact_ms=first_ms,
            )
            print(
                f"%load_ext redactor in a real kernel, best of {args.kernels} kernels: first load "
                f"(imports) {cold_ms:.1f} ms; reloaded, REDACTOR_DISCOVER=0 {off_ms:.1f} ms, "
                f"=1 {on_ms:.1f} ms ({runs[0][4]} secrets): discovery adds {added_ms:.1f} ms; "
                f"then the first redact() {first_ms:.1f} ms"
            )
    print("target: discovery at %load_ext <= 50 ms")
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"bench_discovery-{args.home}.json").write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
