"""``redactor secrets VERB``: manage secret scopes with the Databricks CLI's verbs.

No verb prints a secret value, and none needs one on the command line: ``put-secret`` reads the
value from stdin, or from a hidden prompt on a terminal. ``--string-value``/``--bytes-value`` are
accepted for compatibility, with a warning. No message repeats a rejected name either (it may be
a value typed in the wrong place): it names the argument's position and the rule.

As in the Databricks CLI: errors of the secrets API are printed as ``Error: CODE: message``
with the API's error codes, ``--bytes-value`` takes the bytes as typed, and ``-o json`` prints
``list-scopes``/``list-secrets`` as a JSON array and ``get-secret`` as ``{"key", "value"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any

from redactor.cli.errors import ApiError, report_warning
from redactor.engine.redactor import DEFAULT_MIN_LENGTH
from redactor.errors import CommandError
from redactor.sources.scopes import (
    ENV_MASTER_KEY,
    MAX_VALUE_BYTES,
    SecretNotFoundError,
    SecretsError,
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
from redactor.sources.scopes.databricks import BACKEND_DATABRICKS_WORKSPACE, validate_host
from redactor.sources.scopes.local import keys as local_keys
from redactor.sources.scopes.local.status import store_status
from redactor.sources.scopes.vault import BACKEND_VAULT

BACKEND_TYPES = tuple(backend_names())  # the registered scope backends, local first
KEY_SOURCES = ("file", "keyring", "env", "passphrase")
ENV_NEW_PASSPHRASE = "REDACTOR_NEW_PASSPHRASE"  # noqa: S105 - a variable name

ARGV_WARNING = (
    "{flag} puts the secret on the command line, where shell history and process lists (ps) "
    "can read it; pipe it on stdin instead: redactor secrets put-secret SCOPE KEY < file"
)


def _common(p: argparse.ArgumentParser) -> None:
    # Extra words land here rather than in argparse's "unrecognized arguments: ..." message,
    # which would print them (`put-secret prod key 'the-value'`); _run refuses them unshown.
    p.add_argument("unexpected", nargs="*", help=argparse.SUPPRESS)
    p.add_argument(
        "--home",
        metavar="DIR",
        help="the store's directory (default: $REDACTOR_HOME, else the per-user data directory)",
    )


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")


def _listing_output(p: argparse.ArgumentParser) -> None:
    """A listing's format: ``-o`` as the Databricks CLI spells it, or ``--format`` as ``scan``,
    ``scrub`` and ``scrub-logs`` do (one of them, not both). ``--format sarif`` is accepted by
    the parser so that it is refused by :func:`_run` with a message that says why: a listing
    holds no findings, so a SARIF log of it could only be empty, and an empty log uploaded to
    GitHub code scanning would close every alert of the category instead of reporting nothing."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "-o", "--output", choices=("text", "json"), default="text", help="output format"
    )
    group.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        help="output format, as scan and scrub spell it (sarif is refused: a listing has no "
        "findings)",
    )


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
            "environment: VAULT_TOKEN, AppRole or JWT), or a Databricks workspace scope with "
            "--scope-backend-type DATABRICKS --host https://WORKSPACE [--profile P] "
            "[--remote-scope S] (credentials from the Databricks SDK's unified auth: "
            "DATABRICKS_TOKEN, ~/.databrickscfg, OAuth M2M)."
        ),
    )
    c.add_argument("scope", nargs="?", metavar="SCOPE")
    c.add_argument(
        "--scope-backend-type", choices=BACKEND_TYPES, default=None, help="default: DATABRICKS"
    )
    c.add_argument("--dns-name", metavar="URL", help="the Key Vault's URI (AZURE_KEYVAULT)")
    c.add_argument("--resource-id", metavar="ID", help="the Key Vault's resource ID")
    c.add_argument("--host", metavar="URL", help="a Databricks workspace's URL (DATABRICKS)")
    c.add_argument(
        "--profile", metavar="PROFILE", help="the ~/.databrickscfg profile to sign in with (--host)"
    )
    c.add_argument(
        "--remote-scope",
        metavar="SCOPE",
        help="the workspace scope's name, if not SCOPE (--host)",
    )
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
    _listing_output(ls)
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
            "Store a secret in a local, Vault-backed or workspace scope. The value is read from "
            "stdin (all of it, kept exactly; use printf '%s' rather than echo to avoid a "
            "trailing newline) or, on a terminal, from a hidden prompt."
        ),
    )
    put.add_argument("scope", metavar="SCOPE")
    put.add_argument("key", metavar="KEY")
    group = put.add_mutually_exclusive_group()
    group.add_argument(
        "--string-value", metavar="VALUE", help="discouraged: visible in shell history and ps"
    )
    group.add_argument(
        "--bytes-value",
        metavar="VALUE",
        help="discouraged: stored as bytes, exactly as typed (as the Databricks CLI does)",
    )
    _common(put)
    put.set_defaults(func=_put_secret)

    lsec = verbs.add_parser("list-secrets", help="list the keys of a scope (never values)")
    lsec.add_argument("scope", metavar="SCOPE")
    _listing_output(lsec)
    _common(lsec)
    lsec.set_defaults(func=_list_secrets)

    gs = verbs.add_parser(
        "get-secret",
        help="show that a secret exists, in the Databricks CLI's shape (value redacted)",
        description=(
            'Print {"key": KEY, "value": "[REDACTED]"} if the secret exists: the '
            "Databricks CLI's shape, without the value, which no redactor command prints "
            "(read it in code with dbutils.secrets.get)."
        ),
    )
    gs.add_argument("scope", metavar="SCOPE")
    gs.add_argument("key", metavar="KEY")
    _output(gs)
    _common(gs)
    gs.set_defaults(func=_get_secret)

    ds = verbs.add_parser(
        "delete-secret", help="delete a secret from a local, Vault-backed or workspace scope"
    )
    ds.add_argument("scope", metavar="SCOPE")
    ds.add_argument("key", metavar="KEY")
    _common(ds)
    ds.set_defaults(func=_delete_secret)

    rk = verbs.add_parser(
        "rotate-key",
        help="replace the store's data key and master key, re-encrypting every value",
        description=(
            "Make a new data key, re-encrypt every value under it and wrap it under a new "
            "master key, in one transaction: a new random key file (--to file, the default for "
            "key-file stores), a key read from stdin for REDACTOR_MASTER_KEY (--to env), or a "
            "new passphrase (--to passphrase: REDACTOR_NEW_PASSPHRASE, a prompt, or stdin). "
            "--rewrap-only keeps the old data key (old copies of the store stay readable). "
            "Secret values themselves are not changed: rotate those at their source."
        ),
    )
    rk.add_argument("--to", choices=KEY_SOURCES, default=None, help="the new master key's source")
    mode = rk.add_mutually_exclusive_group()
    mode.add_argument(
        "--reencrypt",
        action="store_true",
        help="the default: replace the data key and re-encrypt every value",
    )
    mode.add_argument(
        "--rewrap-only",
        action="store_true",
        help="only re-wrap the old data key (discouraged: old copies stay readable)",
    )
    _common(rk)
    rk.set_defaults(func=_rotate_key)

    au = verbs.add_parser(
        "audit",
        help="show the store's audit log (who read, wrote, deleted, rotated what and when)",
        description=(
            "Show the audit log kept beside the store: time, user, process, operation, scope "
            "and key of every read, write, delete and rotation, never a value. --verify checks "
            "its HMAC chain (exit 1 and the first broken line if it was edited)."
        ),
    )
    au.add_argument("--verify", action="store_true", help="check the log's integrity chain")
    _listing_output(au)
    _common(au)
    au.set_defaults(func=_audit)

    rp = verbs.add_parser(
        "repair",
        help="accept the store as it is after a failed integrity check",
        description=(
            "After 'store integrity check failed' or 'store is older than its counter': if you "
            "trust the store as it is now (you restored an older backup on purpose, or edited "
            "it yourself), --accept re-seals it and resets its counter. Otherwise restore the "
            "latest backup instead."
        ),
    )
    rp.add_argument(
        "--accept", action="store_true", help="required: re-seal the store as it is now"
    )
    _common(rp)
    rp.set_defaults(func=_repair)

    st = verbs.add_parser(
        "status",
        help="where the store is, what it holds, where its master key comes from",
        description=(
            "Show the store's path, format version, number of scopes and secrets, where the "
            "master key comes from (REDACTOR_MASTER_KEY, a passphrase, the OS keychain or a key "
            "file, and whether it is the key that wrapped the store) and the result of the owner "
            "and mode checks. Never shows the key. Exits 1 if it reports a problem."
        ),
    )
    _output(st)
    _common(st)
    st.set_defaults(func=_status)

    mk = verbs.add_parser(
        "move-key",
        help="move a key file kept beside the database to the user's config directory",
        description=(
            "Stores made before redactor kept key files in the config directory have master.key "
            "in REDACTOR_HOME, where every copy of the store carries it. This moves it to its "
            "place (the path `redactor secrets status` shows); the store is not changed."
        ),
    )
    _common(mk)
    mk.set_defaults(func=_move_key)


