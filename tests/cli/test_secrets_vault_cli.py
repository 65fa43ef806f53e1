"""``redactor secrets ...`` against Vault-backed scopes: the real CLI in subprocesses and the real
OpenBao server (the session's ``openbao`` fixture)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from helpers.cli import run_redactor
from helpers.openbao import OpenBaoServer
from helpers.seed import SEED, SEED_REDACTED

USER = "vault_cli_user_2291"
PASSWORD = "Vault-Cli-P@ss-0042-xyz"


@pytest.fixture
def base(openbao: OpenBaoServer) -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def env(tmp_path: Path, openbao: OpenBaoServer) -> dict[str, str]:
    e = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REDACTOR_", "AZURE_", "VAULT_", "BAO_"))
    }
    e["REDACTOR_HOME"] = str(tmp_path / "home")
    e["HOME"] = str(tmp_path / "user-home")
    e["VAULT_TOKEN"] = openbao.root_token
    return e


def cli(
    env: dict[str, str], *args: str, stdin: bytes | None = b"", extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = run_redactor("secrets", *args, input=stdin, env={**env, **(extra or {})})
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def link(env: dict[str, str], scope: str, openbao: OpenBaoServer, *flags: str) -> None:
    r = cli(
        env, "create-scope", scope, "--scope-backend-type", "VAULT",
        "--vault-addr", openbao.addr, *flags,
    )  # fmt: skip
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_seed_example_in_a_process_created_by_the_cli(
    env: dict[str, str], openbao: OpenBaoServer, base: str
) -> None:
    openbao.client().secrets.kv.v2.create_or_update_secret(
        f"{base}/kv", {"sql-db-user": USER, "sql-db-password": PASSWORD}
    )
    link(env, "kv-scope", openbao, "--mount", "secret", "--path", f"{base}/kv")
    listed = cli(env, "list-secrets", "kv-scope")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "Key",
        "sql-db-password",
        "sql-db-user",
    ]
    assert USER not in listed.stdout and PASSWORD not in listed.stdout
    script = "import redactor\nredactor.install()\nfrom redactor import dbutils\n" + SEED
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == SEED_REDACTED


def test_every_verb_on_a_vault_scope(
    env: dict[str, str], openbao: OpenBaoServer, base: str
) -> None:
    link(env, "app", openbao, "--path", f"{base}/app")
    r = cli(env, "list-scopes", "-o", "json")
    assert json.loads(r.stdout) == [
        {
            "backend_type": "VAULT",
            "vault_metadata": {
                "vault_addr": openbao.addr,
                "mount": "secret",
                "path": f"{base}/app",
            },
            "name": "app",
        }
    ]
    assert cli(env, "list-scopes").stdout == "Scope  Backend Type\napp    VAULT\n"
    r = cli(env, "put-secret", "app", "sql-db-password", stdin=PASSWORD.encode())
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli(env, "put-secret", "app", "sql-db-user", stdin=USER.encode())
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    stored = openbao.client().secrets.kv.v2.read_secret_version(
        f"{base}/app", raise_on_deleted_version=True
    )["data"]["data"]
    assert stored == {"sql-db-password": PASSWORD, "sql-db-user": USER}
    data = json.loads(cli(env, "list-secrets", "app", "-o", "json").stdout)
    assert [s["key"] for s in data] == ["sql-db-password", "sql-db-user"]
    r = cli(env, "delete-secret", "app", "sql-db-user")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli(env, "delete-secret", "app", "sql-db-user")
    assert (r.returncode, r.stderr) == (
        2,
        "Error: RESOURCE_DOES_NOT_EXIST: secret 'sql-db-user' does not exist in scope 'app' "
        "(no field "
        f"'sql-db-user' at HashiCorp Vault / OpenBao {openbao.addr}, secret/data/{base}/app)\n",
    )
    r = cli(env, "delete-scope", "app")  # forgets the link; the secret stays in Vault
    assert (r.returncode, r.stderr) == (0, "")
    assert openbao.client().secrets.kv.v2.read_secret_version(
        f"{base}/app", raise_on_deleted_version=True
    )["data"]["data"] == {"sql-db-password": PASSWORD}


def test_denials_and_a_pinned_version_from_the_cli(
    env: dict[str, str], openbao: OpenBaoServer, base: str
) -> None:
    openbao.client().secrets.kv.v2.create_or_update_secret(f"{base}/app", {"k": PASSWORD})
    openbao.policy(f"ro-{base}", {f"secret/data/{base}/app": ["read"]})
    role_id, secret_id = openbao.approle(f"cli-{base}", [f"ro-{base}"])
    approle = {"VAULT_TOKEN": "", "VAULT_ROLE_ID": role_id, "VAULT_SECRET_ID": secret_id}
    link(env, "app", openbao, "--path", f"{base}/app")
    link(env, "pinned", openbao, "--path", f"{base}/app", "--secret-version", "1")
    where = f"HashiCorp Vault / OpenBao {openbao.addr}, secret/data/{base}/app"
    r = cli(env, "put-secret", "app", "k", stdin=b"new-value-never-stored", extra=approle)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == (
        "Error: PERMISSION_DENIED: "
        f"permission denied: cannot write secret 'k' in scope 'app' ({where}): "
        "the token's policies do not allow it, or the token is invalid or expired (1 error "
        "occurred: * permission denied)\n"
    )
    assert cli(env, "list-secrets", "app", extra=approle).stdout.split()[:3] == [
        "Key",
        "Last",
        "Updated",
    ]
    # a pinned scope refuses before reading stdin (nothing is read: no warning about it)
    r = cli(env, "put-secret", "pinned", "k", stdin=None)
    assert (r.returncode, r.stderr) == (
        2,
        "Error: BAD_REQUEST: cannot put a secret in scope 'pinned': it reads version 1 of "
        f"secret/{base}/app, pinned, and is read-only here; link a scope without "
        "--secret-version to change the secret\n",
    )
    for out in (r.stdout, r.stderr):
        assert PASSWORD not in out


def test_create_scope_flags_are_checked(env: dict[str, str], openbao: OpenBaoServer) -> None:
    cases = [
        (["create-scope", "x", "--mount", "kv"],
         "redactor: error: --vault-addr, --mount, --path and --secret-version need --scope-backend-type VAULT"),
        (["create-scope", "x", "--scope-backend-type", "VAULT"],
         "Error: INVALID_PARAMETER_VALUE: a VAULT scope needs the server's address: --vault-addr https://vault.example.com:8200 "
         "(or VAULT_ADDR)"),
        (["create-scope", "x", "--scope-backend-type", "VAULT", "--vault-addr", openbao.addr,
          "--dns-name", "https://v.vault.azure.net/"],
         "redactor: error: --dns-name and --resource-id need --scope-backend-type AZURE_KEYVAULT"),
        (["create-scope", "x", "--scope-backend-type", "VAULT", "--vault-addr",
          "http://vault.example.com"],
         "Error: INVALID_PARAMETER_VALUE: the Vault address 'http://vault.example.com' is plain http:// to another host, where "
         "the token could be read on the way: use https:// (http:// is accepted only on "
         "127.0.0.1, localhost and ::1)"),
    ]  # fmt: skip
    for args, message in cases:
        r = cli(env, *args)
        assert (r.returncode, r.stderr) == (2, f"{message}\n"), args
    r = cli(
        env, "create-scope", "x", "--scope-backend-type", "VAULT",
        extra={"VAULT_ADDR": openbao.addr},
    )  # fmt: skip
    assert (r.returncode, r.stderr) == (0, "")
    assert json.loads(cli(env, "list-scopes", "-o", "json").stdout)[0]["vault_metadata"] == {
        "vault_addr": openbao.addr,
        "mount": "secret",
        "path": "x",
    }
    r = cli(
        env, "create-scope", "y", "--scope-backend-type", "VAULT", "--vault-addr", openbao.addr,
        "--initial-manage-principal", "users",
    )  # fmt: skip
    assert (r.returncode, r.stderr) == (
        0,
        "redactor: warning: a VAULT scope's access is decided by the server's policies: "
        "--initial-manage-principal is ignored\n",
    )


def test_filter_with_a_vault_scope_and_failing_closed_when_vault_refuses(
    env: dict[str, str], openbao: OpenBaoServer, base: str
) -> None:
    openbao.client().secrets.kv.v2.create_or_update_secret(
        f"{base}/app", {"sql-db-user": USER, "sql-db-password": PASSWORD}
    )
    link(env, "app", openbao, "--path", f"{base}/app")
    line = f"jdbc:sqlserver://db;user={USER};password={PASSWORD}\n".encode()
    proc = run_redactor("filter", "--no-config", "--scope", "app", input=line, env=env)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout == b"jdbc:sqlserver://db;user=[REDACTED];password=[REDACTED]\n"
    # a token that may not read the path: the filter stops, naming the scope, and passes nothing
    openbao.policy(f"none-{base}", {"secret/data/elsewhere": ["read"]})
    denied_env = {**env, "VAULT_TOKEN": openbao.token([f"none-{base}"])}
    proc = run_redactor(
        "filter", "--no-config", "--allow-empty", "--scope", "app", input=line, env=denied_env
    )
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode() == (
        "redactor: error: permission denied: cannot read scope 'app' (HashiCorp Vault / OpenBao "
        f"{openbao.addr}, secret/data/{base}/app): the token's policies do not allow it, or the "
        "token is invalid or expired (1 error occurred: * permission denied)\n"
    )
