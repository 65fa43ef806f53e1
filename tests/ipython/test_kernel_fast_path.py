"""The kernel hook's fast path: a message is packed once and scanned once, and walked only when
the scan finds something (``redactor.engine.walk.dumps_unchanged``, ``SessionHook._prepacked``).

What must hold, on real ``jupyter_client`` Sessions and real zmq sockets, for every engine:

* the fast path never lets through anything the walk would have redacted: when
  ``dumps_unchanged`` returns a text, the walker returns the value itself, and the text is
  ``json_packer``'s;
* the bytes a client receives are the same whichever path a message takes (a hook with the fast
  path and one without), and hold no form of any secret;
* a message without secrets reaches the client exactly as it would without the extension.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets

import pytest
import zmq
from helpers.kernel import strings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor
from redactor.engine.walk import (
    LEAF_BUDGET,
    MAX_DEPTH,
    TOO_DEEP,
    dumps_unchanged,
    finds_any,
    leaf_texts,
    redact_value,
)

pytestmark = pytest.mark.usefixtures("each_engine")

# Secrets with every character JSON escapes (quote, backslash, newline, tab, ESC), non-ASCII,
# digits only (numbers), and a detector's anchor ("sk-", with the default detectors on).
SECRETS = [
    'pa"ss\\word-1234',
    "multi\nline-secret-xyz",
    "tab\tsecret-99xq",
    "ünïcødé-sécret-€😀",
    "sk-live-abcdef123456",
    "4051293877",
    "esc\x1bsecret-7777",
]
SPECIAL = [
    '"',
    "\\",
    "\n",
    "\r\n",
    "\t",
    "\x1b[31m",
    "\x1b[0m",
    "\x00",
    "\x7f",
    "é",
    "€",
    "😀",
    "/",
]
CLEAN_WORDS = ["plain", "table", "<td>1.25</td>", "x", " ", "{}", "[1]", "ok", "ünïcode"]


def _engine(detect: bool = True) -> Redactor:
    r = Redactor(detect=detect)
    for i, value in enumerate(SECRETS):
        r.add(value, f"s{i}")
    return r


_ENGINES: dict[str | None, Redactor] = {}


def engine() -> Redactor:
    """The redactor of the engine under test (``each_engine`` sets REDACTOR_engine())."""
    key = os.environ.get("REDACTOR_ENGINE")
    if key not in _ENGINES:
        _ENGINES[key] = _engine()
    return _ENGINES[key]


# Every registered form of every secret (JSON and repr escapes, base64 wrapped over lines...):
# the texts most likely to be missed by a scan of the escaped JSON text.
FORMS = sorted({f for s in SECRETS for f in _engine(detect=False).forms(s)})


@st.composite
def leaky_text(draw):
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(SECRETS),
                st.sampled_from(FORMS),
                st.sampled_from(SPECIAL),
                st.sampled_from(CLEAN_WORDS),
                st.text(max_size=6),
                # a part of a secret: a fragment window, or too short to be one
                st.sampled_from(SECRETS).flatmap(
                    lambda s: st.tuples(st.integers(0, len(s)), st.integers(0, len(s))).map(
                        lambda ab: s[min(ab) : max(ab)]
                    )
                ),
            ),
            max_size=5,
        )
    )
    return "".join(pieces)


clean_text = st.lists(
    st.one_of(st.sampled_from(CLEAN_WORDS), st.sampled_from(SPECIAL)), max_size=5
).map("".join)

numbers = st.one_of(
    st.integers(),
    st.integers(0, 99).map(lambda n: int(f"{n}4051293877{n}")),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(4051293877.5),
    st.booleans(),
    st.none(),
)


clean_numbers = st.one_of(
    st.integers(-99999, 99999), st.floats(-1e3, 1e3), st.booleans(), st.none()
)


def json_values(text, nums=numbers):
    keys = st.one_of(text, st.integers(-5, 5), nums.filter(lambda n: isinstance(n, int)))
    leaves = st.one_of(text, nums)
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.lists(children, max_size=3).map(tuple),
            st.dictionaries(keys, children, max_size=4),
        ),
        max_leaves=12,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values(leaky_text()))
def test_property_the_scan_never_passes_what_the_walk_would_change(value):
    text = dumps_unchanged(value, engine())
    if text is not None:
        assert redact_value(value, engine()) is value
        assert text == json.dumps(value, ensure_ascii=False, allow_nan=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values(leaky_text()))
def test_property_the_leaf_check_never_passes_what_the_walk_would_change(value):
    texts = leaf_texts([value])
    if texts is None:
        return
    assert sorted(texts) == sorted(_oracle_texts(value))
    if not finds_any("\x00".join(texts), engine()):
        assert redact_value(value, engine()) is value


def _oracle_texts(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in [k, *_oracle_texts(v)]]
    if isinstance(value, list):
        return [t for v in value for t in _oracle_texts(v)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


class _Str(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        ("tuple",),
        {1: "an int key"},
        {"k": _Str("a str subclass")},
        {"k": b"bytes"},
        {"k": datetime.datetime(2026, 1, 2)},
        list(range(LEAF_BUDGET + 1)),
        {"k": [1] * (LEAF_BUDGET // 2), "j": [2] * (LEAF_BUDGET // 2)},
    ],
    ids=["tuple", "int-key", "str-subclass", "bytes", "datetime", "long-list", "budget"],
)
def test_values_the_leaf_check_leaves_to_the_json_check(value):
    assert leaf_texts([value]) is None


def test_the_leaf_check_stops_at_the_walkers_depth():
    deep: list = ["clean"]
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    assert leaf_texts([deep]) == ["clean"]  # 64 levels: the walker keeps them
    assert leaf_texts([[deep]]) is None  # 65: the walker replaces the innermost
    cyclic: list = ["x"]
    cyclic.append(cyclic)
    assert leaf_texts([cyclic]) is None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values(clean_text, clean_numbers))
def test_property_clean_values_pass_on_one_scan_unless_they_hold_an_escape(value):
    text = dumps_unchanged(value, engine())
    dumped = json.dumps(value, ensure_ascii=False, allow_nan=False)
    if "\\u001b" not in dumped:
        assert text == dumped
    assert redact_value(value, engine()) is value


# Secrets long enough for their base64 to wrap, and nothing else escaped (as in a kernel whose
# secrets are tokens): their only forms with a character JSON escapes hold line ends.
SHORT_SECRETS = [
    "wrapped-secret-" + "Kq7xZ" * 10,
    "Another.Long_Token-" + "0aB9" * 12,
]
_SHORT: dict[str | None, Redactor] = {}


def short_engine() -> Redactor:
    key = os.environ.get("REDACTOR_ENGINE")
    if key not in _SHORT:
        r = _SHORT[key] = Redactor(detect=True)
        for i, value in enumerate(SHORT_SECRETS):
            r.add(value, f"t{i}")
    return _SHORT[key]


SHORT_FORMS = sorted({f for s in SHORT_SECRETS for f in Redactor(detect=False).forms(s)})


def test_wrapped_forms_behind_escapes_are_found():
    """Forms that hold a line end, behind escaped backslashes and quotes in the JSON text."""
    wrapped = next(f for f in SHORT_FORMS if "\n" in f)
    for value in (
        {"k": wrapped},
        {"k": "\\" + wrapped},
        {"k": 'say "' + wrapped + '"'},
        {"k": "x\\" + SHORT_SECRETS[0]},
    ):
        assert dumps_unchanged(value, short_engine()) is None
    clean = {"text/plain": 'a\nb\r\n"c"', "text/html": '<p class="x">1</p>'}
    assert dumps_unchanged(clean, short_engine()) == json.dumps(clean, ensure_ascii=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=json_values(
        st.lists(
            st.one_of(
                st.sampled_from(SHORT_SECRETS),
                st.sampled_from(SHORT_FORMS),
                st.sampled_from(SPECIAL),
                st.sampled_from(CLEAN_WORDS),
                st.text(alphabet='\\"\nrtu0ab\r\t\x1b', max_size=4),
            ),
            max_size=5,
        ).map("".join)
    )
)
def test_property_wrapped_forms_never_pass_the_json_check(value):
    text = dumps_unchanged(value, short_engine())
    if text is not None:
        assert redact_value(value, short_engine()) is value


@pytest.mark.parametrize(
    "value",
    [
        {"k": b"bytes are base64 in JSON"},
        {"when": datetime.datetime(2026, 1, 2)},
        {"s": {1, 2}},
        {"f": float("nan")},
        {"o": object()},
        {(1, 2): "tuple key"},
        {"ansi": "\x1b[31mred\x1b[0m"},
        {"anchor": "an sk- anchor, not a token"},
        {"secret": "in " + SECRETS[0]},
        {"n": int("1" + SECRETS[5])},
    ],
    ids=lambda v: next(iter(v)) if isinstance(next(iter(v)), str) else "tuple-key",
)
def test_values_the_walk_must_settle(value):
    assert dumps_unchanged(value, engine()) is None


def test_cycles_and_nesting_past_the_walkers_limit():
    cyclic: list = ["x"]
    cyclic.append(cyclic)
    assert dumps_unchanged(cyclic, engine()) is None
    deep: list = ["clean"]
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    assert dumps_unchanged(deep, engine()) is not None  # 64 levels: the walker keeps them
    assert redact_value(deep, engine()) is deep
    deeper = [deep]
    assert dumps_unchanged(deeper, engine()) is None  # 65: the walker replaces the innermost
    assert TOO_DEEP in json.dumps(redact_value(deeper, engine()))
    # brackets inside strings are not nesting
    assert dumps_unchanged({"k": "[" * 200 + "{" * 200}, engine()) is not None


# -- real Sessions on real sockets -----------------------------------------------------------


@contextlib.contextmanager
def _sessions():
    """Three Sessions with one key on real sockets: one hooked with the fast path, one hooked
    without it, one not hooked. Yields them, a receive function and the hooks."""
    from jupyter_client.session import Session
    from redactor.ipython_extension._kernel import SessionHook

    ctx = zmq.Context.instance()
    key = secrets.token_bytes(16)
    made, socks = [], []
    for fast in (True, False, None):
        push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
        addr = f"inproc://redactor-fast-{secrets.token_hex(4)}"
        pull.bind(addr)
        push.connect(addr)
        socks += [push, pull]
        session = Session(key=key)
        hook = None
        if fast is not None:
            hook = SessionHook(session)
            hook.fast_path = fast
            hook.install()
        made.append((session, hook, push, pull))

    def receive(pull):
        assert pull.poll(2000)
        return pull.recv_multipart()

    previous = redactor.set_redactor(engine())
    try:
        yield made, receive
    finally:
        for _, hook, _, _ in made:
            if hook is not None:
                hook.uninstall()
        redactor.set_redactor(previous)
        for s in socks:
            s.close()


def _send_all(made, receive, msg):
    """``msg`` sent by each session; the frames each client received."""
    out = []
    for session, _, push, pull in made:
        sent = session.send(push, msg)
        assert isinstance(sent["content"], dict)  # ipykernel reads reply["content"]["status"]
        out.append(receive(pull))
    return out


display_content = st.fixed_dictionaries(
    {
        "data": st.dictionaries(
            st.sampled_from(["text/plain", "text/html", "application/json", "image/svg+xml"]),
            json_values(leaky_text()),
            min_size=1,
            max_size=3,
        ),
        "metadata": st.dictionaries(leaky_text(), json_values(leaky_text()), max_size=2),
        "transient": st.just({}),
    }
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=display_content, metadata=st.dictionaries(leaky_text(), leaky_text(), max_size=2))
def test_property_fast_and_walked_messages_are_the_same_bytes_and_clean(content, metadata):
    with _sessions() as (made, receive):
        session = made[0][0]
        parent = session.msg("execute_request", {})
        msg = session.msg("display_data", content, parent=parent, metadata=metadata)
        fast, walked, raw = _send_all(made, receive, msg)
    assert fast == walked
    received = session.deserialize(session.feed_identities(fast)[1])
    for text in strings([received["content"], received["metadata"]], []):
        assert not engine().contains_secret(text)
    if redact_value(content, engine()) is content and redact_value(metadata, engine()) is metadata:
        assert fast == raw  # nothing to redact: what the client gets without the extension


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.fixed_dictionaries({"data": st.dictionaries(st.just("text/html"), clean_text)}))
def test_property_text_without_secrets_goes_out_unchanged_on_one_scan(content):
    with _sessions() as (made, receive):
        session = made[0][0]
        msg = session.msg("display_data", content, parent=session.msg("execute_request", {}))
        fast, walked, raw = _send_all(made, receive, msg)
        hook = made[0][1]
        assert fast == walked == raw
        assert hook.prepacked == ("\\u001b" not in json.dumps(content))  # an ESC is walked


def test_a_5kb_display_passes_on_one_scan_and_a_leaky_one_is_walked():
    html = "<table>" + "".join(f"<tr><td>{i / 7:.4f}</td></tr>" for i in range(200)) + "</table>"
    with _sessions() as (made, receive):
        session, hook = made[0][0], made[0][1]
        parent = session.msg("execute_request", {})
        clean = session.msg("display_data", {"data": {"text/html": html}, "metadata": {}}, parent)
        leaky = session.msg(
            "display_data",
            {"data": {"application/json": {"k": ["x " + SECRETS[0]]}}, "metadata": {}},
            parent,
        )
        fast, walked, raw = _send_all(made, receive, clean)
        assert fast == walked == raw and hook.prepacked == 1
        fast, walked, raw = _send_all(made, receive, leaky)
        assert fast == walked != raw and hook.prepacked == 1
        got = session.deserialize(session.feed_identities(fast)[1])
        assert got["content"]["data"]["application/json"] == {"k": ["x [REDACTED]"]}


def test_a_session_with_another_packer():
    """A small message is checked on its texts and packed by the session's packer; a large one
    (past LEAF_BUDGET) cannot be packed ahead with another packer, so it is walked."""
    with _sessions() as (made, receive):
        session, hook, push, pull = made[0]
        session.pack = lambda obj: json.dumps(obj, default=str).encode()  # not json_packer
        msg = session.msg("display_data", {"data": {"text/plain": "fine " + SECRETS[4]}})
        session.send(push, msg)
        assert hook.prepacked == 0
        got = json.loads(receive(pull)[-1])
        assert got["data"]["text/plain"] == "fine [REDACTED]"
        small = {"data": {"text/plain": "fine"}, "metadata": {}}
        session.send(push, session.msg("display_data", small))
        assert hook.prepacked == 1
        assert receive(pull)[-1] == json.dumps(small, default=str).encode()
        large = {"data": {"application/json": list(range(LEAF_BUDGET + 1))}}
        session.send(push, session.msg("display_data", large))
        assert hook.prepacked == 1  # walked: nothing changed, and nothing was packed ahead
        assert receive(pull)[-1] == json.dumps(large, default=str).encode()


def test_serialize_called_directly_takes_the_same_paths():
    # Session.serialize is hooked too (anyone may serialize a message and send the frames)
    with _sessions() as (made, _):
        (fast_session, fast_hook, _, _), (walked_session, _, _, _), (raw_session, _, _, _) = made
        for content, clean in (
            ({"data": {"text/plain": "clean\n" * 50}}, True),
            ({"data": {"text/plain": "leak " + SECRETS[1]}}, False),
        ):
            msg = fast_session.msg("display_data", content)
            frames = [s.serialize(msg) for s in (fast_session, walked_session, raw_session)]
            assert frames[0] == frames[1]
            assert (frames[0] == frames[2]) is clean
        assert fast_hook.prepacked == 0  # counted only for send(); serialize() passed one anyway
        got = json.loads(frames[0][-1])
        assert got["data"]["text/plain"] == "leak [REDACTED]"
