"""Vault / OpenBao-backed scopes: ``hvac`` against the real OpenBao server (``bao server -dev``).

The session's server (the ``openbao`` fixture in conftest.py) is shared; each test writes its
secrets under its own path, and each runs with an empty ``VAULT_*`` environment and its own HOME,
so that ``~/.vault-token`` is the test's.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.openbao import OpenBaoServer, free_port
from helpers.seed import SEED, SEED_REDACTED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor
from redactor.sources import scopes
from redactor.sources.load import SourceConfig, build_redactor
from redactor.sources.scopes import (
    BackendError,
    InvalidValueError,
    LimitExceededError,
    PermissionDeniedError,
    ReadOnlyScopeError,
    ScopeNotFoundError,
    SecretMetadata,
    SecretNotFoundError,
    SecretsError,
    create_scope,
    delete_secret,
    get_secret,
    list_secrets,
    open_scope,
    put_secret,
    scope_items,
)
from redactor.sources.scopes import vault as vault_backend

USER = "vault_admin_user_7731"
PASSWORD = "Vault-P@ssw0rd-from-openbao-19"
R = "[REDACTED]"


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith(("REDACTOR_", "VAULT_", "BAO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    (tmp_path / "user-home").mkdir()
    home = tmp_path / "redactor-home"
    monkeypatch.setenv("REDACTOR_HOME", str(home))
    return home


@pytest.fixture
def base(openbao: OpenBaoServer) -> str:
    """A fresh folder of the ``secret`` mount for this test's secrets."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openbao: OpenBaoServer) -> Iterator[Path]:
    """A store, no credentials yet, the Vault backend's caches empty."""
    home = _clean_env(monkeypatch, tmp_path)
    vault_backend.reset()
    yield home
    vault_backend.reset()


def write(openbao: OpenBaoServer, path: str, data: dict[str, Any], mount: str = "secret") -> int:
    response = openbao.client().secrets.kv.v2.create_or_update_secret(
        path=path, secret=data, mount_point=mount
    )
    return response["data"]["version"]


def read(openbao: OpenBaoServer, path: str) -> dict[str, Any]:
    return openbao.client().secrets.kv.v2.read_secret_version(
        path=path, raise_on_deleted_version=True
    )["data"]["data"]


def link(scope: str, openbao: OpenBaoServer, path: str, **options: Any) -> None:
    create_scope(scope, "VAULT", {"vault_addr": openbao.addr, "path": path, **options})


def root(monkeypatch: pytest.MonkeyPatch, openbao: OpenBaoServer) -> None:
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)


# -- the seed's example ---------------------------------------------------------------------------


