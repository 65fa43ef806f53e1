"""`pip install redactor` without extras: the engine, the CLI and install()/logging work with no
IPython, nbformat, nbconvert, Jupyter Server, traitlets or structlog.

Two levels: a fast one that makes those libraries unimportable in child processes (a
``sys.meta_path`` finder installed by a ``sitecustomize`` on ``PYTHONPATH``) and runs every
command; and a slow one that installs the project into a fresh virtual environment, as a user
would, and checks what it brought.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers.cli import REDACTOR, TIMEOUT

from redactor.cli.main import main as redactor_main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SECRET = "s3cr3t-Packaging-Value"

# What a CI-only install must run without (the Jupyter stack and structlog).
BLOCKED = (
    "IPython",
    "nbformat",
    "nbconvert",
    "jupyter_server",
    "jupyter_client",
    "traitlets",
    "structlog",
)

SITECUSTOMIZE = f"""
import sys

BLOCKED = {BLOCKED!r}

# Anything a .pth file imported before this ran is dropped, so that nothing can reuse it.
for _name in list(sys.modules):
    if _name.split(".")[0] in BLOCKED:
        del sys.modules[_name]


class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _Blocker())
"""


@pytest.fixture
def blocked_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python processes (children included) cannot import BLOCKED."""
    site = tmp_path / "blocker"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env["HOME"] = str(tmp_path / "home")
    env["XDG_DATA_HOME"] = str(tmp_path / "home" / "data")
    env["REDACTOR_HOME"] = str(tmp_path / "redactor-home")
    env["PACKAGING_SECRET"] = SECRET
    env.pop("PYTHONSTARTUP", None)
    return env


def run(
    cmd: list[str], env: dict[str, str], cwd: Path, data: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, input=data, capture_output=True, env=env, cwd=cwd, timeout=TIMEOUT)


def test_the_blocker_blocks(blocked_env: dict[str, str], tmp_path: Path) -> None:
    """Without this, every test below would pass vacuously."""
    code = f"""
        import importlib
        for name in {BLOCKED!r}:
            try:
                importlib.import_module(name)
            except ImportError:
                print(name)
        """
    code = textwrap.dedent(code)
    result = run([sys.executable, "-c", code], blocked_env, tmp_path)
    assert result.stdout.decode().split() == list(BLOCKED), result.stderr.decode()


def test_filter_without_the_jupyter_stack(blocked_env: dict[str, str], tmp_path: Path) -> None:
    b64 = base64.b64encode(SECRET.encode()).decode()
    data = f"token={SECRET} here\nbase64 {b64}\nclean line\n".encode()
    cmd = [*REDACTOR, "filter", "--no-config", "--secret-env", "PACKAGING_SECRET"]
    result = run(cmd, blocked_env, tmp_path, data)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == b"token=[REDACTED] here\nbase64 [REDACTED]\nclean line\n"


def test_run_without_the_jupyter_stack(blocked_env: dict[str, str], tmp_path: Path) -> None:
    child = "import os, sys; v = os.environ['PACKAGING_SECRET']; print('out', v); "
    child += "print('err', v, file=sys.stderr); sys.exit(3)"
    cmd = [*REDACTOR, "run", "--no-config", "--secret-env", "PACKAGING_SECRET", "--"]
    result = run([*cmd, sys.executable, "-c", child], blocked_env, tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        3,
        b"out [REDACTED]\n",
        b"err [REDACTED]\n",
    )


def test_scrub_without_nbformat(blocked_env: dict[str, str], tmp_path: Path) -> None:
    """The notebook scrubber works on the JSON itself: nbformat is only used to hand a
    ``NotebookNode`` back to a caller that passed one (so it is installed whenever it is used)."""
    secrets = FIXTURES / "demo-secrets.env"
    blocked, expected = tmp_path / "blocked.ipynb", tmp_path / "expected.ipynb"
    shutil.copyfile(FIXTURES / "leaky.ipynb", blocked)
    shutil.copyfile(FIXTURES / "leaky.ipynb", expected)
    args = ["scrub", "--no-config", "--no-progress", "--secrets-file", str(secrets)]
    result = run([*REDACTOR, *args, str(blocked)], blocked_env, tmp_path)
    assert result.returncode == 1, result.stderr.decode()
    assert result.stderr == b""
    assert result.stdout.decode() == (
        f"scrubbed {blocked}: 21 redactions (demo-secrets.env/API_TOKEN: 11, "
        "demo-secrets.env/SQL_DB_PASSWORD: 10), 3 binary outputs removed\n"
        "redactor scrub: 1 file scrubbed, 0 unchanged\n"
    )
    # The same bytes as the scrub in this process, where nbformat is importable.
    assert redactor_main([*args, "--quiet", str(expected)]) == 1
    assert blocked.read_bytes() == expected.read_bytes() != (FIXTURES / "leaky.ipynb").read_bytes()


