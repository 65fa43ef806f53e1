"""Demo step: a command whose environment names a secret, ``{{secrets/kv-scope/...}}``, run
through a real ``redactor run``, which resolves it from the demo's local scope, hides it in the
command's output, and stops before running anything when a reference cannot be resolved."""

from __future__ import annotations

import subprocess
import sys

from redactor.cli._demo import DemoContext
from redactor.cli._demo.scopes import DEMO_SECRETS, _cli, _environment

TITLE = "References: {{secrets/kv-scope/key}} in a command's environment, via redactor run"

ENV_FILE = (
    "# committed with the code: it names the secret, never holds it\n"
    "DB_URL=jdbc:sqlserver://db.example.net;user=etl;password={{secrets/kv-scope/sql-db-password}}\n"
    "DB_PASSWORD={{secrets/kv-scope/sql-db-password}}\n"
    "LOG_LEVEL=info\n"
)
CHILD = (
    "import os\n"
    "url, password = os.environ['DB_URL'], os.environ['DB_PASSWORD']\n"
    "print('connecting to', url)\n"
    "print('password:', password)\n"
    "print('log level:', os.environ['LOG_LEVEL'])\n"
    "print('got', len(password), 'characters; still a reference:', '{{secrets/' in url)\n"
)


def _run(ctx: DemoContext, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess:
    ctx.say(f"$ redactor run {' '.join(flags)} -- python connect.py")
    command = [sys.executable, "-c", CHILD]
    proc = subprocess.run(
        [sys.executable, "-m", "redactor", "run", "--no-config", *flags, "--", *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=ctx.workdir,
        timeout=60,
        check=False,
    )
    for line in (proc.stdout + proc.stderr).splitlines():
        ctx.say("  " + line)
    return proc


def run(ctx: DemoContext) -> None:
    home = ctx.workdir / "references-home"
    password = DEMO_SECRETS["sql-db-password"]
    with _environment(home) as env:
        ctx.say(f"REDACTOR_HOME={home.name}/ (a temporary store for this step)")
        _cli(ctx, env, "create-scope", "kv-scope")
        _cli(ctx, env, "put-secret", "kv-scope", "sql-db-password", stdin=password)
        (ctx.workdir / "app.env").write_text(ENV_FILE, encoding="utf-8")
        ctx.say("$ cat app.env")
        for line in ENV_FILE.splitlines():
            ctx.say("  " + line)

        proc = _run(ctx, env, "--env-file", "app.env")
        ctx.check(proc.returncode == 0 and proc.stderr == "", "redactor run exited 0, quietly")
        ctx.check(
            proc.stdout.splitlines()
            == [
                "connecting to [REDACTED]",
                "password: [REDACTED]",
                "log level: info",
                f"got {len(password)} characters; still a reference: False",
            ],
            "the command got the value from the scope, and printed it as [REDACTED] (the "
            "whole URL too: a partly-reference value is registered whole)",
        )
        ctx.check(password not in proc.stdout + proc.stderr, "the value never appears")

        (ctx.workdir / "app.env").write_text(
            ENV_FILE.replace("sql-db-password}}\nLOG", "sql-db-pasword}}\nLOG"), encoding="utf-8"
        )
        ctx.say("\nwith a typo in one key (sql-db-pasword):")
        proc = _run(ctx, env, "--env-file", "app.env")
        ctx.check(
            proc.returncode == 2
            and proc.stdout == ""
            and proc.stderr
            == "redactor: error: variable DB_PASSWORD (env file app.env): cannot resolve "
            "{{secrets/kv-scope/sql-db-pasword}}: secret 'sql-db-pasword' does not exist in "
            "scope 'kv-scope'\n",
            "an unresolvable reference stops redactor run before the command starts (exit 2), "
            "naming the variable, scope and key",
        )
