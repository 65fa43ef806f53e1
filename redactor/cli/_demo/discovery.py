"""Demo step: no flag, no configuration: a token the process already holds is hidden.

A temporary HOME (so the user's own credential files play no part) holding a Databricks CLI
``~/.databrickscfg``; ``redactor run`` with no source flag and ``--no-config`` finds its token by
discovery and hides it. ``--no-detect``, so that what is shown is discovery alone (the token's
``dapi`` shape would be caught by the detectors too).
"""

from __future__ import annotations

import os
import subprocess
import sys

from redactor.cli._demo import DemoContext

TITLE = "discovery: a token hidden without any flag"

TOKEN = "dapi0123456789abcdef0123456789abcdef"  # noqa: S105 (a fake token, Databricks-shaped)
CHILD = (
    "import configparser, os\n"
    "cfg = configparser.ConfigParser()\n"
    "cfg.read(os.path.expanduser('~/.databrickscfg'))\n"
    "print('connecting to', cfg['DEFAULT']['host'], 'with', cfg['DEFAULT']['token'])\n"
)
CHILD_ARGV = (sys.executable, "-c", CHILD)
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
    env.update(HOME=str(home), USERPROFILE=str(home))
    env.pop("REDACTOR_DISCOVER", None)
    ctx.say("$ export HOME=$(mktemp -d)   # with a ~/.databrickscfg: host and token")
    ctx.say("$ redactor run --no-detect -- python connect.py   # no --scope, no --secret-env")
    ran = subprocess.run(
        [sys.executable, "-m", "redactor", "run", "--no-config", "--no-detect", "--", *CHILD_ARGV],
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
        listed.returncode == 0 and "databrickscfg: 1 secret" in text and TOKEN not in text,
        "redactor sources names where it came from (~/.databrickscfg), never its value",
    )
