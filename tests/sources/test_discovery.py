"""Discovery sources: each tool's real file layout in a temporary HOME, exact (name, value) lists,
the tools' path variables, and the failure policy (missing/unreadable quiet, malformed warned by
file name, never by value)."""

from __future__ import annotations

import base64
import json
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redactor import RedactorWarning
from redactor.errors import ConfigError
from redactor.sources import discovery
from redactor.sources.discovery import (
    DEFAULT_ENV_PATTERNS,
    ENV_ALLOW,
    SOURCES,
    WELL_KNOWN_ENV,
    discover,
    discover_by_source,
    read_simple_yaml,
)
from redactor.sources.load import DISCOVERED, Settings, discovered_by_source, register_discovered

DATABRICKSCFG = """\
; the Databricks CLI's own file
[DEFAULT]
host = https://adb-1234567890123456.7.azuredatabricks.net
token = dapi0123456789abcdef0123456789abcd

[staging]
host = https://dbc-a1b2c3d4-e5f6.cloud.databricks.com
token = dapiSTAGING00000000000000000000000
cluster_id = 0123-456789-abcdefgh

[sp]
host = https://accounts.cloud.databricks.com
account_id = 00000000-1111-2222-3333-444444444444
client_id = 9f8e7d6c-aaaa-bbbb-cccc-1234567890ab
client_secret = dose0123456789SECRETSECRETSECRET

[basic]
host = https://dbc-basic.cloud.databricks.com
username = someone@example.com
password = Basic%Pass:word1
"""

AWS_CREDENTIALS = """\
[default]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

[dev]
aws_access_key_id = ASIAXXXXXXXXXXXXXXXX
aws_secret_access_key = devSECRETdevSECRETdevSECRETdevSECRET0000
aws_session_token = IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN//////////wEaCXVzLWVhc3QtMSJH
"""

AWS_CONFIG = """\
[default]
region = us-west-2
output = json

[profile legacy]
region = eu-west-1
aws_access_key_id = AKIALEGACYEXAMPLE000
aws_secret_access_key = legacySECRETlegacySECRETlegacySECRET0000
aws_security_token = legacySESSIONTOKENlegacySESSIONTOKEN
s3 =
    max_concurrent_requests = 20

[sso-session my-sso]
sso_region = us-east-1
sso_start_url = https://my-sso-portal.awsapps.com/start
"""

NETRC = """\
machine api.heroku.com
  login me@example.com
  password herokuTOKEN0123456789
machine ftp.example.org login anonymous password ftpPASS#word
default login guest password defaultGUESTpass
"""

DOCKER_AUTH = base64.b64encode(b"dockeruser:dckr_pat_ABCDEFGHIJKLMNOP").decode()
DOCKER = f"""\
{{
  "auths": {{
    "https://index.docker.io/v1/": {{"auth": "{DOCKER_AUTH}"}},
    "myregistry.azurecr.io": {{"auth": "", "identitytoken": "eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQyJ9.ACR"}},
    "ghcr.io": {{}}
  }},
  "credsStore": "desktop",
  "currentContext": "default"
}}
"""

GIT_CREDENTIALS = """\
https://octocat:ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com
https://oauth2:glpat-x%2By%40z%3Dw@gitlab.example.com:8443
https://user-without-password@example.com
"""

PGPASS = """\
# hostname:port:database:username:password
db.example.com:5432:sales:alice:pg\\:pass\\\\word
*:*:*:postgres:superSECRETpostgres
localhost:5432:*:bob:with:colons:inside
"""

PYPIRC = """\
[distutils]
index-servers =
    pypi
    testpypi

[pypi]
username = __token__
password = pypi-AgEIcHlwaS5vcmcCJGExYjJjM2Q0LWU1ZjYtEXAMPLE

[testpypi]
repository = https://test.pypi.org/legacy/
username = __token__
password = pypi-AgENdGVzdC5weXBpLm9yZwIkEXAMPLE
"""

GH_HOSTS = """\
github.com:
    users:
        monalisa:
            oauth_token: gho_16C7e42F292c6912E7710c838347Ae178B4a
    git_protocol: https
    oauth_token: gho_16C7e42F292c6912E7710c838347Ae178B4a
    user: monalisa
ghe.example.com:
    oauth_token: "gho_ENTERPRISEtokenENTERPRISEtoken00000"
    git_protocol: ssh
    user: hubot
"""

