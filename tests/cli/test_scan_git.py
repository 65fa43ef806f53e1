"""`redactor scan --git` on a real repository built here: a secret committed, moved, base64-encoded
in a notebook output and later removed. Every commit and path that holds it is reported, and
nothing else; each blob is scanned once; a baseline silences exactly the recorded findings."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from helpers.cli import run_redactor
from helpers.git import GIT_IDENTITY, git

PASSWORD = "Tr0ub4dor&3-horse:battery"
OTHER = "s3cond-Secret-V4lue-99"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"DB_PASSWORD='{PASSWORD}'\nOTHER={OTHER}\n")
    return {**os.environ, **GIT_IDENTITY, "HOME": str(home), "REDACTOR_HASH_KEY": "k-1"}


def notebook_with_b64_output(secret: str) -> str:
    blob = base64.b64encode(f"connected as admin:{secret}\n".encode()).decode()
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "a",
                "metadata": {},
                "source": "show()",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"text/plain": "<blob>", "application/octet-stream": blob},
                    }
                ],
            }
        ],
    }
    return json.dumps(nb, indent=1) + "\n"


@pytest.fixture
def repo(tmp_path: Path, env) -> tuple[Path, dict[str, str]]:
    """c1 adds config.py with the password; c2 moves it to settings/config.py; c3 adds a notebook
    whose output holds its base64; c4 removes both; c5 adds a clean file. Returns the repo and
    the commit ids by name."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", "main")
    commits: dict[str, str] = {}

    def commit(name: str) -> None:
        git(repo, env, "add", "-A")
        git(repo, env, "commit", "-q", "-m", name)
        commits[name] = git(repo, env, "rev-parse", "HEAD").stdout.strip()

    (repo / "README.md").write_text("# project\n")
    (repo / "config.py").write_text(f"HOST = 'db'\nPASSWORD = '{PASSWORD}'\n")
    commit("c1")
    (repo / "settings").mkdir()
    git(repo, env, "mv", "config.py", "settings/config.py")
    commit("c2")
    (repo / "analysis.ipynb").write_text(notebook_with_b64_output(PASSWORD))
    commit("c3")
    os.remove(repo / "settings" / "config.py")
    (repo / "analysis.ipynb").write_text(notebook_with_b64_output("nothing-to-see"))
    commit("c4")
    (repo / "notes.txt").write_text("clean\n")
    commit("c5")
    return repo, commits


def scan_git(repo: Path, env, *args: str) -> tuple[int, str, str]:
    proc = run_redactor(
        "scan",
        "--no-discover",
        "--no-detect",
        "--secrets-file",
        str(repo.parent / "secrets.env"),
        str(repo),  # before --git, whose REV-RANGE is optional
        *args,
        text=True,
        env=env,
        cwd=repo.parent,
    )
    assert PASSWORD not in proc.stdout + proc.stderr
    assert base64.b64encode(PASSWORD.encode()).decode()[4:20] not in proc.stdout
    return proc.returncode, proc.stdout, proc.stderr


def test_every_commit_and_path_and_nothing_else(repo, env):
    path, c = repo
    code, out, err = scan_git(path, env, "--format", "json", "--git")
    assert (code, err) == (1, "")
    found = [
        (f["secret"], f["form"], f["path"], f["line"], f.get("place"), f["commits"], f["paths"])
        for f in json.loads(out)["findings"]
    ]
    nb_lines = notebook_with_b64_output(PASSWORD).splitlines()
    blob_line = next(i for i, line in enumerate(nb_lines) if "octet-stream" in line) + 1
    assert found == [
        (
            "secrets.env/DB_PASSWORD",
            "base64",
            "analysis.ipynb",
            blob_line,
            "cell 1, output 1, data.application/octet-stream",
            [c["c3"]],
            ["analysis.ipynb"],
        ),
        (
            "secrets.env/DB_PASSWORD",
            "raw",
            "config.py",
            2,
            None,
            # newest first, as git log lists them; c3 still holds settings/config.py
            [c["c3"], c["c2"], c["c1"]],
            ["config.py", "settings/config.py"],
        ),
    ]


