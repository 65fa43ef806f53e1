"""Colours with real components: secrets split by terminal escape sequences are hidden by
`redactor filter`, `redactor scrub`, `redactor scrub-logs`, a real kernel after
`%load_ext redactor`, and ``RedactingFilter`` with a colouring formatter. The colours around a
secret stay; those inside it go with it."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook, new_output

from redactor import Redactor
from redactor.sinks.logging import RedactingFilter

SECRET = "sk-live-" + secrets.token_hex(12)
R = "[REDACTED]"
REDACTOR = [sys.executable, "-m", "redactor"]
TIMEOUT = 60


def split(secret: str, *codes: str) -> str:
    """``secret`` with ``codes`` inserted at evenly spread points inside it."""
    step = len(secret) // (len(codes) + 1)
    out, last = [], 0
    for i, code in enumerate(codes, 1):
        out += [secret[last : i * step], code]
        last = i * step
    return "".join(out) + secret[last:]


COLOURED = split(SECRET, "\x1b[31m", "\x1b[1;38;5;208m", "\x1b[0m")
assert SECRET not in COLOURED


def check() -> Redactor:
    r = Redactor()
    r.add(SECRET, "SECRET")
    return r


@pytest.fixture
def secrets_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.env"
    path.write_text(f"RT_TOKEN={SECRET}\n", encoding="utf-8")
    return path


def test_redactor_filter_on_a_pipe(secrets_file: Path) -> None:
    data = (
        f"\x1b[32mINFO\x1b[0m token={COLOURED}\x1b[0m done\n"
        f"\x1b[1m{SECRET}\x1b[0m\n"
        "\x1b[33mno secret here\x1b[0m\n"
    ).encode()
    result = subprocess.run(
        [*REDACTOR, "filter", "--no-config", "--secrets-file", str(secrets_file)],
        input=data,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout
        == (
            f"\x1b[32mINFO\x1b[0m token={R}\x1b[0m done\n\x1b[1m{R}\x1b[0m\n"
            "\x1b[33mno secret here\x1b[0m\n"
        ).encode()
    )


def test_redactor_scrub_coloured_traceback(tmp_path: Path) -> None:
    traceback = [
        "\x1b[0;31m---------------------------------------------------------------\x1b[0m",
        "\x1b[0;31mRuntimeError\x1b[0m        Traceback (most recent call last)",
        f"\x1b[0;32m----> 1\x1b[0m connect(\x1b[38;5;124m{COLOURED}\x1b[39m)",
        f"\x1b[0;31mRuntimeError\x1b[0m: bad token {COLOURED}",
    ]
    nb = new_notebook(
        cells=[
            new_code_cell(
                "connect(token)",
                outputs=[
                    new_output(
                        "error", ename="RuntimeError", evalue=f"bad {COLOURED}", traceback=traceback
                    ),
                    new_output("stream", name="stdout", text=f"\x1b[1m{COLOURED}\x1b[0m\n"),
                ],
            )
        ]
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    env = {**os.environ, "RT_TOKEN": SECRET}
    result = subprocess.run(
        [*REDACTOR, "scrub", "--no-config", "--secret-env", "RT_TOKEN", str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr  # 1: a file was changed (as pre-commit wants)
    assert SECRET[6:] not in result.stdout + result.stderr
    out = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["outputs"]
    assert out[0]["evalue"] == f"bad {R}"
    assert out[0]["traceback"] == [
        traceback[0],
        traceback[1],
        f"\x1b[0;32m----> 1\x1b[0m connect(\x1b[38;5;124m{R}\x1b[39m)",
        f"\x1b[0;31mRuntimeError\x1b[0m: bad token {R}",
    ]
    assert out[1]["text"] == f"\x1b[1m{R}\x1b[0m\n"
    assert not check().contains_secret(path.read_text(encoding="utf-8"))


def test_redactor_scrub_logs(tmp_path: Path, secrets_file: Path) -> None:
    src, dest = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    log = (
        f"\x1b[2m10:00\x1b[0m \x1b[32mINFO\x1b[0m login token={COLOURED}\x1b[0m\n"
        f"\x1b[2m10:01\x1b[0m \x1b[31mERROR\x1b[0m again \x1b[1m{SECRET}\x1b[0m\n"
    )
    (src / "app.log").write_text(log, encoding="utf-8")
    result = subprocess.run(
        [*REDACTOR, "scrub-logs", "--no-config", "--secrets-file", str(secrets_file), src, dest],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert (dest / "app.log").read_text(encoding="utf-8") == (
        f"\x1b[2m10:00\x1b[0m \x1b[32mINFO\x1b[0m login token={R}\x1b[0m\n"
        f"\x1b[2m10:01\x1b[0m \x1b[31mERROR\x1b[0m again \x1b[1m{R}\x1b[0m\n"
    )
    assert "RT_TOKEN: 2" in result.stdout + result.stderr  # both regions counted, once each


class ColourFormatter(logging.Formatter):
    """Colours the level, as coloured log formatters do."""

    def format(self, record: logging.LogRecord) -> str:
        colour = {"INFO": "\x1b[32m", "ERROR": "\x1b[31m"}.get(record.levelname, "")
        record.levelname = f"{colour}{record.levelname}\x1b[0m"
        return super().format(record)


def test_logging_coloured_messages_and_tracebacks(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(ColourFormatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(check()))
    log = logging.getLogger("test_ansi_sinks")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        # a message that highlights its own values, and an exception whose text is coloured
        log.info("token \x1b[1m%s\x1b[0m ok", COLOURED)
        try:
            raise RuntimeError(f"bad token \x1b[33m{COLOURED}\x1b[0m")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        handler.close()
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == f"\x1b[32mINFO\x1b[0m token \x1b[1m{R}\x1b[0m ok"
    assert lines[1] == "\x1b[31mERROR\x1b[0m failed"
    assert lines[-1] == f"RuntimeError: bad token \x1b[33m{R}\x1b[0m"
    assert not check().contains_secret(text)


# -- a real kernel --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernel of this interpreter; the test loads the extension with ``%load_ext``."""
    from helpers.kernel import start as _start
    from helpers.kernel import stop as _stop
    from helpers.nbfactory import kernelspec_path

    tmp = tmp_path_factory.mktemp("kernel")
    env = dict(os.environ, RT_TOKEN=SECRET, IPYTHONDIR=str(tmp / "ipython"))
    env.pop("PYTEST_CURRENT_TEST", None)  # else ipykernel does not capture fd-level output
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", kernelspec_path(tmp))
        km, kc, _ = _start(tmp, env, [])
    try:
        yield kc
    finally:
        _stop(km, kc)


