"""What ``redactor secrets status`` reports: where the store is, what it holds, where its master
key comes from and whether its files pass the mode checks; never the key itself.

Nothing here prompts, derives a passphrase or unwraps the data key: the report says which key
source would be used and, where that costs nothing (a key file, ``REDACTOR_MASTER_KEY``, a
keychain entry), whether its key id is the one that wrapped the store's data key.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from redactor.sources.scopes.errors import MasterKeyError, SecretsError
from redactor.sources.scopes.local import crypto, db, keychain, keys, perms

if TYPE_CHECKING:  # store.py does not import this module; the CLI passes a store in
    from redactor.sources.scopes.local.store import LocalStore

__all__ = ["store_status"]


def _key_report(store: LocalStore, wrapping: keys.WrappingInfo | None) -> dict[str, Any]:
    """The master key's source as :func:`.keys.resolve_master_key` would pick it."""
    env = os.environ if store._environ is None else store._environ
    report: dict[str, Any] = {
        "wrapped_by": None if wrapping is None else wrapping.kind,
        "key_id": None if wrapping is None else wrapping.key_id,
        "source": None,
        "location": None,
        "matches": None,
        "detail": "",
    }

    def matches(key: bytes) -> bool | None:
        return None if wrapping is None else keys.key_id_of(key) == wrapping.key_id

    if env.get(keys.ENV_MASTER_KEY):
        report.update(source="env", location=keys.ENV_MASTER_KEY)
        try:
            report["matches"] = matches(keys.parse_master_key(env[keys.ENV_MASTER_KEY]))
        except MasterKeyError as exc:
            report.update(matches=False, detail=str(exc))
        return report
    if env.get(keys.ENV_PASSPHRASE) or (wrapping and wrapping.kind == keys.KIND_PASSPHRASE):
        where = keys.ENV_PASSPHRASE if env.get(keys.ENV_PASSPHRASE) else "a prompt on a terminal"
        report.update(source="passphrase", location=where, detail="not checked (a KDF run)")
        return report
    if wrapping and wrapping.kind == keys.KIND_ENV:
        report.update(source="env", location=keys.ENV_MASTER_KEY, matches=False, detail="not set")
        return report
    user = keys.store_location_id(store.home)
    if (wrapping and wrapping.kind == keys.KIND_KEYRING) or (
        wrapping is None and keychain.available(env)
    ):
        report.update(
            source="keyring",
            location=f"{keychain.SERVICE}/{user}",
            detail=f"backend {keychain.backend_name(env)}",
        )
        if not keychain.available(env):
            report.update(
                matches=False,
                detail="no usable keychain here (install redactor[keyring] and a backend)",
            )
        elif wrapping is not None:
            try:
                text = keychain.get(user, env)
                report["matches"] = (
                    False if text is None else matches(keys.parse_master_key(text, "keychain"))
                )
                if text is None:
                    report["detail"] += "; no entry"
            except (OSError, MasterKeyError) as exc:
                report.update(matches=False, detail=str(exc))
        return report
    report.update(source="file", location=str(keys.key_file_path(store.home)))
    if wrapping is None:
        exists = os.path.lexists(store.path)
        report["detail"] = "not checked" if exists else "created with the store"
        return report
    try:
        found = keys.find_key_file(store.home, wrapping)
    except (MasterKeyError, SecretsError) as exc:
        report.update(matches=False, detail=str(exc))
        return report
    if found is None:
        report.update(matches=False, detail="missing")
    else:
        key_path, key = found
        report.update(location=str(key_path), matches=matches(key))
        if key_path != keys.key_file_path(store.home):
            report["detail"] = (
                f"not in its place: run redactor secrets move-key --home {store.home}"
            )
    return report


def store_status(store: LocalStore) -> dict[str, Any]:
    """The report as a JSON-ready dict (see the module docstring)."""
    env = os.environ if store._environ is None else store._environ
    strict = perms.strict_modes(env)
    store_problems = perms.store_problems(store.home, db.DB_NAME)
    key_problems = keys.key_dir_problems(store.home)  # strict whatever REDACTOR_STRICT_MODES says
    problems = store_problems + key_problems
    blocking = [p for p in store_problems if p.fatal or strict] + key_problems
    out: dict[str, Any] = {
        "home": str(store.home),
        "path": str(store.path),
        "exists": os.path.lexists(store.path),
        "format_version": None,
        "scopes": None,
        "secrets": None,
        "master_key": None,
        "modes": {
            "ok": not problems,
            "strict": strict,
            "problems": [p.message("refused" if p in blocking else "allowed") for p in problems],
        },
        "error": None,
    }
    wrapping = None
    if not blocking:
        try:
            with store._connect(create=False) as conn:
                if conn is not None:
                    with db.transaction(conn, write=False):
                        meta = db.read_meta(conn, store.path)
                        wrapping = crypto.wrapping_of(meta)
                        (fmt,) = conn.execute("PRAGMA user_version").fetchone()
                        (scopes,) = conn.execute("SELECT count(*) FROM scopes").fetchone()
                        (secrets,) = conn.execute("SELECT count(*) FROM secrets").fetchone()
                    out.update(format_version=int(fmt), scopes=int(scopes), secrets=int(secrets))
        except SecretsError as exc:
            out["error"] = str(exc)
    out["master_key"] = _key_report(store, wrapping)
    return out
