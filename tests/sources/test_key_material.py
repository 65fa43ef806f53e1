"""The local store's key material (REDACTOR_MASTER_KEY, REDACTOR_PASSPHRASE) is never printed.

It is registered, under the variable's name, wherever redaction starts (the IPython extension,
``redactor.install()``, ``redactor run``) and wherever the store reads it.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.kernel import kernelspec as _kernelspec
from helpers.kernel import start as _start
from helpers.kernel import stop as _stop
from helpers.kernel import strings as _strings
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor
from redactor.sources.scopes import LocalStore
from redactor.sources.scopes.local.keys import WrappingInfo, resolve_master_key

MASTER = secrets.token_hex(32)
PASSPHRASE = "correct horse 'battery' 42 " + secrets.token_hex(4)
R = "[REDACTED]"
TIMEOUT = 60


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    env.update(extra)
    return env


def _held(text: str) -> bool:
    return MASTER in text or PASSPHRASE in text or MASTER.upper() in text


# -- a real kernel --------------------------------------------------------------------------


@pytest.mark.kernel
def test_kernel_env_magic_and_os_environ(tmp_path: Path) -> None:
    home = tmp_path / "store"
    store = LocalStore(home, environ={"REDACTOR_MASTER_KEY": MASTER})
    store.create_scope("p")
    store.put_secret("p", "k", "kernel-store-value-0042")
    env = _env(REDACTOR_MASTER_KEY=MASTER, REDACTOR_PASSPHRASE=PASSPHRASE, REDACTOR_HOME=str(home))
    env.pop("PYTEST_CURRENT_TEST", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path)))
        km, kc, _log = _start(tmp_path, env, ["--ext=redactor"])
        try:

            def run(code: str) -> tuple[str, list[str]]:
                msgs: list[dict] = []
                reply = kc.execute_interactive(code, output_hook=msgs.append, timeout=TIMEOUT)
                for m in [*msgs, reply]:
                    assert not any(_held(t) for t in _strings(m.get("content"), []))
                out = "".join(
                    m["content"]["text"]
                    for m in msgs
                    if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
                )
                results = [
                    m["content"]["data"]["text/plain"]
                    for m in msgs
                    if m["msg_type"] == "execute_result"
                ]
                return out, results

            # issue 16 finding 1: the extension took the key material out of os.environ, so
            # `!cmd` and subprocesses never inherit it; this process still redacts it.
            out, _ = run(
                "import os\nprint([k for k in ('REDACTOR_MASTER_KEY', 'REDACTOR_PASSPHRASE') "
                "if k in os.environ])"
            )
            assert out == "[]\n"
            assert run('!echo "[$REDACTOR_PASSPHRASE]"') == ("[]\r\n", [])  # ! runs on a pty
            assert run("!echo ${REDACTOR_MASTER_KEY:-unset}") == ("unset\r\n", [])
            out, _ = run(
                "import subprocess\nprint(subprocess.run(['sh', '-c', 'echo "
                "${REDACTOR_PASSPHRASE:-unset}'], capture_output=True, text=True).stdout)"
            )
            assert out == "unset\n\n"
            # ... and its values are still registered: x + passphrase is redacted
            out, _ = run(f"import redactor\nprint(redactor.redact('x' + {PASSPHRASE!r}))")
            assert out == f"x{R}\n"
            out, _ = run("%redactor")
            assert "REDACTOR_MASTER_KEY" in out and "REDACTOR_PASSPHRASE" in out
            # the kernel's own store reads still use the withheld key
            out, _ = run(
                "from redactor.sources.scopes import LocalStore\n"
                "print(LocalStore().get_secret('p', 'k') == 'kernel-store-value-0042')"
            )
            assert out == "True\n"
            # set again in a cell: taken out before the next cell runs
            assert run(f"%env REDACTOR_PASSPHRASE={PASSPHRASE}x")[0].endswith(f"{R}x\n")
            assert run('!echo "[$REDACTOR_PASSPHRASE]"') == ("[]\r\n", [])
        finally:
            _stop(km, kc)


# -- redactor run and install() -------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDACTOR_MASTER_KEY", MASTER),
        ("REDACTOR_PASSPHRASE", PASSPHRASE),
        ("REDACTOR_NEW_PASSPHRASE", PASSPHRASE + "-new"),
    ],
)
def test_redactor_run_keeps_key_material_from_its_command(variable: str, value: str) -> None:
    """Issue 16 finding 1: the command does not inherit the key material; with
    --pass-store-key it does, and what it prints of it is masked."""
    env = _env(APP_TOKEN="unrelated-token-value", **{variable: value})
    cmd = [sys.executable, "-m", "redactor", "run", "--no-config", "--secret-env", "APP_TOKEN"]
    script = f'echo "${{{variable}:-unset}}"; printf %s "${variable}" | base64 -w0; echo'
    kw: dict = {"capture_output": True, "text": True, "timeout": TIMEOUT, "env": env}
    result = subprocess.run([*cmd, "--", "sh", "-c", script], check=False, **kw)
    assert (result.returncode, result.stdout, result.stderr) == (0, "unset\n\n", "")
    result = subprocess.run([*cmd, "--pass-store-key", "--", "sh", "-c", script], check=False, **kw)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{R}\n{R}\n", "")


def test_install_masks_key_material() -> None:
    code = """
        import os, subprocess, redactor
        redactor.install()
        # what redactor's own variables the process still holds (the channel is for children)
        print([k for k in os.environ if k.startswith("REDACTOR_") and k != "REDACTOR_CHANNEL"])
        print(subprocess.run(["sh", "-c", "echo ${REDACTOR_MASTER_KEY:-unset}"],
                             capture_output=True, text=True).stdout, end="")
        print(redactor.redact("x" + os.environ.get("P", "")))
        print(redactor.get_redactor().secret_names)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(
            REDACTOR_MASTER_KEY=f" {MASTER}\n",
            REDACTOR_PASSPHRASE=PASSPHRASE,
            REDACTOR_NEW_PASSPHRASE=PASSPHRASE + "-new",
            P=PASSPHRASE,
        ),
        check=False,
    )
    # raw, stripped, and the notations: the URL-safe base64 forms are distinct only when the
    # random key's base64 holds '+' or '/' (about 3 keys in 4), else the same form is held once
    key = bytes.fromhex(MASTER)
    std, url = base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()
    forms = {f" {MASTER}\n", MASTER, MASTER.upper(), std, std.rstrip("="), url, url.rstrip("=")}
    names = ["REDACTOR_MASTER_KEY"] * len(forms) + [
        "REDACTOR_PASSPHRASE",
        "REDACTOR_NEW_PASSPHRASE",
    ]
    assert (result.stdout, result.stderr) == (f"[]\nunset\nx{R}\n{names}\n", "")