# -- helpers -----------------------------------------------------------------------------------


def _run(args: argparse.Namespace, body) -> int:
    """Run ``body()``; its errors reach the one handler in main: a SecretsError as the
    :class:`ApiError` ``Error: CODE: message``, raised outside the ``except`` block so that no
    chain (``__context__``) leads back to the frames that handled a value."""
    if getattr(args, "unexpected", None):
        count = len(args.unexpected)
        hint = " (the value is read from stdin or a prompt)" if args.verb == "put-secret" else ""
        raise CommandError(
            f"{args.verb}: {count} unexpected argument(s), not shown as one may be a secret; "
            f"see redactor secrets {args.verb} --help{hint}"
        )
    fmt = getattr(args, "format", None)
    if fmt == "sarif":
        raise CommandError(
            f"{args.verb}: --format sarif is for findings (redactor scan, scrub, scrub-logs); "
            "a listing has none: use --format json"
        )
    if fmt is not None:
        args.output = fmt
    if getattr(args, "home", None):
        os.environ["REDACTOR_HOME"] = args.home
    failure: CommandError
    try:
        return int(body() or 0)
    except EOFError:
        failure = CommandError("no input; nothing was changed")
    except SecretsError as exc:
        # The API's codes; a local failure (the master key, ...) has none: a plain message.
        code = exc.error_code
        failure = CommandError(str(exc)) if code == "INTERNAL_ERROR" else ApiError(code, str(exc))
    raise failure


