"""The IPython/Jupyter extension against real kernels.

Every secret reaches the kernel through its environment (never the cell source, which the kernel
echoes in ``execute_input``) and is registered inside the kernel with ``%redactor add-env``. For
each output path, every message on iopub, shell and stdin is checked for every form of the secret,
and non-secret output is checked to be exactly what it would have been.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sys
import time

import pytest
import zmq
from helpers.kernel import Kernel
from helpers.kernel import kernelspec as _kernelspec
from helpers.kernel import start as _start
from helpers.kernel import stop as _stop
from helpers.kernel import strings as _strings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor

pytestmark = pytest.mark.kernel

SECRET = "sk-live-" + secrets.token_hex(12)
LATE = "pw-late-" + secrets.token_hex(12)  # registered in the middle of a cell
CHECK = Redactor()
CHECK.add(SECRET, "SECRET")
CHECK.add(LATE, "LATE")
R = "[REDACTED]"


def assert_clean(msgs):
    for msg in msgs:
        parts = {
            k: msg.get(k) for k in ("header", "parent_header", "metadata", "content", "buffers")
        }
        texts = _strings(parts, [])
        texts.append(json.dumps(parts, default=str))
        for text in texts:
            assert not CHECK.contains_secret(text), (msg["msg_type"], "holds a form of a secret")
            assert SECRET not in text and LATE not in text


def streams(msgs, name="stdout"):
    return "".join(
        m["content"]["text"]
        for m in msgs
        if m["msg_type"] == "stream" and m["content"]["name"] == name
    )


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """One kernel for the module; it loads the extension through IPython config."""
    tmp = tmp_path_factory.mktemp("kernel")
    ipythondir = tmp / "ipython"
    (ipythondir / "profile_default").mkdir(parents=True)
    (ipythondir / "profile_default" / "ipython_kernel_config.py").write_text(
        'c.InteractiveShellApp.extensions = ["redactor"]\n'
    )
    env = dict(
        os.environ,
        DEMO_SECRET=SECRET,
        LATE_SECRET=LATE,
        SHORT_SECRET="abc12",
        IPYTHONDIR=str(ipythondir),
    )
    # ipykernel does not capture fd-level output when it sees this (its own test suite's switch).
    env.pop("PYTEST_CURRENT_TEST", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(_kernelspec(tmp)))
        km, kc, log = _start(tmp, env, [])
        k = Kernel(km, kc, log, check=assert_clean)
        try:
            iopub, _, _ = k.run(
                "%redactor add-env DEMO_SECRET\nimport os\ns = os.environ['DEMO_SECRET']"
            )
            assert streams(iopub) == "registered DEMO_SECRET\n"
            yield k
        finally:
            _stop(km, kc)


def test_print_stdout_stderr_warnings_logging(kernel):
    iopub, reply, _ = kernel.run(
        """
        import sys, logging, warnings
        print("plain text stays", 42)
        print("token:", s)
        print("to stderr", s, file=sys.stderr)
        warnings.warn("warned " + s)
        logging.getLogger("demo").warning("logged %s", s)
        """
    )
    assert streams(iopub) == f"plain text stays 42\ntoken: {R}\n"
    err = streams(iopub, "stderr")
    assert f"to stderr {R}\n" in err
    assert f"UserWarning: warned {R}" in err
    assert f"logged {R}\n" in err
    assert reply["content"]["status"] == "ok"


def test_secret_split_by_the_flush_timer(kernel):
    iopub, _, _ = kernel.run(
        """
        import sys, time
        sys.stdout.write("head " + s[:10]); sys.stdout.flush()
        time.sleep(0.5)
        sys.stdout.write(s[10:] + " tail\\n")
        """
    )
    assert streams(iopub) == f"head {R} tail\n"


def test_held_tail_released_before_the_next_message(kernel):
    # A tail that looks like the start of the secret is released, in order, before display().
    iopub, _, _ = kernel.run(
        """
        import sys
        from IPython.display import display
        sys.stdout.write("before " + s[:8]); sys.stdout.flush()
        display("shown")
        print("after")
        """
    )
    kinds = [
        (m["msg_type"], m["content"].get("text") or m["content"].get("data", {}).get("text/plain"))
        for m in iopub
        if m["msg_type"] in ("stream", "display_data")
    ]
    text_before = "".join(t for k, t in kinds[: [k for k, _ in kinds].index("display_data")])
    assert text_before == "before " + SECRET[:8]  # only a prefix, which is not the secret
    assert streams(iopub) == "before " + SECRET[:8] + "after\n"


def test_display_update_and_raw_mimebundles(kernel):
    iopub, _, _ = kernel.run(
        """
        from IPython.display import display, HTML, update_display
        display(HTML(f"<b>{s}</b> and <i>plain</i>"), display_id="d1")
        update_display(HTML(f"<i>{s}</i>"), display_id="d1")
        display({"text/plain": "raw " + s, "application/json": {"k": [s, {"n": s}], "plain": "text"}}, raw=True, metadata={"note": s})
        """
    )
    data = [m["content"] for m in iopub if m["msg_type"] in ("display_data", "update_display_data")]
    assert data[0]["data"]["text/html"] == f"<b>{R}</b> and <i>plain</i>"
    assert data[1]["data"]["text/html"] == f"<i>{R}</i>"
    assert [m["msg_type"] for m in iopub if m["msg_type"].endswith("display_data")] == [
        "display_data",
        "update_display_data",
        "display_data",
    ]
    assert data[2]["data"]["application/json"] == {"k": [R, {"n": R}], "plain": "text"}
    assert data[2]["data"]["text/plain"] == f"raw {R}"
    assert data[2]["metadata"] == {"note": R}


def test_clean_displays_pass_on_one_scan_and_leaky_ones_are_walked(kernel):
    # ipykernel's own messages, not hand-made ones: the hook packs each once and scans it once,
    # and walks only the one that holds the secret (the %redactor counts say which way each went)
    iopub, _, _ = kernel.run(
        """
        from IPython.display import display, HTML
        for i in range(3):
            display(HTML(f"<table><tr><td>{i}</td></tr></table>"))
        display({"application/json": {"k": [s], "q": 'say "hi"\\n'}}, raw=True)
        %redactor
        """
    )
    data = [m["content"]["data"] for m in iopub if m["msg_type"] == "display_data"]
    assert [d["text/html"] for d in data[:3]] == [
        f"<table><tr><td>{i}</td></tr></table>" for i in range(3)
    ]
    assert data[3]["application/json"] == {"k": [R], "q": 'say "hi"\n'}
    counts = re.search(r"(\d+) messages so far, (\d+) of them passed on one scan", streams(iopub))
    assert counts is not None
    assert 3 <= int(counts.group(2)) < int(counts.group(1))


def test_encoded_forms_in_a_small_display_are_redacted(kernel):
    # A display of a few plain values takes the leaf check (its texts scanned, no JSON text):
    # the secret's base64, its hex, its repr and JSON holding it are still found.
    iopub, _, _ = kernel.run(
        """
        import base64, json
        from IPython.display import display
        _b = base64.b64encode(s.encode()).decode()
        display({"application/json": {"b64": _b, "hex": s.encode().hex(), "r": [repr(s)],
                 "json": json.dumps({"pw": s}), "n": 7}}, raw=True)
        """
    )
    (data,) = [m["content"]["data"] for m in iopub if m["msg_type"] == "display_data"]
    assert data["application/json"] == {
        "b64": R,
        "hex": R,
        "r": [f"'{R}'"],
        "json": f'{{"pw": "{R}"}}',
        "n": 7,
    }


def test_execute_result(kernel):
    iopub, _, _ = kernel.run("{'k': s, 'n': 1}")
    (result,) = [m for m in iopub if m["msg_type"] == "execute_result"]
    assert result["content"]["data"]["text/plain"] == f"{{'k': '{R}', 'n': 1}}"
    iopub, _, _ = kernel.run("'no secret here'")
    (result,) = [m for m in iopub if m["msg_type"] == "execute_result"]
    assert result["content"]["data"]["text/plain"] == "'no secret here'"


def test_errors_in_error_message_and_execute_reply(kernel):
    iopub, reply, _ = kernel.run("raise ValueError('bad value ' + s)")
    (error,) = [m for m in iopub if m["msg_type"] == "error"]
    assert error["content"]["ename"] == "ValueError"
    assert error["content"]["evalue"] == f"bad value {R}"
    assert reply["content"]["status"] == "error"
    assert reply["content"]["evalue"] == f"bad value {R}"
    assert any(R in line for line in reply["content"]["traceback"])


def test_syntax_error_and_exception_group(kernel):
    _, reply, _ = kernel.run("eval(repr(s) + ' +')")
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "SyntaxError"
    assert any(f"'{R}' +" in line for line in reply["content"]["traceback"])
    if sys.version_info < (3, 11):
        return  # no ExceptionGroup
    iopub, reply, _ = kernel.run(
        "raise ExceptionGroup('group', [ValueError(s), KeyError('plain')])"
    )
    assert reply["content"]["status"] == "error"
    text = json.dumps([m["content"] for m in iopub])
    assert R in text and "plain" in text


def test_pinfo_and_page_payloads(kernel):
    for code in ("s?", "%pinfo s", "%page s"):
        _, reply, _ = kernel.run(code)
        payload = reply["content"]["payload"]
        assert payload and payload[0]["source"] == "page"
        assert R in payload[0]["data"]["text/plain"]


def test_inspect_reply_and_user_expressions(kernel):
    msg_id = kernel.kc.inspect("s", cursor_pos=1, detail_level=0)
    reply = kernel.kc.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.kc.get_shell_msg(timeout=30)
    assert_clean([reply])
    assert reply["content"]["found"] is True
    assert R in reply["content"]["data"]["text/plain"]
    _, reply, _ = kernel.run("x = 1", user_expressions={"v": "s", "w": "'plain'"})
    exprs = reply["content"]["user_expressions"]
    assert exprs["v"]["data"]["text/plain"] == f"'{R}'"
    assert exprs["w"]["data"]["text/plain"] == "'plain'"


def test_input_and_getpass_prompts(kernel):
    iopub, _, stdin_msgs = kernel.run(
        """
        import getpass
        answer = input(s + " prompt: ")
        pw = getpass.getpass("password for " + s + ": ")
        print("got", answer, len(pw))
        """,
        stdin=lambda msg: "typed",
    )
    prompts = [m["content"]["prompt"] for m in stdin_msgs]
    assert prompts == [f"{R} prompt: ", f"password for {R}: "]
    assert stdin_msgs[1]["content"]["password"] is True
    assert streams(iopub) == "got typed 5\n"


def test_comm_messages_and_buffers(kernel):
    iopub, _, _ = kernel.run(
        """
        from comm import create_comm
        c = create_comm(target_name="redactor-test", data={"value": s, "plain": "keep"})
        c.send({"value": [s], "plain": "keep"}, buffers=[("buf " + s).encode()])
        c.close()
        """
    )
    opened = [m for m in iopub if m["msg_type"] == "comm_open"]
    assert opened[0]["content"]["data"] == {"value": R, "plain": "keep"}
    sent = [m for m in iopub if m["msg_type"] == "comm_msg"]
    assert sent[0]["content"]["data"] == {"value": [R], "plain": "keep"}
    assert [bytes(b) for b in sent[0]["buffers"]] == [f"buf {R}".encode()]


def test_output_from_threads_during_and_after_the_cell(kernel):
    iopub, _, _ = kernel.run(
        """
        import threading, time, sys
        from IPython.display import display
        def during():
            print("thread", s)
            display({"text/plain": "thread display " + s}, raw=True)
        t = threading.Thread(target=during); t.start(); t.join()
        def after():
            time.sleep(0.5)
            print("late", s, flush=True)
            sys.stdout.write("split " + s[:12]); sys.stdout.flush()
            time.sleep(0.5)  # < LATE_RELEASE_SECONDS: the split is still caught
            sys.stdout.write(s[12:] + " done\\n"); sys.stdout.flush()
            sys.stdout.write("trailing " + s[:6]); sys.stdout.flush()
        threading.Thread(target=after).start()
        """
    )
    assert f"thread {R}\n" in streams(iopub)
    assert any(
        m["content"].get("data", {}).get("text/plain") == f"thread display {R}" for m in iopub
    )
    late = kernel.drain(quiet=4.0)
    assert streams(late) == f"late {R}\nsplit {R} done\ntrailing {SECRET[:6]}"


def test_subprocess_and_c_level_output(kernel):
    iopub, _, _ = kernel.run(
        """
        import os, subprocess, sys, ctypes
        subprocess.run([sys.executable, "-c", "import os; print('child', os.environ['DEMO_SECRET'], flush=True)"], check=True)
        os.write(1, ("fd write " + s + "\\n").encode())
        line = ("libc write " + s + "\\n").encode()
        ctypes.CDLL(None).write(1, line, len(line))
        import time; time.sleep(0.3)
        """
    )
    out = streams(iopub)
    assert f"child {R}\n" in out
    assert f"fd write {R}\n" in out
    assert f"libc write {R}\n" in out
    # ipykernel also copies fd-level output raw to its own stdout (the server's terminal or log).
    time.sleep(1.0)
    raw = kernel.log.read_bytes()
    assert f"fd write {R}".encode() in raw
    assert SECRET.encode() not in raw


def test_secret_registered_mid_cell(kernel):
    iopub, _, _ = kernel.run(
        """
        import os, sys, redactor
        late = os.environ["LATE_SECRET"]
        sys.stdout.write("buffered " + late + "\\n")   # still in the kernel's buffer
        redactor.add_secret(late, "LATE")
        print("after", late)
        late
        """
    )
    assert streams(iopub) == f"buffered {R}\nafter {R}\n"
    (result,) = [m for m in iopub if m["msg_type"] == "execute_result"]
    assert result["content"]["data"]["text/plain"] == f"'{R}'"


def test_magic_reports_state_without_values(kernel):
    iopub, _, _ = kernel.run("%redactor")
    out = streams(iopub)
    lines = out.splitlines()
    assert lines[0].startswith("redactor ") and "(DEMO_SECRET" in lines[0]
    assert lines[1].startswith("patterns: ")
    assert lines[2].startswith("encodings: plain")
    assert "kernel session" in out and "raw fd echo" in out
    iopub, _, _ = kernel.run("%redactor add-env NOT_SET_ANYWHERE_XYZ")
    assert (
        streams(iopub, "stderr")
        == "%redactor add-env: environment variable NOT_SET_ANYWHERE_XYZ is not set\n"
    )
    iopub, _, _ = kernel.run("%redactor add-env SHORT_SECRET")
    err = streams(iopub, "stderr")
    assert err.startswith("%redactor add-env: secret 'SHORT_SECRET' is too short")
    assert "abc12" not in err
    iopub, _, _ = kernel.run("%redactor bogus")
    assert streams(iopub, "stderr").startswith("%redactor: unknown command 'bogus'\nusage:")


def test_unload_restores_and_reload_hooks_again(kernel):
    iopub, _, _ = kernel.run(
        """
        %unload_ext redactor
        import sys
        sess = get_ipython().kernel.session
        print("send" in vars(sess), "serialize" in vars(sess), type(sys.stdout).__name__)
        print("redactor" in get_ipython().magics_manager.magics["line"])
        %load_ext redactor
        print("send" in vars(sess), "serialize" in vars(sess))
        """
    )
    assert streams(iopub) == "False False OutStream\nFalse\nTrue True\n"


def test_nbclient_with_ext_argument(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os, redactor\nredactor.add_secret(os.environ['DEMO_SECRET'], 'S')\ns = os.environ['DEMO_SECRET']"
        ),
        nbformat.v4.new_code_cell(
            "print('a', s)\nimport sys, time\nsys.stdout.write(s[:9]); sys.stdout.flush(); time.sleep(0.5); print(s[9:])"
        ),
        nbformat.v4.new_code_cell("s"),
        nbformat.v4.new_code_cell("raise RuntimeError(s)"),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path)))
        mp.setenv("DEMO_SECRET", SECRET)
        mp.delenv("PYTEST_CURRENT_TEST", raising=False)
        client = NotebookClient(
            nb,
            kernel_name="redactor-test",
            allow_errors=True,
            timeout=120,
            extra_arguments=["--ext=redactor"],
        )
        client.execute()
    text = nbformat.writes(nb)
    assert not CHECK.contains_secret(text) and SECRET not in text
    outputs = nb.cells[1].outputs
    assert "".join(o["text"] for o in outputs if o["output_type"] == "stream") == f"a {R}\n{R}\n"
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == f"'{R}'"
    assert nb.cells[3].outputs[0]["evalue"] == R


# -- the hold-back logic on a real Session and real sockets, without a kernel --------------------


def _session_pair():
    from jupyter_client.session import Session
    from redactor.ipython_extension._kernel import SessionHook

    ctx = zmq.Context.instance()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    addr = f"inproc://redactor-{secrets.token_hex(4)}"
    pull.bind(addr)
    push.connect(addr)
    session = Session(key=b"k")
    return session, SessionHook(session), push, pull


def _received(session, pull):
    out = []
    while pull.poll(50):
        frames = pull.recv_multipart()
        _, frames = session.feed_identities(frames)
        out.append(session.deserialize(frames))
    return out


@contextlib.contextmanager
def _hooked(values=None, late_release=None):
    """A hooked Session on real sockets, with ``values`` (default: SECRETS) in a fresh
    process-wide redactor."""
    engine = Redactor()
    for i, value in enumerate(SECRETS if values is None else values):
        engine.add(value, f"s{i}")
    previous = redactor.set_redactor(engine)
    session, hook, push, pull = _session_pair()
    if late_release is not None:
        hook.late_release = late_release
    hook.install()
    try:
        yield engine, session, hook, push, pull
    finally:
        hook.uninstall()
        redactor.set_redactor(previous)
        push.close()
        pull.close()


SECRETS = ["sk-live-abcdef123456", "sk-test-zz99yy88", "hunter2hunter2"]


@st.composite
def chunked_output(draw):
    pieces = draw(
        st.lists(
            st.one_of(st.sampled_from(SECRETS), st.text("sk-liveabc 12\n", max_size=12)), max_size=8
        )
    )
    text = "".join(pieces)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=6)))
    chunks, pos = [], 0
    for c in [*cuts, len(text)]:
        chunks.append(text[pos:c])
        pos = c
    return text, [c for c in chunks if c]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(out=chunked_output(), err=chunked_output())
def test_property_any_chunking_matches_redact_of_the_whole(out, err):
    with _hooked() as (engine, session, _, push, pull):
        parent = session.msg("execute_request", {})
        (text_out, chunks_out), (text_err, chunks_err) = out, err
        for i in range(max(len(chunks_out), len(chunks_err))):
            for name, chunks in (("stdout", chunks_out), ("stderr", chunks_err)):
                if i < len(chunks):
                    session.send(push, "stream", {"name": name, "text": chunks[i]}, parent=parent)
        session.send(push, "status", {"execution_state": "idle"}, parent=parent)
        msgs = _received(session, pull)
    assert msgs[-1]["msg_type"] == "status"
    assert streams(msgs, "stdout") == engine.redact(text_out)
    assert streams(msgs, "stderr") == engine.redact(text_err)
    for m in msgs:
        if m["msg_type"] == "stream":
            assert m["content"]["text"], "no empty stream messages"
            assert not engine.contains_secret(m["content"]["text"])
    if not engine.contains_secret(text_out):
        assert streams(msgs, "stdout") == text_out


@settings(max_examples=40, deadline=None)
@given(out=chunked_output(), split=st.integers(0, 8))
def test_property_release_before_other_messages_keeps_order(out, split):
    with _hooked() as (engine, session, _, push, pull):
        parent = session.msg("execute_request", {})
        _, chunks = out
        first, second = chunks[:split], chunks[split:]
        for c in first:
            session.send(push, "stream", {"name": "stdout", "text": c}, parent=parent)
        session.send(
            push, "display_data", {"data": {"text/plain": "marker"}, "metadata": {}}, parent=parent
        )
        for c in second:
            session.send(push, "stream", {"name": "stdout", "text": c}, parent=parent)
        session.send(push, "status", {"execution_state": "idle"}, parent=parent)
        msgs = _received(session, pull)
    idx = [m["msg_type"] for m in msgs].index("display_data")
    assert streams(msgs[:idx]) == engine.redact("".join(first))
    assert streams(msgs[idx:]) == engine.redact("".join(second))


def test_late_output_released_after_silence_and_at_unload():
    with _hooked(SECRETS[:1], late_release=0.2) as (_, session, hook, push, pull):
        parent = session.msg("execute_request", {})
        session.send(push, "status", {"execution_state": "idle"}, parent=parent)
        session.send(push, "stream", {"name": "stdout", "text": "late sk-live-ab"}, parent=parent)
        first = _received(session, pull)
        assert [m["content"].get("text") for m in first[1:]] == ["late "]
        time.sleep(0.5)  # longer than late_release: the possible prefix goes out on its own
        assert streams(_received(session, pull)) == "sk-live-ab"
        # no parent at all (output from a thread started outside any cell): the same timer,
        # long enough here that the unload below releases it first
        hook.late_release = 30
        session.send(push, "stream", {"name": "stderr", "text": "x sk-live-"}, parent={})
        # a cell still running holds its tail until the cell's next message: here, the unload
        running = session.msg("execute_request", {})
        session.send(push, "stream", {"name": "stdout", "text": "run sk-"}, parent=running)
        assert streams(_received(session, pull), "stderr") == "x "
        hook.uninstall()
        rest = _received(session, pull)
        assert sorted((m["content"]["name"], m["content"]["text"]) for m in rest) == [
            ("stderr", "sk-live-"),
            ("stdout", "sk-"),
        ]
        assert "send" not in vars(session) and "serialize" not in vars(session)