def test_scrub_logs_without_the_jupyter_stack(blocked_env: dict[str, str], tmp_path: Path) -> None:
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    (logs / "app.log").write_text(f"start\nconnect with {SECRET}\n", encoding="utf-8")
    (logs / "events.jsonl").write_text(
        json.dumps({"event": "auth", "token": SECRET}) + "\n", encoding="utf-8"
    )
    cmd = [*REDACTOR, "scrub-logs", "--no-config", "--secret-env", "PACKAGING_SECRET"]
    result = run([*cmd, str(logs), str(out)], blocked_env, tmp_path)
    assert (result.returncode, result.stderr) == (0, b""), result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert re.fullmatch(r"2 files, 3 records, 2 matches \(single process, [0-9.]+s\)", lines[0])
    assert lines[1:] == ["  env/PACKAGING_SECRET: 2"]
    assert (out / "app.log").read_text(encoding="utf-8") == "start\nconnect with [REDACTED]\n"
    assert (out / "events.jsonl").read_text(encoding="utf-8") == (
        '{"event": "auth", "token": "[REDACTED]"}\n'
    )


def test_secrets_without_the_jupyter_stack(blocked_env: dict[str, str], tmp_path: Path) -> None:
    def secrets(*args: str, data: bytes = b"") -> str:
        result = run([*REDACTOR, "secrets", *args], blocked_env, tmp_path, data)
        assert (result.returncode, result.stderr) == (0, b""), result.stderr.decode()
        return result.stdout.decode()

    assert secrets("create-scope", "pkg") == ""
    assert secrets("put-secret", "pkg", "token", data=SECRET.encode()) == ""
    assert secrets("list-scopes").splitlines() == ["Scope  Backend Type", "pkg    DATABRICKS"]
    listed = secrets("list-secrets", "pkg").splitlines()
    assert listed[0] == "Key    Last Updated" and listed[1].startswith("token  ")
    assert len(listed) == 2
    cmd = [*REDACTOR, "filter", "--no-config", "--scope", "pkg"]
    result = run(cmd, blocked_env, tmp_path, f"x {SECRET} y\n".encode())
    assert (result.returncode, result.stdout, result.stderr) == (0, b"x [REDACTED] y\n", b"")