KUBE = """\
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: Q0EgREFUQQ==
    server: https://10.0.0.1:6443
  name: prod
contexts:
- context:
    cluster: prod
    namespace: default
    user: admin
  name: prod-admin
current-context: prod-admin
preferences: {}
users:
- name: admin
  user:
    client-certificate-data: Q0VSVElGSUNBVEUgREFUQQ==
    client-key-data: UFJJVkFURSBLRVkgREFUQQ==
- name: ci
  user:
    token: eyJhbGciOiJSUzI1NiJ9.kubeTOKEN.signature
- name: basic
  user:
    username: admin
    password: 'kube''PASSWORD'
- name: oidc
  user:
    auth-provider:
      name: oidc
      config:
        client-id: kubernetes
        client-secret: OIDCclientSECRET000 # inline comment
        id-token: eyJ.oidcID.token
        idp-issuer-url: https://accounts.example.com
        refresh-token: oidcREFRESHtoken
"""

EXPECTED = {
    "databrickscfg": [
        ("~/.databrickscfg[DEFAULT]/token", "dapi0123456789abcdef0123456789abcd"),
        ("~/.databrickscfg[staging]/token", "dapiSTAGING00000000000000000000000"),
        ("~/.databrickscfg[sp]/client_secret", "dose0123456789SECRETSECRETSECRET"),
        ("~/.databrickscfg[basic]/password", "Basic%Pass:word1"),
    ],
    "aws": [
        (
            "~/.aws/credentials[default]/aws_secret_access_key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        (
            "~/.aws/credentials[dev]/aws_secret_access_key",
            "devSECRETdevSECRETdevSECRETdevSECRET0000",
        ),
        (
            "~/.aws/credentials[dev]/aws_session_token",
            "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN//////////wEaCXVzLWVhc3QtMSJH",
        ),
        (
            "~/.aws/config[profile legacy]/aws_secret_access_key",
            "legacySECRETlegacySECRETlegacySECRET0000",
        ),
        (
            "~/.aws/config[profile legacy]/aws_security_token",
            "legacySESSIONTOKENlegacySESSIONTOKEN",
        ),
    ],
    "netrc": [
        ("~/.netrc[api.heroku.com]/password", "herokuTOKEN0123456789"),
        ("~/.netrc[ftp.example.org]/password", "ftpPASS#word"),
        ("~/.netrc[default]/password", "defaultGUESTpass"),
    ],
    "docker": [
        ("~/.docker/config.json[https://index.docker.io/v1/]/auth", DOCKER_AUTH),
        (
            "~/.docker/config.json[https://index.docker.io/v1/]/auth#password",
            "dckr_pat_ABCDEFGHIJKLMNOP",
        ),
        (
            "~/.docker/config.json[myregistry.azurecr.io]/identitytoken",
            "eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQyJ9.ACR",
        ),
    ],
    "git-credentials": [
        (
            "~/.git-credentials[https://github.com]/password",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        ),
        ("~/.git-credentials[https://gitlab.example.com]/password", "glpat-x+y@z=w"),
        ("~/.git-credentials[https://gitlab.example.com]/password#encoded", "glpat-x%2By%40z%3Dw"),
    ],
    "pgpass": [
        ("~/.pgpass[db.example.com:5432/sales]/password", "pg:pass\\word"),
        ("~/.pgpass[*:*/*]/password", "superSECRETpostgres"),
        ("~/.pgpass[localhost:5432/*]/password", "with:colons:inside"),
    ],
    "pypirc": [
        ("~/.pypirc[pypi]/password", "pypi-AgEIcHlwaS5vcmcCJGExYjJjM2Q0LWU1ZjYtEXAMPLE"),
        ("~/.pypirc[testpypi]/password", "pypi-AgENdGVzdC5weXBpLm9yZwIkEXAMPLE"),
    ],
    "gh": [
        (
            "~/.config/gh/hosts.yml[github.com]/oauth_token",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        ),
        (
            "~/.config/gh/hosts.yml[github.com]/users/monalisa/oauth_token",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        ),
        (
            "~/.config/gh/hosts.yml[ghe.example.com]/oauth_token",
            "gho_ENTERPRISEtokenENTERPRISEtoken00000",
        ),
    ],
    "kube": [
        ("~/.kube/config[user admin]/client-key-data", "UFJJVkFURSBLRVkgREFUQQ=="),
        ("~/.kube/config[user ci]/token", "eyJhbGciOiJSUzI1NiJ9.kubeTOKEN.signature"),
        ("~/.kube/config[user basic]/password", "kube'PASSWORD"),
        ("~/.kube/config[user oidc]/auth-provider/id-token", "eyJ.oidcID.token"),
        ("~/.kube/config[user oidc]/auth-provider/refresh-token", "oidcREFRESHtoken"),
        ("~/.kube/config[user oidc]/auth-provider/client-secret", "OIDCclientSECRET000"),
    ],
}

