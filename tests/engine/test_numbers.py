"""Numeric secrets carried as numbers, not strings (issue 12, item 7).

An account number registered as a secret is displayed as digits whether it travels as the string
``"40512938776"`` or the JSON number ``40512938776``. The rule, in every walker over nested
values (notebook scrubbing, the kernel's messages, logging ``extra``, structlog events, JSON-lines
logs): a non-string scalar (int, float, Decimal; not bool or None) whose text form holds a secret
is replaced by that text redacted, a string.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections import Counter
from decimal import Decimal

import pytest
import structlog
from helpers.nbfactory import dumps, kernelspec_path
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook, new_output
from pythonjsonlogger.json import JsonFormatter
from redactor.ipython_extension._kernel import redact_content

from redactor import Redactor
from redactor.sinks.logfiles import redact_json_line
from redactor.sinks.logging import RedactingFilter, redact_value
from redactor.sinks.notebook import scrub_notebook, scrub_text
from redactor.sinks.structlog import StructlogRedactor

ACCT = "40512938776"
R = "[REDACTED]"


def acct_redactor() -> Redactor:
    r = Redactor()
    r.add(ACCT, "acct")
    return r


def _texts(value, out: list[str]) -> list[str]:
    """Every string, key and number (as text) in a message."""
    if isinstance(value, dict):
        for k, v in value.items():
            _texts(k, out)
            _texts(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _texts(v, out)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out.append(bytes(value).decode("utf-8", "replace"))
    elif not isinstance(value, bool) and value is not None:
        out.append(str(value))
    return out


# -- a real kernel ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernel with ``%load_ext redactor`` and the account number registered as a secret; the
    number comes from the environment, so no cell source (echoed in execute_input) holds it."""
    from helpers.kernel import start as _start
    from helpers.kernel import stop as _stop

    tmp = tmp_path_factory.mktemp("kernel")
    env = dict(os.environ, ACCT_NUMBER=ACCT)
    env.pop("PYTEST_CURRENT_TEST", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", kernelspec_path(tmp))  # where the kernelspec is looked up
        km, kc, _ = _start(tmp, env, [])
    try:
        run(
            kc,
            """
            %load_ext redactor
            import os, redactor
            from IPython.display import JSON, display
            acct = int(os.environ["ACCT_NUMBER"])
            redactor.add_secret(str(acct), name="acct")
            """,
        )
        yield kc
    finally:
        _stop(km, kc)


def run(kc, code: str, **kwargs):
    iopub: list = []
    reply = kc.execute_interactive(
        textwrap.dedent(code), output_hook=iopub.append, timeout=60, **kwargs
    )
    for msg in [*iopub, reply]:
        parts = {k: msg.get(k) for k in ("header", "parent_header", "metadata", "content")}
        assert not any(ACCT in t for t in _texts(parts, [])), msg["msg_type"]
    return iopub, reply


@pytest.mark.kernel
def test_kernel_display_json(kernel):
    iopub, _ = run(kernel, 'display(JSON({"acct": acct, "n": 7, "more": [acct * 10 + 1, 2.5]}))')
    shown = [m["content"]["data"] for m in iopub if m["msg_type"] == "display_data"]
    assert shown[0]["application/json"] == {"acct": R, "n": 7, "more": [f"{R}1", 2.5]}


@pytest.mark.kernel
def test_kernel_user_expressions(kernel):
    _, reply = run(
        kernel, "x = 1", user_expressions={"v": "acct", "j": "JSON({'acct': acct, 'n': 7})"}
    )
    exprs = reply["content"]["user_expressions"]
    assert exprs["v"]["data"] == {"text/plain": R}
    assert exprs["j"]["data"]["application/json"] == {"acct": R, "n": 7}


@pytest.mark.kernel
def test_kernel_comm_messages(kernel):
    iopub, _ = run(
        kernel,
        """
        from comm import create_comm
        c = create_comm(target_name="redactor-numbers", data={"acct": acct, "n": 5})
        c.send({"values": [acct, 1, float(acct)], acct: "keyed by the number"})
        c.close()
        """,
    )
    opened = [m["content"]["data"] for m in iopub if m["msg_type"] == "comm_open"]
    sent = [m["content"]["data"] for m in iopub if m["msg_type"] == "comm_msg"]
    assert opened == [{"acct": R, "n": 5}]
    assert sent == [{"values": [R, 1, f"{R}.0"], R: "keyed by the number"}]


# -- logging and structlog ----------------------------------------------------------------------


def test_logging_extra_through_a_json_formatter():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(acct_redactor()))
    log = logging.getLogger("test_numbers.json")
    log.propagate = False
    log.addHandler(handler)
    try:
        log.warning(
            "payment",
            extra={
                "acct": int(ACCT),
                "amount": 12.5,
                "ids": [int(ACCT), 3],
                "exact": Decimal(ACCT),
                "ok": True,
                "none": None,
            },
        )
    finally:
        log.removeHandler(handler)
    assert json.loads(out.getvalue()) == {
        "levelname": "WARNING",
        "message": "payment",
        "acct": R,
        "amount": 12.5,
        "ids": [R, 3],
        "exact": R,
        "ok": True,
        "none": None,
    }


