"""``redactor secrets ...``: the real CLI in subprocesses, stdin pipes and a real terminal."""

from __future__ import annotations

import base64
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import run_redactor

from redactor.sources.scopes import LocalStore
from redactor.sources.scopes.local.keys import key_file_path

VALUE = "Cli-S3cret-value-0042"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("REDACTOR_", "AZURE_"))}
    e["REDACTOR_HOME"] = str(tmp_path / "home")
    return e


def cli(
    env: dict[str, str], *args: str, stdin: bytes | None = b"", extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = run_redactor("secrets", *args, input=stdin, env={**env, **(extra or {})})
    out = proc.stdout.decode()
    err = proc.stderr.decode()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def store(env: dict[str, str]) -> LocalStore:
    return LocalStore(env["REDACTOR_HOME"], environ={})


def test_scope_lifecycle_and_exact_output(env: dict[str, str]) -> None:
    assert cli(env, "list-scopes").stdout == ""
    r = cli(env, "create-scope", "kv-scope")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli(env, "create-scope", "KV-Scope")
    assert (r.returncode, r.stderr) == (
        2,
        "Error: RESOURCE_ALREADY_EXISTS: secret scope 'KV-Scope' already exists\n",
    )
    r = cli(
        env,
        "create-scope",
        "akv",
        "--scope-backend-type",
        "AZURE_KEYVAULT",
        "--dns-name",
        "https://my-vault.vault.azure.net",
        "--resource-id",
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/my-vault",
    )
    assert (r.returncode, r.stderr) == (0, "")
    assert cli(env, "list-scopes").stdout == (
        "Scope     Backend Type\nakv       AZURE_KEYVAULT\nkv-scope  DATABRICKS\n"
    )
    # the Databricks CLI's JSON listing: an array, SecretScope's fields in the SDK's order
    assert cli(env, "list-scopes", "-o", "json").stdout == (
        "[\n"
        "  {\n"
        '    "backend_type": "AZURE_KEYVAULT",\n'
        '    "keyvault_metadata": {\n'
        '      "dns_name": "https://my-vault.vault.azure.net/",\n'
        '      "resource_id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/my-vault"\n'
        "    },\n"
        '    "name": "akv"\n'
        "  },\n"
        "  {\n"
        '    "backend_type": "DATABRICKS",\n'
        '    "name": "kv-scope"\n'
        "  }\n"
        "]\n"
    )
    r = cli(env, "delete-scope", "AKV")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli(env, "delete-scope", "akv")
    assert (r.returncode, r.stderr) == (
        2,
        "Error: RESOURCE_DOES_NOT_EXIST: secret scope 'akv' does not exist\n",
    )
    assert cli(env, "list-scopes").stdout == "Scope     Backend Type\nkv-scope  DATABRICKS\n"


def test_create_scope_json_and_bad_arguments(env: dict[str, str], tmp_path: Path) -> None:
    body = {
        "scope": "json-kv",
        "scope_backend_type": "AZURE_KEYVAULT",
        "backend_azure_keyvault": {"dns_name": "https://v.vault.azure.net/", "resource_id": "/r"},
        "initial_manage_principal": "users",
    }
    (tmp_path / "body.json").write_text(json.dumps(body))
    r = cli(env, "create-scope", "--json", f"@{tmp_path / 'body.json'}")
    assert r.returncode == 0
    assert r.stderr == (
        "redactor: warning: the local store has no ACLs (its file permissions protect it): "
        "--initial-manage-principal is ignored\n"
    )
    assert store(env).get_scope("json-kv").options == {
        "dns_name": "https://v.vault.azure.net/",
        "resource_id": "/r",
    }
    cases = [
        (["create-scope", "x", "--scope-backend-type", "AZURE_KEYVAULT"],
         "redactor: error: an AZURE_KEYVAULT scope needs --dns-name https://VAULT.vault.azure.net/"),
        (["create-scope", "x", "--dns-name", "https://v.vault.azure.net/"],
         "redactor: error: --dns-name and --resource-id need --scope-backend-type AZURE_KEYVAULT"),
        (["create-scope", "x", "--scope-backend-type", "AZURE_KEYVAULT", "--dns-name", "http://v.vault.azure.net/"],
         "Error: INVALID_PARAMETER_VALUE: the Key Vault DNS name must be an https:// URL such as https://my-vault.vault.azure.net/, not 'http://v.vault.azure.net/'"),
        (["create-scope", "bad scope"],
         "Error: INVALID_PARAMETER_VALUE: invalid scope name (argument 1): use letters, digits, '-', '_', '.', '@' (at most 128)"),
        (["create-scope"], "redactor: error: create-scope needs a SCOPE name"),
        (["create-scope", "--json", "{not json"],
         "redactor: error: cannot read --json: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ]  # fmt: skip
    for args, message in cases:
        r = cli(env, *args)
        assert (r.returncode, r.stdout, r.stderr) == (2, "", f"{message}\n"), args


def test_put_secret_from_stdin_keeps_bytes_exactly(env: dict[str, str]) -> None:
    cli(env, "create-scope", "kv-scope")
    r = cli(env, "put-secret", "kv-scope", "sql-db-password", stdin=VALUE.encode())
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli(env, "put-secret", "kv-scope", "with-newline", stdin=b"line-one\nline-two\n")
    assert r.returncode == 0
    assert r.stderr == (
        "redactor: warning: the value read from stdin ends with a newline, which is stored as "
        "part of it (use printf '%s' instead of echo to leave it out)\n"
    )
    r = cli(env, "put-secret", "kv-scope", "binary", stdin=b"\xff\xfe\x00raw-binary")
    assert (r.returncode, r.stderr) == (0, "")
    s = store(env)
    assert s.get_secret("kv-scope", "sql-db-password") == VALUE
    assert s.get_secret("kv-scope", "with-newline") == "line-one\nline-two\n"
    assert s.get_secret("kv-scope", "binary") == b"\xff\xfe\x00raw-binary"
    r = cli(env, "put-secret", "kv-scope", "empty", stdin=b"")
    assert (r.returncode, r.stderr) == (2, "redactor: error: stdin was empty; nothing was stored\n")
    r = cli(env, "put-secret", "kv-scope", "huge", stdin=b"x" * (128 * 1024 + 1))
    assert (r.returncode, r.stderr) == (
        2,
        "redactor: error: the value on stdin is larger than 131072 bytes (128 KiB), the limit\n",
    )
    r = cli(env, "put-secret", "kv-scope", "max", stdin=b"y" * (128 * 1024))
    assert r.returncode == 0
    r = cli(env, "put-secret", "kv-scope", "pin", stdin=b"1234")
    assert r.stderr == (
        "redactor: warning: kv-scope/pin is shorter than 6 characters: redactor will not "
        "redact it (too many false matches)\n"
    )
    r = cli(env, "put-secret", "missing-scope", "k", stdin=VALUE.encode())
    assert (
        r.stderr == "Error: RESOURCE_DOES_NOT_EXIST: secret scope 'missing-scope' does not exist\n"
    )
    assert VALUE not in r.stdout + r.stderr


def test_value_flags_warn_about_argv(env: dict[str, str]) -> None:
    cli(env, "create-scope", "kv-scope")
    r = cli(env, "put-secret", "kv-scope", "s", "--string-value", VALUE)
    assert r.returncode == 0
    assert r.stderr == (
        "redactor: warning: --string-value puts the secret on the command line, where shell "
        "history and process lists (ps) can read it; pipe it on stdin instead: redactor secrets "
        "put-secret SCOPE KEY < file\n"
    )
    # issue 16 finding 9: --bytes-value takes the bytes as typed (the Databricks CLI encodes
    # them to base64 itself), not base64 to decode
    b64 = base64.b64encode(b"\x01bytes-value").decode()
    r = cli(env, "put-secret", "kv-scope", "b", "--bytes-value", b64)
    assert r.returncode == 0 and r.stderr.startswith("redactor: warning: --bytes-value puts")
    assert store(env).get_secret("kv-scope", "s") == VALUE
    assert store(env).get_secret("kv-scope", "b") == b64.encode()
    r = cli(env, "put-secret", "kv-scope", "b", "--bytes-value", "not base64! \u00e9")
    assert r.returncode == 0
    assert store(env).get_secret("kv-scope", "b") == "not base64! \u00e9".encode()
    r = cli(env, "put-secret", "kv-scope", "b", "--string-value", "a", "--bytes-value", "YQ==")
    assert r.returncode == 2
    assert "not allowed with argument --string-value" in r.stderr


def test_list_and_delete_secrets_never_print_values(env: dict[str, str]) -> None:
    cli(env, "create-scope", "kv-scope")
    for key in ("sql-db-user", "sql-db-password"):
        cli(env, "put-secret", "kv-scope", key, stdin=(VALUE + key).encode())
    before = time.time()
    r = cli(env, "list-secrets", "kv-scope")
    lines = r.stdout.splitlines()
    assert lines[0] == "Key              Last Updated"
    assert [line.split()[0] for line in lines[1:]] == ["sql-db-password", "sql-db-user"]
    stamp = lines[1].split()[1]
    assert time.strftime("%Y-%m-%dT", time.gmtime(before)) in stamp and stamp.endswith("Z")
    data = json.loads(cli(env, "list-secrets", "kv-scope", "-o", "json").stdout)
    assert [s["key"] for s in data] == ["sql-db-password", "sql-db-user"]
    assert all(abs(s["last_updated_timestamp"] / 1000 - before) < 60 for s in data)
    r = cli(env, "delete-secret", "kv-scope", "SQL-DB-USER")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli(env, "delete-secret", "kv-scope", "sql-db-user")
    assert r.stderr == (
        "Error: RESOURCE_DOES_NOT_EXIST: secret 'sql-db-user' does not exist in scope 'kv-scope'\n"
    )
    stamp_ms = data[0]["last_updated_timestamp"]
    assert cli(env, "list-secrets", "kv-scope", "-o", "json").stdout == (
        f'[\n  {{\n    "key": "sql-db-password",\n    "last_updated_timestamp": {stamp_ms}\n  }}\n]\n'
    )
    for out in (r.stdout, r.stderr, cli(env, "list-secrets", "kv-scope").stdout):
        assert VALUE not in out


def test_keyvault_scope_is_read_only_from_the_cli(env: dict[str, str]) -> None:
    cli(
        env,
        "create-scope",
        "akv",
        "--scope-backend-type",
        "AZURE_KEYVAULT",
        "--dns-name",
        "https://v.vault.azure.net/",
    )
    message = (
        "cannot {verb} in scope 'akv': it is backed by Azure Key Vault and read-only here; "
        "change its secrets in the vault"
    )
    r = cli(env, "put-secret", "akv", "k", stdin=VALUE.encode())
    assert (r.returncode, r.stderr) == (
        2,
        "Error: BAD_REQUEST: " + message.format(verb="put a secret") + "\n",
    )
    r = cli(env, "delete-secret", "akv", "k")
    assert r.stderr == "Error: BAD_REQUEST: " + message.format(verb="delete a secret") + "\n"


def test_put_secret_prompts_on_a_terminal_without_echo(env: dict[str, str]) -> None:
    cli(env, "create-scope", "kv-scope")
    pid, fd = pty.fork()
    if pid == 0:  # child: the CLI with the pty as its controlling terminal
        os.execve(
            sys.executable,
            [sys.executable, "-m", "redactor", "secrets", "put-secret", "kv-scope", "typed"],
            env,
        )
    seen = b""

    def read_until(marker: bytes, deadline: float) -> None:
        nonlocal seen
        while marker not in seen and time.time() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk

    read_until(b"(input is hidden): ", time.time() + 30)
    assert b"value for kv-scope/typed (input is hidden): " in seen
    os.write(fd, VALUE.encode() + b"\r")
    read_until(b"\n", time.time() + 30)
    read_until(b"__never__", time.time() + 1)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert VALUE.encode() not in seen  # no echo
    assert store(env).get_secret("kv-scope", "typed") == VALUE


def test_rotate_key_through_the_cli(env: dict[str, str], tmp_path: Path) -> None:
    cli(env, "create-scope", "kv-scope")
    cli(env, "put-secret", "kv-scope", "k", stdin=VALUE.encode())
    key_file = key_file_path(Path(env["REDACTOR_HOME"]))
    old = key_file.read_bytes()
    r = cli(env, "rotate-key")
    assert (r.returncode, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("rotated the master key: key file (key id ")
    assert lines[1] == "replaced the data key and re-encrypted 1 value(s)"
    assert key_file.read_bytes() != old
    r = cli(env, "rotate-key", "--reencrypt")  # the default, still accepted
    assert r.stdout.splitlines()[1] == "replaced the data key and re-encrypted 1 value(s)"
    r = cli(env, "rotate-key", "--rewrap-only")
    assert r.returncode == 0
    assert r.stdout.splitlines()[1] == "the data key was re-wrapped; values were not re-encrypted"
    assert r.stderr == (
        "redactor: warning: --rewrap-only keeps the old data key: anyone with the old master key "
        "and an old copy of the store can still read every value, including new ones\n"
    )
    new_key = "ab" * 32
    r = cli(env, "rotate-key", "--to", "env", stdin=(new_key + "\n").encode())
    assert r.returncode == 0, r.stderr
    assert "set REDACTOR_MASTER_KEY to the new key" in r.stdout
    assert new_key not in r.stdout + r.stderr
    assert not key_file.exists()
    r = cli(env, "list-scopes")  # the integrity check needs the key
    assert r.returncode == 2 and "locked with REDACTOR_MASTER_KEY" in r.stderr
    assert cli(env, "list-scopes", extra={"REDACTOR_MASTER_KEY": new_key}).returncode == 0
    assert (
        LocalStore(env["REDACTOR_HOME"], environ={"REDACTOR_MASTER_KEY": new_key}).get_secret(
            "kv-scope", "k"
        )
        == VALUE
    )
    r = cli(
        env,
        "rotate-key",
        "--to",
        "passphrase",
        extra={"REDACTOR_MASTER_KEY": new_key, "REDACTOR_NEW_PASSPHRASE": "a long new passphrase"},
    )
    assert r.returncode == 0, r.stderr
    assert "unset REDACTOR_MASTER_KEY" in r.stdout
    assert "a long new passphrase" not in r.stdout + r.stderr
    r = cli(
        env,
        "put-secret",
        "kv-scope",
        "k2",
        stdin=b"another-value",
        extra={"REDACTOR_PASSPHRASE": "a long new passphrase"},
    )
    assert (r.returncode, r.stderr) == (0, "")
    r = cli(
        env,
        "put-secret",
        "kv-scope",
        "k3",
        stdin=b"another-value",
        extra={"REDACTOR_PASSPHRASE": "wrong"},
    )
    assert (
        r.returncode == 2 and "Error: PERMISSION_DENIED: wrong passphrase for the store" in r.stderr
    )
    r = cli(
        env,
        "rotate-key",
        "--to",
        "env",
        stdin=b"short\n",
        extra={"REDACTOR_PASSPHRASE": "a long new passphrase"},
    )
    assert r.stderr == (
        "redactor: error: the new master key must hold 32 bytes as 64 hex digits or as base64 "
        '(make one with: python -c "import secrets; print(secrets.token_hex(32))")\n'
    )
    r = cli(env, "rotate-key", "--home", str(tmp_path / "nowhere"))
    assert r.stderr == f"redactor: error: there is no secret store in {tmp_path / 'nowhere'} yet\n"


def test_bad_key_file_permissions_are_reported(env: dict[str, str]) -> None:
    cli(env, "create-scope", "kv-scope")
    cli(env, "put-secret", "kv-scope", "k", stdin=VALUE.encode())
    key_file = key_file_path(Path(env["REDACTOR_HOME"]))
    key_file.chmod(0o644)
    r = cli(env, "put-secret", "kv-scope", "k2", stdin=b"value-two")
    assert (r.returncode, r.stderr) == (
        2,
        f"redactor: error: key file {key_file} can be read or written by group or others "
        f"(mode 0644); refused. Run: chmod 600 {key_file}\n",
    )


def test_no_verb_prints_help(env: dict[str, str]) -> None:
    r = cli(env)
    assert r.returncode == 2
    for verb in (
        "create-scope",
        "list-scopes",
        "delete-scope",
        "put-secret",
        "list-secrets",
        "delete-secret",
        "rotate-key",
    ):
        assert verb in r.stderr


# -- issue 16 -----------------------------------------------------------------------------------

LEAKY = "Sup3r$ecret!Passw0rd"
KEY_RULE = "use letters, digits, '-', '_', '.' (at most 128)"
SCOPE_RULE = "use letters, digits, '-', '_', '.', '@' (at most 128)"


def test_rejected_names_are_never_repeated(env: dict[str, str]) -> None:
    """Finding 8: a value typed where a name goes is not printed back; the message names the
    argument's position and the rule, for every verb that takes a name."""
    cli(env, "create-scope", "prod")
    bad = "INVALID_PARAMETER_VALUE: invalid"
    cases = [
        (["put-secret", "prod", LEAKY], f"{bad} secret key (argument 2): {KEY_RULE}"),
        (["put-secret", LEAKY, "k"], f"{bad} scope name (argument 1): {SCOPE_RULE}"),
        (["delete-secret", "prod", LEAKY], f"{bad} secret key (argument 2): {KEY_RULE}"),
        (["delete-secret", LEAKY, "k"], f"{bad} scope name (argument 1): {SCOPE_RULE}"),
        (["get-secret", "prod", LEAKY], f"{bad} secret key (argument 2): {KEY_RULE}"),
        (["list-secrets", LEAKY], f"{bad} scope name (argument 1): {SCOPE_RULE}"),
        (["delete-scope", LEAKY], f"{bad} scope name (argument 1): {SCOPE_RULE}"),
        (["create-scope", LEAKY], f"{bad} scope name (argument 1): {SCOPE_RULE}"),
        (
            ["create-scope", "--json", json.dumps({"scope": LEAKY})],
            f"{bad} scope name (the scope field of --json): {SCOPE_RULE}",
        ),
    ]
    for args, message in cases:
        r = cli(env, *args, stdin=b"never-read-value")
        assert (r.returncode, r.stdout, r.stderr) == (2, "", f"Error: {message}\n"), args
        assert "Sup3r" not in r.stderr
    # a value given as an extra word is not printed by argparse either
    r = cli(env, "put-secret", "prod", "k", LEAKY)
    assert (r.returncode, r.stdout, r.stderr) == (
        2,
        "",
        "redactor: error: put-secret: 1 unexpected argument(s), not shown as one may be a "
        "secret; see redactor secrets put-secret --help (the value is read from stdin or a "
        "prompt)\n",
    )


def test_databricks_name_rules_and_error_codes(env: dict[str, str]) -> None:
    """Finding 9: '@' in scope names but not in keys, as the Databricks API; its error codes."""
    assert cli(env, "create-scope", "team@example.com").returncode == 0
    r = cli(env, "put-secret", "team@example.com", "db.pass_1-x", stdin=VALUE.encode())
    assert (r.returncode, r.stderr) == (0, "")
    r = cli(env, "put-secret", "team@example.com", "user@host", stdin=VALUE.encode())
    assert r.stderr == (
        f"Error: INVALID_PARAMETER_VALUE: invalid secret key (argument 2): {KEY_RULE}\n"
    )
    r = cli(env, "get-secret", "team@example.com", "nope")
    assert (r.returncode, r.stdout, r.stderr) == (
        2,
        "",
        "Error: RESOURCE_DOES_NOT_EXIST: secret 'nope' does not exist in scope "
        "'team@example.com'\n",
    )
    r = cli(env, "get-secret", "team@example.com", "DB.PASS_1-X", "-o", "json")
    assert (r.returncode, r.stdout, r.stderr) == (
        0,
        '{\n  "key": "db.pass_1-x",\n  "value": "[REDACTED]"\n}\n',
        "",
    )
    r = cli(env, "list-secrets", "missing")
    assert r.stderr == "Error: RESOURCE_DOES_NOT_EXIST: secret scope 'missing' does not exist\n"
    cli(env, "create-scope", "empty")
    r = cli(env, "list-secrets", "empty", "-o", "json")
    assert (r.returncode, r.stdout) == (0, "[\n  \n]\n")  # as the Databricks CLI renders []
    cli(
        env,
        *("create-scope", "akv", "--scope-backend-type", "AZURE_KEYVAULT"),
        *("--dns-name", "https://v.vault.azure.net/"),
    )
    # AzureKeyVaultSecretScopeMetadata's fields are both required in the SDK: "" if not given
    assert json.loads(cli(env, "list-scopes", "-o", "json").stdout) == [
        {
            "backend_type": "AZURE_KEYVAULT",
            "keyvault_metadata": {"dns_name": "https://v.vault.azure.net/", "resource_id": ""},
            "name": "akv",
        },
        {"backend_type": "DATABRICKS", "name": "empty"},
        {"backend_type": "DATABRICKS", "name": "team@example.com"},
    ]


def test_listing_verbs_take_format_as_scan_and_scrub_spell_it(env: dict[str, str]) -> None:
    """``--format text|json`` on list-scopes, list-secrets and audit prints exactly what ``-o``
    prints; ``--format sarif`` is refused with the reason (a listing has no findings), before
    the store is opened; ``-o`` and ``--format`` together are refused by the parser."""
    cli(env, "create-scope", "kv-scope")
    cli(env, "put-secret", "kv-scope", "sql-db-password", stdin=VALUE.encode())
    for verb in (["list-scopes"], ["list-secrets", "kv-scope"]):
        for fmt in ("text", "json"):
            by_o = cli(env, *verb, "-o", fmt)
            by_format = cli(env, *verb, "--format", fmt)
            assert (by_format.returncode, by_format.stderr) == (0, "")
            assert by_format.stdout == by_o.stdout and by_o.stdout
    # audit's JSON carries times and process ids of each run: compared by shape and operations
    audit = json.loads(cli(env, "audit", "--format", "json").stdout)
    assert [e["op"] for e in audit["entries"]] == [
        e["op"] for e in json.loads(cli(env, "audit", "-o", "json").stdout)["entries"]
    ][: len(audit["entries"])]
    assert cli(env, "audit", "--format", "text").stdout.startswith("Time")
    for verb in (["list-scopes"], ["list-secrets", "kv-scope"], ["audit"]):
        r = cli(env, *verb, "--format", "sarif")
        assert (r.returncode, r.stdout) == (2, "")
        assert r.stderr == (
            f"redactor: error: {verb[0]}: --format sarif is for findings (redactor scan, scrub, "
            "scrub-logs); a listing has none: use --format json\n"
        )
        r = cli(env, *verb, "-o", "json", "--format", "json")
        assert r.returncode == 2 and "not allowed with argument" in r.stderr
    assert VALUE not in cli(env, "list-secrets", "kv-scope", "--format", "json").stdout
