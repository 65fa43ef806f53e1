"""After ``redactor.install()`` every record that any handler emits is redacted, however the
handler was attached: ``logger.handlers = [...]``, ``.append``, ``basicConfig(handlers=...)``,
``dictConfig``, before ``install()``, a ``QueueListener``'s target, a direct ``handler.handle``,
``logging.lastResort``. Each style runs in a real interpreter, with ``%r``, ``%s``, mapping args,
``exc_info``, ``stack_info`` and ``extra``; ``uninstall()`` undoes it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

R = "[REDACTED]"
SECRETS = ["sk-live-0123456789abcdef", "Tr0ub4dor'3xyzQ", "40512938776012"]

pytestmark = pytest.mark.usefixtures("each_engine")

# Every style leaves `h` (a StreamHandler on sys.__stdout__, the raw stream) reached by `log`.
STYLES = {
    "assign": "log.handlers = [h]",
    "append": "log.handlers.append(h)",
    "basicConfig": "logging.basicConfig(handlers=[h], level=logging.DEBUG, force=True); log = logging.getLogger()",
    "dictConfig": """\
import logging.config
logging.config.dictConfig({
    "version": 1,
    "handlers": {"out": {"class": "logging.StreamHandler", "stream": "ext://sys.__stdout__",
                         "formatter": "f"}},
    "formatters": {"f": {"format": FORMAT}},
    "loggers": {"app": {"handlers": ["out"], "level": "DEBUG", "propagate": False}},
})""",
    "queue": """\
import logging.handlers, queue
q = queue.SimpleQueue()
log.addHandler(logging.handlers.QueueHandler(q))
listener = logging.handlers.QueueListener(q, h)  # h itself is never attached to a logger
listener.start()""",
    "lastResort": "logging.lastResort.setFormatter(logging.Formatter(FORMAT)); logging.lastResort.setLevel(0)",
}

SCRIPT = """\
import logging, os, sys
s = os.environ["DEMO_SECRET"]
FORMAT = "%(levelname)s %(message)s"
log = logging.getLogger("app")
log.setLevel(logging.DEBUG)
log.propagate = False
h = logging.StreamHandler(sys.__stdout__)
h.setFormatter(logging.Formatter(FORMAT))
{before}
import redactor
redactor.add_secret(s, "DEMO_SECRET")
redactor.install()
sys.stderr = sys.__stderr__  # only the logging hook stands between a record and the output
{after}
log.info("pct-s %s", s)
log.info("pct-r %r", s)
log.info("mapping %(k)s", {{"k": s}})
log.info("tuple %r", (s, 1))
log.info("inline " + s)
try:
    raise ValueError("boom " + s)
except ValueError:
    log.exception("failed")
def where():
    log.info("stack", stack_info=True)  # {secret_literal}
where()
h.flush()
{finish}
sys.__stdout__.flush()
redactor.uninstall()
log.warning("after %s", s[:4])
"""


def run_style(style: str, when: str, secret: str) -> str:
    setup = STYLES[style]
    finish = "listener.stop()" if style == "queue" else ""
    code = SCRIPT.format(
        before=setup if when == "before" else "",
        after=setup if when == "after" else "",
        finish=finish,
        secret_literal=secret.replace("\\", "\\\\"),
    )
    env = dict(os.environ, DEMO_SECRET=secret, PYTHONIOENCODING="utf-8")
    with open(os.devnull, "rb") as stdin, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "script.py")  # a file: stack_info shows its source lines
        with open(path, "w", encoding="utf-8") as f:
            f.write(code)
        proc = subprocess.run(
            [sys.executable, path],
            stdin=stdin,
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode() + proc.stderr.decode()


def run_code(code: str) -> str:
    """The stdout of ``code`` run in a child with DEMO_SECRET set to the first secret."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env=dict(os.environ, DEMO_SECRET=SECRETS[0]),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("secret", SECRETS, ids=["token", "quote", "digits"])
def test_every_attachment_style_is_redacted(style, when, secret):
    out = run_style(style, when, secret)
    assert secret not in out
    quoted = repr(secret)
    rendered_r = quoted.replace(secret, R) if secret in quoted else R
    lines = out.splitlines()
    assert f"INFO pct-s {R}" in lines
    assert f"INFO pct-r {rendered_r}" in lines
    assert f"INFO mapping {R}" in lines
    assert f"INFO tuple ({rendered_r}, 1)" in lines
    assert f"INFO inline {R}" in lines
    assert "ERROR failed" in lines
    assert f"ValueError: boom {R}" in lines
    assert "Stack (most recent call last):" in lines
    assert any(line.endswith(f"# {R}") for line in lines)  # the source line shown in stack_info
    if style != "queue":  # (the listener has stopped)
        # uninstall() restored logging: the prefix (not a secret) goes out as it is.
        assert lines[-1].endswith(f"after {secret[:4]}")


def test_direct_handle_extra_and_one_scan_per_record(tmp_path):
    code = textwrap.dedent(
        """
        import logging, os, sys, redactor
        s = os.environ["DEMO_SECRET"]

        class Counting(redactor.Redactor):
            calls = 0
            def redact(self, text):
                Counting.calls += 1
                return super().redact(text)

        r = Counting()
        r.add(s, "DEMO_SECRET")
        redactor.install(redactor=r)
        fmt = logging.Formatter("%(name)s %(message)s %(acct)s")
        log = logging.getLogger("app")
        log.propagate = False
        handlers = [logging.StreamHandler(sys.__stdout__) for _ in range(3)]
        for h in handlers:
            h.setFormatter(fmt)
        log.handlers = handlers[:1]
        log.warning("one %s", s, extra={"acct": s})
        one = Counting.calls
        log.handlers = handlers
        log.warning("three %s", s, extra={"acct": s})
        three = Counting.calls - one
        record = logging.LogRecord("direct", logging.WARNING, "x.py", 1, "direct %r", (s,), None)
        record.acct = s
        handlers[0].handle(record)
        sys.__stdout__.flush()
        print("scans", one, three, flush=True)
        """
    )
    lines = run_code(code).splitlines()
    assert lines[:5] == [f"app one {R} {R}"] + [f"app three {R} {R}"] * 3 + [
        f"direct direct '{R}' {R}"
    ]
    _, one, three = lines[5].split()
    assert one == three  # three handlers, one scan of the record


def test_secret_registered_between_handlers_is_caught():
    # The record is redacted again when a secret was registered after its first scan.
    code = textwrap.dedent(
        """
        import logging, os, sys, redactor
        s = os.environ["DEMO_SECRET"]
        redactor.install()
        log = logging.getLogger("app")
        log.propagate = False

        class Registering(logging.Handler):
            def emit(self, record):
                redactor.add_secret(s, "LATE")

        out = logging.StreamHandler(sys.__stdout__)
        log.handlers = [Registering(), out]
        log.warning("late %s", s)
        """
    )
    assert run_code(code) == f"late {R}\n"
