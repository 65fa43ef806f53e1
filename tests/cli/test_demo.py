"""`redactor demo`, the README's first command: every step passes, and no demo secret is shown."""

from __future__ import annotations

import os
from pathlib import Path

from helpers.cli import run_redactor

from redactor.cli._demo import STEPS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def demo_values() -> list[str]:
    from dotenv import dotenv_values

    return [v for v in dotenv_values(FIXTURES / "demo-secrets.env").values() if v]


def test_the_whole_demo_passes_and_never_shows_a_demo_secret(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("REDACTOR_ENGINE", None)
    result = run_redactor("demo", text=True, env=env, cwd=tmp_path, timeout=240, script=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[-1] == "demo finished: all steps passed"
    assert not [line for line in lines if "FAILED" in line]
    headings = [line for line in lines if line.startswith("== ") and line.endswith(" ==")]
    assert len(headings) == len(STEPS)
    values = demo_values()
    assert len(values) == 2
    for value in values:
        assert value not in result.stdout and value not in result.stderr


def test_one_step_alone() -> None:
    result = run_redactor("demo", "--step", "engine", text=True, timeout=120, script=True)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "demo finished: all steps passed"
    assert "  ok: the same output from every engine here (" in result.stdout
