"""Key Vault-backed scopes: the unmodified Azure SDK against a local HTTPS Key Vault server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.keyvault_server import KeyVaultServer
from helpers.seed import SEED, SEED_REDACTED

import redactor
from redactor import Redactor
from redactor.sources.load import SourceConfig, build_redactor
from redactor.sources.scopes import (
    BackendError,
    InvalidNameError,
    InvalidValueError,
    LocalStore,
    ReadOnlyScopeError,
    SecretDisabledError,
    SecretMetadata,
    SecretNotFoundError,
    azure,
    scope_items,
)

pytest.importorskip("azure.keyvault.secrets")
pytest.importorskip("azure.identity")

USER = "kv_admin_user_5521"
PASSWORD = "Kv-P@ssw0rd-from-the-vault-77"


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyVaultServer]:
    with KeyVaultServer(tmp_path_factory.mktemp("kv"), page_size=2) as server:
        server.set_secret("sql-db-user", USER)
        server.set_secret("sql-db-password", "an-old-password-version")
        server.set_secret("sql-db-password", PASSWORD)
        server.set_secret("disabled-one", "disabled-value-123", enabled=False)
        server.set_secret("api-token", "tok-1234567890")
        server.set_secret("Mixed-Case", "mixed-case-value")
        yield server


def _vault_env(monkeypatch: pytest.MonkeyPatch, kv: KeyVaultServer, home: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("REDACTOR_", "AZURE_", "IDENTITY_", "MSI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REDACTOR_HOME", str(home))
    monkeypatch.setenv("IDENTITY_ENDPOINT", kv.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", kv.identity_header)
    monkeypatch.setenv("REDACTOR_AZURE_CA_BUNDLE", str(kv.ca_path))
    monkeypatch.setenv("REDACTOR_AZURE_VERIFY_CHALLENGE_RESOURCE", "0")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kv: KeyVaultServer) -> Iterator[Path]:
    home = tmp_path / "home"
    _vault_env(monkeypatch, kv, home)
    LocalStore(home).create_scope(
        "kv-scope",
        "AZURE_KEYVAULT",
        {"dns_name": kv.url, "resource_id": "/subscriptions/x/resourceGroups/y/vaults/test"},
    )
    azure.reset()
    kv.requests.clear()
    yield home
    azure.reset()


def test_seed_example_against_a_key_vault_scope(
    home: Path, kv: KeyVaultServer, fresh_redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    from redactor import dbutils

    exec(SEED, {"dbutils": dbutils})
    printed = capsys.readouterr().out
    assert printed.splitlines()[:2] == [USER, PASSWORD]  # the latest version
    assert redactor.redact(printed) == SEED_REDACTED
    assert fresh_redactor.secret_names == ["kv-scope/sql-db-user", "kv-scope/sql-db-password"]
    # one unauthenticated request (the challenge), then two authenticated gets; one token
    assert [(m, p, ok) for m, p, ok in kv.requests] == [
        ("GET", "/secrets/sql-db-user/", False),
        ("GET", "/secrets/sql-db-user/", True),
        ("GET", "/secrets/sql-db-password/", True),
    ]


def test_seed_example_in_a_process_created_by_the_cli(
    tmp_path: Path, kv: KeyVaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "cli-home"
    _vault_env(monkeypatch, kv, home)
    create = subprocess.run(
        [
            sys.executable, "-m", "redactor", "secrets", "create-scope", "kv-scope",
            "--scope-backend-type", "AZURE_KEYVAULT",
            "--dns-name", kv.url,
            "--resource-id", "/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/t",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (create.returncode, create.stdout, create.stderr) == (0, "", "")
    listed = subprocess.run(
        [sys.executable, "-m", "redactor", "secrets", "list-secrets", "kv-scope"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "Key", "api-token", "Mixed-Case", "sql-db-password", "sql-db-user",
    ]  # fmt: skip
    assert USER not in listed.stdout and PASSWORD not in listed.stdout
    script = "import redactor\nredactor.install()\nfrom redactor import dbutils\n" + SEED
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == SEED_REDACTED


def test_listing_pages_through_next_link_and_hides_disabled(
    home: Path, kv: KeyVaultServer, fresh_redactor: Redactor
) -> None:
    from redactor import dbutils

    assert dbutils.secrets.list("kv-scope") == [
        SecretMetadata("api-token"),
        SecretMetadata("Mixed-Case"),
        SecretMetadata("sql-db-password"),
        SecretMetadata("sql-db-user"),
    ]
    # 5 secrets at 2 per page: 3 pages
    assert kv.vault_requests() == ["/secrets", "/secrets", "/secrets"]
    assert fresh_redactor.secret_names == []  # listing registers nothing: it fetches no value
    assert dict(scope_items("kv-scope")) == {
        "api-token": "tok-1234567890",
        "Mixed-Case": "mixed-case-value",
        "sql-db-password": PASSWORD,
        "sql-db-user": USER,
    }
    r = build_redactor(SourceConfig(scopes=["kv-scope"]))
    assert (
        r.redact(f"{USER}:{PASSWORD}@host tok-1234567890")
        == "[REDACTED]:[REDACTED]@host [REDACTED]"
    )


def test_cache_in_memory_for_the_process_and_configurable(
    home: Path, kv: KeyVaultServer, fresh_redactor: Redactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redactor import dbutils

    for _ in range(3):
        assert dbutils.secrets.get("kv-scope", "api-token") == "tok-1234567890"
    assert kv.vault_requests() == ["/secrets/api-token/"]
    assert dbutils.secrets.get("KV-SCOPE", "API-TOKEN") == "tok-1234567890"  # case-insensitive
    assert kv.vault_requests() == ["/secrets/api-token/"]
    # never on disk
    for p in home.iterdir():
        assert b"tok-1234567890" not in p.read_bytes()
    azure.clear_cache()
    dbutils.secrets.get("kv-scope", "api-token")
    assert kv.vault_requests() == ["/secrets/api-token/"] * 2
    monkeypatch.setenv("REDACTOR_AZURE_CACHE_TTL", "0")
    dbutils.secrets.get("kv-scope", "api-token")
    dbutils.secrets.get("kv-scope", "api-token")
    assert len(kv.vault_requests()) == 4
    monkeypatch.setenv("REDACTOR_AZURE_CACHE_TTL", "soon")
    with pytest.raises(BackendError, match="must be a number of seconds"):
        dbutils.secrets.get("kv-scope", "api-token")
    monkeypatch.delenv("REDACTOR_AZURE_CACHE_TTL")
    azure.configure(cache_ttl=0)
    dbutils.secrets.get("kv-scope", "api-token")
    dbutils.secrets.get("kv-scope", "api-token")
    assert len(kv.vault_requests()) == 6


def test_a_new_version_is_seen_once_the_cache_is_cleared(
    home: Path, kv: KeyVaultServer, fresh_redactor: Redactor
) -> None:
    from redactor import dbutils

    kv.set_secret("rotating", "first-version-value")
    assert dbutils.secrets.get("kv-scope", "rotating") == "first-version-value"
    kv.set_secret("rotating", "second-version-value")
    assert dbutils.secrets.get("kv-scope", "rotating") == "first-version-value"
    azure.clear_cache()
    assert dbutils.secrets.get("kv-scope", "rotating") == "second-version-value"
    assert fresh_redactor.redact("first-version-value second-version-value") == (
        "[REDACTED] [REDACTED]"
    )


def test_missing_disabled_and_unmappable_keys(
    home: Path, kv: KeyVaultServer, fresh_redactor: Redactor
) -> None:
    from redactor import dbutils

    with pytest.raises(SecretNotFoundError, match="'nope' does not exist in scope 'kv-scope'") as e:
        dbutils.secrets.get("kv-scope", "nope")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(
        SecretDisabledError, match="'disabled-one' in scope 'kv-scope' is disabled"
    ) as d:
        dbutils.secrets.get("kv-scope", "disabled-one")
    assert "disabled-value-123" not in str(d.value)
    for key, suggestion in (("sql_db_user", "sql-db-user"), ("a.b", "a-b"), ("me_x.y", "me-x-y")):
        with pytest.raises(InvalidNameError, match=f"did you mean '{suggestion}'"):
            dbutils.secrets.get("kv-scope", key)
    with pytest.raises(InvalidNameError, match="letters, digits and '-'"):
        dbutils.secrets.get("kv-scope", "x" * 128)
    assert kv.vault_requests() == ["/secrets/nope/", "/secrets/disabled-one/"]
    assert fresh_redactor.secret_names == []


def test_read_only(home: Path, kv: KeyVaultServer) -> None:
    store = LocalStore(home)
    with pytest.raises(ReadOnlyScopeError, match="read-only here; change its secrets in the vault"):
        store.put_secret("kv-scope", "sql-db-user", "new-value")
    with pytest.raises(ReadOnlyScopeError):
        store.delete_secret("kv-scope", "sql-db-user")
    assert kv.requests == []


def test_tls_and_challenge_settings_are_secure_by_default(
    home: Path, kv: KeyVaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redactor import dbutils

    # The SDK's check that the challenge names *.vault.azure.net is on unless turned off.
    monkeypatch.delenv("REDACTOR_AZURE_VERIFY_CHALLENGE_RESOURCE")
    azure.reset()
    with pytest.raises(BackendError, match="REDACTOR_AZURE_VERIFY_CHALLENGE_RESOURCE=0"):
        dbutils.secrets.get("kv-scope", "sql-db-user")
    monkeypatch.setenv("REDACTOR_AZURE_VERIFY_CHALLENGE_RESOURCE", "0")
    monkeypatch.setenv("REDACTOR_AZURE_CA_BUNDLE", str(home / "missing.pem"))
    azure.reset()
    with pytest.raises(BackendError, match=r"names .*missing.pem'?, which is not a file"):
        dbutils.secrets.get("kv-scope", "sql-db-user")
    # Without the test CA the system store is used, and it does not trust the test server.
    monkeypatch.delenv("REDACTOR_AZURE_CA_BUNDLE")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    monkeypatch.setenv("SSL_CERT_FILE", "")
    azure.reset()
    with pytest.raises(BackendError, match=r"cannot reach .*CERTIFICATE_VERIFY_FAILED"):
        dbutils.secrets.get("kv-scope", "sql-db-user")


def test_sign_in_failures_are_clear(
    home: Path, kv: KeyVaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.core.credentials import AccessToken

    from redactor import dbutils

    monkeypatch.setenv("IDENTITY_HEADER", "not-the-right-header")
    azure.reset()
    with pytest.raises(
        BackendError, match=r"(?s)cannot sign in to Azure Key Vault .*ManagedIdentityCredential"
    ):
        dbutils.secrets.get("kv-scope", "sql-db-user")

    class Forged:
        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            token, exp = kv.issue_token()
            return AccessToken(token[:-4] + "AAAA", exp)  # bad signature

        def get_token_info(self, *scopes: str, **kwargs: object):
            from azure.core.credentials import AccessTokenInfo

            token = self.get_token(*scopes)
            return AccessTokenInfo(token.token, token.expires_on)

    azure.reset()
    azure.configure(credential=Forged())
    with pytest.raises(BackendError, match=r"cannot sign in to .*\(Unauthorized\) AKV10000"):
        dbutils.secrets.get("kv-scope", "sql-db-user")
    assert all(not ok for _, _, ok in kv.requests)


def test_create_scope_requires_an_https_vault_url() -> None:
    assert azure.validate_vault_url("https://My-Vault.vault.azure.net") == (
        "https://my-vault.vault.azure.net/"
    )
    assert azure.validate_vault_url("https://127.0.0.1:8443/") == "https://127.0.0.1:8443/"
    for bad in (
        "http://my-vault.vault.azure.net/",
        "my-vault.vault.azure.net",
        "https://my-vault.vault.azure.net/secrets/x",
        "https://user:pw@my-vault.vault.azure.net/",
    ):
        with pytest.raises(InvalidValueError, match="https://"):
            azure.validate_vault_url(bad)


def test_the_test_vault_speaks_versions_and_paging_to_the_sdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's wider surface, through the unmodified SDK and DefaultAzureCredential."""
    with KeyVaultServer(tmp_path / "own", page_size=2) as kv:
        _vault_env(monkeypatch, kv, tmp_path / "home")
        kv.set_secret("sql-db-password", "an-old-password-version")
        kv.set_secret("sql-db-password", PASSWORD)
        kv.set_secret("disabled-one", "disabled-value-123", enabled=False)
        _exercise_sdk(kv)


