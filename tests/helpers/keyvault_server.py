"""A local Azure Key Vault (secrets API) over HTTPS, for running the unmodified Azure SDK in tests.

It speaks what ``azure-keyvault-secrets`` calls: the 401 bearer challenge, get latest and by
version, list secrets and versions paged with ``nextLink``, set, and the error bodies for missing
(404 SecretNotFound), disabled (403 Forbidden/SecretDisabled) and badly named (400 BadParameter)
secrets. It signs HS256 access tokens and checks their signature, audience and expiry; tokens come
from a plain-HTTP managed-identity endpoint (App Service protocol: ``IDENTITY_ENDPOINT`` and
``IDENTITY_HEADER``), so ``DefaultAzureCredential()`` signs in offline.

TLS uses a test CA made with ``cryptography`` at start-up (``server.ca_path``); the SDK needs
``connection_verify=ca_path`` and ``verify_challenge_resource=False`` (127.0.0.1 is not a
``*.vault.azure.net`` host).

    with KeyVaultServer(tmp_path) as kv:
        kv.set_secret("sql-db-user", "admin")
        client = SecretClient(kv.url, credential, connection_verify=kv.ca_path,
                              verify_challenge_resource=False)
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TENANT = "00000000-0000-0000-0000-00000000test"
RESOURCE = "https://vault.azure.net"
NAME_RE = re.compile(r"[0-9A-Za-z-]{1,127}")


def make_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost.

    Returns (ca.pem, server.pem, server-key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redactor test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    cert_path = directory / "server.pem"
    key_path = directory / "server-key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class _Version:
    version: str
    value: str
    enabled: bool
    created: int
    updated: int
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class KeyVaultServer:
    """The vault (HTTPS) and a managed-identity token endpoint (HTTP), both on 127.0.0.1."""

    def __init__(self, directory: Path, *, page_size: int = 25, token_lifetime: int = 3600):
        self.directory = Path(directory)
        self.page_size = page_size
        self.token_lifetime = token_lifetime
        self.ca_path, self._cert, self._key = make_ca(self.directory / "kv-tls")
        self.identity_header = _b64url(os.urandom(16))
        self._signing_key = os.urandom(32)
        self._secrets: dict[str, tuple[str, list[_Version]]] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str, bool]] = []  # (method, path, had a valid token)
        self.token_requests = 0
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.url = ""
        self.identity_endpoint = ""

    # -- state ------------------------------------------------------------------------------------

    def set_secret(
        self, name: str, value: str, *, enabled: bool = True, content_type: str | None = None
    ) -> str:
        """Add a new version of ``name``; returns its version id."""
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"invalid Key Vault secret name {name!r}")
        with self._lock:
            return self._add_locked(name, value, enabled, content_type)

    def _add_locked(self, name: str, value: str, enabled: bool, content_type: str | None) -> str:
        now = int(time.time())
        version = os.urandom(16).hex()
        shown, versions = self._secrets.get(name.lower(), (name, []))
        versions.append(_Version(version, value, enabled, now, now, content_type))
        self._secrets[name.lower()] = (shown, versions)
        return version

    def set_enabled(self, name: str, enabled: bool, version: str | None = None) -> None:
        with self._lock:
            _, versions = self._secrets[name.lower()]
            target = (
                versions[-1]
                if version is None
                else next(v for v in versions if v.version == version)
            )
            target.enabled = enabled
            target.updated = int(time.time())

    def vault_requests(self, method: str = "GET") -> list[str]:
        return [p for m, p, ok in self.requests if m == method and ok]

    # -- tokens -----------------------------------------------------------------------------------

    def issue_token(self, audience: str = RESOURCE, lifetime: int | None = None) -> tuple[str, int]:
        exp = int(time.time()) + (self.token_lifetime if lifetime is None else lifetime)
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = _b64url(
            json.dumps(
                {
                    "aud": audience,
                    "exp": exp,
                    "iss": f"https://sts.windows.net/{TENANT}/",
                    "tid": TENANT,
                }
            ).encode()
        )
        signing_input = f"{header}.{claims}".encode("ascii")
        sig = _b64url(hmac.new(self._signing_key, signing_input, hashlib.sha256).digest())
        return f"{header}.{claims}.{sig}", exp

    def check_token(self, token: str) -> bool:
        try:
            header, claims, sig = token.split(".")
            expected = hmac.new(
                self._signing_key, f"{header}.{claims}".encode("ascii"), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(expected, _b64url_decode(sig)):
                return False
            body = json.loads(_b64url_decode(claims))
        except (ValueError, TypeError):
            return False
        aud = str(body.get("aud", "")).rstrip("/")
        return aud == RESOURCE and int(body.get("exp", 0)) > time.time()

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> KeyVaultServer:
        vault = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, vault=True))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self._cert, self._key)
        vault.socket = ctx.wrap_socket(vault.socket, server_side=True)
        identity = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, vault=False))
        for server in (vault, identity):
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        self.url = f"https://127.0.0.1:{vault.server_address[1]}/"
        self.identity_endpoint = f"http://127.0.0.1:{identity.server_address[1]}/msi/token"
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> KeyVaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST -------------------------------------------------------------------------------------

    def _attributes(self, v: _Version) -> dict[str, Any]:
        return {
            "enabled": v.enabled,
            "created": v.created,
            "updated": v.updated,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }

    def _bundle(self, name: str, v: _Version, *, value: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f"{self.url}secrets/{name}/{v.version}" if value else f"{self.url}secrets/{name}",
            "attributes": self._attributes(v),
            "tags": dict(v.tags),
        }
        if v.content_type:
            out["contentType"] = v.content_type
        if value:
            out["value"] = v.value
        return out

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]], path: str) -> dict:
        size = min(int(query.get("maxresults", [self.page_size])[0]), self.page_size)
        start = int(query.get("$skiptoken", ["0"])[0])
        page = items[start : start + size]
        nxt = None
        if start + size < len(items):
            # The SDK adds its own api-version to nextLink.
            nxt = f"{self.url.rstrip('/')}{path}?$skiptoken={start + size}&maxresults={size}"
        return {"value": page, "nextLink": nxt}

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict]:
        parts = [p for p in path.split("/") if p]
        with self._lock:
            if parts == ["secrets"] and method == "GET":
                items = []
                for shown, versions in sorted(self._secrets.values(), key=lambda s: s[0].lower()):
                    items.append(self._bundle(shown, versions[-1], value=False))
                return 200, self._page(items, query, "/secrets")
            if len(parts) >= 2 and parts[0] == "secrets":
                name = parts[1]
                if not NAME_RE.fullmatch(name):
                    return 400, _error(
                        "BadParameter",
                        "The request URI contains an invalid name: " + name[:40],
                    )
                entry = self._secrets.get(name.lower())
                if method == "PUT" and len(parts) == 2:
                    data = json.loads(body or b"{}")
                    self._add_locked(
                        name,
                        str(data.get("value", "")),
                        bool((data.get("attributes") or {}).get("enabled", True)),
                        data.get("contentType"),
                    )
                    shown, versions = self._secrets[name.lower()]
                    return 200, self._bundle(shown, versions[-1], value=True)
                if entry is None:
                    return 404, _error(
                        "SecretNotFound",
                        f"A secret with (name/id) {name} was not found in this key vault.",
                    )
                shown, versions = entry
                if method == "GET" and len(parts) == 3 and parts[2] == "versions":
                    items = [self._bundle(shown, v, value=False) for v in versions]
                    for item, v in zip(items, versions):
                        item["id"] = f"{self.url}secrets/{shown}/{v.version}"
                    return 200, self._page(items, query, f"/secrets/{name}/versions")
                if method == "GET" and len(parts) in (2, 3):
                    wanted = parts[2] if len(parts) == 3 else ""
                    if wanted:
                        match = [v for v in versions if v.version == wanted]
                        if not match:
                            return 404, _error(
                                "SecretNotFound",
                                f"A secret with (name/id) {name}/{wanted} was not found in "
                                "this key vault.",
                            )
                        v = match[0]
                    else:
                        v = versions[-1]
                    if not v.enabled:
                        return 403, {
                            "error": {
                                "code": "Forbidden",
                                "message": "Operation get is not allowed on a disabled secret.",
                                "innererror": {"code": "SecretDisabled"},
                            }
                        }
                    return 200, self._bundle(shown, v, value=True)
        return 405, _error("BadParameter", f"{method} {path} is not supported by the test vault")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _handler(server: KeyVaultServer, *, vault: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict | None, headers: dict[str, str] | None = None):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _identity(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path != "/msi/token":
                return self._send(404, {"error": "not_found"})
            if self.headers.get("X-IDENTITY-HEADER") != server.identity_header:
                return self._send(401, {"error": "invalid_identity_header"})
            resource = query.get("resource", [""])[0]
            server.token_requests += 1
            token, exp = server.issue_token(resource.rstrip("/"))
            self._send(
                200,
                {
                    "access_token": token,
                    "expires_on": str(exp),
                    "resource": resource,
                    "token_type": "Bearer",
                },
            )

        def _vault(self, method: str) -> None:
            body = self._body()
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            auth = self.headers.get("Authorization", "")
            ok = auth.startswith("Bearer ") and server.check_token(auth[len("Bearer ") :])
            server.requests.append((method, parts.path, ok))
            if not ok:
                return self._send(
                    401,
                    _error("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."),
                    {
                        "WWW-Authenticate": (
                            f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
                            f'resource="{RESOURCE}"'
                        )
                    },
                )
            if "api-version" not in query:
                return self._send(400, _error("BadParameter", "api-version is missing"))
            status, payload = server.handle(method, parts.path, query, body)
            self._send(status, payload)

        def do_GET(self) -> None:
            self._identity() if not vault else self._vault("GET")

        def do_PUT(self) -> None:
            self._vault("PUT") if vault else self._send(405, None)

        def do_PATCH(self) -> None:
            self._vault("PATCH") if vault else self._send(405, None)

        def do_DELETE(self) -> None:
            self._vault("DELETE") if vault else self._send(405, None)

    return Handler


if __name__ == "__main__":  # manual use: python tests/keyvault_server.py DIR
    import sys
    import tempfile

    with KeyVaultServer(Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())) as kv:
        print(f"vault {kv.url}  ca {kv.ca_path}")
        print(f"IDENTITY_ENDPOINT={kv.identity_endpoint} IDENTITY_HEADER={kv.identity_header}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
