"""A local Databricks workspace (secrets REST API) over HTTPS, for the unmodified ``databricks-sdk``.

It speaks what ``WorkspaceClient().secrets`` calls: ``GET /api/2.0/secrets/scopes/list``,
``GET /api/2.0/secrets/list``, ``GET /api/2.0/secrets/get`` (the value base64-encoded, as the API
sends it), ``POST /api/2.0/secrets/put`` (``string_value`` or ``bytes_value``) and
``POST /api/2.0/secrets/delete``, with the API's error bodies ``{"error_code": ..., "message":
...}``: ``RESOURCE_DOES_NOT_EXIST`` (404), ``PERMISSION_DENIED`` (403),
``INVALID_PARAMETER_VALUE`` and ``RESOURCE_LIMIT_EXCEEDED`` (400), ``BAD_REQUEST`` (400, a write
to an Azure Key Vault-backed scope) and 401 for a missing or unknown token. Scope ACLs are
enforced per principal as the workspace does (READ lists and reads, WRITE also puts and deletes,
MANAGE above both; the group ``users`` holds everyone).

Sign-in: personal access tokens (``add_token``) and OAuth machine-to-machine
(``add_service_principal``): ``/.well-known/databricks-config`` names ``/oidc`` as the OIDC
endpoint, whose discovery document names ``/oidc/v1/token``, which grants client-credentials
tokens. TLS uses the test CA of :mod:`helpers.keyvault_server` (``server.ca_path``); the SDK
trusts it through ``REQUESTS_CA_BUNDLE``.

    with DatabricksServer(tmp_path) as ws:
        ws.create_scope("kv-scope")
        ws.put("kv-scope", "sql-db-user", "admin")
        token = ws.add_token("alice@example.com")
        # DATABRICKS_HOST=ws.url DATABRICKS_TOKEN=token REQUESTS_CA_BUNDLE=ws.ca_path
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from helpers.keyvault_server import make_ca

WORKSPACE_ID = "1234567890123456"
MAX_VALUE_BYTES = 128 * 1024
MAX_SECRETS = 1000
LEVELS = {"READ": 1, "WRITE": 2, "MANAGE": 3}


@dataclass
class _Secret:
    key: str
    value: bytes
    updated_ms: int


@dataclass
class _Scope:
    name: str
    backend_type: str = "DATABRICKS"
    secrets: dict[str, _Secret] = field(default_factory=dict)
    acls: dict[str, str] = field(default_factory=dict)  # principal -> READ/WRITE/MANAGE


class DatabricksServer:
    """The workspace (HTTPS) on 127.0.0.1, with the test CA in ``ca_path``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.ca_path, self._cert, self._key = make_ca(self.directory / "dbx-tls")
        self._lock = threading.Lock()
        self._scopes: dict[str, _Scope] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (principal, expiry)
        self._clients: dict[str, tuple[str, str]] = {}  # client id -> (secret, principal)
        # (method, path, principal or None); secrets/get requests also record the key
        self.requests: list[tuple[str, str, str | None]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.latency = 0.0  # seconds added to every /api/ answer (a remote workspace's round trip)

    # -- state ------------------------------------------------------------------------------------

    def add_token(self, principal: str) -> str:
        """A personal access token for ``principal``."""
        token = "dapi" + os.urandom(16).hex()
        with self._lock:
            self._tokens[token] = (principal, float("inf"))
        return token

    def add_service_principal(self, principal: str) -> tuple[str, str]:
        """An OAuth M2M client (``client_id``, ``client_secret``) signing in as ``principal``."""
        client_id = os.urandom(8).hex()
        secret = "dose" + os.urandom(16).hex()
        with self._lock:
            self._clients[client_id] = (secret, principal)
        return client_id, secret

    def create_scope(
        self, name: str, *, backend_type: str = "DATABRICKS", acls: dict[str, str] | None = None
    ) -> None:
        """A scope; ``acls`` maps principals to READ/WRITE/MANAGE (default: ``users`` MANAGE)."""
        with self._lock:
            self._scopes[name.lower()] = _Scope(
                name, backend_type, acls=dict(acls if acls is not None else {"users": "MANAGE"})
            )

    def put(self, scope: str, key: str, value: str | bytes) -> None:
        data = value.encode("utf-8") if isinstance(value, str) else value
        with self._lock:
            self._scopes[scope.lower()].secrets[key.lower()] = _Secret(
                key, data, int(time.time() * 1000)
            )

    def value(self, scope: str, key: str) -> bytes | None:
        with self._lock:
            s = self._scopes[scope.lower()].secrets.get(key.lower())
            return s.value if s else None

    def api_requests(self, method: str | None = None) -> list[str]:
        """The paths of the authenticated /api/ requests (with ``?key=`` for secrets/get)."""
        return [
            p
            for m, p, who in self.requests
            if who and p.startswith("/api/") and (method is None or m == method)
        ]

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> DatabricksServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self._cert, self._key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        self._server = server
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DatabricksServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST -------------------------------------------------------------------------------------

    def principal(self, authorization: str) -> str | None:
        if not authorization.startswith("Bearer "):
            return None
        with self._lock:
            entry = self._tokens.get(authorization[len("Bearer ") :])
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def oauth_token(self, authorization: str, form: dict[str, list[str]]) -> tuple[int, dict]:
        client_id = secret = ""
        if authorization.startswith("Basic "):
            raw = base64.b64decode(authorization[len("Basic ") :]).decode()
            client_id, _, secret = raw.partition(":")
        else:
            client_id = form.get("client_id", [""])[0]
            secret = form.get("client_secret", [""])[0]
        with self._lock:
            known = self._clients.get(client_id)
        if form.get("grant_type") != ["client_credentials"] or known is None or known[0] != secret:
            return 401, {
                "error": "invalid_client",
                "error_description": "Client authentication failed",
            }
        token = "eyJ" + os.urandom(24).hex()
        with self._lock:
            self._tokens[token] = (known[1], time.time() + 3600)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def _level(self, scope: _Scope, principal: str) -> int:
        return max(
            (LEVELS[p] for who, p in scope.acls.items() if who in (principal, "users")), default=0
        )

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: dict, principal: str
    ) -> tuple[int, dict]:
        def arg(name: str) -> str:
            value = body.get(name) if method == "POST" else query.get(name, [None])[0]
            return value if isinstance(value, str) else ""

        with self._lock:
            if path == "/api/2.0/secrets/scopes/list" and method == "GET":
                scopes = [
                    {"name": s.name, "backend_type": s.backend_type}
                    for s in sorted(self._scopes.values(), key=lambda s: s.name.lower())
                ]
                return 200, {"scopes": scopes} if scopes else {}
            verbs = {
                ("GET", "/api/2.0/secrets/list"): ("READ", "list secrets"),
                ("GET", "/api/2.0/secrets/get"): ("READ", "get secret"),
                ("POST", "/api/2.0/secrets/put"): ("WRITE", "put secret"),
                ("POST", "/api/2.0/secrets/delete"): ("WRITE", "delete secret"),
            }
            if (method, path) not in verbs:
                return 404, _error("ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
            needed, action = verbs[(method, path)]
            scope = self._scopes.get(arg("scope").lower())
            if scope is None:
                return 404, _error(
                    "RESOURCE_DOES_NOT_EXIST", f"Scope {arg('scope')} does not exist!"
                )
            if self._level(scope, principal) < LEVELS[needed]:
                return 403, _error(
                    "PERMISSION_DENIED",
                    f"User {principal} does not have {needed} permission on scope {scope.name} "
                    f"to perform this action.",
                )
            if path.endswith("/list"):
                items = [
                    {"key": s.key, "last_updated_timestamp": s.updated_ms}
                    for s in sorted(scope.secrets.values(), key=lambda s: s.key.lower())
                ]
                return 200, {"secrets": items} if items else {}
            key = arg("key")
            if path.endswith("/put"):
                return self._put(scope, key, body)
            secret = scope.secrets.get(key.lower())
            if path.endswith("/delete"):
                if scope.backend_type != "DATABRICKS":
                    return 400, _error(
                        "BAD_REQUEST", "Cannot delete a secret in an Azure KeyVault-backed scope."
                    )
                if secret is None:
                    return 404, _error(
                        "RESOURCE_DOES_NOT_EXIST",
                        f"Secret {key} does not exist in scope {scope.name}",
                    )
                del scope.secrets[key.lower()]
                return 200, {}
            if secret is None:
                return 404, _error(
                    "RESOURCE_DOES_NOT_EXIST", f"Failed to get secret {key} for scope {scope.name}."
                )
            return 200, {"key": secret.key, "value": base64.b64encode(secret.value).decode()}
        raise AssertionError(action)  # pragma: no cover

    def _put(self, scope: _Scope, key: str, body: dict) -> tuple[int, dict]:
        if scope.backend_type != "DATABRICKS":
            return 400, _error(
                "BAD_REQUEST", "Cannot put a secret in an Azure KeyVault-backed scope."
            )
        has_string, has_bytes = "string_value" in body, "bytes_value" in body
        if has_string == has_bytes:
            return 400, _error(
                "INVALID_PARAMETER_VALUE", "Exactly one of string_value or bytes_value is required."
            )
        if has_string:
            data = str(body["string_value"]).encode("utf-8")
        else:
            data = base64.b64decode(str(body["bytes_value"]))
        if len(data) > MAX_VALUE_BYTES:
            return 400, _error(
                "INVALID_PARAMETER_VALUE",
                f"Size of the secret value exceeds the limit of {MAX_VALUE_BYTES} bytes.",
            )
        if key.lower() not in scope.secrets and len(scope.secrets) >= MAX_SECRETS:
            return 400, _error(
                "RESOURCE_LIMIT_EXCEEDED",
                f"Scope {scope.name} already has the maximum of {MAX_SECRETS} secrets.",
            )
        scope.secrets[key.lower()] = _Secret(key, data, int(time.time() * 1000))
        return 200, {}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error_code": code, "message": message}


def _handler(server: DatabricksServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for
        # the client's delayed ACK and every request took 50 ms instead of ~2 ms here.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self, method: str) -> None:
            raw = self._body()
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            path = parts.path
            if path == "/.well-known/databricks-config" and method == "GET":
                return self._send(
                    200, {"oidc_endpoint": f"{server.url}/oidc", "workspace_id": WORKSPACE_ID}
                )
            if path == "/oidc/.well-known/oauth-authorization-server" and method == "GET":
                return self._send(
                    200,
                    {
                        "issuer": f"{server.url}/oidc",
                        "authorization_endpoint": f"{server.url}/oidc/v1/authorize",
                        "token_endpoint": f"{server.url}/oidc/v1/token",
                    },
                )
            if path == "/oidc/v1/token" and method == "POST":
                form = parse_qs(raw.decode())
                status, payload = server.oauth_token(self.headers.get("Authorization", ""), form)
                return self._send(status, payload)
            principal = server.principal(self.headers.get("Authorization", ""))
            shown = path
            if path == "/api/2.0/secrets/get":
                shown = f"{path}?key={query.get('key', [''])[0]}"
            server.requests.append((method, shown, principal))
            if principal is None:
                return self._send(
                    401, {"error_code": "401", "message": "Credential was not sent or was invalid."}
                )
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return self._send(400, _error("MALFORMED_REQUEST", "Invalid JSON"))
            status, payload = server.handle(method, path, query, body, principal)
            if server.latency:
                time.sleep(server.latency)
            self._send(status, payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