def test_text_report_names_commits(repo, env):
    path, c = repo
    code, out, _ = scan_git(path, env, "--git")
    assert code == 1
    short = {k: v[:12] for k, v in c.items()}
    lines = out.splitlines()
    assert lines[1] == (
        "config.py:2:13: secret secrets.env/DB_PASSWORD (raw) [blob "
        f"{lines[1].split('[blob ')[1][:12]}; commits {short['c3']} {short['c2']} {short['c1']}; "
        "paths config.py settings/config.py]"
    )
    assert lines[-1] == "redactor scan: 2 findings"


def test_rev_range_limits_the_commits(repo, env):
    path, c = repo
    code, out, _ = scan_git(path, env, "--format", "json", f"--git={c['c3']}..main")
    assert (code, json.loads(out)["findings"]) == (0, [])
    code, out, _ = scan_git(path, env, "--format", "json", f"--git={c['c1']}..{c['c2']}")
    [finding] = json.loads(out)["findings"]
    assert (finding["commits"], finding["paths"]) == ([c["c2"]], ["settings/config.py"])


def test_head_tree_is_clean_but_history_is_not(repo, env):
    path, _ = repo
    proc = run_redactor(
        "scan",
        "--no-discover",
        "--no-detect",
        "--secrets-file",
        str(path.parent / "secrets.env"),
        str(path),
        text=True,
        env=env,
    )
    assert (proc.returncode, proc.stdout) == (0, "redactor scan: 0 findings\n")


def test_not_a_repository_is_an_error(tmp_path, env):
    (tmp_path / "plain").mkdir()
    code, out, err = scan_git(tmp_path / "plain", env, "--git")
    assert code == 2 and out == ""
    assert err.startswith("redactor: error: git log failed: ")


def test_baseline_silences_exactly_the_recorded_findings(repo, env, tmp_path):
    path, _ = repo
    baseline = tmp_path / "scan-baseline.json"
    code, out, err = scan_git(path, env, "--git", "--write-baseline", str(baseline))
    assert (code, out) == (0, "")
    assert err == f"redactor scan: 2 finding(s) recorded in {baseline}\n"
    doc = json.loads(baseline.read_text())
    text = baseline.read_text()
    assert PASSWORD not in text and base64.b64encode(PASSWORD.encode()).decode() not in text
    assert [(f["secret"], f["form"], f["path"]) for f in doc["findings"]] == [
        ("secrets.env/DB_PASSWORD", "base64", "analysis.ipynb"),
        ("secrets.env/DB_PASSWORD", "raw", "config.py"),
    ]
    # The baseline's own key, not REDACTOR_HASH_KEY, makes the fingerprints
    plain_env = {k: v for k, v in env.items() if k != "REDACTOR_HASH_KEY"}
    code, out, _ = scan_git(path, plain_env, "--git", "--baseline", str(baseline))
    assert (code, out) == (0, "redactor scan: 0 findings, 2 in the baseline\n")

    # A new leak (another secret, and the old one in a new file) fails again, alone.
    (path / "deploy.sh").write_text(f"export X={OTHER}\n")
    (path / "old.txt").write_text(f"{PASSWORD}\n")
    git(path, env, "add", "-A")
    git(path, env, "commit", "-q", "-m", "c6")
    code, out, _ = scan_git(path, plain_env, "--git", "--baseline", str(baseline))
    assert code == 1
    lines = [line.split(" [blob")[0] for line in out.splitlines()]
    assert lines == [
        "deploy.sh:1:10: secret secrets.env/OTHER (raw)",
        "old.txt:1:1: secret secrets.env/DB_PASSWORD (raw)",
        "redactor scan: 2 findings, 2 in the baseline",
    ]


def test_a_broken_baseline_is_an_error(repo, env, tmp_path):
    path, _ = repo
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    code, out, err = scan_git(path, env, "--git", "--baseline", str(bad))
    assert (code, out) == (2, "")
    assert err == (
        f"redactor: error: {bad}: not a redactor scan baseline (write one with --write-baseline)\n"
    )
