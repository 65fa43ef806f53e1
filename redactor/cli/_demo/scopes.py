"""Demo step: a temporary local scope, a secret stored through the CLI, fetched with dbutils."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import redactor
from redactor import Redactor, dbutils
from redactor.cli._demo import DemoContext

TITLE = "Scopes: a local encrypted scope and dbutils.secrets.get"

# Fake values, made up for the demo.
DEMO_SECRETS = {
    "sql-db-user": "demo_sql_user_7f3a",
    "sql-db-password": "Demo-P@ssw0rd-4e1b-not-real",
}
SEED = (
    'username = dbutils.secrets.get(scope="kv-scope", key="sql-db-user")\n'
    'password = dbutils.secrets.get(scope="kv-scope", key="sql-db-password")\n'
    'jdbc_url = f"jdbc:sqlserver://<your-server>.database.windows.net;'
    'databaseName=<your-db>;user={username};password={password}"'
)


@contextlib.contextmanager
def _environment(home: Path) -> Iterator[dict[str, str]]:
    """This process and its children use the demo store only (no REDACTOR_* of the user's)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("REDACTOR_")}
    for k in saved:
        del os.environ[k]
    os.environ["REDACTOR_HOME"] = str(home)
    try:
        yield dict(os.environ)
    finally:
        del os.environ["REDACTOR_HOME"]
        os.environ.update(saved)


def _cli(ctx: DemoContext, env: dict[str, str], *args: str, stdin: str = "") -> str:
    shown = "$ redactor secrets " + " ".join(args)
    if stdin:
        shown = "$ printf '%s' \"$VALUE\" | redactor secrets " + " ".join(args)
    ctx.say(shown)
    proc = subprocess.run(
        [sys.executable, "-m", "redactor", "secrets", *args],
        input=stdin.encode(),
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    out = proc.stdout.decode() + proc.stderr.decode()
    for line in out.splitlines():
        ctx.say("  " + line)
    ctx.check(proc.returncode == 0, f"redactor secrets {args[0]} exits 0")
    return out


def run(ctx: DemoContext) -> None:
    home = ctx.workdir / "redactor-home"
    with _environment(home) as env:
        ctx.say(f"REDACTOR_HOME={home.name}/ (a temporary store for this demo)")
        _cli(ctx, env, "create-scope", "kv-scope")
        for key, value in DEMO_SECRETS.items():
            _cli(ctx, env, "put-secret", "kv-scope", key, stdin=value)
        listing = _cli(ctx, env, "list-secrets", "kv-scope")
        ctx.check(
            all(k in listing for k in DEMO_SECRETS)
            and not any(v in listing for v in DEMO_SECRETS.values()),
            "list-secrets shows keys and times, never values",
        )
        on_disk = b"".join(p.read_bytes() for p in home.iterdir() if p.is_file())
        ctx.check(
            not any(v.encode() in on_disk for v in DEMO_SECRETS.values()),
            "no plaintext value in the store's files (AES-256-GCM under a wrapped data key)",
        )

        fresh = Redactor()
        previous = redactor.set_redactor(fresh)
        try:
            ctx.say("\nthe seed's notebook code, with `from redactor import dbutils`:")
            for line in SEED.splitlines():
                ctx.say("  >>> " + line)
            scope: dict[str, object] = {"dbutils": dbutils}
            exec(SEED, scope)  # noqa: S102 - the fixed seed snippet above
            username, password = scope["username"], scope["password"]
            ctx.check(
                (username, password)
                == (DEMO_SECRETS["sql-db-user"], DEMO_SECRETS["sql-db-password"]),
                "dbutils.secrets.get returns the values stored through the CLI",
            )
            ctx.check(
                fresh.secret_names == ["kv-scope/sql-db-user", "kv-scope/sql-db-password"],
                "each fetched value was registered with the process-wide redactor as scope/key",
            )
            printed = f"{username}\n{password}\n{scope['jdbc_url']}\n"
            stream = fresh.stream()
            shown = stream.feed(printed) + stream.flush()
            ctx.say("  >>> print(username); print(password); print(jdbc_url)")
            for line in shown.splitlines():
                ctx.say("  " + line)
            lines = shown.splitlines()
            ctx.check(
                lines[:2] == ["[REDACTED]", "[REDACTED]"], "printing either value shows [REDACTED]"
            )
            ctx.check(
                lines[2].endswith("user=[REDACTED];password=[REDACTED]")
                and redactor.redact(printed) == shown,
                "the JDBC URL built from them shows [REDACTED] for both",
            )
        finally:
            redactor.set_redactor(previous)  # type: ignore[arg-type]
