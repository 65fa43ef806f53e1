"""git for the tests: an isolated identity, a checked runner, and whether HEAD has the hooks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# git on its own: no system config, a fixed author and committer
GIT_IDENTITY = dict(
    GIT_CONFIG_NOSYSTEM="1",
    GIT_AUTHOR_NAME="t",
    GIT_AUTHOR_EMAIL="t@example.com",
    GIT_COMMITTER_NAME="t",
    GIT_COMMITTER_EMAIL="t@example.com",
)


def git(repo: Path, env, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def head_has_hooks(root: Path = ROOT) -> str | None:
    """The commit to test, when ``root`` is a git checkout whose HEAD has the hooks."""
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "HEAD:.pre-commit-hooks.yaml"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return None
    return subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
