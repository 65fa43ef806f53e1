"""A temporary HOME holding every credential file discovery reads (issue 14's "done when").

:func:`fill_home` writes, with fresh random values shaped like the real ones, ``~/.databrickscfg``
(two profiles: a token; a client secret and a password), ``~/.aws/credentials`` and
``~/.aws/config``, ``~/.netrc``, ``~/.docker/config.json`` (``auth`` and ``identitytoken``),
``~/.git-credentials`` (one password percent-encoded, as git writes an ``@``), ``~/.pgpass``,
``~/.pypirc``, the GitHub CLI's ``hosts.yml`` under ``$XDG_CONFIG_HOME/gh`` (a non-default
``XDG_CONFIG_HOME``, so the test sees discovery follow gh's rule) and ``~/.kube/config`` (a token
and a client key), and returns the environment to run in (``DATABRICKS_TOKEN`` set, discovery
switched back on) with every secret under the name discovery gives it, in discovery's order, and
the non-secret fields (users, hosts, key ids) that must stay visible.

Kept free of pytest so that the benchmark can import it.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import textwrap
from dataclasses import dataclass
from pathlib import Path

from redactor.sources.discovery import env_source

__all__ = ["Credentials", "base_env", "fill_home"]

#: variables that point a tool at another file than the one under HOME: removed, so that
#: discovery reads exactly the files written here
PATH_VARIABLES = (
    "DATABRICKS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "NETRC",
    "DOCKER_CONFIG",
    "PGPASSFILE",
    "GH_CONFIG_DIR",
    "XDG_CONFIG_HOME",
    "KUBECONFIG",
)


#: where each discovery source's names start, for the files written here
SOURCE_OF = {
    "env:": "env",
    "~/.databrickscfg": "databrickscfg",
    "~/.aws/": "aws",
    "~/.netrc": "netrc",
    "~/.docker/": "docker",
    "~/.git-credentials": "git-credentials",
    "~/.pgpass": "pgpass",
    "~/.pypirc": "pypirc",
    "~/xdg-config/gh/": "gh",
    "~/.kube/": "kube",
}


@dataclass(frozen=True)
class Credentials:
    home: Path
    #: the environment for a process under test (HOME and XDG_CONFIG_HOME point into ``home``)
    env: dict[str, str]
    #: ``(name discovery gives it, value)`` for every secret, in the order discover() yields them
    secrets: list[tuple[str, str]]
    #: non-secret fields of the same files (user names, hosts, key ids): must stay visible
    visible: list[str]

    def by_source(self) -> dict[str, list[str]]:
        """Discovery source (as ``redactor sources`` names it) -> the names of its secrets."""
        out: dict[str, list[str]] = {}
        for name, _ in self.secrets:
            source = next(s for prefix, s in SOURCE_OF.items() if name.startswith(prefix))
            out.setdefault(source, []).append(name)
        return out


def base_env(home: Path) -> dict[str, str]:
    """This process's environment with no credential of the machine running the tests: every
    variable discovery's env source would take, and every file-path override, removed;
    ``REDACTOR_DISCOVER`` (which the suite sets to 0) removed, so discovery is on;
    ``REDACTOR_DETECT=0``, so what is hidden is discovery's doing alone (token shapes would also
    hide the AWS access key id, a field discovery leaves visible); HOME, USERPROFILE and
    XDG_CONFIG_HOME inside ``home``."""
    taken = {name.removeprefix("env:") for name, _ in env_source(os.environ, home)}
    env = {k: v for k, v in os.environ.items() if k not in taken and k not in PATH_VARIABLES}
    env.pop("REDACTOR_DISCOVER", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    env["REDACTOR_DETECT"] = "0"
    env.update(HOME=str(home), USERPROFILE=str(home), XDG_CONFIG_HOME=str(home / "xdg-config"))
    return env


def _chars(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _hex(rng: random.Random, n: int) -> str:
    return _chars(rng, n, "0123456789abcdef")


def _b64(rng: random.Random, n: int) -> str:
    return base64.b64encode(rng.randbytes(n)).decode("ascii")


def _write(home: Path, rel: str, text: str) -> None:
    path = home / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def fill_home(home: Path, seed: int | None = None) -> Credentials:
    """Write every credential file into ``home`` (created if needed); see the module's doc.

    ``seed`` makes the values reproducible (the benchmark); by default they are fresh each run."""
    rng = random.Random(seed)
    home.mkdir(parents=True, exist_ok=True)
    env = base_env(home)
    secrets: list[tuple[str, str]] = []
    visible: list[str] = []

    # env: DATABRICKS_TOKEN (its host beside it is not a secret)
    token = "dapi" + _hex(rng, 32)
    workspace = (
        f"https://adb-{rng.randrange(10**15, 10**16)}.{rng.randrange(1, 20)}.azuredatabricks.net"
    )
    env.update(DATABRICKS_TOKEN=token, DATABRICKS_HOST=workspace)
    secrets.append(("env:DATABRICKS_TOKEN", token))
    visible.append(workspace)

    # ~/.databrickscfg: a PAT profile and a service-principal profile with a password too
    cfg_token = "dapi" + _hex(rng, 32)
    client_id = f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}"
    client_secret = "dose" + _hex(rng, 32)
    password = _chars(rng, 18, string.ascii_letters + string.digits + "!#$^*-_")
    staging = "https://dbc-" + _hex(rng, 8) + "-" + _hex(rng, 4) + ".cloud.databricks.com"
    _write(
        home,
        ".databrickscfg",
        f"[DEFAULT]\nhost = {workspace}\ntoken = {cfg_token}\n\n"
        f"[staging]\nhost = {staging}\nclient_id = {client_id}\n"
        f"client_secret = {client_secret}\nusername = etl-runner@example-corp.com\n"
        f"password = {password}\n",
    )
    secrets += [
        ("~/.databrickscfg[DEFAULT]/token", cfg_token),
        ("~/.databrickscfg[staging]/client_secret", client_secret),
        ("~/.databrickscfg[staging]/password", password),
    ]
    visible += [staging, client_id, "etl-runner@example-corp.com"]

    # ~/.aws/credentials (a long-lived key and a session) and ~/.aws/config (a key in a profile)
    key_ids = ["AKIA" + _chars(rng, 16, string.ascii_uppercase + "234567") for _ in range(3)]
    aws = [_chars(rng, 40, string.ascii_letters + string.digits + "+/") for _ in range(3)]
    session = "IQoJb3JpZ2luX2Vj" + _chars(rng, 300, string.ascii_letters + string.digits + "+/")
    _write(
        home,
        ".aws/credentials",
        f"[default]\naws_access_key_id = {key_ids[0]}\naws_secret_access_key = {aws[0]}\n\n"
        f"[dev]\naws_access_key_id = {key_ids[1]}\naws_secret_access_key = {aws[1]}\n"
        f"aws_session_token = {session}\n",
    )
    _write(
        home,
        ".aws/config",
        "[default]\nregion = eu-west-1\noutput = json\n\n"
        f"[profile ci]\nregion = us-east-2\naws_access_key_id = {key_ids[2]}\n"
        f"aws_secret_access_key = {aws[2]}\n",
    )
    secrets += [
        ("~/.aws/credentials[default]/aws_secret_access_key", aws[0]),
        ("~/.aws/credentials[dev]/aws_secret_access_key", aws[1]),
        ("~/.aws/credentials[dev]/aws_session_token", session),
        ("~/.aws/config[profile ci]/aws_secret_access_key", aws[2]),
    ]
    visible += [*key_ids, "eu-west-1", "us-east-2"]

    # ~/.netrc
    netrc_password = _chars(rng, 24, string.ascii_letters + string.digits + "-_.")
    _write(
        home,
        ".netrc",
        f"machine artifacts.example-corp.com\n  login deploy-bot\n  password {netrc_password}\n",
    )
    secrets.append(("~/.netrc[artifacts.example-corp.com]/password", netrc_password))
    visible += ["artifacts.example-corp.com", "deploy-bot"]

    # ~/.docker/config.json: basic auth for one registry, an identity token for another
    docker_password = _chars(rng, 20)
    auth = base64.b64encode(f"ci-pusher:{docker_password}".encode()).decode()
    identity = "eyJhbGciOiJSUzI1NiJ9." + _chars(rng, 120) + "." + _chars(rng, 43)
    ecr = f"{rng.randrange(10**11, 10**12)}.dkr.ecr.us-east-1.amazonaws.com"
    _write(
        home,
        ".docker/config.json",
        json.dumps(
            {
                "auths": {
                    "registry.example-corp.io": {"auth": auth},
                    ecr: {"identitytoken": identity},
                },
                "credsStore": "",
            },
            indent="\t",
        ),
    )
    secrets += [
        ("~/.docker/config.json[registry.example-corp.io]/auth", auth),
        ("~/.docker/config.json[registry.example-corp.io]/auth#password", docker_password),
        (f"~/.docker/config.json[{ecr}]/identitytoken", identity),
    ]
    visible += ["registry.example-corp.io", ecr]

    # ~/.git-credentials: the second password holds an '@', which git writes as %40
    gh_pat = "ghp_" + _chars(rng, 36)
    gitlab_raw = _chars(rng, 10) + "%40" + _chars(rng, 10)
    _write(
        home,
        ".git-credentials",
        f"https://octo-dev:{gh_pat}@github.com\n"
        f"https://build-user:{gitlab_raw}@gitlab.example-corp.com\n",
    )
    secrets += [
        ("~/.git-credentials[https://github.com]/password", gh_pat),
        (
            "~/.git-credentials[https://gitlab.example-corp.com]/password",
            gitlab_raw.replace("%40", "@"),
        ),
        ("~/.git-credentials[https://gitlab.example-corp.com]/password#encoded", gitlab_raw),
    ]
    visible += ["octo-dev", "build-user", "gitlab.example-corp.com"]

    # ~/.pgpass
    pg_password = _chars(rng, 16)
    _write(
        home, ".pgpass", f"db.internal.example-corp.com:5432:analytics:report_user:{pg_password}\n"
    )
    secrets.append(("~/.pgpass[db.internal.example-corp.com:5432/analytics]/password", pg_password))
    visible += ["db.internal.example-corp.com", "report_user"]

    # ~/.pypirc: an API token
    pypi = "pypi-AgEIcHlwaS5vcmc" + _chars(rng, 150, string.ascii_letters + string.digits + "-_")
    _write(
        home,
        ".pypirc",
        "[distutils]\nindex-servers =\n    pypi\n\n"
        f"[pypi]\nusername = __token__\npassword = {pypi}\n",
    )
    secrets.append(("~/.pypirc[pypi]/password", pypi))
    visible.append("__token__")

    # gh hosts.yml under $XDG_CONFIG_HOME/gh: the multi-account layout of gh >= 2.40 (the same
    # token under the host and its user, as gh writes it) and the older one-token layout
    gho = "gho_" + _chars(rng, 36)
    ghe = "gho_" + _chars(rng, 36)
    _write(
        home,
        "xdg-config/gh/hosts.yml",
        textwrap.dedent(
            f"""\
            github.com:
                users:
                    octo-dev:
                        oauth_token: {gho}
                git_protocol: https
                user: octo-dev
                oauth_token: {gho}
            ghe.example-corp.com:
                oauth_token: {ghe}
                user: octo-corp
                git_protocol: ssh
            """
        ),
    )
    secrets += [
        ("~/xdg-config/gh/hosts.yml[github.com]/oauth_token", gho),
        ("~/xdg-config/gh/hosts.yml[ghe.example-corp.com]/oauth_token", ghe),
    ]
    visible += ["ghe.example-corp.com", "octo-corp"]

    # ~/.kube/config: a bearer token and a client certificate's key (the certificate is public)
    bearer = "eyJhbGciOiJSUzI1NiIsImtpZCI6Ij" + _chars(rng, 400, string.ascii_letters + "-_")
    pem = "-----BEGIN EC PRIVATE KEY-----\n" + _b64(rng, 96) + "\n-----END EC PRIVATE KEY-----\n"
    key_data = base64.b64encode(pem.encode()).decode()
    cert_data = _b64(rng, 300)
    server = f"https://10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}:6443"
    _write(
        home,
        ".kube/config",
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: Config
            clusters:
            - cluster:
                server: {server}
              name: dev-cluster
            contexts:
            - context:
                cluster: dev-cluster
                user: dev-admin
              name: dev
            current-context: dev
            users:
            - name: dev-admin
              user:
                token: {bearer}
            - name: ci-deployer
              user:
                client-certificate-data: {cert_data}
                client-key-data: {key_data}
            """
        ),
    )
    secrets += [
        ("~/.kube/config[user dev-admin]/token", bearer),
        ("~/.kube/config[user ci-deployer]/client-key-data", key_data),
    ]
    visible += [server, "dev-admin", "ci-deployer", cert_data]
    return Credentials(home=home, env=env, secrets=secrets, visible=visible)
