"""`redactor run` resolving ``{{secrets/scope/key}}`` references for a real child process: from a
real local store and from a Key Vault-backed scope (the local HTTPS test vault), in its own
environment and in ``--env-file`` files; failures stop it before the command starts."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import REDACTOR, TIMEOUT, py
from helpers.keyvault_server import KeyVaultServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.sources.scopes import LocalStore

PASSWORD = "Pa55w0rd!-run-refs-9f3c"
USER = "etl_user_7731"
KV_PASSWORD = "Kv-P@ssw0rd-run-refs-77"

# The child prints each variable it is given between markers, and writes the exact values to a
# file (not redacted) so that the test sees what it received.
CHILD = """
import json, os, sys
names = sys.argv[1].split(",")
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump({n: os.environ.get(n) for n in names}, f)
for n in names:
    print(f"{n}=<{os.environ.get(n)}>")
"""


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    env.update(REDACTOR_HOME=str(home), REDACTOR_DISCOVER="0", REDACTOR_DETECT="0")
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    store = LocalStore(home)
    store.create_scope("kv-scope")
    store.put_secret("kv-scope", "sql-db-password", PASSWORD)
    store.put_secret("kv-scope", "sql-db-user", USER)
    return home


def run_child(
    tmp_path: Path, env: dict[str, str], names: list[str], *flags: str
) -> tuple[subprocess.CompletedProcess, dict[str, str | None]]:
    seen = tmp_path / "seen.json"
    seen.unlink(missing_ok=True)
    result = subprocess.run(
        [*REDACTOR, "run", "--no-config", *flags, "--", *py(CHILD), ",".join(names), str(seen)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=tmp_path,
    )
    got = json.loads(seen.read_text(encoding="utf-8")) if seen.exists() else {}
    return result, got


def test_the_child_sees_the_resolved_environment_and_its_output_is_redacted(
    tmp_path: Path, home: Path
) -> None:
    env = _base_env(home)
    env["DB_PASSWORD"] = "{{secrets/kv-scope/sql-db-password}}"
    env["DB_URL"] = (
        "jdbc:sqlserver://db;user={{secrets/kv-scope/sql-db-user}};password={{secrets/kv-scope/sql-db-password}}"
    )
    env["PLAIN"] = "nothing secret here"
    result, seen = run_child(tmp_path, env, ["DB_PASSWORD", "DB_URL", "PLAIN"])
    assert (result.returncode, result.stderr) == (0, "")
    assert seen == {
        "DB_PASSWORD": PASSWORD,
        "DB_URL": f"jdbc:sqlserver://db;user={USER};password={PASSWORD}",
        "PLAIN": "nothing secret here",
    }
    # The whole URL was registered as well as its parts: it is one [REDACTED].
    assert result.stdout == (
        "DB_PASSWORD=<[REDACTED]>\nDB_URL=<[REDACTED]>\nPLAIN=<nothing secret here>\n"
    )


def test_env_files_add_variables_later_ones_win_and_references_alone_are_enough(
    tmp_path: Path, home: Path
) -> None:
    (tmp_path / "base.env").write_text(
        "# app settings\nexport APP_USER={{secrets/kv-scope/sql-db-user}}\nMODE=dev\n"
    )
    (tmp_path / "prod.env").write_text(
        "MODE=prod\nAPP_PASSWORD='{{secrets/kv-scope/sql-db-password}}'\n"
    )
    env = _base_env(home)
    env["MODE"] = "inherited"
    result, seen = run_child(
        tmp_path,
        env,
        ["APP_USER", "APP_PASSWORD", "MODE"],
        "--env-file",
        "base.env",
        "--env-file",
        "prod.env",
    )
    # No --secret-env or other source: the references are the sources.
    assert (result.returncode, result.stderr) == (0, "")
    assert seen == {"APP_USER": USER, "APP_PASSWORD": PASSWORD, "MODE": "prod"}
    assert result.stdout == "APP_USER=<[REDACTED]>\nAPP_PASSWORD=<[REDACTED]>\nMODE=<prod>\n"


def test_secret_env_names_the_resolved_value(tmp_path: Path, home: Path) -> None:
    env = _base_env(home)
    env["TOKEN"] = "prefix-{{secrets/kv-scope/sql-db-user}}"
    env["OTHER"] = "an-unrelated-Secret-123"
    result, seen = run_child(tmp_path, env, ["TOKEN", "OTHER"], "--secret-env", "OTHER")
    assert result.returncode == 0, result.stderr
    assert seen["TOKEN"] == f"prefix-{USER}"
    assert result.stdout == "TOKEN=<[REDACTED]>\nOTHER=<[REDACTED]>\n"


def test_an_unresolvable_reference_stops_before_the_command_runs(
    tmp_path: Path, home: Path
) -> None:
    env = _base_env(home)
    env["DB_URL"] = f"jdbc:x;user={USER};password={{{{secrets/kv-scope/sql-db-pasword}}}}"
    (tmp_path / "app.env").write_text("API={{secrets/api-scope/token}}\n")
    result, seen = run_child(tmp_path, env, ["DB_URL"], "--env-file", "app.env")
    assert result.returncode == 2
    assert seen == {} and result.stdout == ""
    assert result.stderr == (
        "redactor: error: 2 secret references cannot be resolved:\n"
        "  variable DB_URL: cannot resolve {{secrets/kv-scope/sql-db-pasword}}: secret "
        "'sql-db-pasword' does not exist in scope 'kv-scope'\n"
        "  variable API (env file app.env): cannot resolve {{secrets/api-scope/token}}: secret "
        "scope 'api-scope' does not exist\n"
    )
    assert USER not in result.stderr


def test_a_missing_env_file_is_a_configuration_error(tmp_path: Path, home: Path) -> None:
    result, seen = run_child(tmp_path, _base_env(home), ["X"], "--env-file", "missing.env")
    assert (result.returncode, result.stdout, seen) == (2, "", {})
    assert result.stderr == "redactor: error: env file missing.env does not exist\n"


def test_a_reference_too_short_to_redact_stops_the_command(tmp_path: Path, home: Path) -> None:
    LocalStore(home).put_secret("kv-scope", "pin", "1234")
    env = _base_env(home)
    env["PIN"] = "{{secrets/kv-scope/pin}}"
    result, seen = run_child(tmp_path, env, ["PIN"])
    assert (result.returncode, result.stdout, seen) == (2, "", {})
    assert result.stderr.endswith(
        "redactor: error: the secret references resolved to values too short to redact "
        "(kv-scope/pin, under min-length 6); nothing would be hidden. Lower min-length or pass "
        "--allow-empty\n"
    )


# -- a Key Vault-backed scope -------------------------------------------------------------------


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyVaultServer]:
    pytest.importorskip("azure.keyvault.secrets")
    pytest.importorskip("azure.identity")
    with KeyVaultServer(tmp_path_factory.mktemp("kv")) as server:
        server.set_secret("sql-db-password", KV_PASSWORD)
        yield server


def test_a_key_vault_scope_and_a_local_scope_both_resolve(
    tmp_path: Path, home: Path, kv: KeyVaultServer
) -> None:
    LocalStore(home).create_scope(
        "vault",
        "AZURE_KEYVAULT",
        {"dns_name": kv.url, "resource_id": "/subscriptions/x/resourceGroups/y/vaults/test"},
    )
    env = {k: v for k, v in _base_env(home).items() if not k.startswith(("AZURE_", "IDENTITY_"))}
    env.update(
        IDENTITY_ENDPOINT=kv.identity_endpoint,
        IDENTITY_HEADER=kv.identity_header,
        REDACTOR_AZURE_CA_BUNDLE=str(kv.ca_path),
        REDACTOR_AZURE_VERIFY_CHALLENGE_RESOURCE="0",
        CONN="server=db;user={{secrets/kv-scope/sql-db-user}};password={{secrets/vault/sql-db-password}}",
    )
    result, seen = run_child(tmp_path, env, ["CONN"])
    assert (result.returncode, result.stderr) == (0, "")
    assert seen == {"CONN": f"server=db;user={USER};password={KV_PASSWORD}"}
    assert result.stdout == "CONN=<[REDACTED]>\n"
    env["CONN"] = "{{secrets/vault/missing-one}}"
    result, seen = run_child(tmp_path, env, ["CONN"])
    assert (result.returncode, seen) == (2, {})
    assert result.stderr.startswith(
        "redactor: error: variable CONN: cannot resolve {{secrets/vault/missing-one}}: "
    )
    assert "missing-one" in result.stderr and KV_PASSWORD not in result.stderr


# -- property: every resolved value is hidden in the child's output ------------------------------

_ALPHABET = st.sampled_from("abcdefghijkXYZ0123456789-_.:;=@/+ !")
_VALUE = st.text(_ALPHABET, min_size=8, max_size=24).filter(lambda v: v.strip() == v)
_LITERAL = st.text(_ALPHABET, max_size=10)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(_VALUE, min_size=2, max_size=2, unique=True),
    prefix=_LITERAL,
    middle=_LITERAL,
    suffix=_LITERAL,
)
def test_every_resolved_value_is_hidden_in_the_childs_output(
    tmp_path: Path, home: Path, values: list[str], prefix: str, middle: str, suffix: str
) -> None:
    store = LocalStore(home)
    store.put_secret("kv-scope", "a", values[0])
    store.put_secret("kv-scope", "b", values[1])
    env = _base_env(home)
    env["WHOLE"] = "{{secrets/kv-scope/a}}"
    env["PARTS"] = f"{prefix}{{{{secrets/kv-scope/a}}}}{middle}{{{{secrets/kv-scope/b}}}}{suffix}"
    result, seen = run_child(tmp_path, env, ["WHOLE", "PARTS"])
    assert result.returncode == 0, result.stderr
    parts = f"{prefix}{values[0]}{middle}{values[1]}{suffix}"
    assert seen == {"WHOLE": values[0], "PARTS": parts}
    # Exactly what the engine makes of the same text with the same registrations.
    oracle = Redactor()
    for name, value in (("a", values[0]), ("PARTS", parts), ("b", values[1])):
        oracle.add(value, name)
    printed = f"WHOLE=<{values[0]}>\nPARTS=<{parts}>\n"
    assert result.stdout == oracle.redact(printed)
    for value in (values[0], values[1], parts):
        assert value not in result.stdout


def test_run_env_in_pyproject_holds_references_and_env_files_win(
    tmp_path: Path, home: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.redactor.run-env]\n"
        'DB_URL = "jdbc:x;password={{secrets/kv-scope/sql-db-password}}"\n'
        'MODE = "from-pyproject"\n'
        'MISSING = "{{secrets/kv-scope/not-there}}"\n'
    )
    (tmp_path / "fix.env").write_text("MISSING=overridden\nMODE=from-env-file\n")
    seen_file = tmp_path / "seen.json"
    result = subprocess.run(
        [*REDACTOR, "run", "--env-file", "fix.env", "--", *py(CHILD), "DB_URL,MODE", str(seen_file)],
        capture_output=True, text=True, timeout=TIMEOUT, env=_base_env(home), cwd=tmp_path,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    seen = json.loads(seen_file.read_text(encoding="utf-8"))
    assert seen == {"DB_URL": f"jdbc:x;password={PASSWORD}", "MODE": "from-env-file"}
    assert result.stdout == "DB_URL=<[REDACTED]>\nMODE=<from-env-file>\n"
    # Without the file's fix, the pyproject's reference fails, naming where it was written.
    result = subprocess.run(
        [*REDACTOR, "run", "--", "true"],
        capture_output=True, text=True, timeout=TIMEOUT, env=_base_env(home), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"redactor: error: variable MISSING ([tool.redactor] run-env in {tmp_path / 'pyproject.toml'}"
        "): cannot resolve {{secrets/kv-scope/not-there}}: secret 'not-there' does not exist in "
        "scope 'kv-scope'\n"
    )


def test_our_own_environment_comes_back_after_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from redactor.cli.commands.run import _environment

    monkeypatch.setenv("REFS_KEPT", "{{secrets/s/k}}")
    monkeypatch.setenv("REFS_DROPPED", "x")
    before = dict(os.environ)
    wanted = {k: v for k, v in before.items() if k != "REFS_DROPPED"}
    wanted.update(REFS_KEPT="resolved-value-123", REFS_NEW="added")
    with _environment(wanted):
        assert dict(os.environ) == wanted
        # a child started now inherits exactly this
        out = subprocess.run(
            ["sh", "-c", 'printf "%s|%s|%s" "$REFS_KEPT" "$REFS_NEW" "${REFS_DROPPED-unset}"'],
            capture_output=True, text=True, timeout=TIMEOUT, check=True,
        ).stdout  # fmt: skip
        assert out == "resolved-value-123|added|unset"
    assert dict(os.environ) == before
