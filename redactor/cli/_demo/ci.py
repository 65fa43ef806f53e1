"""Demo step: a CI log through a real `redactor filter` process, and `redactor run` on a command.

Both run as subprocesses of this interpreter, so the demo exercises the installed command-line
tool end to end: argument parsing, secret sources, the streaming pump and ``::add-mask::``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from redactor.cli._demo import DemoContext
from redactor.config import Settings
from redactor.sources.load import build_redactor

TITLE = "CI: a log piped through redactor filter, and redactor run"

# Lines a later build step prints: it announces a value it generated at runtime with the GitHub
# Actions workflow command, then that value shows up in a URL and in a header.
ADD_MASK_LINES = (
    b"2026-11-28T10:00:08Z INFO  minting a short-lived upload token\n"
    b"::add-mask::upl_7Qx9vR2mK4pT8wZ1\n"
    b"2026-11-28T10:00:09Z DEBUG PUT https://cdn.example.com/upload?sig=upl_7Qx9vR2mK4pT8wZ1\n"
    b"2026-11-28T10:00:09Z DEBUG > X-Upload: dXBsXzdReDl2UjJtSzRwVDh3WjE=\n"
)
ADD_MASK_EXPECTED = (
    b"2026-11-28T10:00:08Z INFO  minting a short-lived upload token\n"
    b"::add-mask::[REDACTED]\n"
    b"2026-11-28T10:00:09Z DEBUG PUT https://cdn.example.com/upload?sig=[REDACTED]\n"
    b"2026-11-28T10:00:09Z DEBUG > X-Upload: [REDACTED]\n"
)

CHILD = (
    "import os, sys\n"
    "t = os.environ['DEMO_DEPLOY_TOKEN']\n"
    "print(f'deploying with token {t}')\n"
    "print(f'warning: token {t} expires in 5 minutes', file=sys.stderr)\n"
    "sys.exit(3)\n"
)


def _redactor() -> list[str]:
    return [sys.executable, "-m", "redactor"]


def run(ctx: DemoContext) -> None:
    secrets = ctx.fixture("demo-secrets.env")
    log = ctx.fixture("ci-demo.log").read_bytes()
    (ctx.workdir / "build-step.log").write_bytes(ADD_MASK_LINES)
    stream = log + ADD_MASK_LINES
    ctx.say(
        "$ cat fixtures/ci-demo.log build-step.log | "
        "redactor filter --secrets-file fixtures/demo-secrets.env"
    )
    result = subprocess.run(
        [*_redactor(), "filter", "--no-config", "--secrets-file", str(secrets)],
        input=stream,
        capture_output=True,
        timeout=60,
        cwd=ctx.workdir,
    )
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        ctx.say("  " + line)
    # The same engine in this process gives the reference for the fixture's part.
    reference = build_redactor(Settings(secrets_file=(secrets,))).redact_bytes(log)
    ctx.check(result.returncode == 0 and result.stderr == b"", "redactor filter exited 0, quietly")
    ctx.check(
        result.stdout == reference + ADD_MASK_EXPECTED,
        "the fixture log comes out exactly as the engine redacts it in-process",
    )
    ctx.check(reference.count(b"[REDACTED]") == 9, "all 9 disguised secrets in the log replaced")
    ctx.check(
        result.stdout.endswith(ADD_MASK_EXPECTED),
        "an ::add-mask:: line registered a runtime value: masked in its own echo, in a URL "
        "and in base64 for the rest of the stream",
    )

    ctx.say("\n$ redactor run --secret-env DEMO_DEPLOY_TOKEN -- python deploy.py")
    env = {**os.environ, "DEMO_DEPLOY_TOKEN": "dpl_demo_4f3b2a1c0d9e8f7a"}
    ran = subprocess.run(
        [
            *_redactor(),
            "run",
            "--no-config",
            "--secret-env",
            "DEMO_DEPLOY_TOKEN",
            "--",
            sys.executable,
            "-c",
            CHILD,
        ],
        capture_output=True,
        timeout=60,
        env=env,
        cwd=ctx.workdir,
    )
    ctx.say("  stdout: " + ran.stdout.decode("utf-8", "replace").rstrip("\n"))
    ctx.say("  stderr: " + ran.stderr.decode("utf-8", "replace").rstrip("\n"))
    ctx.say(f"  exit status: {ran.returncode}")
    ctx.check(ran.stdout == b"deploying with token [REDACTED]\n", "stdout redacted")
    ctx.check(
        ran.stderr == b"warning: token [REDACTED] expires in 5 minutes\n",
        "stderr redacted, and kept apart from stdout",
    )
    ctx.check(ran.returncode == 3, "the command's exit status (3) passed through")
