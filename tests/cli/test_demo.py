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


def test_the_references_step_runs_a_command_with_a_secret_reference(tmp_path: Path) -> None:
    from redactor.cli._demo.scopes import DEMO_SECRETS

    env = {**os.environ, "HOME": str(tmp_path)}
    result = run_redactor("demo", "--step", "references", text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[-1] == "demo finished: all steps passed"
    run_at = lines.index("$ redactor run --env-file app.env -- python connect.py")
    assert lines[run_at - 3 : run_at + 5] == [
        "  DB_URL=jdbc:sqlserver://db.example.net;user=etl;password={{secrets/kv-scope/sql-db-password}}",
        "  DB_PASSWORD={{secrets/kv-scope/sql-db-password}}",
        "  LOG_LEVEL=info",
        "$ redactor run --env-file app.env -- python connect.py",
        "  connecting to [REDACTED]",
        "  password: [REDACTED]",
        "  log level: info",
        f"  got {len(DEMO_SECRETS['sql-db-password'])} characters; still a reference: False",
    ]
    assert "naming the variable, scope and key" in result.stdout
    for value in DEMO_SECRETS.values():
        assert value not in result.stdout and value not in result.stderr
