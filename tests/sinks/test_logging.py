"""``RedactingFilter`` with real handlers: a file, a rotating file, a queue with its listener."""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.sinks.logging import RedactingFilter

SECRET = "sk-live-0123456789abcdef"
R = "[REDACTED]"
FMT = "%(levelname)s %(name)s %(message)s"


@pytest.fixture
def engine():
    r = Redactor()
    r.add(SECRET, "token")
    return r


@pytest.fixture
def logger(request):
    lg = logging.getLogger(f"redactor-test.{request.node.name}")
    lg.setLevel(logging.DEBUG)
    # It propagates to the root logger, where pytest's capture handler sits: that handler runs
    # after ours and therefore sees the redacted record too.
    yield lg
    for h in list(lg.handlers):
        lg.removeHandler(h)
        h.close()


def _file_handler(path, engine, fmt=FMT):
    h = logging.FileHandler(path, encoding="utf-8")
    h.setFormatter(logging.Formatter(fmt))
    h.addFilter(RedactingFilter(engine))
    return h


def test_file_handler_message_args_extra_stack(engine, logger, tmp_path):
    path = tmp_path / "app.log"
    logger.addHandler(_file_handler(path, engine, FMT + " user=%(user)s"))
    logger.info("plain %s %d", "words", 7, extra={"user": "alice"})
    logger.info("token %s", SECRET, extra={"user": {"name": "bob", "key": SECRET}})
    logger.warning("dict args %(k)s", {"k": SECRET}, extra={"user": [SECRET, 1]})
    logger.info("split %s%s", SECRET[:6], SECRET[6:], extra={"user": "x"})
    logger.info("stack", stack_info=True, extra={"user": SECRET})
    lines = path.read_text().splitlines()
    assert lines[0] == "INFO " + logger.name + " plain words 7 user=alice"
    assert lines[1] == f"INFO {logger.name} token {R} user={{'name': 'bob', 'key': '{R}'}}"
    assert lines[2] == f"WARNING {logger.name} dict args {R} user=['{R}', 1]"
    assert lines[3] == f"INFO {logger.name} split {R} user=x"
    assert lines[4] == f"INFO {logger.name} stack user={R}"
    assert lines[5] == "Stack (most recent call last):"
    assert SECRET not in path.read_text()


def test_exception_tracebacks_are_rendered_redacted(engine, logger, tmp_path):
    path = tmp_path / "app.log"
    logger.addHandler(_file_handler(path, engine))

    def fail(token):
        raise ValueError(f"bad token {token}")

    try:
        fail(SECRET)
    except ValueError:
        logger.exception("failed for %s", SECRET)
    try:
        fail(SECRET)
    except ValueError as exc:
        logger.error("as instance", exc_info=exc)
    text = path.read_text()
    assert SECRET not in text
    assert f"ERROR {logger.name} failed for {R}\nTraceback (most recent call last):" in text
    assert text.count(f"ValueError: bad token {R}") == 2


def test_rotating_file_handler(engine, logger, tmp_path):
    path = tmp_path / "rot.log"
    h = logging.handlers.RotatingFileHandler(path, maxBytes=60, backupCount=3, encoding="utf-8")
    h.setFormatter(logging.Formatter("%(message)s"))
    h.addFilter(RedactingFilter(engine))
    logger.addHandler(h)
    for i in range(20):
        logger.info("line %02d %s", i, SECRET)
    files = sorted(tmp_path.glob("rot.log*"))
    assert len(files) == 4
    text = "".join(f.read_text() for f in files)
    assert SECRET not in text
    assert path.read_text().splitlines()[-1] == f"line 19 {R}"


def test_queue_handler_and_listener(engine, logger, tmp_path):
    path = tmp_path / "q.log"
    q: queue.Queue = queue.Queue()
    qh = logging.handlers.QueueHandler(q)
    qh.addFilter(RedactingFilter(engine))  # before prepare(): the message is rendered redacted
    logger.addHandler(qh)
    target = logging.FileHandler(path, encoding="utf-8")
    target.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    listener = logging.handlers.QueueListener(q, target)
    listener.start()
    try:
        logger.warning("queued %s", SECRET)
        try:
            raise KeyError(SECRET)
        except KeyError:
            logger.exception("with exc")
    finally:
        listener.stop()
        target.close()
    text = path.read_text()
    assert text.startswith(f"WARNING queued {R}\nERROR with exc\nTraceback")
    assert f"KeyError: '{R}'" in text
    assert SECRET not in text