def _exercise_sdk(kv: KeyVaultServer) -> None:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    client = SecretClient(
        kv.url,
        DefaultAzureCredential(connection_verify=str(kv.ca_path)),
        connection_verify=str(kv.ca_path),
        verify_challenge_resource=False,
    )
    versions = list(client.list_properties_of_secret_versions("sql-db-password"))
    assert len(versions) == 2  # 2 per page: one page
    old, new = (v.version for v in versions)
    assert client.get_secret("sql-db-password", old).value == "an-old-password-version"
    assert client.get_secret("sql-db-password", new).value == PASSWORD
    assert client.get_secret("sql-db-password").properties.version == new
    created = client.set_secret("made-by-sdk", "set-through-the-sdk", content_type="text/plain")
    assert client.get_secret("made-by-sdk").value == "set-through-the-sdk"
    assert created.properties.content_type == "text/plain"
    for i in range(3):
        client.set_secret("many-versions", f"v{i}")
    assert len(list(client.list_properties_of_secret_versions("many-versions"))) == 3  # 2 pages
    assert [p.name for p in client.list_properties_of_secrets()] == [
        "disabled-one", "made-by-sdk", "many-versions", "sql-db-password",
    ]  # fmt: skip
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("sql-db-password", "0" * 32)
    with pytest.raises(HttpResponseError) as e:
        client.get_secret("disabled-one")
    assert e.value.status_code == 403
    with pytest.raises(HttpResponseError) as bad:
        client.get_secret("bad_name")
    assert bad.value.status_code == 400
    paged = [p for p in kv.vault_requests() if p.endswith("/versions")]
    assert paged == ["/secrets/sql-db-password/versions"] + ["/secrets/many-versions/versions"] * 2
    assert kv.vault_requests().count("/secrets") == 2
    assert kv.token_requests == 1