def _check_names(**positions: tuple[object, str]) -> None:
    """Validate each name given as ``what=(name, position)``; the message names the position
    (``argument 2``), never the name."""
    for what, (name, where) in positions.items():
        validate_name(name, what.replace("_", " "), where)


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
    host, profile, remote = args.host, args.profile, args.remote_scope
    if backend == "DATABRICKS" and host:
        backend = BACKEND_DATABRICKS_WORKSPACE  # a workspace's scope, not the local store's
    if principal and backend == BACKEND_VAULT:
        _warn(
            "a VAULT scope's access is decided by the server's policies: "
            "--initial-manage-principal is ignored"
        )
    elif principal and backend == BACKEND_DATABRICKS_WORKSPACE:
        _warn(
            "a workspace scope's ACLs are the workspace's (set them there, e.g. databricks "
            "secrets put-acl): --initial-manage-principal is ignored"
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
        where = "argument 1" if args.scope else "the scope field of --json"
        _check_names(scope_name=(scope, where))
        if backend != BACKEND_VAULT and vault_options:
            raise CommandError(
                "--vault-addr, --mount, --path and --secret-version need --scope-backend-type VAULT"
            )
        if backend != BACKEND_DATABRICKS_WORKSPACE:
            if profile or remote:
                raise CommandError(
                    "--profile and --remote-scope need --scope-backend-type DATABRICKS --host URL"
                )
            if host:
                raise CommandError("--host needs --scope-backend-type DATABRICKS")
        if backend in (BACKEND_VAULT, BACKEND_DATABRICKS_WORKSPACE) and (dns_name or resource_id):
            raise CommandError(
                "--dns-name and --resource-id need --scope-backend-type AZURE_KEYVAULT"
            )
        if backend == BACKEND_VAULT:
            create_scope(scope, backend, vault_options)
        elif backend == BACKEND_DATABRICKS_WORKSPACE:
            if not host:
                raise CommandError("a Databricks workspace scope needs --host https://WORKSPACE")
            options = {"host": validate_host(host)}
            if profile:
                options["profile"] = profile
            if remote:
                options["remote_scope"] = remote
            create_scope(scope, backend, options)
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
                # The field order of the Databricks SDK's SecretScope (Go marshals in order).
                item: dict[str, Any] = {"backend_type": s.backend}
                if s.backend == "AZURE_KEYVAULT":
                    # both fields are required in the SDK (no omitempty): "" when not given
                    item["keyvault_metadata"] = {
                        "dns_name": s.options.get("dns_name", ""),
                        "resource_id": s.options.get("resource_id", ""),
                    }
                elif s.backend == BACKEND_VAULT:
                    item["vault_metadata"] = dict(s.options)
                elif s.backend == BACKEND_DATABRICKS_WORKSPACE:
                    item["workspace_metadata"] = {
                        k: s.options[k]
                        for k in ("host", "profile", "remote_scope")
                        if k in s.options
                    }
                item["name"] = s.name
                out.append(item)
            _print_json_list(out)
        elif scopes:
            _table([(s.name, s.backend) for s in scopes], ("Scope", "Backend Type"))
        return 0

    return _run(args, body)


def _print_json_list(items: list[dict[str, Any]]) -> None:
    """A listing as the Databricks CLI renders one in JSON (its ``RenderIterator``): an array,
    one ``json.MarshalIndent(item, "  ", "  ")`` per item, empty as ``[`` blank line ``]``."""
    parts = [json.dumps(item, indent=2).replace("\n", "\n  ") for item in items]
    sys.stdout.write("[\n  " + ",\n  ".join(parts) + "\n]\n")


def _delete_scope(args: argparse.Namespace) -> int:
    def body() -> int:
        _check_names(scope_name=(args.scope, "argument 1"))
        get_store().delete_scope(args.scope)
        return 0

    return _run(args, body)


def _read_value(args: argparse.Namespace) -> str | bytes | None:
    """The value to store, or None after reporting an error."""
    if args.string_value is not None:
        _warn(ARGV_WARNING.format(flag="--string-value"))
        return args.string_value
    if args.bytes_value is not None:
        _warn(ARGV_WARNING.format(flag="--bytes-value"))
        # The bytes as typed, as the Databricks CLI takes them (it base64-encodes them itself
        # for the API); os.fsencode gives back bytes that are not UTF-8 as they were.
        return os.fsencode(args.bytes_value)
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
        _check_names(scope_name=(args.scope, "argument 1"), secret_key=(args.key, "argument 2"))
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
        _check_names(scope_name=(args.scope, "argument 1"))
        secrets = list_secrets(args.scope)
        if args.output == "json":
            _print_json_list(
                [
                    {"key": s.key, "last_updated_timestamp": s.last_updated_timestamp}
                    for s in secrets
                ]
            )
        elif secrets:
            _table(
                [(s.key, _iso(s.last_updated_timestamp)) for s in secrets],
                ("Key", "Last Updated"),
            )
        return 0

    return _run(args, body)


def _get_secret(args: argparse.Namespace) -> int:
    def body() -> int:
        _check_names(scope_name=(args.scope, "argument 1"), secret_key=(args.key, "argument 2"))
        found = [s for s in list_secrets(args.scope) if s.key.lower() == args.key.lower()]
        if not found:
            raise SecretNotFoundError(args.scope, args.key)
        # GetSecretResponse's shape; the value stays in the store ([REDACTED], as a notebook
        # shows a secret).
        print(json.dumps({"key": found[0].key, "value": "[REDACTED]"}, indent=2))
        return 0

    return _run(args, body)


def _delete_secret(args: argparse.Namespace) -> int:
    def body() -> int:
        _check_names(scope_name=(args.scope, "argument 1"), secret_key=(args.key, "argument 2"))
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
        if args.rewrap_only:
            _warn(
                "--rewrap-only keeps the old data key: anyone with the old master key and an "
                "old copy of the store can still read every value, including new ones"
            )
        result = store.rotate_key(
            to, new_key=new_key, passphrase=passphrase, reencrypt=not args.rewrap_only
        )
        names = {
            "file": "key file",
            "keyring": "OS keychain",
            "env": ENV_MASTER_KEY,
            "passphrase": "passphrase",
        }
        print(
            f"rotated the master key: {names[result.old_kind]} (key id {result.old_key_id}) -> "
            f"{names[result.new_kind]} (key id {result.new_key_id})"
        )
        if args.rewrap_only:
            print("the data key was re-wrapped; values were not re-encrypted")
        else:
            print(f"replaced the data key and re-encrypted {result.reencrypted} value(s)")
        if result.new_kind == "env":
            print(f"set {ENV_MASTER_KEY} to the new key wherever this store is opened")
        elif os.environ.get(ENV_MASTER_KEY):
            print(f"unset {ENV_MASTER_KEY}: the store no longer uses it")
        if result.new_kind == "passphrase":
            print("set REDACTOR_PASSPHRASE to the new passphrase, or enter it when asked")
        return 0

    return _run(args, body)


AUDIT_COLUMNS = ("Time", "User", "PID", "Operation", "Scope", "Key")


def _audit(args: argparse.Namespace) -> int:
    def body() -> int:
        store = get_store()
        if args.verify:
            result = store.verify_audit_log()
            if result.broken_at is not None:
                print(
                    f"audit log {store.audit_path}: line {result.broken_at} of {result.lines} "
                    f"fails the integrity chain: {result.reason}",
                    file=sys.stderr,
                )
                return 1
            print(f"audit log {store.audit_path}: {result.lines} line(s), chain intact")
            return 0
        entries = store.audit_entries()
        if args.output == "json":
            print(json.dumps({"entries": entries}, indent=2))
        elif entries:
            _table(
                [
                    tuple(
                        str(e.get(k, ""))
                        if not e.get("bad")
                        else ("(not JSON)" if k == "time" else "")
                        for k in ("time", "user", "pid", "op", "scope", "key")
                    )
                    for e in entries
                ],
                AUDIT_COLUMNS,
            )
        return 0

    return _run(args, body)


_SOURCE_NAMES = {
    "env": "REDACTOR_MASTER_KEY",
    "passphrase": "passphrase",
    "keyring": "OS keychain",
    "file": "key file",
}


def _status(args: argparse.Namespace) -> int:
    def body() -> int:
        report = store_status(get_store())
        key = report["master_key"]
        ok = report["modes"]["ok"] and not report["error"] and key["matches"] is not False
        if args.output == "json":
            print(json.dumps(report, indent=2))
            return 0 if ok else 1
        print(f"store:       {report['path']}" + ("" if report["exists"] else " (not created yet)"))
        if report["format_version"] is not None:
            print(f"format:      {report['format_version']}")
            print(f"contents:    {report['scopes']} scope(s), {report['secrets']} secret(s)")
        line = f"{_SOURCE_NAMES[key['source']]} {key['location']}"
        if key["key_id"]:
            line += (
                f" (wraps key id {key['key_id']}: "
                + {
                    True: "matches)",
                    False: "does not match)",
                    None: "not checked)",
                }[key["matches"]]
            )
        if key["detail"]:
            line += f"; {key['detail']}"
        print(f"master key:  {line}")
        if report["modes"]["problems"]:
            print("modes:       problems:")
            for problem in report["modes"]["problems"]:
                print(f"  - {problem}")
        else:
            print("modes:       ok")
        if report["error"]:
            print(f"error:       {report['error']}")
        return 0 if ok else 1

    return _run(args, body)


def _repair(args: argparse.Namespace) -> int:
    if not args.accept:
        raise CommandError(
            "repair re-seals the store as it is now, accepting any change made outside redactor; "
            "run it with --accept if that is what you want (else restore the latest backup)"
        )

    def body() -> int:
        store = get_store()
        problem = store.repair()
        if problem:
            print(f"accepted the store as it is now (it had failed: {problem})")
        else:
            print("the store passed its integrity check; re-sealed it anyway")
        return 0

    return _run(args, body)


def _move_key(args: argparse.Namespace) -> int:
    def body() -> int:
        store = get_store()
        wrapping = store.wrapping_info()
        if wrapping is None:
            raise CommandError(f"there is no secret store in {store.home} yet")
        if wrapping.kind != "file":
            raise CommandError(
                f"the store in {store.home} is locked with the {_SOURCE_NAMES[wrapping.kind]}, "
                "not a key file: there is nothing to move"
            )
        moved = local_keys.move_key_file(store.home, wrapping)
        if moved is None:
            print(f"the key file is in its place already: {local_keys.key_file_path(store.home)}")
        elif moved[0].exists():
            print(f"copied the key file {moved[0]} -> {moved[1]} (found in another store's place)")
        else:
            print(f"moved the key file {moved[0]} -> {moved[1]}")
        return 0

    return _run(args, body)