def test_filter_on_handler_covers_propagated_records(engine, tmp_path):
    parent = logging.getLogger("redactor-prop")
    parent.propagate = False
    path = tmp_path / "p.log"
    h = _file_handler(path, engine, "%(message)s")
    parent.addHandler(h)
    try:
        logging.getLogger("redactor-prop.child.deep").error("child %s", SECRET)
    finally:
        parent.removeHandler(h)
        h.close()
    assert path.read_text() == f"child {R}\n"


class Boom:
    def __str__(self):
        raise RuntimeError("cannot render")

    __repr__ = __str__


def test_odd_records_never_raise_and_fail_closed(engine, logger, tmp_path):
    path = tmp_path / "odd.log"
    logger.addHandler(_file_handler(path, engine, "%(message)s"))
    logger.info("%s %s", SECRET)  # too few args
    logger.info(Boom())
    logger.info("ok %s", SECRET, extra={"weird": Boom()})
    logger.info(b"bytes " + SECRET.encode())
    logger.info({"k": SECRET})
    lines = path.read_text().splitlines()
    withheld = "[redactor: this log record could not be redacted and was withheld]"
    assert lines == [
        f"%s %s (log arguments that did not fit the message: ('{R}',))",
        withheld,
        withheld,
        f"b'bytes {R}'",
        f"{{'k': '{R}'}}",
    ]


def test_records_redacted_in_place_for_every_handler(engine, logger, tmp_path):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    logger.addHandler(_file_handler(a, engine, "%(message)s"))
    plain = logging.FileHandler(b, encoding="utf-8")
    plain.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(plain)  # no filter, but added after the filtered one
    logger.info("value %s", SECRET)
    assert a.read_text() == b.read_text() == f"value {R}\n"


def test_default_redactor_is_used_when_none_given(logger, tmp_path):
    import redactor

    previous = redactor.set_redactor(Redactor())
    try:
        path = tmp_path / "d.log"
        h = logging.FileHandler(path, encoding="utf-8")
        h.setFormatter(logging.Formatter("%(message)s"))
        h.addFilter(RedactingFilter())
        logger.addHandler(h)
        logger.info("before %s", SECRET)
        redactor.add_secret(SECRET, "late")
        logger.info("after %s", SECRET)
        assert path.read_text() == f"before {SECRET}\nafter {R}\n"
    finally:
        redactor.set_redactor(previous)


@settings(max_examples=100, deadline=None)
@given(
    template=st.text("ab %s\n-", max_size=12),
    args=st.lists(
        st.one_of(st.just(SECRET), st.text("xyz sk-", max_size=8), st.integers()), max_size=4
    ),
    extra=st.dictionaries(
        st.sampled_from(["u", "v"]), st.one_of(st.just(SECRET), st.text("ab", max_size=4))
    ),
)
def test_property_nothing_reaches_the_handler_unredacted(template, args, extra):
    engine = Redactor()
    engine.add(SECRET, "token")
    record = logging.LogRecord("p", logging.INFO, __file__, 1, template, tuple(args), None)
    record.__dict__.update(extra)
    try:
        expected = record.getMessage()
    except (TypeError, ValueError):
        expected = None
    assert RedactingFilter(engine).filter(record) is True
    rendered = json.dumps({k: str(v) for k, v in vars(record).items()})
    assert SECRET not in rendered
    if expected is not None:
        assert record.getMessage() == engine.redact(expected)
    else:
        assert record.getMessage().endswith(")")
    for key, value in extra.items():
        assert getattr(record, key) == engine.redact(value)


def test_logging_to_a_stream_handler_on_stderr(engine, logger, capsys):
    h = logging.StreamHandler(sys.stderr)
    h.addFilter(RedactingFilter(engine))
    logger.addHandler(h)
    logger.error("to stderr %s", SECRET)
    assert capsys.readouterr().err == f"to stderr {R}\n"
