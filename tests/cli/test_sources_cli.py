"""Discovery from the command line: `redactor sources`, and `filter`/`run` with no source flag.

Each test builds its environment: the suite's (which turns discovery off with REDACTOR_DISCOVER=0,
see conftest.py) minus that switch and minus every secret-named variable of the machine, with a
temporary HOME, so only what the test puts there can be discovered.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from helpers.cli import run_redactor

from redactor.sources.discovery import SOURCES
from redactor.sources.load import HOW_TO_CONFIGURE

TOKEN = "dapi" + secrets.token_hex(16)
SECRETISH = ("_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD", "_API_KEY", "_KEY", "_CREDENTIALS")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith(SECRETISH)}
    env.pop("REDACTOR_DISCOVER", None)
    env.update(HOME=str(home), USERPROFILE=str(home), **extra)
    return env


def test_sources_lists_names_and_counts_never_values(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABRICKS_TOKEN=TOKEN, MY_CONF_TOKEN="conf-" + TOKEN)
    cfg_token = "dapi" + "7f3a9c2e" * 4
    (tmp_path / ".databrickscfg").write_text(
        f"[DEFAULT]\nhost = https://adb-1.azuredatabricks.net\ntoken = {cfg_token}\n"
    )
    result = run_redactor(
        "sources", "--no-config", "--secret-env", "MY_CONF_TOKEN", env=env, cwd=tmp_path, text=True
    )
    assert result.returncode == 0, result.stderr
    found = {
        "env": "2 secrets (env:DATABRICKS_TOKEN, env:MY_CONF_TOKEN)",
        "databrickscfg": "1 secret (~/.databrickscfg[DEFAULT]/token)",
    }
    assert result.stdout == (
        "secret-env MY_CONF_TOKEN: 1 secret (env/MY_CONF_TOKEN)\n"
        + "".join(f"discovered: {s}: {found.get(s, '0 secrets')}\n" for s in SOURCES)
        + "total: 4 secrets\n"
    )
    assert TOKEN not in result.stdout + result.stderr and cfg_token not in result.stdout


def test_sources_with_discovery_off(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABRICKS_TOKEN=TOKEN)
    off = run_redactor("sources", "--no-config", "--no-discover", env=env, cwd=tmp_path, text=True)
    assert (off.returncode, off.stdout) == (0, "total: 0 secrets\n")
    by_env = run_redactor(
        "sources", "--no-config", env={**env, "REDACTOR_DISCOVER": "0"}, text=True
    )
    assert (by_env.returncode, by_env.stdout) == (0, "total: 0 secrets\n")
    named = run_redactor("sources", "--no-config", "--discover", "env", env=env, text=True)
    assert named.stdout == "discovered: env: 1 secret (env:DATABRICKS_TOKEN)\ntotal: 1 secret\n"


def test_unknown_discovery_source_is_an_error(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    result = run_redactor("sources", "--no-config", "--discover", "nope", env=env, text=True)
    assert result.returncode == 2
    assert result.stderr == (
        f"redactor: error: unknown discovery source 'nope' (known: {', '.join(SOURCES)})\n"
    )
    near = run_redactor("sources", "--no-config", "--discover", "netrcc", env=env, text=True)
    assert near.returncode == 2
    assert near.stderr.startswith(
        "redactor: error: unknown discovery source 'netrcc'; did you mean 'netrc'? (known: env, "
    )


def test_filter_hides_a_discovered_token_without_flags(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABRICKS_TOKEN=TOKEN)
    result = run_redactor(
        "filter", "--no-config", input=f"token={TOKEN} host=adb-1\n".encode(), env=env, cwd=tmp_path
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        b"token=[REDACTED] host=adb-1\n",
        b"",
    )


def test_run_hides_a_discovered_token_without_flags(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABRICKS_TOKEN=TOKEN)
    code = "import os; print('using', os.environ['DATABRICKS_TOKEN'])"
    result = run_redactor("run", "--no-config", "--", sys.executable, "-c", code, env=env)
    assert (result.returncode, result.stdout) == (0, b"using [REDACTED]\n"), result.stderr


def test_nothing_at_all_still_stops(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    result = run_redactor("filter", "--no-config", input="x\n", env=env, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("redactor: error: " + HOW_TO_CONFIGURE)


def test_discovery_off_stops_as_before(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABRICKS_TOKEN=TOKEN)
    result = run_redactor("filter", "--no-config", "--no-discover", input="x\n", env=env, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("redactor: error: " + HOW_TO_CONFIGURE)


def test_discovery_never_stands_in_for_a_configured_source(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABRICKS_TOKEN=TOKEN)
    result = run_redactor(
        "filter", "--no-config", "--env-pattern", "NOT_EXPORTED_*", input=TOKEN, env=env, text=True
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(
        "redactor: error: the configured sources hold no secret value, so nothing would be "
        "redacted: env-pattern 'NOT_EXPORTED_*' matches no environment variable."
    )
    assert TOKEN not in result.stderr


def test_only_short_discovered_values_still_stop(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SHORT_TOKEN="ab1")
    result = run_redactor("filter", "--no-config", input="ab1\n", env=env, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert "secret 'env:SHORT_TOKEN' is too short" in result.stderr
    assert "redactor: error: " + HOW_TO_CONFIGURE in result.stderr


def test_install_registers_discovered_secrets_unless_switched_off(tmp_path: Path) -> None:
    code = (
        "import os, redactor\nredactor.install()\n"
        "print('token', os.environ['DATABRICKS_TOKEN'])\n"
        "print(redactor.get_redactor().secret_names)\n"
    )
    env = clean_env(tmp_path, DATABRICKS_TOKEN=TOKEN)
    ran = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.stdout == "token [REDACTED]\n['env:DATABRICKS_TOKEN']\n", ran.stderr
    # With discovery off, the token's shape (dapi...) is still detected, unless that is off too.
    shape = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "REDACTOR_DISCOVER": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shape.stdout == "token [REDACTED]\n[]\n", shape.stderr
    off = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "REDACTOR_DISCOVER": "0", "REDACTOR_DETECT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert off.stdout == f"token {TOKEN}\n[]\n", off.stderr
