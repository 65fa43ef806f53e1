"""``structlog_processor`` with structlog's real renderers, before and after the renderer."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor
from redactor.sinks.structlog import StructlogRedactor, structlog_processor

SECRET = "sk-live-0123456789abcdef"
R = "[REDACTED]"


@pytest.fixture(autouse=True)
def default_redactor():
    previous = redactor.set_redactor(Redactor())
    redactor.add_secret(SECRET, "token")
    yield
    redactor.set_redactor(previous)
    structlog.reset_defaults()


def make_logger(processors):
    out = io.StringIO()
    structlog.configure(
        processors=processors,
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    return structlog.get_logger(), out


class Creds:
    def __repr__(self):
        return f"Creds(token={SECRET!r})"


def test_json_renderer_processor_before_renderer():
    log, out = make_logger([structlog_processor, structlog.processors.JSONRenderer(sort_keys=True)])
    log.info(
        "login " + SECRET,
        user="alice",
        token=SECRET,
        nested={"list": [SECRET, ("t", SECRET)], SECRET: 1},
        n=3,
        obj=Creds(),
    )
    assert json.loads(out.getvalue()) == {
        "event": f"login {R}",
        "user": "alice",
        "token": R,
        "nested": {"list": [R, ["t", R]], R: 1},
        "n": 3,
        "obj": f"Creds(token='{R}')",
    }


def test_key_value_renderer():
    log, out = make_logger(
        [structlog_processor, structlog.processors.KeyValueRenderer(sort_keys=True)]
    )
    log.info("hello", token=SECRET, plain="words")
    assert out.getvalue() == f"event='hello' plain='words' token='{R}'\n"


def test_console_renderer_with_exception():
    log, out = make_logger(
        [structlog_processor, structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)]
    )
    try:
        raise ValueError("bad " + SECRET)
    except ValueError:
        log.exception("failed", token=SECRET)
    text = out.getvalue()
    assert text.startswith(f"failed token={R}\nTraceback (most recent call last):\n")
    assert text.endswith(f"ValueError: bad {R}\n")
    assert SECRET not in text


def test_processor_after_the_renderer_redacts_the_rendered_text():
    log, out = make_logger([structlog.processors.JSONRenderer(), structlog_processor])
    log.info("x", token=SECRET, esc='quote " and ' + SECRET)
    assert SECRET not in out.getvalue()
    assert json.loads(out.getvalue()) == {"token": R, "esc": f'quote " and {R}', "event": "x"}
    # bytes from a bytes-producing renderer
    assert structlog_processor(None, "info", b"raw " + SECRET.encode()) == b"raw " + R.encode()


def test_processor_early_in_chain_with_format_exc_info_later():
    log, out = make_logger(
        [
            structlog_processor,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ]
    )
    try:
        raise KeyError(SECRET)
    except KeyError:
        log.error("boom", exc_info=True)
    event = json.loads(out.getvalue())
    assert f"KeyError: '{R}'" in event["exception"]
    assert SECRET not in out.getvalue()


def test_stdlib_processor_formatter(tmp_path):
    path = tmp_path / "s.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog_processor,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    std = logging.getLogger("redactor-structlog-std")
    std.addHandler(handler)
    std.setLevel(logging.INFO)
    std.propagate = False
    structlog.configure(
        processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    try:
        structlog.get_logger("redactor-structlog-std").info("via structlog", token=SECRET)
        std.info("foreign %s", SECRET)
    finally:
        std.removeHandler(handler)
        handler.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"event": "via structlog", "token": R}
    assert lines[1] == {"event": f"foreign {R}"}


def test_pinned_redactor_and_fail_closed():
    other = Redactor()
    other.add("another-secret-value", "o")
    proc = StructlogRedactor(other)
    assert proc(None, "info", {"a": "another-secret-value", "b": SECRET}) == {"a": R, "b": SECRET}

    class Boom:
        def __repr__(self):
            raise RuntimeError("no")

    assert proc(None, "info", {"x": Boom()}) == {
        "event": "[redactor: this event could not be redacted and was withheld]"
    }


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.one_of(st.just(SECRET), st.text("ab sk-", max_size=6), st.integers(), st.none()),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.tuples(inner, inner),
            st.dictionaries(st.text("kx", max_size=3), inner, max_size=3),
        ),
        max_leaves=10,
    )
)
def test_property_recursive(value):
    engine = Redactor()
    engine.add(SECRET, "token")
    event = {"event": "e", "v": value}
    out = StructlogRedactor(engine)(None, "info", event)
    assert SECRET not in repr(out)
    if SECRET not in repr(value):
        assert out == event
    rendered = structlog.processors.JSONRenderer()(None, "info", out)
    assert SECRET not in rendered