def test_install_and_logging_without_the_jupyter_stack(
    blocked_env: dict[str, str], tmp_path: Path
) -> None:
    code = """
        import logging, os, sys
        import redactor
        redactor.add_secret(os.environ["PACKAGING_SECRET"], "token")
        redactor.install()
        logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")
        logging.getLogger("app").warning("token=%s", os.environ["PACKAGING_SECRET"])
        print("print", os.environ["PACKAGING_SECRET"])
        print("stderr", os.environ["PACKAGING_SECRET"], file=sys.stderr)
        sys.stdout.write("split " + os.environ["PACKAGING_SECRET"][:5])
        sys.stdout.write(os.environ["PACKAGING_SECRET"][5:] + "\\n")
        """
    result = run([sys.executable, "-c", textwrap.dedent(code)], blocked_env, tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"WARNING app token=[REDACTED]\nprint [REDACTED]\nsplit [REDACTED]\n"
    assert result.stderr == b"stderr [REDACTED]\n"


def test_the_demo_without_structlog(blocked_env: dict[str, str], tmp_path: Path) -> None:
    """Every step runs; the live-hooks step shows four leaks instead of five and says why."""
    result = run([*REDACTOR, "demo"], blocked_env, tmp_path)
    assert result.returncode == 0, result.stdout.decode()[-2000:] + result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert lines[-1] == "demo finished: all steps passed"
    assert "(structlog is not installed: pip install 'redactor[structlog]' adds its line)" in lines
    assert "  ok: 4 lines leak the token: print, logging, stderr, split write" in lines


def test_the_documented_modules_import_without_their_libraries(
    blocked_env: dict[str, str], tmp_path: Path
) -> None:
    """Every documented import path but redactor.nbconvert (whose class derives from nbconvert's)
    imports without the Jupyter stack, and importing them loads no other optional library: each
    is imported where it is used."""
    code = """
        import sys
        import redactor.logging, redactor.structlog, redactor.jupyter, redactor.spark
        import redactor.secrets, redactor.secrets.azure, redactor.secrets.vault
        import redactor.secrets.databricks
        import redactor.ipython_extension
        from redactor import *
        optional = {"pyspark", "pyarrow", "pandas", "azure", "hvac", "requests", "zstandard",
                    "hyperscan", "tornado", "databricks"}
        print(sorted({m.split(".")[0] for m in sys.modules} & optional))
        print(callable(install), callable(structlog_processor), RedactingFilter.__name__)
        """
    result = run([sys.executable, "-c", textwrap.dedent(code)], blocked_env, tmp_path)
    assert (result.returncode, result.stderr) == (0, b""), result.stderr.decode()
    assert result.stdout == b"[]\nTrue True RedactingFilter\n"


def test_the_nbconvert_integration_names_its_extra(
    blocked_env: dict[str, str], tmp_path: Path
) -> None:
    result = run([sys.executable, "-c", "import redactor.nbconvert"], blocked_env, tmp_path)
    assert result.returncode == 1
    last = result.stderr.decode().splitlines()[-1]
    assert last == (
        "ModuleNotFoundError: redactor.nbconvert needs nbconvert: pip install "
        "'redactor[nbconvert]' (ModuleNotFoundError: No module named 'nbconvert' (blocked))"
    )


# -- a real install ---------------------------------------------------------------------------

# What a source copy leaves out: local state, caches, earlier builds.
_NOT_SOURCE = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    "results",
)


def readme_demo_extras() -> str:
    """The extras the README's first Quick-start command installs (``'.[a,b]'`` -> ``[a,b]``)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    demo = next(line for line in section.splitlines() if line.endswith("redactor demo"))
    match = re.search(r"pip install (?:-q )?'?\.(\[[a-z,]+\])?'?", demo)
    assert match, demo
    return match.group(1) or ""


@pytest.mark.slow
def test_a_fresh_install_without_extras(tmp_path: Path) -> None:
    """``pip install <project>`` in a fresh venv brings none of the Jupyter stack, and
    ``redactor filter`` works there; the README's first command then runs the whole demo.

    Measured on the shared 2-core development machine with a warm pip cache: 40 to 54 s in all
    (by load), of which 24 to 35 s for the fresh venv and the install without extras (the rest:
    the README's extras, a second build of the project, and the demo)."""
    started = time.monotonic()
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=TIMEOUT)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")

    def pip_install(target: str) -> None:
        cmd = [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        result = subprocess.run(
            [*cmd, target], capture_output=True, text=True, env=env, timeout=600
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDACTOR_", "PYTHON"))}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    env.update(PACKAGING_SECRET=SECRET)
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    pip_install(str(source))
    installed = time.monotonic()

    probe = (
        f"import importlib.util as u\nfor n in {BLOCKED!r}: print(n, u.find_spec(n) is not None)"
    )
    result = subprocess.run(
        [str(bin_dir / "python"), "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=True,
    )
    assert result.stdout.splitlines() == [f"{name} False" for name in BLOCKED]
    result = subprocess.run(
        [str(bin_dir / "python"), "-c", "import IPython"], capture_output=True, env=env
    )
    assert result.returncode == 1 and b"No module named 'IPython'" in result.stderr

    cmd = [str(bin_dir / "redactor"), "filter", "--no-config", "--secret-env", "PACKAGING_SECRET"]
    result = subprocess.run(
        cmd,
        input=f"piped {SECRET} line\n".encode(),
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=TIMEOUT,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"piped [REDACTED] line\n", b"")

    # The README's first command: its extras make the demo whole (structlog's line included).
    extras = readme_demo_extras()
    pip_install(f"{source}{extras}")
    result = subprocess.run(
        [str(bin_dir / "redactor"), "demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "demo finished: all steps passed"
    assert "not installed" not in result.stdout
    assert "  ok: 5 lines leak the token: print, logging, structlog, stderr, split write" in (
        result.stdout.splitlines()
    )
    print(
        f"\nfresh venv + pip install without extras: {installed - started:.1f} s; "
        f"whole test: {time.monotonic() - started:.1f} s"
    )
