"""Databricks workspace scopes: the unmodified databricks-sdk against a local HTTPS workspace.

The server (tests/helpers/databricks_server.py) speaks the workspace secrets REST API with the
test CA, which the SDK trusts through REQUESTS_CA_BUNDLE; sign-in is by a personal access token in
the environment, by a ~/.databrickscfg profile in a temporary HOME and by OAuth M2M.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.databricks_server import DatabricksServer
from helpers.seed import SEED, SEED_REDACTED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor
from redactor.sources.load import SourceConfig, build_redactor
from redactor.sources.scopes import (
    BackendError,
    InvalidValueError,
    LocalStore,
    PermissionDeniedError,
    ReadOnlyScopeError,
    ScopeNotFoundError,
    SecretMetadata,
    SecretNotFoundError,
    SecretScope,
    create_scope,
    databricks,
    delete_secret,
    get_secret,
    list_secrets,
    put_secret,
    scope_items,
)

pytest.importorskip("databricks.sdk")

USER = "dbx_admin_user_7310"
PASSWORD = "Dbx-P@ssw0rd-from-the-workspace-41"
TOKEN_VALUE = "tok-ws-1234567890"
LOCKED_VALUE = "locked-value-never-shown-9931"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabricksServer]:
    with DatabricksServer(tmp_path_factory.mktemp("dbx")) as server:
        server.create_scope("kv-scope")
        server.put("kv-scope", "sql-db-user", USER)
        server.put("kv-scope", "sql-db-password", PASSWORD)
        server.put("kv-scope", "api-token", TOKEN_VALUE)
        server.put("kv-scope", "Mixed.Case_key", "mixed-case-value")
        server.put("kv-scope", "binary", b"\xff\xfe\x00binary-secret")
        server.create_scope("locked", acls={"admins": "MANAGE"})
        server.put("locked", "k", LOCKED_VALUE)
        server.create_scope("read-only", acls={"alice@example.com": "READ"})
        server.put("read-only", "k", "read-only-value-5150")
        server.create_scope("akv-backed", backend_type="AZURE_KEYVAULT")
        yield server


@pytest.fixture(scope="module")
def alice(ws: DatabricksServer) -> str:
    return ws.add_token("alice@example.com")


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No REDACTOR_/DATABRICKS_/ARM_ variable, and a HOME of our own (no real ~/.databrickscfg)."""
    for name in list(os.environ):
        if name.startswith(("REDACTOR_", "DATABRICKS_", "ARM_", "AZURE_", "GOOGLE_")):
            monkeypatch.delenv(name)
    user_home = tmp_path / "user"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    home = tmp_path / "redactor-home"
    monkeypatch.setenv("REDACTOR_HOME", str(home))
    return home


@pytest.fixture
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ws: DatabricksServer, alice: str
) -> Iterator[Path]:
    home = _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ws.ca_path))
    monkeypatch.setenv("DATABRICKS_TOKEN", alice)
    store = LocalStore(home)
    for name in ("kv-scope", "locked", "read-only", "akv-backed"):
        store.create_scope(name, "DATABRICKS_WORKSPACE", {"host": ws.url})
    databricks.reset()
    ws.requests.clear()
    yield home
    databricks.reset()


