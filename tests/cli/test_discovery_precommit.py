"""Issue 14, done when: `redactor scrub` through pre-commit, in a repository whose
``[tool.redactor]`` is empty, scrubs a notebook holding discovered secrets: the HOME of the
commit holds every credential file discovery reads (tests/helpers/credentials.py) and the
environment has DATABRICKS_TOKEN; nothing else tells the hook what to hide.

Real components: pre-commit installs this project (its committed HEAD) from its own
``.pre-commit-hooks.yaml`` into a fresh virtualenv, in a temporary git repository. Slow (the
install), like tests/cli/test_precommit_hook.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers.credentials import Credentials, fill_home
from helpers.git import GIT_IDENTITY, git
from helpers.git import head_has_hooks as _head_has_hooks
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[2]
REV = _head_has_hooks()
SCRUB = "redactor scrub (replace secret values in notebook outputs)"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(REV is None, reason="needs a git checkout with .pre-commit-hooks.yaml"),
]


def notebook(secrets: list[str], visible: list[str]) -> str:
    """A notebook whose outputs print ``secrets`` and ``visible`` (never in a cell's source,
    which scrub reports rather than fixes); fixed cell ids, so two builds compare exactly."""
    printed = "".join(f"{i}: {v}\n" for i, v in enumerate(secrets))
    cells = [
        new_code_cell(
            "for i, v in enumerate(found):\n    print(f'{i}: {v}')",
            id="print-all",
            execution_count=1,
            outputs=[new_output("stream", name="stdout", text=printed)],
        ),
        new_code_cell(
            "settings",
            id="settings",
            execution_count=2,
            outputs=[
                new_output(
                    "execute_result",
                    execution_count=2,
                    data={"text/plain": repr({"host": visible[0], "token": secrets[0]})},
                )
            ],
        ),
        new_code_cell(
            "connect()",
            id="connect",
            execution_count=3,
            outputs=[
                new_output(
                    "error",
                    ename="PermissionError",
                    evalue=f"login {visible[1]} with {secrets[3]} refused",
                    traceback=[f"PermissionError: login {visible[1]} with {secrets[3]} refused"],
                )
            ],
        ),
    ]
    return nbformat.writes(new_notebook(cells=cells, metadata={}))


def status_of(output: str) -> str:
    match = re.search(rf"^{re.escape(SCRUB)}\.+(Passed|Failed)$", output, re.M)
    assert match, output
    return match.group(1)


def test_precommit_scrubs_discovered_secrets_with_an_empty_config(tmp_path: Path) -> None:
    creds: Credentials = fill_home(tmp_path / "home")
    env = {k: v for k, v in creds.env.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_IDENTITY,
        PRE_COMMIT_HOME=str(tmp_path / "cache"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        # pre-commit and git from this environment, not whatever PATH says first
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", "main")
    (repo / "pyproject.toml").write_text("[tool.redactor]\n")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {REV}\n  hooks:\n  - id: redactor-scrub\n"
    )
    values = [v for _, v in creds.secrets]
    (repo / "leaky.ipynb").write_text(notebook(values, creds.visible), encoding="utf-8")
    git(repo, env, "add", ".")

    def pre_commit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    proc = pre_commit("run", "--all-files")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert status_of(out) == "Failed"
    assert "- files were modified by this hook" in out
    for name, value in creds.secrets:
        assert value not in out
        assert f"{name}: " in out  # each counted under the name discovery gave it
    assert (repo / "leaky.ipynb").read_text(encoding="utf-8") == notebook(
        ["[REDACTED]"] * len(values), creds.visible
    )

    # the scrubbed notebook passes untouched
    git(repo, env, "add", "leaky.ipynb")
    proc = pre_commit("run", "--all-files")
    assert (proc.returncode, status_of(proc.stdout)) == (0, "Passed"), proc.stdout
