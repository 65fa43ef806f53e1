"""`redactor install-git-filter` in a real git repository: `git add` never stages a secret."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.cli import run_redactor
from helpers.git import GIT_IDENTITY, git
from helpers.nbfactory import PASSWORD, TOKEN

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    e.update(
        HOME=str(home),
        **GIT_IDENTITY,
    )
    return e


@pytest.fixture
def repo(tmp_path, env) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, env, "init", "-q", "-b", "main")
    (path / "secrets.env").write_text(f"SQL_DB_PASSWORD='{PASSWORD}'\nAPI_TOKEN={TOKEN}\n")
    (path / ".gitignore").write_text("secrets.env\n")
    (path / "pyproject.toml").write_text('[tool.redactor]\nsecrets-file = ["secrets.env"]\n')
    return path


def install(repo: Path, env, *args: str) -> subprocess.CompletedProcess:
    return run_redactor(
        "install-git-filter",
        *args,
        cwd=repo,
        env=env,
        text=True,
        script=True,
    )


def test_install_then_git_add_stages_a_scrubbed_notebook(repo, env):
    proc = install(repo, env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"installed the git filter 'redactor' in {repo}"
    assert lines[1] == "  .gitattributes: *.ipynb filter=redactor"
    clean = git(repo, env, "config", "--get", "filter.redactor.clean").stdout.strip()
    assert clean.endswith(" -m redactor scrub --stdin --fix-sources --quiet --stdin-name %f")
    assert git(repo, env, "config", "--get", "filter.redactor.required").stdout.strip() == "true"
    assert (repo / ".gitattributes").read_text() == "*.ipynb filter=redactor\n"

    shutil.copyfile(LEAKY, repo / "nb.ipynb")
    git(repo, env, "add", "nb.ipynb", ".gitattributes", "pyproject.toml", ".gitignore")
    staged = git(repo, env, "show", ":nb.ipynb").stdout
    assert TOKEN not in staged and "Tr0ub4dor" not in staged
    assert "connecting [REDACTED]" in staged
    # the working copy keeps its outputs as they were
    assert (repo / "nb.ipynb").read_bytes() == LEAKY.read_bytes()
    git(repo, env, "commit", "-q", "-m", "add notebook")
    assert git(repo, env, "grep", "-c", "ghp_demo", "HEAD", check=False).returncode == 1
    # git sees no difference: the working copy cleans to what is committed
    assert git(repo, env, "status", "--porcelain").stdout == ""
    assert git(repo, env, "diff", "--stat").stdout == ""


def test_source_secret_is_replaced_in_the_staged_copy_with_a_warning(repo, env):
    assert install(repo, env).returncode == 0
    (repo / "src.ipynb").write_text(
        '{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, '
        f'"outputs": [], "source": ["x = 1\\n", "t = \'{TOKEN}\'"]}}], "metadata": {{}}, '
        '"nbformat": 4, "nbformat_minor": 5}'
    )
    proc = git(repo, env, "add", "src.ipynb")
    assert (
        "redactor: src.ipynb: cell 1, line 2: secret secrets.env/API_TOKEN replaced in the source"
        in proc.stderr
    )
    assert TOKEN not in proc.stderr
    staged = git(repo, env, "show", ":src.ipynb").stdout
    assert "t = '[REDACTED]'" in staged and TOKEN not in staged


def test_a_notebook_that_cannot_be_scrubbed_is_not_staged(repo, env):
    assert install(repo, env).returncode == 0
    (repo / "broken.ipynb").write_text('{"cells": [' + f'"{TOKEN}"')
    proc = git(repo, env, "add", "broken.ipynb", check=False)
    assert proc.returncode != 0
    assert "redactor: error: broken.ipynb: not valid JSON" in proc.stderr
    assert TOKEN not in proc.stderr
    assert git(repo, env, "ls-files", "--stage").stdout == ""


def test_sources_given_at_install_time_are_names_only(repo, env):
    (repo / "pyproject.toml").unlink()
    proc = install(repo, env, "--env-pattern", "*_TOKEN", "--attributes", "info")
    assert proc.returncode == 0, proc.stderr
    config = (repo / ".git" / "config").read_text()
    assert "--env-pattern '*_TOKEN'" in config
    assert TOKEN not in config
    assert not (repo / ".gitattributes").exists()
    assert (repo / ".git" / "info" / "attributes").read_text().endswith("*.ipynb filter=redactor\n")
    shutil.copyfile(LEAKY, repo / "nb.ipynb")
    git(repo, env | {"MY_TOKEN": TOKEN}, "add", "nb.ipynb")
    staged = git(repo, env, "show", ":nb.ipynb").stdout
    assert TOKEN not in staged
    assert "Tr0ub4dor" in staged  # the password is not among these sources


def test_install_is_idempotent_and_uninstall_removes_everything(repo, env):
    (repo / ".gitattributes").write_text("*.png binary")
    assert install(repo, env).returncode == 0
    assert install(repo, env).returncode == 0
    assert (repo / ".gitattributes").read_text() == "*.png binary\n*.ipynb filter=redactor\n"
    check = git(repo, env, "check-attr", "filter", "x.ipynb").stdout
    assert check == "x.ipynb: filter: redactor\n"
    proc = install(repo, env, "--uninstall")
    assert proc.returncode == 0
    assert proc.stdout == f"removed the git filter 'redactor' from {repo}\n"
    assert (repo / ".gitattributes").read_text() == "*.png binary\n"
    assert git(repo, env, "config", "--get-regexp", "^filter", check=False).stdout == ""
    proc = install(repo, env, "--uninstall")
    assert proc.stdout == f"the git filter 'redactor' was not installed in {repo}\n"


def test_outside_a_repository(tmp_path, env):
    outside = tmp_path / "nowhere"
    outside.mkdir()
    proc = install(outside, env | {"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert proc.returncode == 2
    assert proc.stderr.startswith("redactor: error: not inside a git repository")