def test_seed_example_against_a_workspace_scope(
    home: Path, ws: DatabricksServer, fresh_redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    from redactor import dbutils

    exec(SEED, {"dbutils": dbutils})
    printed = capsys.readouterr().out
    assert printed.splitlines()[:2] == [USER, PASSWORD]
    assert redactor.redact(printed) == SEED_REDACTED
    assert fresh_redactor.secret_names == ["kv-scope/sql-db-user", "kv-scope/sql-db-password"]
    assert ws.requests == [
        ("GET", "/api/2.0/secrets/get?key=sql-db-user", "alice@example.com"),
        ("GET", "/api/2.0/secrets/get?key=sql-db-password", "alice@example.com"),
    ]


@pytest.mark.slow  # six processes import the SDK (2 to 7 s each on a loaded 2-core machine)
def test_seed_example_in_a_process_after_the_cli_linked_the_scope(
    tmp_path: Path, ws: DatabricksServer, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch, tmp_path)
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(ws.ca_path), "DATABRICKS_TOKEN": alice}

    def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "redactor", "secrets", *args],
            input=stdin, env=env, capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        )

    r = cli(
        "create-scope", "kv-scope", "--scope-backend-type", "DATABRICKS", "--host", ws.url + "/"
    )
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli("list-scopes")
    assert r.stdout == "Scope     Backend Type\nkv-scope  DATABRICKS_WORKSPACE\n"
    r = cli("list-scopes", "-o", "json")
    assert json.loads(r.stdout) == [
        {
            "backend_type": "DATABRICKS_WORKSPACE",
            "workspace_metadata": {"host": ws.url},
            "name": "kv-scope",
        }
    ]
    r = cli("list-secrets", "kv-scope")
    assert r.returncode == 0, r.stderr
    assert [line.split()[0] for line in r.stdout.splitlines()] == [
        "Key", "api-token", "binary", "Mixed.Case_key", "sql-db-password", "sql-db-user",
    ]  # fmt: skip
    assert USER not in r.stdout and PASSWORD not in r.stdout
    script = "import redactor\nredactor.install()\nfrom redactor import dbutils\n" + SEED
    run = subprocess.run(
        [sys.executable, "-c", script],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == SEED_REDACTED

    # put-secret and delete-secret go to the workspace; the value comes from stdin
    r = cli("put-secret", "kv-scope", "cli-written", stdin=b"written-by-the-cli-6621")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert ws.value("kv-scope", "cli-written") == b"written-by-the-cli-6621"
    r = cli("delete-secret", "kv-scope", "cli-written")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert ws.value("kv-scope", "cli-written") is None
    # the ACL is the workspace's: a READ-only principal cannot write
    r = cli(
        "create-scope", "ro", "--scope-backend-type", "DATABRICKS", "--host", ws.url,
        "--remote-scope", "read-only",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = cli("put-secret", "ro", "k", stdin=b"attempted-value-0001")
    assert (r.returncode, r.stderr) == (
        2,
        "Error: PERMISSION_DENIED: permission denied on secret 'k' in scope 'ro' by Databricks "
        "workspace "
        f"{ws.url} (scope 'ro', workspace scope 'read-only'): the workspace's ACL on scope "
        "'read-only' does not let this identity put (User alice@example.com does not have WRITE "
        "permission on scope read-only to perform this action.)\n",
    )
    assert ws.value("read-only", "k") == b"read-only-value-5150"
    # deleting the scope removes the link only
    r = cli("delete-scope", "ro")
    assert (r.returncode, r.stderr) == (0, "")
    assert ws.value("read-only", "k") == b"read-only-value-5150"


def test_create_scope_options_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch, tmp_path)
    env = dict(os.environ)
    cases = [
        (["x", "--scope-backend-type", "DATABRICKS_WORKSPACE"],
         "redactor: error: a Databricks workspace scope needs --host https://WORKSPACE"),
        (["x", "--scope-backend-type", "DATABRICKS", "--host", "http://adb-1.azuredatabricks.net"],
         "Error: INVALID_PARAMETER_VALUE: the workspace host must be an https:// URL such as "
         "https://adb-1234567890123456.7.azuredatabricks.net, not 'http://adb-1.azuredatabricks.net'"),
        (["x", "--scope-backend-type", "DATABRICKS", "--host", "https://h.example/api"],
         "Error: INVALID_PARAMETER_VALUE: the workspace host must be the workspace's base URL (https://WORKSPACE), not "
         "'https://h.example/api'"),
        (["x", "--profile", "p"],
         "redactor: error: --profile and --remote-scope need --scope-backend-type DATABRICKS "
         "--host URL"),
        (["x", "--scope-backend-type", "AZURE_KEYVAULT", "--host", "https://h.example"],
         "redactor: error: --host needs --scope-backend-type DATABRICKS"),
        (["x", "--host", "https://h.example", "--remote-scope", "bad/name"],
         "Error: INVALID_PARAMETER_VALUE: invalid remote scope name: use letters, digits, '-', "
         "'_', '.', '@' (at most 128)"),
    ]  # fmt: skip
    for args, message in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "redactor", "secrets", "create-scope", *args],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert (proc.returncode, proc.stderr) == (2, f"{message}\n"), args
    proc = subprocess.run(
        [sys.executable, "-m", "redactor", "secrets", "create-scope", "ok", "--host",
         "https://h.example", "--initial-manage-principal", "users"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (
        0,
        "redactor: warning: a workspace scope's ACLs are the workspace's (set them there, e.g. "
        "databricks secrets put-acl): --initial-manage-principal is ignored\n",
    )
    assert [
        (s.name, s.backend, s.options) for s in LocalStore(env["REDACTOR_HOME"]).list_scopes()
    ] == [("ok", "DATABRICKS_WORKSPACE", {"host": "https://h.example"})]
    LocalStore(env["REDACTOR_HOME"]).delete_scope("ok")
    with pytest.raises(InvalidValueError, match="takes host, profile and remote_scope, not token"):
        create_scope("y", "DATABRICKS_WORKSPACE", {"host": "https://h.example", "token": "t"})
    assert LocalStore(os.environ["REDACTOR_HOME"]).list_scopes() == []


def test_profile_in_a_temporary_home(
    tmp_path: Path, ws: DatabricksServer, monkeypatch: pytest.MonkeyPatch, fresh_redactor: Redactor
) -> None:
    """No DATABRICKS_TOKEN: the token comes from the [work] profile of ~/.databrickscfg."""
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ws.ca_path))
    carol = ws.add_token("carol@example.com")
    cfg = Path(os.environ["HOME"]) / ".databrickscfg"
    cfg.write_text(
        f"[DEFAULT]\nhost = https://elsewhere.example\n\n[work]\nhost = {ws.url}\ntoken = {carol}\n"
        "\n[other]\nhost = https://other.example\ntoken = dapi-other\n",
        encoding="utf-8",
    )
    create_scope(
        "dev",
        "DATABRICKS_WORKSPACE",
        {"host": ws.url, "profile": "work", "remote_scope": "kv-scope"},
    )
    create_scope(
        "wrong",
        "DATABRICKS_WORKSPACE",
        {"host": ws.url, "profile": "other", "remote_scope": "kv-scope"},
    )
    create_scope("none", "DATABRICKS_WORKSPACE", {"host": ws.url, "profile": "missing", "remote_scope": "kv-scope"})  # fmt: skip
    databricks.reset()
    ws.requests.clear()
    from redactor import dbutils

    assert dbutils.secrets.get("dev", "sql-db-user") == USER
    assert ws.requests == [("GET", "/api/2.0/secrets/get?key=sql-db-user", "carol@example.com")]
    assert fresh_redactor.secret_names == ["dev/sql-db-user"]
    # no profile named: the one profile for this host signs in ([DEFAULT] is for another host)
    create_scope("kv-scope", "DATABRICKS_WORKSPACE", {"host": ws.url})
    assert get_secret("kv-scope", "api-token") == TOKEN_VALUE
    assert ws.requests[-1] == ("GET", "/api/2.0/secrets/get?key=api-token", "carol@example.com")
    ws.requests.clear()
    # a profile for another host is not used: its token would go to this scope's host
    with pytest.raises(BackendError) as info:
        get_secret("wrong", "sql-db-user")
    assert str(info.value) == (
        f"profile 'other' is for https://other.example, not Databricks workspace {ws.url} (scope "
        "'wrong', workspace scope 'kv-scope'): its credentials are not sent to another host; fix "
        "the profile or the scope"
    )
    with pytest.raises(
        BackendError, match=r"cannot sign in to .* has no missing profile configured"
    ):
        get_secret("none", "sql-db-user")
    assert ws.requests == []
    # [DEFAULT] for this host wins; it is a profile of its own, not defaults for the others
    cfg.write_text(
        f"[DEFAULT]\nhost = {ws.url}\ntoken = {carol}\n\n[x]\nhost = {ws.url}\ntoken = dapi-x\n"
        "\n[y]\ntoken = dapi-y\n",
        encoding="utf-8",
    )
    create_scope(
        "y", "DATABRICKS_WORKSPACE", {"host": ws.url, "profile": "y", "remote_scope": "kv-scope"}
    )
    databricks.clear_cache()
    assert get_secret("kv-scope", "sql-db-password") == PASSWORD
    assert ws.requests == [("GET", "/api/2.0/secrets/get?key=sql-db-password", "carol@example.com")]
    with pytest.raises(BackendError, match="cannot sign in to") as info:
        get_secret("y", "sql-db-user")  # [y] names no host and has an unknown token
    assert "dapi-y" not in str(info.value)