# -- opening the store ----------------------------------------------------------------------


def test_opening_the_store_registers_what_it_read(tmp_path: Path, fresh_redactor: Redactor) -> None:
    key = base64.b64encode(bytes.fromhex(MASTER)).decode()
    store = LocalStore(tmp_path / "home", environ={"REDACTOR_MASTER_KEY": key})
    store.create_scope("s")
    names = fresh_redactor.secret_names
    assert set(names) == {"REDACTOR_MASTER_KEY"}
    assert fresh_redactor.redact(f"k={key} hex={MASTER.upper()}") == f"k={R} hex={R}"
    store.put_secret("s", "k", "some-value-1234")
    assert fresh_redactor.secret_names == names  # registered once


def test_a_prompted_passphrase_is_registered(tmp_path: Path, fresh_redactor: Redactor) -> None:
    home = tmp_path / "home"
    locked = LocalStore(home, environ={"REDACTOR_PASSPHRASE": PASSPHRASE})
    locked.create_scope("s")
    locked.put_secret("s", "k", "some-value-1234")
    fresh = Redactor()
    previous = redactor.set_redactor(fresh)
    try:
        store = LocalStore(home, environ={}, prompt=lambda prompt: PASSPHRASE)
        assert store.get_secret("s", "k") == "some-value-1234"
    finally:
        redactor.set_redactor(previous)  # type: ignore[arg-type]
    assert fresh.secret_names == ["passphrase prompt"]
    assert fresh.redact(PASSPHRASE) == R


def test_a_malformed_master_key_is_registered_and_not_shown(
    tmp_path: Path, fresh_redactor: Redactor
) -> None:
    bad = "not-a-key-" + secrets.token_hex(6)
    with pytest.raises(Exception) as info:
        resolve_master_key(tmp_path, WrappingInfo("env", "x"), environ={"REDACTOR_MASTER_KEY": bad})
    assert bad not in str(info.value)
    assert fresh_redactor.redact(bad) == R


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.one_of(
        st.text(min_size=8, max_size=80),
        st.from_regex(r"[0-9]{8,40}", fullmatch=True),
        st.text(alphabet="'\\ ab1", min_size=8, max_size=40),
        st.text(min_size=300, max_size=1200),
    ),
    variable=st.sampled_from(["REDACTOR_MASTER_KEY", "REDACTOR_PASSPHRASE"]),
)
def test_property_environment_dumps_never_show_key_material(value: str, variable: str) -> None:
    assume(value.strip() and "\x00" not in value)
    assume(not ("'" in value and '"' in value))  # repr's mixed-quote escaping is item 2's case
    from redactor.engine.default import register_key_material

    r = Redactor()
    environ = {"HOME": "/home/u", variable: value}
    register_key_material(r, environ)
    for shown in (str(environ), repr(value), value, f"{variable}={value}\n"):
        out = r.redact(shown)
        assert value.strip() not in out
    assert r.secret_names[0] == variable
