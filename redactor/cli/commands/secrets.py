"""``redactor secrets VERB``: manage secret scopes with the Databricks CLI's verbs.

No verb prints a secret value, and none needs one on the command line: ``put-secret`` reads the
value from stdin, or from a hidden prompt on a terminal. ``--string-value``/``--bytes-value`` are
accepted for compatibility, with a warning.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any

from redactor.cli.errors import report_warning
from redactor.engine.redactor import DEFAULT_MIN_LENGTH
from redactor.errors import CommandError
from redactor.sources.scopes import (
    ENV_MASTER_KEY,
    MAX_VALUE_BYTES,
    backend_names,
    create_scope,
    delete_secret,
    get_store,
    list_scopes,
    list_secrets,
    open_scope,
    parse_master_key,
    validate_name,
)
from redactor.sources.scopes.azure import validate_vault_url
from redactor.sources.scopes.vault import BACKEND_VAULT

BACKEND_TYPES = tuple(backend_names())  # the registered scope backends, local first
KEY_SOURCES = ("file", "env", "passphrase")
ENV_NEW_PASSPHRASE = "REDACTOR_NEW_PASSPHRASE"  # noqa: S105 - a variable name

ARGV_WARNING = (
    "{flag} puts the secret on the command line, where shell history and process lists (ps) "
    "can read it; pipe it on stdin instead: redactor secrets put-secret SCOPE KEY < file"
)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--home",
        metavar="DIR",
        help="the store's directory (default: $REDACTOR_HOME, else the per-user data directory)",
    )


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "secrets",
        help="manage secret scopes and secrets (Databricks CLI verbs)",
        description=(
            "Manage secret scopes: local scopes encrypted in $REDACTOR_HOME, Azure Key "
            "Vault-backed scopes (read-only) and HashiCorp Vault / OpenBao-backed scopes. No "
            "command prints a secret value."
        ),
    )
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])
    verbs = p.add_subparsers(dest="verb", metavar="VERB")

    c = verbs.add_parser(
        "create-scope",
        help="create a secret scope",
        description=(
            "Create a local scope, or link an Azure Key Vault with --scope-backend-type "
            "AZURE_KEYVAULT --dns-name https://VAULT.vault.azure.net/ --resource-id ID, or a "
            "secret in a HashiCorp Vault / OpenBao KV v2 mount with --scope-backend-type VAULT "
            "--vault-addr URL --mount M [--path P] [--secret-version N] (credentials from the "
            "environment: VAULT_TOKEN, AppRole or JWT)."
        ),
    )
    c.add_argument("scope", nargs="?", metavar="SCOPE")
    c.add_argument(
        "--scope-backend-type", choices=BACKEND_TYPES, default=None, help="default: DATABRICKS"
    )
    c.add_argument("--dns-name", metavar="URL", help="the Key Vault's URI (AZURE_KEYVAULT)")
    c.add_argument("--resource-id", metavar="ID", help="the Key Vault's resource ID")
    c.add_argument(
        "--vault-addr",
        metavar="URL",
        help="the Vault / OpenBao server (VAULT; default $VAULT_ADDR)",
    )
    c.add_argument("--mount", metavar="M", help="the KV version 2 mount (VAULT; default: secret)")
    c.add_argument(
        "--path", metavar="P", help="the secret's path in the mount (VAULT; default: the scope)"
    )
    c.add_argument(
        "--secret-version", metavar="N", type=int, help="pin a version of the secret (VAULT)"
    )
    c.add_argument(
        "--initial-manage-principal",
        metavar="PRINCIPAL",
        help="accepted for compatibility; the local store has no ACLs",
    )
    c.add_argument(
        "--json", metavar="JSON", help="the request body as in the Databricks API (or @file)"
    )
    _common(c)
    c.set_defaults(func=_create_scope)

    ls = verbs.add_parser("list-scopes", help="list every scope and its backend type")
    _output(ls)
    _common(ls)
    ls.set_defaults(func=_list_scopes)

    d = verbs.add_parser("delete-scope", help="delete a scope and every secret in it")
    d.add_argument("scope", metavar="SCOPE")
    _common(d)
    d.set_defaults(func=_delete_scope)

    put = verbs.add_parser(
        "put-secret",
        help="store a secret (value from stdin or a hidden prompt)",
        description=(
            "Store a secret in a local or Vault-backed scope. The value is read from stdin (all of it, kept "
            "exactly; use printf '%s' rather than echo to avoid a trailing newline) or, on a "
            "terminal, from a hidden prompt."
        ),
    )
    put.add_argument("scope", metavar="SCOPE")
    put.add_argument("key", metavar="KEY")
    group = put.add_mutually_exclusive_group()
    group.add_argument(
        "--string-value", metavar="VALUE", help="discouraged: visible in shell history and ps"
    )
    group.add_argument(
        "--bytes-value", metavar="BASE64", help="discouraged: base64 bytes on the command line"
    )
    _common(put)
    put.set_defaults(func=_put_secret)

    lsec = verbs.add_parser("list-secrets", help="list the keys of a scope (never values)")
    lsec.add_argument("scope", metavar="SCOPE")
    _output(lsec)
    _common(lsec)
    lsec.set_defaults(func=_list_secrets)

    ds = verbs.add_parser(
        "delete-secret", help="delete a secret from a local or Vault-backed scope"
    )
    ds.add_argument("scope", metavar="SCOPE")
    ds.add_argument("key", metavar="KEY")
    _common(ds)
    ds.set_defaults(func=_delete_secret)

    rk = verbs.add_parser(
        "rotate-key",
        help="re-wrap the store's data key under a new master key",
        description=(
            "Re-wrap the data key under a new master key: a new random key file (--to file, the "
            "default for key-file stores), a key read from stdin for REDACTOR_MASTER_KEY (--to "
            "env), or a new passphrase (--to passphrase: REDACTOR_NEW_PASSPHRASE, a prompt, or "
            "stdin). Values are not re-encrypted unless --reencrypt is given, which also "
            "replaces the data key. Secret values themselves are not changed: rotate those at "
            "their source."
        ),
    )
    rk.add_argument("--to", choices=KEY_SOURCES, default=None, help="the new master key's source")
    rk.add_argument(
        "--reencrypt",
        action="store_true",
        help="also replace the data key and re-encrypt every value (one transaction)",
    )
    _common(rk)
    rk.set_defaults(func=_rotate_key)


# -- helpers -----------------------------------------------------------------------------------


def _run(args: argparse.Namespace, body) -> int:
    """Run ``body()``; its errors (SecretsError, CommandError) reach the one handler in main."""
    if getattr(args, "home", None):
        os.environ["REDACTOR_HOME"] = args.home
    try:
        return int(body() or 0)
    except EOFError:
        raise CommandError("no input; nothing was changed") from None


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


_warn = report_warning


def _iso(ms: int) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


# -- verbs ---------------------------------------------------------------------------------------


def _load_json(text: str) -> dict[str, Any]:
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as f:
            text = f.read()
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("--json must be a JSON object")
    return data


def _create_scope(args: argparse.Namespace) -> int:
    scope = args.scope
    backend = args.scope_backend_type
    dns_name, resource_id = args.dns_name, args.resource_id
    principal = args.initial_manage_principal
    if args.json:
        try:
            request = _load_json(args.json)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read --json: {exc}") from None
        scope = scope or request.get("scope")
        backend = backend or request.get("scope_backend_type")
        kv = request.get("backend_azure_keyvault") or {}
        dns_name = dns_name or kv.get("dns_name")
        resource_id = resource_id or kv.get("resource_id")
        principal = principal or request.get("initial_manage_principal")
    if not scope:
        raise CommandError("create-scope needs a SCOPE name")
    backend = backend or "DATABRICKS"
    if backend not in BACKEND_TYPES:
        raise CommandError(
            f"unknown scope backend type {backend!r}: use {' or '.join(BACKEND_TYPES)}"
        )
    if principal and backend == BACKEND_VAULT:
        _warn(
            "a VAULT scope's access is decided by the server's policies: "
            "--initial-manage-principal is ignored"
        )
    elif principal:
        _warn(
            "the local store has no ACLs (its file permissions protect it): "
            "--initial-manage-principal is ignored"
        )

    vault_flags = {
        "vault_addr": args.vault_addr,
        "mount": args.mount,
        "path": args.path,
        "secret_version": args.secret_version,
    }
    vault_options = {k: v for k, v in vault_flags.items() if v is not None}

    def body() -> int:
        validate_name(scope, "scope name")
        if backend != BACKEND_VAULT and vault_options:
            raise CommandError(
                "--vault-addr, --mount, --path and --secret-version need --scope-backend-type VAULT"
            )
        if backend == BACKEND_VAULT:
            if dns_name or resource_id:
                raise CommandError(
                    "--dns-name and --resource-id need --scope-backend-type AZURE_KEYVAULT"
                )
            create_scope(scope, backend, vault_options)
        elif backend == "AZURE_KEYVAULT":
            if not dns_name:
                raise CommandError(
                    "an AZURE_KEYVAULT scope needs --dns-name https://VAULT.vault.azure.net/"
                )
            options = {"dns_name": validate_vault_url(dns_name)}
            if resource_id:
                options["resource_id"] = resource_id
            create_scope(scope, backend, options)
        else:
            if dns_name or resource_id:
                raise CommandError(
                    "--dns-name and --resource-id need --scope-backend-type AZURE_KEYVAULT"
                )
            create_scope(scope, backend)
        return 0

    return _run(args, body)


def _list_scopes(args: argparse.Namespace) -> int:
    def body() -> int:
        scopes = list_scopes()
        if args.output == "json":
            out = []
            for s in scopes:
                item: dict[str, Any] = {"name": s.name, "backend_type": s.backend}
                if s.backend == "AZURE_KEYVAULT":
                    item["keyvault_metadata"] = {
                        "dns_name": s.options.get("dns_name"),
                        "resource_id": s.options.get("resource_id"),
                    }
                elif s.backend == BACKEND_VAULT:
                    item["vault_metadata"] = dict(s.options)
                out.append(item)
            print(json.dumps({"scopes": out}, indent=2))
        elif scopes:
            _table([(s.name, s.backend) for s in scopes], ("Scope", "Backend Type"))
        return 0

    return _run(args, body)


def _delete_scope(args: argparse.Namespace) -> int:
    def body() -> int:
        get_store().delete_scope(args.scope)
        return 0

    return _run(args, body)


def _read_value(args: argparse.Namespace) -> str | bytes | None:
    """The value to store, or None after reporting an error."""
    import base64
    import binascii

    if args.string_value is not None:
        _warn(ARGV_WARNING.format(flag="--string-value"))
        return args.string_value
    if args.bytes_value is not None:
        _warn(ARGV_WARNING.format(flag="--bytes-value"))
        try:
            return base64.b64decode(args.bytes_value, validate=True)
        except (binascii.Error, ValueError):
            raise CommandError(
                "--bytes-value must be base64 (the Databricks API's bytes_value)"
            ) from None
    if _stdin_is_tty():
        import getpass

        value = getpass.getpass(f"value for {args.scope}/{args.key} (input is hidden): ")
        if not value:
            raise CommandError("no value entered; nothing was stored")
        return value
    if sys.stdin is None:
        raise CommandError("no value: pipe it on stdin, or run on a terminal to be prompted")
    data = sys.stdin.buffer.read(MAX_VALUE_BYTES + 1)
    if not data:
        raise CommandError("stdin was empty; nothing was stored")
    if len(data) > MAX_VALUE_BYTES:
        raise CommandError(
            f"the value on stdin is larger than {MAX_VALUE_BYTES} bytes (128 KiB), the limit"
        )
    if data.endswith(b"\n"):
        _warn(
            "the value read from stdin ends with a newline, which is stored as part of it "
            "(use printf '%s' instead of echo to leave it out)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _put_secret(args: argparse.Namespace) -> int:
    def body() -> int:
        validate_name(args.scope, "scope name")
        validate_name(args.key, "secret key")
        # Fail on a missing or read-only scope before asking for the value; the scope's backend
        # stores it (the local store, or a remote one such as Vault).
        scope = open_scope(args.scope)
        if scope.read_only:
            raise scope.read_only_error("put a secret")
        value = _read_value(args)
        if value is None:
            return 2
        scope.put(args.key, value)
        core = value.strip() if isinstance(value, str) else value
        if len(core) < DEFAULT_MIN_LENGTH:
            _warn(
                f"{args.scope}/{args.key} is shorter than {DEFAULT_MIN_LENGTH} characters: "
                "redactor will not redact it (too many false matches)"
            )
        return 0

    return _run(args, body)


def _list_secrets(args: argparse.Namespace) -> int:
    def body() -> int:
        secrets = list_secrets(args.scope)
        if args.output == "json":
            print(
                json.dumps(
                    {
                        "secrets": [
                            {"key": s.key, "last_updated_timestamp": s.last_updated_timestamp}
                            for s in secrets
                        ]
                    },
                    indent=2,
                )
            )
        elif secrets:
            _table(
                [(s.key, _iso(s.last_updated_timestamp)) for s in secrets],
                ("Key", "Last Updated"),
            )
        return 0

    return _run(args, body)


def _delete_secret(args: argparse.Namespace) -> int:
    def body() -> int:
        delete_secret(args.scope, args.key)
        return 0

    return _run(args, body)


def _read_new_passphrase() -> str | None:
    import getpass

    if os.environ.get(ENV_NEW_PASSPHRASE):
        return os.environ[ENV_NEW_PASSPHRASE]
    if _stdin_is_tty():
        first = getpass.getpass("new passphrase: ")
        if first != getpass.getpass("new passphrase again: "):
            raise CommandError("the passphrases differ; nothing was changed")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def _rotate_key(args: argparse.Namespace) -> int:
    def body() -> int:
        store = get_store()
        current = store.wrapping_info()
        if current is None:
            raise CommandError(f"there is no secret store in {store.home} yet")
        to = args.to or current.kind
        new_key = passphrase = None
        if to == "env":
            if _stdin_is_tty():
                import getpass

                text = getpass.getpass("new master key (64 hex digits or base64, hidden): ")
            else:
                text = sys.stdin.readline() if sys.stdin is not None else ""
            new_key = parse_master_key(text, where="the new master key")
        elif to == "passphrase":
            passphrase = _read_new_passphrase()
            if passphrase is None:
                return 2
            if not passphrase:
                raise CommandError("the new passphrase is empty; nothing was changed")
        result = store.rotate_key(
            to, new_key=new_key, passphrase=passphrase, reencrypt=args.reencrypt
        )
        names = {"file": "key file", "env": ENV_MASTER_KEY, "passphrase": "passphrase"}
        print(
            f"rotated the master key: {names[result.old_kind]} (key id {result.old_key_id}) -> "
            f"{names[result.new_kind]} (key id {result.new_key_id})"
        )
        if args.reencrypt:
            print(f"replaced the data key and re-encrypted {result.reencrypted} value(s)")
        else:
            print("the data key was re-wrapped; values were not re-encrypted (see --reencrypt)")
        if result.new_kind == "env":
            print(f"set {ENV_MASTER_KEY} to the new key wherever this store is opened")
        elif os.environ.get(ENV_MASTER_KEY):
            print(f"unset {ENV_MASTER_KEY}: the store no longer uses it")
        if result.new_kind == "passphrase":
            print("set REDACTOR_PASSPHRASE to the new passphrase, or enter it when asked")
        return 0

    return _run(args, body)
