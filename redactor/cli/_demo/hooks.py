"""Demo step: a script that leaks a (fake) token through print, logging and structlog, run once
as it is and once after ``redactor.install()``.

It runs in a child process (real stdout/stderr pipes, a real exit, so held-back text and atexit
handling are part of what is shown). The token reaches the child through its environment, never
its command line. structlog is optional (``redactor[structlog]``): without it the step shows the
other four leaks and says how to see the fifth.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from redactor.cli._demo import DemoContext

TITLE = "Live hooks: print, logging and structlog after redactor.install()"

SCRIPT = textwrap.dedent(
    """
    import logging, os, sys
    try:
        import structlog
    except ImportError:  # pip install 'redactor[structlog]' adds its line
        structlog = None
    token = os.environ["DEMO_API_TOKEN"]
    if os.environ.get("DEMO_INSTALL") == "1":
        import redactor
        redactor.add_secret(token, "API_TOKEN")
        redactor.install()
    logging.basicConfig(stream=sys.stdout, format="logging: %(levelname)s %(message)s")
    if structlog is not None:
        structlog.configure(
            processors=[redactor.structlog_processor, structlog.processors.KeyValueRenderer()]
            if os.environ.get("DEMO_INSTALL") == "1"
            else [structlog.processors.KeyValueRenderer()],
            logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        )
    print("print: calling the API with", token)
    logging.getLogger("client").warning("request failed, token=%s", token)
    if structlog is not None:
        structlog.get_logger().info("retry", token=token, attempt=2)
    print("stderr: Authorization: Bearer " + token, file=sys.stderr)
    sys.stdout.write("split write: " + token[:8])
    sys.stdout.write(token[8:] + "\\n")
    print("print: done, nothing secret here")
    """
)


def _run(token: str, install: bool) -> tuple[list[str], int]:
    env = dict(os.environ, DEMO_API_TOKEN=token, DEMO_INSTALL="1" if install else "0")
    env["PYTHONUNBUFFERED"] = (
        "1"  # the same line order in both runs (stdout and stderr share a pipe)
    )
    env.pop("PYTHONSTARTUP", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        timeout=60,
        check=False,
    )
    return proc.stdout.decode("utf-8", "replace").splitlines(), proc.returncode


def _has_structlog() -> bool:
    """Is structlog importable here (the child runs with this same interpreter)?"""
    try:
        import structlog  # noqa: F401
    except ImportError:
        return False
    return True


def run(ctx: DemoContext) -> None:
    from dotenv import dotenv_values

    token = dotenv_values(ctx.fixture("demo-secrets.env"), interpolate=False)["API_TOKEN"] or ""
    ctx.check(len(token) >= 6, "the fixture holds the fake API_TOKEN")

    before, code = _run(token, install=False)
    ctx.check(code == 0, "the script runs as it is")
    with_structlog = _has_structlog()
    if not with_structlog:
        ctx.say("(structlog is not installed: pip install 'redactor[structlog]' adds its line)")
    leaky = 5 if with_structlog else 4
    what = "print, logging, structlog, stderr, split write"
    if not with_structlog:
        what = what.replace(" structlog,", "")
    ctx.say("without redactor (the script's output, printed here with the token masked):")
    for line in before:
        ctx.say("  " + line.replace(token, "<API_TOKEN leaked here>"))
    leaks = sum(line.count(token) for line in before)
    ctx.check(leaks == leaky, f"{leaky} lines leak the token: {what}")

    after, code = _run(token, install=True)
    ctx.check(code == 0, "the script runs after redactor.install()")
    ctx.say("after redactor.add_secret(token) and redactor.install():")
    for line in after:
        ctx.say("  " + line)
    ctx.check(not any(token in line for line in after), "the token appears in no output line")
    ctx.check(
        sum(line.count("[REDACTED]") for line in after) == leaky,
        f"{leaky} [REDACTED] markers, one per leak, including the write split in two",
    )
    ctx.check(
        [line for line in before if token not in line]
        == [line for line in after if "[REDACTED]" not in line],
        "every line without the secret is unchanged",
    )