def test_structlog_json_renderer():
    out = io.StringIO()
    structlog.configure(
        processors=[
            StructlogRedactor(acct_redactor()),
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    try:
        structlog.get_logger().info("paid", acct=int(ACCT), n=3, f=float(ACCT) / 10)
    finally:
        structlog.reset_defaults()
    # 4051293877.6 does not show the secret's digits in a row: it stays a number
    assert json.loads(out.getvalue()) == {"event": "paid", "acct": R, "n": 3, "f": 4051293877.6}


# -- the CLI: redactor scrub and redactor scrub-logs -------------------------------------------


def _json_nb() -> str:
    nb = new_notebook()
    cell = new_code_cell("JSON(data)", execution_count=1)
    cell["id"] = "c1"
    cell.outputs = [
        new_output(
            "execute_result",
            execution_count=1,
            data={
                "application/json": {"acct": int(ACCT), "n": 7, "f": float(ACCT) + 0.5},
                "text/plain": "<IPython.core.display.JSON object>",
            },
        )
    ]
    nb.cells = [cell]
    return dumps(nb)


def test_redactor_scrub_application_json_number(tmp_path):
    text = _json_nb()
    (tmp_path / "nb.ipynb").write_text(text)
    env = dict(os.environ, ACCT_NUMBER=ACCT)
    proc = subprocess.run(
        [sys.executable, "-m", "redactor", "scrub", "--secret-env", "ACCT_NUMBER", "nb.ipynb"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1,
        "scrubbed nb.ipynb: 2 redactions (env/ACCT_NUMBER: 2)\n"
        "redactor scrub: 1 file scrubbed, 0 unchanged\n",
        "",
    )
    new = (tmp_path / "nb.ipynb").read_text()
    # byte for byte: only the two numbers changed, into strings
    assert new == text.replace(f": {ACCT},", f': "{R}",').replace(f": {ACCT}.5,", f': "{R}.5",')
    assert json.loads(new)["cells"][0]["outputs"][0]["data"]["application/json"] == {
        "acct": R,
        "n": 7,
        "f": f"{R}.5",
    }


def test_redactor_scrub_logs_json_lines(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "app.jsonl").write_text(
        f'{{"acct": {ACCT}, "msg": "paid", "n": 3}}\n'
        f'{{"a": "caf\\u00e9 {ACCT}", "f": {ACCT}.5, "list": [1, -{ACCT}e3]}}\n'
        f'{{"quoted": "\\"{ACCT}\\"", "ok": true}}\n'
    )
    env = dict(os.environ, ACCT_NUMBER=ACCT)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "redactor",
            "scrub-logs",
            "--no-config",
            "--secret-env",
            "ACCT_NUMBER",
            "in",
            "out",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "3 records, 5 matches" in proc.stdout
    assert "  env/ACCT_NUMBER: 5\n" in proc.stdout
    lines = (tmp_path / "out" / "app.jsonl").read_text().splitlines()
    assert lines == [
        f'{{"acct": "{R}", "msg": "paid", "n": 3}}',
        f'{{"a": "caf\\u00e9 {R}", "f": "{R}.5", "list": [1, "-{R}e3"]}}',
        f'{{"quoted": "\\"{R}\\"", "ok": true}}',
    ]


def test_json_line_with_a_string_that_looks_like_the_replacement_is_left_alone():
    r = acct_redactor()
    line = f'{{"note": "{R} was here", "n": 1}}\n'
    assert redact_json_line(line, r, Counter()) == line


# -- properties: digits-only secrets as numbers nested in random JSON-like values ---------------

digits = st.text("0123456789", min_size=6, max_size=15).filter(
    lambda s: s[0] != "0" and len(set(s)) >= 2
)
keys = st.text("abcdefghij", min_size=1, max_size=5)


def numbers_with(secret: str) -> st.SearchStrategy:
    n = int(secret)
    return st.one_of(
        st.just(n),
        st.just(-n),
        st.just(float(n)),
        st.integers(1, 9).map(lambda d: n * 10 + d),
        st.integers(1, 99).map(lambda d: n + d / 100),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
        st.text(max_size=10),
        st.text("0123456789", max_size=20),
    )


# One strategy per secret: a new st.recursive per draw looks to Hypothesis like a strategy that
# changed between a test case and its replay (FlakyStrategyDefinition; see test_walk.py).
@functools.cache
def tree(secret: str) -> st.SearchStrategy:
    return st.recursive(
        numbers_with(secret),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
        ),
        max_leaves=12,
    )


def expected(value, r: Redactor):
    """The rule, as a reference: strings redacted, numbers whose text holds a secret too."""
    if isinstance(value, str):
        return r.redact(value)
    if isinstance(value, list):
        return [expected(v, r) for v in value]
    if isinstance(value, dict):
        return {k: expected(v, r) for k, v in value.items()}
    if isinstance(value, bool) or value is None:
        return value
    text = str(value)
    return r.redact(text) if r.contains_secret(text) else value


@st.composite
def secret_and_tree(draw):
    secret = draw(digits)
    return secret, draw(tree(secret))


def _redactor(secret: str) -> Redactor:
    r = Redactor()
    r.add(secret, "num")
    return r


@settings(max_examples=150, deadline=None)
@given(secret_and_tree())
def test_property_kernel_and_logging_walkers(each_engine, case):
    secret, value = case
    r = _redactor(secret)
    want = expected(value, r)
    assert redact_content(value, r) == want
    assert redact_value(value, r) == want
    assert secret not in json.dumps(redact_content(value, r))


@settings(max_examples=100, deadline=None)
@given(secret_and_tree())
def test_property_notebook_application_json(each_engine, case):
    secret, value = case
    r = _redactor(secret)
    nb = new_notebook()
    cell = new_code_cell("x", execution_count=1)
    cell["id"] = "c"
    cell.outputs = [new_output("display_data", data={"application/json": {"v": value}})]
    nb.cells = [cell]
    text = dumps(nb)
    new, report = scrub_text(text, r)
    data = json.loads(new)["cells"][0]["outputs"][0]["data"]["application/json"]
    assert data == {"v": expected(value, r)}
    assert (new is text) == (not report.changed)
    # in memory, as a kernel client holds it
    mem, _ = scrub_notebook(json.loads(text), r)
    assert mem["cells"][0]["outputs"][0]["data"]["application/json"] == {"v": expected(value, r)}


@settings(max_examples=100, deadline=None)
@given(secret_and_tree())
def test_property_json_lines_stay_json(each_engine, case):
    secret, value = case
    r = _redactor(secret)
    line = json.dumps({"v": value}) + "\n"
    counts: Counter[str] = Counter()
    out = redact_json_line(r.redact(line), r, counts)
    assert secret not in out
    assert json.loads(out) == {"v": expected(value, r)}


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_property_long_lists_of_numbers(each_engine, data):
    """The kernel checks a long list's numbers with one scan: same result as one by one."""
    secret = data.draw(digits)
    value = data.draw(st.lists(numbers_with(secret), min_size=17, max_size=60))
    r = _redactor(secret)
    assert redact_content(value, r) == expected(value, r)
    assert redact_content(tuple(value), r) == tuple(expected(value, r))