#: identifiers in those files that must never be taken as secrets
NOT_SECRET = [
    "https://adb-1234567890123456.7.azuredatabricks.net",
    "0123-456789-abcdefgh",
    "00000000-1111-2222-3333-444444444444",
    "9f8e7d6c-aaaa-bbbb-cccc-1234567890ab",
    "someone@example.com",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAXXXXXXXXXXXXXXXX",
    "us-west-2",
    "eu-west-1",
    "https://my-sso-portal.awsapps.com/start",
    "me@example.com",
    "anonymous",
    "guest",
    "dockeruser",
    "desktop",
    "octocat",
    "oauth2",
    "user-without-password",
    "alice",
    "bob",
    "postgres",
    "__token__",
    "https://test.pypi.org/legacy/",
    "monalisa",
    "hubot",
    "Q0EgREFUQQ==",
    "Q0VSVElGSUNBVEUgREFUQQ==",
    "https://10.0.0.1:6443",
    "kubernetes",
    "admin",
    "https://accounts.example.com",
]

FILES = {
    ".databrickscfg": DATABRICKSCFG,
    ".aws/credentials": AWS_CREDENTIALS,
    ".aws/config": AWS_CONFIG,
    ".netrc": NETRC,
    ".docker/config.json": DOCKER,
    ".git-credentials": GIT_CREDENTIALS,
    ".pgpass": PGPASS,
    ".pypirc": PYPIRC,
    ".config/gh/hosts.yml": GH_HOSTS,
    ".kube/config": KUBE,
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for rel, text in FILES.items():
        write(home / rel, text)
    return home


@pytest.fixture(params=["with-pyyaml", "without-pyyaml"])
def yaml_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """With PyYAML installed, and without it (import yaml blocked)."""
    if request.param == "without-pyyaml":
        monkeypatch.setitem(sys.modules, "yaml", None)
    else:
        pytest.importorskip("yaml")
    yield request.param


def run(source: str, home: Path, environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return list(SOURCES[source](environ or {}, home))


@pytest.mark.parametrize("source", [s for s in EXPECTED if s not in ("gh", "kube")])
def test_each_file_source_yields_exactly_its_secret_fields(source: str, home: Path) -> None:
    assert run(source, home) == EXPECTED[source]


@pytest.mark.parametrize("source", ["gh", "kube"])
def test_yaml_sources_with_either_reader(source: str, home: Path, yaml_reader: str) -> None:
    assert run(source, home) == EXPECTED[source]


def test_registry_names() -> None:
    assert list(SOURCES) == [
        "env",
        "databrickscfg",
        "aws",
        "netrc",
        "docker",
        "git-credentials",
        "pgpass",
        "pypirc",
        "gh",
        "kube",
    ]


def test_discover_runs_all_sources_and_keeps_the_first_name_of_a_value(home: Path) -> None:
    environ = {"DATABRICKS_TOKEN": "dapi0123456789abcdef0123456789abcd", "HOME_DIR": "x"}
    found = discover(environ=environ, home=home)
    expected = [("env:DATABRICKS_TOKEN", "dapi0123456789abcdef0123456789abcd")]
    for source, items in EXPECTED.items():
        expected += items
    seen: set[str] = set()
    deduped = []
    for name, value in expected:
        if value not in seen:
            seen.add(value)
            deduped.append((name, value))
    assert found == deduped
    assert ("~/.databrickscfg[DEFAULT]/token", "dapi0123456789abcdef0123456789abcd") not in found
    values = {v for _, v in found}
    assert not values & set(NOT_SECRET)
    for name, _ in found:  # no value inside a name
        assert not any(v in name for v in values)


def test_discover_only_the_named_sources_in_registry_order(home: Path) -> None:
    found = discover(["pypirc", "netrc"], environ={}, home=home)
    assert found == EXPECTED["netrc"] + EXPECTED["pypirc"]
    assert discover("pypirc", environ={}, home=home) == EXPECTED["pypirc"]
    assert discover([], environ={}, home=home) == []


def test_discover_defaults_to_os_environ_and_path_home(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MY_SERVICE_TOKEN", "from-os-environ-1234")
    assert discover(["pypirc"]) == EXPECTED["pypirc"]
    assert ("env:MY_SERVICE_TOKEN", "from-os-environ-1234") in discover(["env"])


def test_unknown_source_is_a_config_error_naming_the_nearest(home: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown discovery source 'kubes'; did you mean 'kube'\?"
    ):
        discover(["kubes"], environ={}, home=home)
    with pytest.raises(ConfigError, match=r"unknown discovery source 'zzz' \(known: env, "):
        discover(["zzz"], environ={}, home=home)


def test_one_run_grouped_by_source_keeps_the_cross_source_deduplication(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value of DATABRICKS_TOKEN is also the [DEFAULT] token of ~/.databrickscfg: it is
    given once, under env, whether asked of discovery or through the settings."""
    environ = {"DATABRICKS_TOKEN": "dapi0123456789abcdef0123456789abcd"}
    grouped = discover_by_source(["databrickscfg", "env"], environ=environ, home=home)
    assert [source for source, _ in grouped] == ["env", "databrickscfg"]
    assert grouped[0][1] == [("env:DATABRICKS_TOKEN", "dapi0123456789abcdef0123456789abcd")]
    assert grouped[1][1] == [
        item
        for item in EXPECTED["databrickscfg"]
        if not item[0].startswith("~/.databrickscfg[DEFAULT]")
    ]
    assert [i for _, items in grouped for i in items] == discover(
        ["env", "databrickscfg"], environ=environ, home=home
    )
    monkeypatch.setenv("HOME", str(home))
    cfg = Settings(discover=("databrickscfg", "env"))
    assert discovered_by_source(cfg, environ) == grouped
    assert discovered_by_source(Settings(discover=False), environ) == []
    every = discovered_by_source(Settings(), environ)
    assert [source for source, _ in every] == list(SOURCES)
    assert [i for _, items in every for i in items] == discover(environ=environ, home=home)


def test_unknown_source_has_one_message_on_every_surface(
    home: Path, monkeypatch: pytest.MonkeyPatch, fresh_redactor
) -> None:
    message = "unknown discovery source 'kubes'; did you mean 'kube'? (known: " + ", ".join(SOURCES)
    with pytest.raises(ConfigError) as raised:
        discovered_by_source(Settings(discover=("env", "kubes")), {})
    assert str(raised.value) == message + ")"
    # REDACTOR_DISCOVER (install(), %load_ext) warns with the same message and goes on
    monkeypatch.setenv("HOME", str(home))
    saved = dict(DISCOVERED)
    DISCOVERED.clear()
    try:
        with pytest.warns(RedactorWarning) as caught:
            found = register_discovered({"REDACTOR_DISCOVER": "kubes,pypirc"})
        assert [str(w.message) for w in caught] == [f"REDACTOR_DISCOVER: {message}): ignored"]
        assert found == {"pypirc": [name for name, _ in EXPECTED["pypirc"]]}
    finally:
        DISCOVERED.clear()
        DISCOVERED.update(saved)


# --------------------------------------------------------------------------------- environment


def test_env_patterns_well_known_and_allow_list() -> None:
    environ = {
        "GITHUB_TOKEN": "ghs_runner",
        "MY_APP_TOKEN": "app-token-value",
        "SERVICE_SECRET": "svc-secret",
        "DB_PASSWORD": "db-password",
        "FTP_PASSWD": "ftp-passwd",
        "OPENAI_API_KEY": "sk-openai",
        "MINIO_ACCESS_KEY": "minio-access",
        "MINIO_SECRET_KEY": "minio-secret",
        "SSH_PRIVATE_KEY": "-----BEGIN KEY-----",
        "AZURE_CLIENT_SECRET": "azure-secret",
        "SNOWFLAKE_CREDENTIALS": '{"password": "x"}',
        "HF_TOKEN": "hf_value",
        "PGPASSWORD": "libpq-password",
        "lower_token": "lower-case-name",
        # matches a pattern but is a path or an identifier
        "GOOGLE_APPLICATION_CREDENTIALS": "/etc/gcp/sa.json",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "EMPTY_TOKEN": "",
        "BLANK_SECRET": "   ",
        # no pattern
        "HOME": "/home/me",
        "PATH": "/usr/bin",
        "TOKEN_URL": "https://login.example.com/token",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions",
        "DB_PASSWORD_FILE": "/run/secrets/db",
        "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token",
        "DATABRICKS_HOST": "https://adb.example.net",
    }
    assert run("env", Path("/nonexistent"), environ) == [
        ("env:AZURE_CLIENT_SECRET", "azure-secret"),
        ("env:DB_PASSWORD", "db-password"),
        ("env:FTP_PASSWD", "ftp-passwd"),
        ("env:GITHUB_TOKEN", "ghs_runner"),
        ("env:HF_TOKEN", "hf_value"),
        ("env:MINIO_ACCESS_KEY", "minio-access"),
        ("env:MINIO_SECRET_KEY", "minio-secret"),
        ("env:MY_APP_TOKEN", "app-token-value"),
        ("env:OPENAI_API_KEY", "sk-openai"),
        ("env:PGPASSWORD", "libpq-password"),
        ("env:SERVICE_SECRET", "svc-secret"),
        ("env:SNOWFLAKE_CREDENTIALS", '{"password": "x"}'),
        ("env:SSH_PRIVATE_KEY", "-----BEGIN KEY-----"),
        ("env:lower_token", "lower-case-name"),
    ]


def test_env_constants_cover_the_issue() -> None:
    assert set(DEFAULT_ENV_PATTERNS) >= {
        "*_TOKEN",
        "*_SECRET",
        "*_PASSWORD",
        "*_PASSWD",
        "*_API_KEY",
        "*_ACCESS_KEY",
        "*_SECRET_KEY",
        "*_PRIVATE_KEY",
        "*_CLIENT_SECRET",
        "*_CREDENTIALS",
    }
    assert WELL_KNOWN_ENV >= {
        "GITHUB_TOKEN",
        "DATABRICKS_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AZURE_CLIENT_SECRET",
        "OPENAI_API_KEY",
        "HF_TOKEN",
    }
    assert "GOOGLE_APPLICATION_CREDENTIALS" in ENV_ALLOW


def test_vault_sign_in_variables_are_discovered() -> None:
    """A Vault scope's AppRole secret id and JWT (VAULT_TOKEN is a *_TOKEN already)."""
    env = {"VAULT_SECRET_ID": "s1", "BAO_JWT": "j1", "VAULT_ROLE_ID": "r1", "VAULT_TOKEN": "t1"}
    assert run("env", Path("/x"), env) == [
        ("env:BAO_JWT", "j1"),
        ("env:VAULT_SECRET_ID", "s1"),
        ("env:VAULT_TOKEN", "t1"),
    ]


def test_well_known_names_win_over_the_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "ENV_ALLOW", ("*",))
    assert run("env", Path("/x"), {"DATABRICKS_TOKEN": "d", "MY_TOKEN": "m"}) == [
        ("env:DATABRICKS_TOKEN", "d")
    ]


# ------------------------------------------------------------------------------ path variables


def test_path_environment_variables(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    elsewhere = tmp_path / "etc"
    cfg = write(elsewhere / "dbcfg", "[p]\ntoken = dapiELSEWHERE\n")
    creds = write(elsewhere / "aws-creds", "[x]\naws_secret_access_key = awsELSE\n")
    conf = write(elsewhere / "aws-conf", "[profile y]\naws_session_token = awsCONF\n")
    nrc = write(elsewhere / "netrc", "machine h login u password netrcELSE\n")
    write(elsewhere / "docker" / "config.json", '{"auths": {"r": {"identitytoken": "dockELSE"}}}')
    write(elsewhere / "xdg" / "git" / "credentials", "https://u:gitXDG@h.example\n")
    pg = write(elsewhere / "pgpass", "h:1:d:u:pgELSE\n")
    write(elsewhere / "ghdir" / "hosts.yml", "github.com:\n  oauth_token: ghELSE\n")
    write(elsewhere / "xdg" / "gh" / "hosts.yml", "github.com:\n  oauth_token: ghXDG\n")
    k1 = write(elsewhere / "k1", "users:\n- name: a\n  user:\n    token: kube1\n")
    k2 = write(elsewhere / "k2", "users:\n- name: b\n  user:\n    token: kube2\n")
    environ = {
        "DATABRICKS_CONFIG_FILE": str(cfg),
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_CONFIG_FILE": str(conf),
        "NETRC": str(nrc),
        "DOCKER_CONFIG": str(elsewhere / "docker"),
        "XDG_CONFIG_HOME": str(elsewhere / "xdg"),
        "PGPASSFILE": str(pg),
        "KUBECONFIG": os.pathsep.join([str(k1), "", str(elsewhere / "missing"), str(k2)]),
    }
    e = str(elsewhere)
    assert discover(environ=environ, home=home) == [
        (f"{e}/dbcfg[p]/token", "dapiELSEWHERE"),
        (f"{e}/aws-creds[x]/aws_secret_access_key", "awsELSE"),
        (f"{e}/aws-conf[profile y]/aws_session_token", "awsCONF"),
        (f"{e}/netrc[h]/password", "netrcELSE"),
        (f"{e}/docker/config.json[r]/identitytoken", "dockELSE"),
        (f"{e}/xdg/git/credentials[https://h.example]/password", "gitXDG"),
        (f"{e}/pgpass[h:1/d]/password", "pgELSE"),
        (f"{e}/xdg/gh/hosts.yml[github.com]/oauth_token", "ghXDG"),
        (f"{e}/k1[user a]/token", "kube1"),
        (f"{e}/k2[user b]/token", "kube2"),
    ]
    environ["GH_CONFIG_DIR"] = str(elsewhere / "ghdir")
    assert run("gh", home, environ) == [(f"{e}/ghdir/hosts.yml[github.com]/oauth_token", "ghELSE")]


def test_git_reads_both_credential_files(home: Path) -> None:
    write(home / ".config" / "git" / "credentials", "https://u:xdgDEFAULT@h.example\n")
    assert run("git-credentials", home) == EXPECTED["git-credentials"] + [
        ("~/.config/git/credentials[https://h.example]/password", "xdgDEFAULT")
    ]


# ------------------------------------------------------------------------------ failure policy


def test_missing_files_are_skipped_quietly(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert discover(environ={"KUBECONFIG": str(tmp_path / "nope")}, home=tmp_path) == []


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file; POSIX modes"
)
def test_unreadable_files_are_skipped_quietly(home: Path) -> None:
    for rel in FILES:
        (home / rel).chmod(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert discover(environ={}, home=home) == []
    finally:
        for rel in FILES:
            (home / rel).chmod(0o600)


def test_a_directory_in_place_of_a_file_is_skipped_quietly(tmp_path: Path) -> None:
    for rel in FILES:
        (tmp_path / rel).mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert discover(environ={}, home=tmp_path) == []


MALFORMED = {
    ".databrickscfg": ("databrickscfg", "token = dapiNOSECTION0000\n", "~/.databrickscfg"),
    ".aws/credentials": (
        "aws",
        "[default]\naws_secret_access_key = awsBROKEN\n[unclosed\n",
        "~/.aws/credentials",
    ),
    ".netrc": ("netrc", "machine h login u password netrcBROKEN extra-token\n", "~/.netrc"),
    ".docker/config.json": (
        "docker",
        '{"auths": {"r": {"auth": "dockBROKEN"}',
        "~/.docker/config.json",
    ),
    ".pypirc": ("pypirc", "password = pypiBROKEN\n", "~/.pypirc"),
    ".config/gh/hosts.yml": (
        "gh",
        "github.com:\n  oauth_token: ghBROKEN\n   - bad: [\n",
        "~/.config/gh/hosts.yml",
    ),
    ".kube/config": (
        "kube",
        "users:\n- name: a\n  user:\n    token: kubeBROKEN\n  }{ no key\n",
        "~/.kube/config",
    ),
}


@pytest.mark.parametrize("rel", list(MALFORMED))
def test_malformed_file_is_skipped_with_a_warning_naming_it(
    rel: str, tmp_path: Path, yaml_reader: str
) -> None:
    source, text, shown = MALFORMED[rel]
    write(tmp_path / rel, text)
    with pytest.warns(RedactorWarning) as record:
        assert discover([source], environ={}, home=tmp_path) == []
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"redactor discovery: {shown} is malformed (")
    assert message.endswith("); its secrets are not discovered")
    assert "BROKEN" not in message


def test_malformed_lines_are_skipped_alone_naming_the_line(tmp_path: Path) -> None:
    write(tmp_path / ".pgpass", "only:three:fields\nh:1:d:u:pgGOOD\n")
    write(tmp_path / ".git-credentials", "not a url lineBROKEN\nhttps://u:gitGOOD@h.example\n")
    with pytest.warns(RedactorWarning) as record:
        found = discover(["git-credentials", "pgpass"], environ={}, home=tmp_path)
    assert found == [
        ("~/.git-credentials[https://h.example]/password", "gitGOOD"),
        ("~/.pgpass[h:1/d]/password", "pgGOOD"),
    ]
    assert [str(w.message) for w in record] == [
        "redactor discovery: ~/.git-credentials line 1 is malformed "
        "(not scheme://user:password@host); its secrets are not discovered",
        "redactor discovery: ~/.pgpass line 1 is malformed (fewer than 5 fields); "
        "its secrets are not discovered",
    ]


def test_undecodable_file_is_skipped_quietly(tmp_path: Path) -> None:
    (tmp_path / ".pypirc").write_bytes(b"[pypi]\npassword = \xff\xfe\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert discover(["pypirc"], environ={}, home=tmp_path) == []


# ------------------------------------------------------------------------------- YAML fallback


def test_simple_yaml_reader_agrees_with_pyyaml_on_the_tools_files() -> None:
    yaml = pytest.importorskip("yaml")
    for text in (GH_HOSTS, KUBE):
        assert read_simple_yaml(text) == yaml.safe_load(text.replace("preferences: {}\n", "")) | (
            {"preferences": "{}"} if "preferences" in text else {}
        )


@pytest.mark.parametrize(
    "text",
    ["a:\n  b: 1\n c: 2\n- x\n", "key without colon\n", "a:\n\t b: 1\n", "- item at top\n"],
)
def test_simple_yaml_reader_rejects_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):
        read_simple_yaml(text)


KUBE_FLOW = """\
apiVersion: v1
users:
- name: flow
  user: {token: flowTOKEN, username: someone}
- name: block
  user:
    password: >-
      folded
      PASSWORD
"""


def test_yaml_beyond_the_subset_is_read_by_pyyaml(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    write(tmp_path / ".kube" / "config", KUBE_FLOW)
    assert run("kube", tmp_path) == [
        ("~/.kube/config[user flow]/token", "flowTOKEN"),
        ("~/.kube/config[user block]/password", "folded PASSWORD"),
    ]


def test_yaml_beyond_the_subset_without_pyyaml_is_reported_not_misread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    write(tmp_path / ".kube" / "config", KUBE_FLOW)
    with pytest.warns(RedactorWarning, match=r"~/\.kube/config is malformed \(ValueError\)"):
        assert discover(["kube"], environ={}, home=tmp_path) == []


def test_a_json_kube_config_is_read_without_pyyaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    config = {"users": [{"name": "j", "user": {"token": "jsonTOKEN", "username": "me"}}]}
    write(tmp_path / ".kube" / "config", json.dumps(config, indent=2))
    assert run("kube", tmp_path) == [("~/.kube/config[user j]/token", "jsonTOKEN")]


_keys = st.text(min_size=1, max_size=8)
_leaves = st.text(min_size=0, max_size=20)
_trees = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4),
        st.dictionaries(_keys, inner, min_size=1, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _trees, min_size=1, max_size=4), st.sampled_from([2, 4]))
def test_simple_yaml_reader_reads_as_pyyaml_does_or_refuses(tree: dict, indent: int) -> None:
    """Differential: on PyYAML's own block-style output, the built-in reader either agrees or
    raises ValueError (then discovery asks PyYAML): it never misreads a value."""
    yaml = pytest.importorskip("yaml")
    text = yaml.safe_dump(tree, default_flow_style=False, indent=indent, allow_unicode=True)
    try:
        got = read_simple_yaml(text)
    except ValueError:
        return
    assert got == yaml.safe_load(text)


def test_numeric_yaml_scalars_are_read_as_the_tools_read_them(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    # a flow mapping sends the file to PyYAML, which would make the password an int
    write(tmp_path / ".kube" / "config", "users:\n- name: n\n  user: {password: 123456}\n")
    assert run("kube", tmp_path) == [("~/.kube/config[user n]/password", "123456")]
