"""Demo step: tokens nobody registered, hidden by their shape.

A program prints a database password (the one registered secret, ``--secret-env``), a GitHub
token and an AWS key pair that no source, file or variable knows. ``redactor run`` hides all four:
the password because it is registered, the others because the default detectors recognise them
(the GitHub token by its prefix, length and CRC32 checksum; the AWS key id by its ``AKIA``
prefix, and the secret key after ``aws_secret_access_key=``). The same run with ``--no-detect``
lets the three through, which the step counts without printing them.

The tokens are made here, to each format's specification, from fixed characters: they are valid
in shape only and belong to no account.
"""

from __future__ import annotations

import os
import subprocess
import sys

from redactor.cli._demo import DemoContext
from redactor.engine.tokens import base62_crc32

TITLE = "detection: a GitHub token and an AWS key pair that nobody registered"


def github_token(prefix: str, entropy: str) -> str:
    """``prefix`` + 30 base62 characters + their checksum, as GitHub makes its tokens (the
    catalog's own :func:`~redactor.engine.tokens.base62_crc32`)."""
    assert len(entropy) == 30 and entropy.isascii() and entropy.isalnum()
    return prefix + entropy + base62_crc32(entropy)


GITHUB = github_token("ghp_", "R3dact0rDem0T0kenN0tReal1y2345")
AWS_KEY_ID = "AKIAQX7DEMONOTREAL42"  # AKIA + 16 of [A-Z2-7]
AWS_SECRET = "q9Vb2Lr7Tz0Xw4Kd8Hn1/s5Pc3Yf6Gj+DemoOnly"  # noqa: S105 (made up: 40 base64 characters)
PASSWORD = "pg-demo-Pa55word-registered"  # noqa: S105 (the one registered secret)
CHILD = (
    "import os\n"
    "print('db password:', os.environ['DEMO_DB_PASSWORD'])\n"
    f"print('git remote token: {GITHUB}')\n"
    f"print('aws_access_key_id = {AWS_KEY_ID}')\n"
    f"print('aws_secret_access_key = {AWS_SECRET}')\n"
)
EXPECTED = (
    b"db password: [REDACTED]\n"
    b"git remote token: [REDACTED]\n"
    b"aws_access_key_id = [REDACTED]\n"
    b"aws_secret_access_key = [REDACTED]\n"
)


def _run(ctx: DemoContext, *flags: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DEMO_DB_PASSWORD": PASSWORD, "REDACTOR_DISCOVER": "0"}
    env.pop("REDACTOR_DETECT", None)
    command = [sys.executable, "-m", "redactor", "run", "--no-config"]
    command += ["--secret-env", "DEMO_DB_PASSWORD", *flags, "--", sys.executable, "-c", CHILD]
    return subprocess.run(command, capture_output=True, timeout=60, env=env, cwd=ctx.workdir)


def run(ctx: DemoContext) -> None:
    ctx.say("$ redactor run --secret-env DEMO_DB_PASSWORD -- python deploy.py")
    ctx.say("  (deploy.py prints the password, a GitHub token ghp_... with a valid checksum,")
    ctx.say("   and an AWS key id AKIA... with its secret key: only the password is registered)")
    ran = _run(ctx)
    for line in ran.stdout.decode("utf-8", "replace").splitlines():
        ctx.say("  stdout: " + line)
    ctx.check(
        ran.returncode == 0 and ran.stdout == EXPECTED,
        "the registered password and the three unregistered tokens are all hidden",
    )
    off = _run(ctx, "--no-detect")
    passed = [t for t in (GITHUB, AWS_KEY_ID, AWS_SECRET) if t.encode() in off.stdout]
    ctx.say("$ redactor run --secret-env DEMO_DB_PASSWORD --no-detect -- python deploy.py")
    ctx.check(
        off.returncode == 0 and len(passed) == 3 and PASSWORD.encode() not in off.stdout,
        f"with --no-detect only the password is hidden ({len(passed)} tokens pass, not shown)",
    )
