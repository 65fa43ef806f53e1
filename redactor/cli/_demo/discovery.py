"""Demo step: no flag, no configuration: a token the process already holds is hidden.

A temporary HOME (so the user's own credential files play no part) and ``DATABRICKS_TOKEN`` in the
environment, as a Databricks CLI user has it next to ``~/.databrickscfg``; ``redactor run`` with no
source flag and ``--no-config`` finds it by discovery and hides it.
"""

from __future__ import annotations

import os
import subprocess
import sys

from redactor.cli._demo import DemoContext

TITLE = "discovery: a token hidden without any flag"

TOKEN = "dapi0123456789abcdef0123456789abcdef"  # noqa: S105 (a fake token, Databricks-shaped)
CHILD = (
    "import os\n"
    "print('connecting to https://adb-1234.azuredatabricks.net with', os.environ['DATABRICKS_TOKEN'])\n"
)
# What discovery reads is the environment and the files of the temporary HOME; the other
# variables are kept (PATH, the interpreter's own) minus any secret-named one of the user's.
_SECRETISH = ("_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD", "_API_KEY", "_KEY", "_CREDENTIALS")


def run(ctx: DemoContext) -> None:
    home = ctx.workdir / "home"
    home.mkdir()
    (home / ".databrickscfg").write_text(
        f"[DEFAULT]\nhost = https://adb-1234.azuredatabricks.net\ntoken = {TOKEN}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith(_SECRETISH)}
    env.update(HOME=str(home), USERPROFILE=str(home), DATABRICKS_TOKEN=TOKEN)
    env.pop("REDACTOR_DISCOVER", None)
    ctx.say("$ export HOME=$(mktemp -d) DATABRICKS_TOKEN=dapi...   # and ~/.databrickscfg")
    ctx.say("$ redactor run -- python connect.py          # no --scope, no --secret-env")
    ran = subprocess.run(
        [sys.executable, "-m", "redactor", "run", "--no-config", "--", sys.executable, "-c", CHILD],
        capture_output=True,
        timeout=60,
        env=env,
        cwd=ctx.workdir,
    )
    ctx.say("  stdout: " + ran.stdout.decode("utf-8", "replace").rstrip("\n"))
    ctx.check(
        ran.returncode == 0
        and ran.stdout == b"connecting to https://adb-1234.azuredatabricks.net with [REDACTED]\n",
        "the token found by discovery is hidden; the host is not",
    )
    listed = subprocess.run(
        [sys.executable, "-m", "redactor", "sources", "--no-config"],
        capture_output=True,
        timeout=60,
        env=env,
        cwd=ctx.workdir,
    )
    ctx.say("$ redactor sources")
    for line in listed.stdout.decode("utf-8", "replace").splitlines():
        ctx.say("  " + line)
    text = listed.stdout.decode("utf-8", "replace")
    ctx.check(
        listed.returncode == 0 and "env:DATABRICKS_TOKEN" in text and TOKEN not in text,
        "redactor sources names it (env:DATABRICKS_TOKEN), never shows its value",
    )