def test_seed_example_against_a_vault_scope(
    home: Path,
    openbao: OpenBaoServer,
    base: str,
    fresh_redactor: Redactor,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from redactor import dbutils

    write(openbao, f"{base}/kv", {"sql-db-user": USER, "sql-db-password": "an-old-version"})
    write(openbao, f"{base}/kv", {"sql-db-user": USER, "sql-db-password": PASSWORD})
    link("kv-scope", openbao, f"{base}/kv")
    root(monkeypatch, openbao)
    exec(SEED, {"dbutils": dbutils})
    printed = capsys.readouterr().out
    assert printed.splitlines()[:2] == [USER, PASSWORD]  # the latest version
    assert redactor.redact(printed) == SEED_REDACTED
    assert fresh_redactor.secret_names == ["kv-scope/sql-db-user", "kv-scope/sql-db-password"]
    assert dbutils.secrets.list("kv-scope") == [
        SecretMetadata("sql-db-password"),
        SecretMetadata("sql-db-user"),
    ]
    assert "kv-scope" in [s.name for s in dbutils.secrets.listScopes()]
    # never on disk: the store records the link only
    for p in home.iterdir():
        assert USER.encode() not in p.read_bytes() and PASSWORD.encode() not in p.read_bytes()


def test_every_scope_source_reads_a_vault_scope(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(openbao, f"{base}/app", {"api-token": "tok-1234567890", "db-password": PASSWORD})
    link("app", openbao, f"{base}/app")
    root(monkeypatch, openbao)
    assert dict(scope_items("app")) == {"api-token": "tok-1234567890", "db-password": PASSWORD}
    r = build_redactor(SourceConfig(scopes=["app"]))
    assert r.redact(f"token tok-1234567890 pw {PASSWORD}") == f"token {R} pw {R}"
    listed = list_secrets("app")
    assert [s.key for s in listed] == ["api-token", "db-password"]
    assert len({s.last_updated_timestamp for s in listed}) == 1  # one version, one time
    assert listed[0].last_updated_timestamp > 1_700_000_000_000


# -- authentication -------------------------------------------------------------------------------


def test_approle_login_and_a_policy_allowing_one_path_and_not_another(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(openbao, f"{base}/allowed", {"db-password": PASSWORD})
    write(openbao, f"{base}/denied", {"db-password": "denied-value-5521"})
    openbao.policy(f"read-{base}", {f"secret/data/{base}/allowed": ["read"]})
    role_id, secret_id = openbao.approle(f"reader-{base}", [f"read-{base}"])
    link("allowed", openbao, f"{base}/allowed")
    link("denied", openbao, f"{base}/denied")
    monkeypatch.setenv("VAULT_ROLE_ID", role_id)
    monkeypatch.setenv("VAULT_SECRET_ID", secret_id)

    assert get_secret("allowed", "db-password") == PASSWORD
    where = f"HashiCorp Vault / OpenBao {openbao.addr}, secret/data/{base}/denied"
    with pytest.raises(PermissionDeniedError) as denied:
        get_secret("denied", "db-password")
    assert str(denied.value) == (
        f"permission denied: cannot read secret 'db-password' in scope 'denied' ({where}): the "
        "token's policies do not allow it, or the token is invalid or expired (1 error "
        "occurred: * permission denied)"
    )
    assert (denied.value.scope, denied.value.key, denied.value.error_code) == (
        "denied",
        "db-password",
        "PERMISSION_DENIED",
    )
    with pytest.raises(
        PermissionDeniedError, match=r"^permission denied: cannot read scope 'denied'"
    ):
        list_secrets("denied")
    # read only: writing is refused by the server, and Vault keeps the old value
    with pytest.raises(
        PermissionDeniedError, match="cannot write secret 'db-password' in scope 'allowed'"
    ):
        put_secret("allowed", "db-password", "new-value-never-written")
    assert read(openbao, f"{base}/allowed") == {"db-password": PASSWORD}


def test_a_refused_approle_login_and_a_missing_auth_mount(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    role_id, _ = openbao.approle(f"r-{base}", ["default"])
    link("app", openbao, f"{base}/app")
    bad_secret_id = "00000000-1111-2222-3333-444444444444"
    monkeypatch.setenv("VAULT_ROLE_ID", role_id)
    monkeypatch.setenv("VAULT_SECRET_ID", bad_secret_id)
    with pytest.raises(PermissionDeniedError) as refused:
        get_secret("app", "k")
    assert str(refused.value) == (
        f"AppRole login refused by HashiCorp Vault / OpenBao {openbao.addr} (auth mount "
        "'approle', scope 'app'): invalid role or secret ID"
    )
    assert bad_secret_id not in str(refused.value) and role_id not in str(refused.value)
    monkeypatch.setenv("VAULT_APPROLE_MOUNT", "elsewhere")
    with pytest.raises(PermissionDeniedError) as elsewhere:
        get_secret("app", "k")
    assert str(elsewhere.value) == (
        f"AppRole login refused by HashiCorp Vault / OpenBao {openbao.addr} (auth mount "
        "'elsewhere', scope 'app'): permission denied (is AppRole enabled at that mount? set "
        "VAULT_APPROLE_MOUNT)"
    )


def test_jwt_login_from_the_variable_and_from_a_file(
    home: Path, tmp_path: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(openbao, f"{base}/ci", {"deploy-key": "deploy-key-value-8812"})
    openbao.policy(f"ci-{base}", {f"secret/data/{base}/*": ["read"]})
    openbao.jwt_role(f"ci-{base}", [f"ci-{base}"])
    link("ci", openbao, f"{base}/ci")
    monkeypatch.setenv("VAULT_JWT_ROLE", f"ci-{base}")
    monkeypatch.setenv("VAULT_JWT", openbao.jwt())
    assert get_secret("ci", "deploy-key") == "deploy-key-value-8812"

    vault_backend.reset()
    monkeypatch.delenv("VAULT_JWT")
    token_file = tmp_path / "ci.jwt"
    token_file.write_text(openbao.jwt() + "\n", encoding="utf-8")
    monkeypatch.setenv("VAULT_JWT_FILE", str(token_file))
    assert get_secret("ci", "deploy-key") == "deploy-key-value-8812"

    vault_backend.reset()
    token_file.write_text(openbao.jwt(audience="someone-else"), encoding="utf-8")
    with pytest.raises(PermissionDeniedError, match=r"^JWT login refused by .*invalid audience"):
        get_secret("ci", "deploy-key")
    monkeypatch.delenv("VAULT_JWT_ROLE")
    with pytest.raises(BackendError, match="VAULT_JWT / VAULT_JWT_FILE needs VAULT_JWT_ROLE"):
        get_secret("ci", "deploy-key")


def test_token_from_the_token_file_and_no_credentials_at_all(
    home: Path, openbao: OpenBaoServer, base: str
) -> None:
    write(openbao, f"{base}/app", {"k": "token-file-read-value"})
    link("app", openbao, f"{base}/app")
    with pytest.raises(BackendError) as none:
        get_secret("app", "k")
    assert str(none.value) == (
        "no Vault credentials in the environment: set VAULT_TOKEN, or VAULT_ROLE_ID and "
        "VAULT_SECRET_ID (AppRole), or VAULT_JWT / VAULT_JWT_FILE and VAULT_JWT_ROLE, or log in "
        "with `bao login` / `vault login` (~/.vault-token)"
    )
    token = openbao.token(["root"])
    (Path(os.environ["HOME"]) / ".vault-token").write_text(token + "\n", encoding="utf-8")
    assert get_secret("app", "k") == "token-file-read-value"


def test_the_openbao_spelling_of_the_variables(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(openbao, f"{base}/app", {"k": "bao-spelling-value"})
    monkeypatch.setenv("BAO_ADDR", openbao.addr)
    create_scope("app", "VAULT", {"path": f"{base}/app"})  # the address from BAO_ADDR
    monkeypatch.setenv("BAO_TOKEN", openbao.root_token)
    assert get_secret("app", "k") == "bao-spelling-value"
    vault_backend.clear_cache()
    monkeypatch.setenv("VAULT_TOKEN", "s.a-token-that-wins-000")  # VAULT_* wins
    with pytest.raises(PermissionDeniedError):
        get_secret("app", "k")


def test_an_invalid_token_is_a_denial(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    link("app", openbao, f"{base}/app")
    monkeypatch.setenv("VAULT_TOKEN", "s.not-a-real-token-000")
    with pytest.raises(PermissionDeniedError) as denied:
        get_secret("app", "k")
    assert str(denied.value) == (
        f"scope 'app': HashiCorp Vault / OpenBao {openbao.addr} has no mount 'secret' this token "
        "may use (no such mount, no policy grants anything under it, or the token is invalid or "
        "expired)"
    )


def test_an_expired_login_token_is_renewed_by_logging_in_again(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(openbao, f"{base}/app", {"k": "first-value-123"})
    openbao.policy(f"p-{base}", {f"secret/data/{base}/app": ["read"]})
    role_id, secret_id = openbao.approle(f"r-{base}", [f"p-{base}"])
    link("app", openbao, f"{base}/app")
    monkeypatch.setenv("VAULT_ROLE_ID", role_id)
    monkeypatch.setenv("VAULT_SECRET_ID", secret_id)
    monkeypatch.setenv("REDACTOR_VAULT_CACHE_TTL", "0")
    assert get_secret("app", "k") == "first-value-123"
    # the security team revokes every token the role issued; the next read logs in again
    (login_token,) = [c.token for c in vault_backend._clients.values()]
    openbao.client().auth.token.revoke(login_token)
    assert get_secret("app", "k") == "first-value-123"
    (fresh,) = [c.token for c in vault_backend._clients.values()]
    assert fresh != login_token


# -- errors: missing, unreachable, wrong mounts -----------------------------------------------------


def test_missing_scope_path_key_and_deleted_version(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root(monkeypatch, openbao)
    write(openbao, f"{base}/app", {"present": "present-value-1"})
    link("app", openbao, f"{base}/app")
    link("nowhere", openbao, f"{base}/nowhere")
    where = f"HashiCorp Vault / OpenBao {openbao.addr}, secret/data/{base}"
    with pytest.raises(SecretNotFoundError) as missing_key:
        get_secret("app", "absent")
    assert str(missing_key.value) == (
        f"secret 'absent' does not exist in scope 'app' (no field 'absent' at {where}/app)"
    )
    with pytest.raises(SecretNotFoundError) as missing_path:
        get_secret("nowhere", "k")
    assert str(missing_path.value) == (
        f"secret 'k' does not exist in scope 'nowhere' (no secret at {where}/nowhere, or that "
        "version is deleted)"
    )
    with pytest.raises(ScopeNotFoundError) as empty:
        list_secrets("nowhere")
    assert str(empty.value) == (
        f"secret scope 'nowhere' does not exist (no secret at {where}/nowhere, or that version "
        "is deleted)"
    )
    with pytest.raises(ScopeNotFoundError, match="secret scope 'unknown' does not exist"):
        get_secret("unknown", "k")  # not in the catalogue at all
    openbao.client().secrets.kv.v2.delete_latest_version_of_secret(f"{base}/app")
    vault_backend.clear_cache()
    with pytest.raises(SecretNotFoundError, match="or that version is deleted"):
        get_secret("app", "present")
    with pytest.raises(SecretNotFoundError, match="no secret at"):
        delete_secret("app", "present")
    put_secret("app", "present", "after-deletion-value")  # a new version over the deleted one
    assert read(openbao, f"{base}/app") == {"present": "after-deletion-value"}


def test_an_unreachable_server(home: Path, base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    create_scope("gone", "VAULT", {"vault_addr": f"http://127.0.0.1:{port}", "path": base})
    monkeypatch.setenv("VAULT_TOKEN", "s.some-token-value-1234")
    with pytest.raises(BackendError) as unreachable:
        get_secret("gone", "k")
    message = str(unreachable.value)
    assert message.startswith(
        f"cannot reach HashiCorp Vault / OpenBao http://127.0.0.1:{port} (scope 'gone'): "
        "ConnectionError: "
    )
    assert "Connection refused" in message and "some-token-value" not in message
    assert unreachable.value.error_code == "TEMPORARILY_UNAVAILABLE"


def test_only_kv_version_2_mounts(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root(monkeypatch, openbao)
    c = openbao.client()
    c.sys.enable_secrets_engine("kv", path=f"kv1-{base}", options={"version": "1"})
    c.sys.enable_secrets_engine("transit", path=f"transit-{base}")
    link("v1", openbao, "app", mount=f"kv1-{base}")
    link("tr", openbao, "app", mount=f"transit-{base}")
    link("nomount", openbao, "app", mount=f"absent-{base}")
    link("nested", openbao, "app", mount=f"secret/{base}")
    with pytest.raises(InvalidValueError) as v1:
        get_secret("v1", "k")
    assert str(v1.value) == (
        f"scope 'v1': mount 'kv1-{base}' of {openbao.addr} is KV version 1; redactor's Vault "
        f"scopes need KV version 2 (upgrade it with `bao kv enable-versioning kv1-{base}`, or "
        "mount one with `bao secrets enable -path=NAME kv-v2`)"
    )
    with pytest.raises(InvalidValueError) as tr:
        list_secrets("tr")
    assert str(tr.value) == (
        f"scope 'tr': mount 'transit-{base}' of {openbao.addr} is a 'transit' secrets engine, "
        "not a KV version 2 store"
    )
    with pytest.raises(PermissionDeniedError) as absent:
        get_secret("nomount", "k")
    assert str(absent.value) == (
        f"scope 'nomount': HashiCorp Vault / OpenBao {openbao.addr} has no mount "
        f"'absent-{base}' this token may use (no such mount, no policy grants anything under "
        "it, or the token is invalid or expired)"
    )
    with pytest.raises(InvalidValueError) as nested:
        get_secret("nested", "k")
    assert str(nested.value) == (
        f"scope 'nested': 'secret/{base}' is not a mount of {openbao.addr}; the mount is "
        "'secret': create the scope with --mount secret and the rest in --path"
    )


def test_scope_options_are_checked_when_the_scope_is_created(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [
        ({}, "a VAULT scope needs the server's address: --vault-addr "
             "https://vault.example.com:8200 (or VAULT_ADDR)"),
        ({"vault_addr": "http://vault.example.com:8200"},
         "the Vault address 'http://vault.example.com:8200' is plain http:// to another host, "
         "where the token could be read on the way: use https:// (http:// is accepted only on "
         "127.0.0.1, localhost and ::1)"),
        ({"vault_addr": "https://v.example.com/v1/secret"},
         "the Vault address must be the server's base URL (https://vault.example.com:8200), not "
         "'https://v.example.com/v1/secret'"),
        ({"vault_addr": "https://v.example.com", "path": "a/../b"},
         "invalid Vault path 'a/../b': use names separated by '/', without empty, '.' or '..' parts"),
        ({"vault_addr": "https://v.example.com", "secret_version": 0},
         "the secret version must be a whole number >= 1, not 0"),
        ({"vault_addr": "https://v.example.com", "token": "x"},
         "a VAULT scope takes mount, path, secret_version, vault_addr, not token"),
    ]  # fmt: skip
    for options, message in cases:
        with pytest.raises(InvalidValueError) as bad:
            create_scope("s", "VAULT", options)
        assert str(bad.value) == message
    monkeypatch.setenv("VAULT_ADDR", "https://Vault.Example.com:8200/")
    info = create_scope("s", "VAULT", {"path": "/teams/etl/"})
    assert info.options == {
        "vault_addr": "https://vault.example.com:8200",
        "mount": "secret",
        "path": "teams/etl",
    }
    assert create_scope("t", "VAULT", {}).options["path"] == "t"  # the scope's name


# -- cache ------------------------------------------------------------------------------------------


def test_values_are_cached_in_memory_for_the_process_and_the_ttl_is_configurable(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root(monkeypatch, openbao)
    write(openbao, f"{base}/app", {"rotating": "first-version-value"})
    link("app", openbao, f"{base}/app")
    assert get_secret("app", "rotating") == "first-version-value"
    write(openbao, f"{base}/app", {"rotating": "second-version-value"})
    assert get_secret("app", "rotating") == "first-version-value"  # cached for the process
    assert get_secret("APP", "ROTATING") == "first-version-value"  # case-insensitive
    vault_backend.clear_cache()
    assert get_secret("app", "rotating") == "second-version-value"
    write(openbao, f"{base}/app", {"rotating": "third-version-value"})
    monkeypatch.setenv("REDACTOR_VAULT_CACHE_TTL", "0")
    assert get_secret("app", "rotating") == "third-version-value"
    monkeypatch.setenv("REDACTOR_VAULT_CACHE_TTL", "soon")
    with pytest.raises(
        BackendError, match=r"^REDACTOR_VAULT_CACHE_TTL must be a number of seconds, not 'soon'$"
    ):
        get_secret("app", "rotating")
    monkeypatch.delenv("REDACTOR_VAULT_CACHE_TTL")
    vault_backend.configure(cache_ttl=0)
    write(openbao, f"{base}/app", {"rotating": "fourth-version-value"})
    assert get_secret("app", "rotating") == "fourth-version-value"
    for p in home.iterdir():  # never on disk
        assert b"version-value" not in p.read_bytes()


def test_a_pinned_version_reads_that_version_and_is_read_only(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root(monkeypatch, openbao)
    write(openbao, f"{base}/app", {"k": "version-one-value"})
    write(openbao, f"{base}/app", {"k": "version-two-value"})
    link("v1", openbao, f"{base}/app", secret_version=1)
    link("v9", openbao, f"{base}/app", secret_version=9)
    assert get_secret("v1", "k") == "version-one-value"
    assert open_scope("v1").read_only and open_scope("v9").version is not None
    message = (
        f"cannot put a secret in scope 'v1': it reads version 1 of secret/{base}/app, pinned, "
        "and is read-only here; link a scope without --secret-version to change the secret"
    )
    with pytest.raises(ReadOnlyScopeError) as refused:
        put_secret("v1", "k", "never-written-value")
    assert str(refused.value) == message
    with pytest.raises(ReadOnlyScopeError, match="cannot delete a secret in scope 'v1'"):
        delete_secret("v1", "k")
    with pytest.raises(SecretNotFoundError, match=r"no secret at .*/app version 9, or that"):
        get_secret("v9", "k")


# -- writes ---------------------------------------------------------------------------------------


def test_put_and_delete_fields_through_merge_patches(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root(monkeypatch, openbao)
    link("app", openbao, f"{base}/app")
    put_secret("app", "sql-db-user", USER)  # creates the secret
    put_secret("app", "sql-db-password", PASSWORD.encode())  # UTF-8 bytes are text here
    assert read(openbao, f"{base}/app") == {"sql-db-user": USER, "sql-db-password": PASSWORD}
    assert get_secret("app", "sql-db-password") == PASSWORD
    put_secret("app", "SQL-DB-PASSWORD", "rotated-password-value")  # the same key
    assert read(openbao, f"{base}/app") == {
        "sql-db-user": USER,
        "sql-db-password": "rotated-password-value",
    }
    assert get_secret("app", "sql-db-password") == "rotated-password-value"  # not stale
    delete_secret("app", "sql-db-user")
    assert read(openbao, f"{base}/app") == {"sql-db-password": "rotated-password-value"}
    with pytest.raises(
        SecretNotFoundError, match="secret 'sql-db-user' does not exist in scope 'app'"
    ):
        delete_secret("app", "sql-db-user")
    with pytest.raises(InvalidValueError, match="bytes that are not UTF-8"):
        put_secret("app", "raw", b"\xff\xfe\x00binary")
    # four writes: versions 1..4
    meta = openbao.client().secrets.kv.v2.read_secret_metadata(f"{base}/app")["data"]
    assert meta["current_version"] == 4


def test_writes_without_the_patch_capability_read_and_write_back(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(openbao, f"{base}/app", {"a": "value-of-field-a", "b": "value-of-field-b"})
    openbao.policy(f"rw-{base}", {f"secret/data/{base}/app": ["create", "read", "update"]})
    monkeypatch.setenv("VAULT_TOKEN", openbao.token([f"rw-{base}"]))
    link("app", openbao, f"{base}/app")
    put_secret("app", "c", "value-of-field-c")
    delete_secret("app", "a")
    assert read(openbao, f"{base}/app") == {"b": "value-of-field-b", "c": "value-of-field-c"}


def test_field_values_that_are_not_text_and_keys_that_differ_only_in_case(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root(monkeypatch, openbao)
    write(openbao, f"{base}/app", {"port": 5432, "opts": {"ssl": True}, "K": "upper", "k": "lower"})
    link("app", openbao, f"{base}/app")
    assert get_secret("app", "port") == "5432"
    assert get_secret("app", "opts") == '{"ssl":true}'
    assert get_secret("app", "k") == "lower"  # an exact match wins
    write(openbao, f"{base}/app", {"Key": "one-value-111", "KEY": "two-value-222"})
    vault_backend.clear_cache()
    with pytest.raises(InvalidValueError) as ambiguous:
        get_secret("app", "key")
    assert str(ambiguous.value) == (
        "key 'key' matches several fields that differ only in case (KEY, Key); keys are "
        "case-insensitive, so rename one in Vault"
    )


def test_openbao_request_limits_on_many_fields(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dev listener's ``max_request_json_strings`` is 1000: one write holds at most 499
    fields (each is two strings, plus ``data`` and ``options``). A put is one merge patch of one
    field, so it works on a secret of any size; only the read-and-write-back fallback (no
    ``patch`` capability) sends the whole secret, and is refused above 499 fields."""
    import hvac.exceptions

    c = openbao.client()
    fields = {f"key-{i:04d}": f"value-{i:04d}-abcdef" for i in range(600)}
    c.secrets.kv.v2.create_or_update_secret(f"{base}/probe", {f"k{i}": "v" for i in range(499)})
    with pytest.raises(hvac.exceptions.InvalidRequest, match="exceeded maximum number of strings"):
        c.secrets.kv.v2.create_or_update_secret(f"{base}/probe", {f"k{i}": "v" for i in range(500)})
    # 600 fields: a first write of 400, then a merge patch of the rest
    items = list(fields.items())
    c.secrets.kv.v2.create_or_update_secret(f"{base}/big", dict(items[:400]))
    c.adapter.request(
        "patch",
        f"/v1/secret/data/{base}/big",
        json={"data": dict(items[400:])},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    link("big", openbao, f"{base}/big")
    root(monkeypatch, openbao)
    assert len(list_secrets("big")) == 600
    put_secret("big", "key-0600", "value-0600-abcdef")  # one small patch
    assert len(read(openbao, f"{base}/big")) == 601

    openbao.policy(f"nopatch-{base}", {f"secret/data/{base}/big": ["create", "read", "update"]})
    monkeypatch.setenv("VAULT_TOKEN", openbao.token([f"nopatch-{base}"]))
    with pytest.raises(LimitExceededError) as limit:
        put_secret("big", "key-0601", "value-0601-abcdef")
    assert str(limit.value) == (
        f"cannot put 'key-0601' in scope 'big': HashiCorp Vault / OpenBao {openbao.addr}, "
        f"secret/data/{base}/big refused the request as too complex (refused JSON input due "
        "to high complexity: exceeded maximum number of strings); the token lacks the `patch` "
        "capability, so the whole secret was written back, which an OpenBao listener refuses "
        "above 499 fields by default (max_request_json_strings = 1000): grant `patch`, or "
        "split the secret"
    )
    assert "value-0601" not in str(limit.value)


def test_no_error_message_or_chain_holds_a_value(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every error above, raised again, with its whole chain and traceback text checked."""
    import traceback

    write(openbao, f"{base}/app", {"k": PASSWORD})
    openbao.policy(f"ro-{base}", {f"secret/data/{base}/app": ["read"]})
    monkeypatch.setenv("VAULT_TOKEN", openbao.token([f"ro-{base}"]))
    link("app", openbao, f"{base}/app")
    link("other", openbao, f"{base}/other")
    link("v1", openbao, f"{base}/app", secret_version=1)
    calls = [
        lambda: put_secret("app", "k", "candidate-new-value-77"),
        lambda: delete_secret("app", "k"),
        lambda: get_secret("app", "absent"),
        lambda: get_secret("other", "k"),
        lambda: put_secret("v1", "k", "candidate-new-value-77"),
    ]
    for call in calls:
        with pytest.raises(SecretsError) as caught:
            call()
        chain: list[BaseException] = []
        exc: BaseException | None = caught.value
        while exc is not None:  # every exception in the chain, shown or suppressed
            chain.append(exc)
            exc = exc.__cause__ or exc.__context__
        text = "".join(
            "".join(traceback.format_exception_only(type(e), e)) + repr(e.args) for e in chain
        )
        assert PASSWORD not in text and "candidate-new-value-77" not in text
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_concurrent_writers_lose_no_field(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four threads put 15 fields each into one secret: check-and-set makes every merge patch
    apply to the version it read, and a conflict is retried."""
    import threading

    root(monkeypatch, openbao)
    write(openbao, f"{base}/shared", {"seed": "seed-value-0000"})
    link("shared", openbao, f"{base}/shared")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                put_secret("shared", f"w{n}-k{i:02d}", f"writer-{n}-value-{i:02d}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    stored = read(openbao, f"{base}/shared")
    assert len(stored) == 61
    assert all(
        stored[f"w{n}-k{i:02d}"] == f"writer-{n}-value-{i:02d}" for n in range(4) for i in range(15)
    )


def test_a_mount_that_requires_check_and_set(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root(monkeypatch, openbao)
    c = openbao.client()
    c.sys.enable_secrets_engine("kv", path=f"cas-{base}", options={"version": "2"})
    c.secrets.kv.v2.configure(cas_required=True, mount_point=f"cas-{base}")
    link("strict", openbao, "app", mount=f"cas-{base}")
    put_secret("strict", "a", "value-a-1234")  # creates, with cas=0
    put_secret("strict", "b", "value-b-1234")  # a patch, retried with cas
    delete_secret("strict", "a")
    stored = c.secrets.kv.v2.read_secret_version(
        "app", mount_point=f"cas-{base}", raise_on_deleted_version=True
    )["data"]
    assert (stored["data"], stored["metadata"]["version"]) == ({"b": "value-b-1234"}, 3)


@pytest.fixture(scope="module")
def openbao_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    """A second server, over https with the CA that ``-dev-tls`` generates."""
    with OpenBaoServer(tmp_path_factory.mktemp("openbao-tls"), tls=True) as server:
        yield server


def test_https_with_the_ca_from_vault_cacert(
    home: Path, tmp_path: Path, openbao_tls: OpenBaoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bao = openbao_tls
    write(bao, "tls/app", {"k": "value-over-tls-4411"})
    link("tls", bao, "tls/app")
    monkeypatch.setenv("VAULT_TOKEN", bao.root_token)
    # the system store does not know the dev CA: the connection is refused, not downgraded
    with pytest.raises(BackendError) as untrusted:
        get_secret("tls", "k")
    assert str(untrusted.value).startswith(
        f"cannot reach HashiCorp Vault / OpenBao {bao.addr} (scope 'tls'): SSLError: "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.value)
    monkeypatch.setenv("VAULT_CACERT", str(tmp_path / "missing.pem"))
    with pytest.raises(
        BackendError, match=r"^VAULT_CACERT names '.*missing.pem', which does not exist$"
    ):
        get_secret("tls", "k")
    monkeypatch.setenv("VAULT_CACERT", str(bao.ca_path))
    assert get_secret("tls", "k") == "value-over-tls-4411"


KEYS = st.from_regex(r"[A-Za-z0-9_.-]{1,40}", fullmatch=True)  # the key rule: no '@'
VALUES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=KEYS, value=VALUES)
def test_any_text_round_trips_exactly_and_no_error_shows_it(
    home: Path,
    openbao: OpenBaoServer,
    base: str,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    value: str,
) -> None:
    """Whatever text is put (any Unicode but lone surrogates, newlines, NULs, quotes) is read
    back byte for byte, through the cache and without it."""
    root(monkeypatch, openbao)
    name = f"rt-{base}"
    if name.lower() not in [s.name.lower() for s in scopes.list_scopes()]:
        link(name, openbao, f"{base}/roundtrip")
    put_secret(name, key, value)
    assert get_secret(name, key) == value
    vault_backend.clear_cache()
    assert get_secret(name, key) == value
    assert dict(scope_items(name))[_stored_name(openbao, base, key)] == value
    with pytest.raises(SecretNotFoundError) as missing:
        get_secret(name, key + "-absent")
    assert str(missing.value) == (  # built from names alone: no room for a value
        f"secret '{key}-absent' does not exist in scope '{name}' (no field '{key}-absent' at "
        f"HashiCorp Vault / OpenBao {openbao.addr}, secret/data/{base}/roundtrip)"
    )


def _stored_name(openbao: OpenBaoServer, base: str, key: str) -> str:
    """The field that holds ``key`` (an earlier example may have created it in another case)."""
    (field,) = [k for k in read(openbao, f"{base}/roundtrip") if k.lower() == key.lower()]
    return field


def test_lone_surrogates_are_refused(
    home: Path, openbao: OpenBaoServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root(monkeypatch, openbao)
    link("app", openbao, f"{base}/app")
    with pytest.raises(InvalidValueError) as refused:
        put_secret("app", "k", "abc\udc80def")
    assert str(refused.value) == (
        "cannot put 'k' in scope 'app': the value is not valid Unicode text (it holds lone "
        "surrogates)"
    )
