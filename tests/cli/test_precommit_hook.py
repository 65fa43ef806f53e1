"""The pre-commit hooks for real: pre-commit installs this project (its committed HEAD) from its
own `.pre-commit-hooks.yaml` into a fresh virtualenv, in a temporary repository.

Slow: pre-commit pip-installs the project and its dependencies from PyPI once for the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.git import head_has_hooks as _head_has_hooks
from helpers.nbfactory import PASSWORD, TOKEN

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"


REV = _head_has_hooks()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(REV is None, reason="needs a git checkout with .pre-commit-hooks.yaml"),
]


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("precommit")
    home = base / "home"
    home.mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    e.update(
        HOME=str(home),
        PRE_COMMIT_HOME=str(base / "cache"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    # pre-commit and git must come from this environment, not from whatever PATH says first
    e["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")])
    return e


def pre_commit(*args: str, cwd: Path, env) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "pre_commit", *args], cwd, env)


def git(*args: str, cwd: Path, env, check: bool = True) -> subprocess.CompletedProcess:
    proc = run(["git", *args], cwd, env, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def status_of(output: str, hook_name: str) -> str:
    """'Passed' / 'Failed' for a hook, from pre-commit's report line."""
    match = re.search(
        rf"^{re.escape(hook_name)}\.+(Passed|Failed|\(no files to check\)Skipped)$", output, re.M
    )
    assert match, output
    return match.group(1)


CHECK = "redactor check (report secret values in notebooks)"
SCRUB = "redactor scrub (replace secret values in notebook outputs)"


def test_hooks_block_fix_and_pass(tmp_path, env):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo, env=env)
    (repo / ".gitignore").write_text("secrets.env\n")
    (repo / "secrets.env").write_text(f"SQL_DB_PASSWORD='{PASSWORD}'\nAPI_TOKEN={TOKEN}\n")
    (repo / "pyproject.toml").write_text('[tool.redactor]\nsecrets-file = ["secrets.env"]\n')
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"- repo: {ROOT}\n"
        f"  rev: {REV}\n"
        "  hooks:\n"
        "  - id: redactor-check\n"
        "  - id: redactor-scrub\n"
    )
    shutil.copyfile(LEAKY, repo / "leaky.ipynb")
    clean_src = LEAKY.read_text()
    git("add", ".", cwd=repo, env=env)

    # 1. pre-commit as a git hook: the commit is blocked, the notebook is fixed in place
    installed = pre_commit("install", cwd=repo, env=env)
    assert installed.returncode == 0, installed.stderr
    blocked = git("commit", "-q", "-m", "leaky", cwd=repo, env=env, check=False)
    out = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, out
    assert git("rev-parse", "--verify", "HEAD", cwd=repo, env=env, check=False).returncode != 0
    assert status_of(out, CHECK) == "Failed"
    assert status_of(out, SCRUB) == "Failed"
    assert (
        "would scrub leaky.ipynb: 21 redactions (secrets.env/API_TOKEN: 11, "
        "secrets.env/SQL_DB_PASSWORD: 10), 3 binary outputs removed" in out
    )
    assert "- files were modified by this hook" in out
    assert TOKEN not in out and PASSWORD not in out
    fixed = (repo / "leaky.ipynb").read_text()
    assert TOKEN not in fixed and "Tr0ub4dor" not in fixed
    assert fixed != clean_src

    # 2. the fixed notebook is committed; both hooks pass
    git("add", "leaky.ipynb", cwd=repo, env=env)
    committed = git("commit", "-q", "-m", "scrubbed", cwd=repo, env=env, check=False)
    out = committed.stdout + committed.stderr
    assert committed.returncode == 0, out
    assert status_of(out, CHECK) == "Passed"
    assert status_of(out, SCRUB) == "Passed"
    assert git("grep", "-c", "ghp_demo", "HEAD", cwd=repo, env=env, check=False).returncode == 1

    # 3. a clean notebook passes untouched; a new leaky one fails `pre-commit run` again
    (repo / "clean.ipynb").write_text(fixed)
    (repo / "again.ipynb").write_bytes(LEAKY.read_bytes())
    git("add", "clean.ipynb", "again.ipynb", cwd=repo, env=env)
    proc = pre_commit("run", "redactor-check", "--files", "clean.ipynb", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stdout
    assert (repo / "clean.ipynb").read_text() == fixed
    proc = pre_commit("run", "--all-files", cwd=repo, env=env)
    assert proc.returncode == 1
    assert "would scrub again.ipynb" in proc.stdout
    assert "clean.ipynb" not in proc.stdout
    assert TOKEN not in (repo / "again.ipynb").read_text()