def test_oauth_machine_to_machine(
    home: Path, ws: DatabricksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABRICKS_TOKEN")
    client_id, client_secret = ws.add_service_principal("sp-etl")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", client_id)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", client_secret)
    assert get_secret("kv-scope", "api-token") == TOKEN_VALUE
    assert ws.requests == [("GET", "/api/2.0/secrets/get?key=api-token", "sp-etl")]
    databricks.clear_cache()
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "dose-wrong-secret")
    with pytest.raises(BackendError, match="cannot sign in to Databricks workspace") as info:
        get_secret("kv-scope", "api-token")
    assert "dose-wrong-secret" not in str(info.value)


def test_listing_and_every_scope_source(
    home: Path, ws: DatabricksServer, fresh_redactor: Redactor
) -> None:
    from redactor import dbutils

    assert dbutils.secrets.list("kv-scope") == [
        SecretMetadata("api-token"),
        SecretMetadata("binary"),
        SecretMetadata("Mixed.Case_key"),
        SecretMetadata("sql-db-password"),
        SecretMetadata("sql-db-user"),
    ]
    assert dbutils.secrets.listScopes() == [
        SecretScope("akv-backed"),
        SecretScope("kv-scope"),
        SecretScope("locked"),
        SecretScope("read-only"),
    ]
    assert ws.api_requests() == ["/api/2.0/secrets/list"]
    assert fresh_redactor.secret_names == []  # listing fetches no value and registers nothing
    assert dict(scope_items("kv-scope")) == {
        "api-token": TOKEN_VALUE,
        "binary": b"\xff\xfe\x00binary-secret",
        "Mixed.Case_key": "mixed-case-value",
        "sql-db-password": PASSWORD,
        "sql-db-user": USER,
    }
    r = build_redactor(SourceConfig(scopes=["kv-scope"]))
    assert (
        r.redact(f"{USER}:{PASSWORD}@host {TOKEN_VALUE}") == "[REDACTED]:[REDACTED]@host [REDACTED]"
    )
    # bytes as the API sends them (base64), through getBytes; get refuses non-UTF-8 bytes
    assert dbutils.secrets.getBytes("kv-scope", "binary") == b"\xff\xfe\x00binary-secret"
    with pytest.raises(
        redactor.sources.scopes.SecretsError, match=r"use dbutils\.secrets\.getBytes"
    ):
        dbutils.secrets.get("kv-scope", "binary")