def run(kc, code: str) -> tuple[list[dict], dict]:
    msgs: list[dict] = []
    reply = kc.execute_interactive(code, output_hook=msgs.append, timeout=TIMEOUT)
    everything = json.dumps([m["content"] for m in msgs] + [reply["content"]])
    assert SECRET not in everything
    assert not check().contains_secret(everything.encode().decode("unicode_escape"))
    return msgs, reply


def test_kernel_prints_and_raises_coloured_secrets(kernel) -> None:
    _, reply = run(kernel, "%load_ext redactor\n%redactor add-env RT_TOKEN")
    assert reply["content"]["status"] == "ok"
    msgs, _ = run(
        kernel,
        "import os, sys\n"
        "t = os.environ['RT_TOKEN']\n"
        "def colour(s):\n"
        "    return s[:5] + '\\x1b[31m' + s[5:12] + '\\x1b[1;33m' + s[12:] + '\\x1b[0m'\n"
        "print('token', colour(t))\n"
        "sys.stderr.write('\\x1b[2m' + colour(t) + '\\n'); sys.stderr.flush()\n",
    )
    out = {m["content"]["name"]: m["content"]["text"] for m in msgs if m["msg_type"] == "stream"}
    assert out == {"stdout": f"token {R}\x1b[0m\n", "stderr": f"\x1b[2m{R}\x1b[0m\n"}
    msgs, reply = run(kernel, "raise RuntimeError('bad ' + colour(t))")
    assert reply["content"]["status"] == "error"
    assert reply["content"]["evalue"] == f"bad {R}\x1b[0m"
    errors = [m["content"] for m in msgs if m["msg_type"] == "error"]
    assert errors and errors[0]["evalue"] == f"bad {R}\x1b[0m"
    assert errors[0]["traceback"][-1].endswith(f"bad {R}\x1b[0m")


# -- Spark ------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text("ab \x1b[1;m", max_size=12),
            st.sampled_from([COLOURED, SECRET, f"x \x1b[1m{COLOURED}\x1b[0m y", SECRET[:9]]),
        ),
        max_size=20,
    ),
    st.integers(1, 64),
)
def test_arrow_batches_equal_redact_per_value(values, scan) -> None:
    """The Arrow fast path (one scan over a batch's string buffer) sends a coloured value with a
    secret to ``redact``, like any other value a match overlaps."""
    import pyarrow as pa

    from redactor.sinks import spark as rs

    r = check()
    old, rs._SCAN = rs._SCAN, scan
    try:
        got = rs._redact_array(pa.array(values, pa.string()), r)
    finally:
        rs._SCAN = old
    assert got.to_pylist() == [None if v is None else r.redact(v) for v in values]


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")
def test_spark_dataframe_with_coloured_values(spark) -> None:
    from redactor.sinks import spark as rs

    try:
        rows = [(f"token {COLOURED}\x1b[0m",), ("\x1b[32mplain\x1b[0m",), (None,)]
        out = rs.redact_dataframe(
            spark.createDataFrame(rows, "s string"), redactor=check()
        ).collect()
        assert [row.s for row in out] == [f"token {R}\x1b[0m", "\x1b[32mplain\x1b[0m", None]
    finally:
        rs.release_secrets()