def test_cache_in_memory_for_the_process_and_configurable(
    home: Path, ws: DatabricksServer, fresh_redactor: Redactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redactor import dbutils

    get = "/api/2.0/secrets/get?key=api-token"
    for _ in range(3):
        assert dbutils.secrets.get("kv-scope", "api-token") == TOKEN_VALUE
    assert ws.api_requests() == [get]
    assert dbutils.secrets.get("KV-SCOPE", "API-TOKEN") == TOKEN_VALUE  # case-insensitive
    assert ws.api_requests() == [get]
    for p in home.rglob("*"):  # never on disk
        if p.is_file():
            assert TOKEN_VALUE.encode() not in p.read_bytes()
    databricks.clear_cache()
    dbutils.secrets.get("kv-scope", "api-token")
    assert ws.api_requests() == [get] * 2
    monkeypatch.setenv("REDACTOR_DATABRICKS_CACHE_TTL", "0")
    dbutils.secrets.get("kv-scope", "api-token")
    dbutils.secrets.get("kv-scope", "api-token")
    assert ws.api_requests() == [get] * 4
    monkeypatch.setenv("REDACTOR_DATABRICKS_CACHE_TTL", "soon")
    with pytest.raises(BackendError, match="REDACTOR_DATABRICKS_CACHE_TTL must be a number of"):
        dbutils.secrets.get("kv-scope", "api-token")
    monkeypatch.delenv("REDACTOR_DATABRICKS_CACHE_TTL")
    databricks.configure(cache_ttl=0)
    dbutils.secrets.get("kv-scope", "api-token")
    assert ws.api_requests() == [get] * 5


def test_writes_go_to_the_workspace_and_refresh_the_cache(
    home: Path, ws: DatabricksServer, fresh_redactor: Redactor
) -> None:
    put_secret("kv-scope", "rotating", "first-version-value")
    assert get_secret("kv-scope", "rotating") == "first-version-value"
    put_secret("kv-scope", "rotating", "second-version-value")
    assert get_secret("kv-scope", "rotating") == "second-version-value"
    put_secret("kv-scope", "raw", b"\xff\x01raw-bytes-value")
    assert ws.value("kv-scope", "raw") == b"\xff\x01raw-bytes-value"
    assert get_secret("kv-scope", "raw") == b"\xff\x01raw-bytes-value"
    delete_secret("kv-scope", "rotating")
    delete_secret("kv-scope", "raw")
    with pytest.raises(SecretNotFoundError):
        get_secret("kv-scope", "rotating")
    assert ws.api_requests("POST") == ["/api/2.0/secrets/put"] * 3 + ["/api/2.0/secrets/delete"] * 2


def test_errors_name_scope_and_key_never_a_value(
    home: Path, ws: DatabricksServer, fresh_redactor: Redactor
) -> None:
    where = f"Databricks workspace {ws.url}"
    cases: list[tuple[type[Exception], str, object]] = [
        (SecretNotFoundError,
         f"secret 'nope' does not exist in scope 'kv-scope' ({where} (scope 'kv-scope'): Failed "
         "to get secret nope for scope kv-scope.)",
         lambda: get_secret("kv-scope", "nope")),
        (PermissionDeniedError,
         f"permission denied on secret 'k' in scope 'locked' by {where} (scope 'locked'): the "
         "workspace's ACL on scope 'locked' does not let this identity read (User "
         "alice@example.com does not have READ permission on scope locked to perform this action.)",
         lambda: get_secret("locked", "k")),
        (PermissionDeniedError,
         f"permission denied on scope 'locked' by {where} (scope 'locked'): the workspace's ACL on "
         "scope 'locked' does not let this identity list (User alice@example.com does not have "
         "READ permission on scope locked to perform this action.)",
         lambda: list_secrets("locked")),
        (PermissionDeniedError,
         f"permission denied on secret 'k' in scope 'read-only' by {where} (scope 'read-only'): "
         "the workspace's ACL on scope 'read-only' does not let this identity delete (User "
         "alice@example.com does not have WRITE permission on scope read-only to perform this "
         "action.)",
         lambda: delete_secret("read-only", "k")),
        (ReadOnlyScopeError,
         f"cannot put secret 'k' in scope 'akv-backed': {where} (scope 'akv-backed') refused it "
         "(Cannot put a secret in an Azure KeyVault-backed scope.); a workspace scope backed by "
         "Azure Key Vault is read-only",
         lambda: put_secret("akv-backed", "k", "value-never-shown-123")),
    ]  # fmt: skip
    create_scope("gone", "DATABRICKS_WORKSPACE", {"host": ws.url, "remote_scope": "no-such"})
    cases.append(
        (ScopeNotFoundError,
         f"secret scope 'gone' does not exist ({where} (scope 'gone', workspace scope 'no-such'): "
         "Scope no-such does not exist!)",
         lambda: list_secrets("gone"))
    )  # fmt: skip
    for kind, message, call in cases:
        with pytest.raises(kind) as info:
            call()  # type: ignore[operator]
        assert str(info.value) == message
        assert info.value.__cause__ is None and info.value.__suppress_context__
        for value in (LOCKED_VALUE, "value-never-shown-123", "read-only-value-5150"):
            assert value not in str(info.value)
    assert PermissionDeniedError.error_code == "PERMISSION_DENIED"
    with pytest.raises(PermissionDeniedError) as denied:
        get_secret("locked", "k")
    assert (denied.value.scope, denied.value.key) == ("locked", "k")
    assert fresh_redactor.secret_names == []


def test_sign_in_reachability_and_tls_failures_are_clear(
    home: Path, ws: DatabricksServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-not-a-valid-token")
    with pytest.raises(BackendError) as info:
        get_secret("kv-scope", "api-token")
    assert str(info.value) == (
        f"cannot sign in to Databricks workspace {ws.url} (scope 'kv-scope'): "
        "Credential was not sent or was invalid."
    )
    monkeypatch.delenv("DATABRICKS_TOKEN")
    databricks.clear_cache()
    with pytest.raises(BackendError) as info:
        get_secret("kv-scope", "api-token")
    message = str(info.value)
    assert message.startswith(
        f"cannot sign in to Databricks workspace {ws.url} (scope 'kv-scope'): "
    )
    assert message.endswith(
        "(set DATABRICKS_TOKEN, name a ~/.databrickscfg profile with --profile, or configure OAuth "
        "M2M with DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET)"
    )
    # TLS: without the test CA, the certificate is refused (and not retried for minutes)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-whatever")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("REDACTOR_DATABRICKS_RETRY_TIMEOUT", "1")
    databricks.clear_cache()
    with pytest.raises(BackendError) as info:
        get_secret("kv-scope", "api-token")
    assert str(info.value).startswith(
        f"cannot reach Databricks workspace {ws.url} (scope 'kv-scope'): "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    retried = (
        "(gave up after 1 seconds of retries; REDACTOR_DATABRICKS_RETRY_TIMEOUT sets how long)"
    )
    assert str(info.value).endswith(retried)
    # unreachable: nothing listens on the port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    create_scope("down", "DATABRICKS_WORKSPACE", {"host": f"https://127.0.0.1:{port}"})
    with pytest.raises(BackendError) as info:
        get_secret("down", "k")
    assert str(info.value).startswith(
        f"cannot reach Databricks workspace https://127.0.0.1:{port} (scope 'down'): "
    )
    assert str(info.value).endswith(retried)
    assert "Connection refused" in str(info.value)
    assert "dapi-whatever" not in str(info.value)


def test_options_and_the_import_path() -> None:
    from redactor.secrets import databricks as documented

    assert documented.clear_cache is databricks.clear_cache
    backend = redactor.sources.scopes.get_backend("DATABRICKS_WORKSPACE")
    assert (backend.read_only, backend.title) == (False, "a Databricks workspace")
    assert backend.check_options(
        "s", {"host": "HTTPS://Adb-1.Azuredatabricks.NET/", "profile": "p", "remote_scope": "r"}
    ) == {"host": "https://adb-1.azuredatabricks.net", "profile": "p", "remote_scope": "r"}
    with pytest.raises(InvalidValueError, match="needs the workspace host"):
        backend.check_options("s", {})


def test_without_the_sdk_the_extra_is_named(home: Path, ws: DatabricksServer) -> None:
    code = (
        "import sys\n"
        "sys.modules['databricks'] = None  # as if databricks-sdk were not installed\n"
        "from redactor.cli.main import main\n"
        "sys.exit(main(['secrets', 'list-secrets', 'kv-scope']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2,
        "",
        "redactor: error: Databricks workspace scopes need the Databricks SDK: "
        "pip install 'redactor[databricks]'\n",
    )
    assert ws.requests == []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=st.one_of(st.text(min_size=1, max_size=300), st.binary(min_size=1, max_size=300)))
def test_values_round_trip_through_the_base64_api(
    home: Path, ws: DatabricksServer, value: str | bytes
) -> None:
    """Whatever is put comes back as the API stores it: text as that text, bytes as those bytes
    (or as text when they are UTF-8, since the API does not record which was put)."""
    put_secret("kv-scope", "round-trip", value)
    assert ws.value("kv-scope", "round-trip") == (
        value.encode("utf-8") if isinstance(value, str) else value
    )
    expected: str | bytes = value
    if isinstance(value, bytes):
        try:
            expected = value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    assert get_secret("kv-scope", "round-trip") == expected
