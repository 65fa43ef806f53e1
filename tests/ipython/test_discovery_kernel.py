"""Issue 14, done when: in a real kernel whose HOME holds every credential file discovery reads
(tests/helpers/credentials.py) and whose environment has DATABRICKS_TOKEN, ``%load_ext redactor``
alone (no ``add_secret``, no ``add-env``, no configuration) hides every one of those secrets on
every output path, the non-secret fields of the same files stay visible, and ``%redactor sources``
lists each source by name with its count, never a value.

The values reach the kernel in a JSON file outside HOME that the cells read (never in a cell's
source, which the kernel echoes in ``execute_input``); every message on every channel is checked
for every form of every secret. One kernel for the module: each start costs seconds.
"""

from __future__ import annotations

import json
import time

import pytest
from helpers.credentials import Credentials, fill_home
from helpers.kernel import Kernel
from helpers.kernel import kernelspec as _kernelspec
from helpers.kernel import start as _start
from helpers.kernel import stop as _stop
from helpers.kernel import strings as _strings
from IPython.lib.pretty import pretty

from redactor import Redactor

pytestmark = pytest.mark.kernel

R = "[REDACTED]"


def streams(msgs: list, name: str = "stdout") -> str:
    return "".join(
        m["content"]["text"]
        for m in msgs
        if m["msg_type"] == "stream" and m["content"]["name"] == name
    )


def hide(text: str, creds: Credentials) -> str:
    """``text`` with every secret replaced, longest first (none of them holds another)."""
    for _, value in sorted(creds.secrets, key=lambda item: -len(item[1])):
        text = text.replace(value, R)
    return text


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return fill_home(tmp_path_factory.mktemp("discovery") / "home")


@pytest.fixture(scope="module")
def kernel(creds: Credentials, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("kernel")
    (tmp / "values.json").write_text(
        json.dumps({"secrets": [v for _, v in creds.secrets], "visible": creds.visible})
    )
    check = Redactor()
    for name, value in creds.secrets:
        assert check.add(value, name)

    def assert_clean(msgs: list) -> None:
        for msg in msgs:
            parts = {k: msg.get(k) for k in ("header", "parent_header", "metadata", "content")}
            texts = _strings({**parts, "buffers": msg.get("buffers")}, [])
            texts.append(json.dumps(parts, default=str))
            for text in texts:
                assert not check.contains_secret(text), (msg["msg_type"], "holds a secret")

    # ipykernel does not capture fd-level output when it sees PYTEST_CURRENT_TEST (its own test
    # suite's switch): fill_home's environment has it removed, and discovery switched on.
    env = dict(creds.env, IPYTHONDIR=str(tmp / "ipython"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(_kernelspec(tmp)))
        km, kc, log = _start(tmp, env, [])
        k = Kernel(km, kc, log, check=assert_clean)
        try:
            iopub, reply, _ = k.run(
                "%load_ext redactor\nimport json\n"
                f"values = json.load(open({str(tmp / 'values.json')!r}))\n"
                "secrets, visible = values['secrets'], values['visible']"
            )
            assert reply["content"]["status"] == "ok", reply["content"]
            assert streams(iopub) == streams(iopub, "stderr") == ""
            yield k
        finally:
            _stop(km, kc)


def test_print_stderr_and_logging(kernel: Kernel, creds: Credentials) -> None:
    iopub, reply, _ = kernel.run(
        """
        import logging, sys
        for i, v in enumerate(secrets):
            print(f"secret {i}: {v}")
            print(f"stderr {i}: {v}", file=sys.stderr)
            logging.getLogger("leak").warning("logged %d: %s", i, v)
        for i, v in enumerate(visible):
            print(f"field {i}: {v}")
        """
    )
    assert reply["content"]["status"] == "ok"
    n = len(creds.secrets)
    assert streams(iopub) == "".join(f"secret {i}: {R}\n" for i in range(n)) + "".join(
        f"field {i}: {v}\n" for i, v in enumerate(creds.visible)
    )
    assert streams(iopub, "stderr") == "".join(
        f"stderr {i}: {R}\nlogged {i}: {R}\n" for i in range(n)
    )


def test_display_and_execute_result(kernel: Kernel, creds: Credentials) -> None:
    iopub, _, _ = kernel.run(
        "for i, v in enumerate(secrets):\n    display(f'display {i}: {v}')\n"
        "{i: v for i, v in enumerate(secrets + visible)}"
    )
    shown = [m["content"]["data"]["text/plain"] for m in iopub if m["msg_type"] == "display_data"]
    assert shown == [f"'display {i}: {R}'" for i in range(len(creds.secrets))]
    (result,) = [m["content"] for m in iopub if m["msg_type"] == "execute_result"]
    everything = [v for _, v in creds.secrets] + creds.visible
    expected = hide(pretty(dict(enumerate(everything))), creds)
    assert result["data"]["text/plain"] == expected
    for value in creds.visible:
        assert value in expected


def test_exception_message(kernel: Kernel, creds: Credentials) -> None:
    iopub, reply, _ = kernel.run(
        "raise PermissionError('; '.join(f'{i}={v}' for i, v in enumerate(secrets + visible)))"
    )
    everything = [v for _, v in creds.secrets] + creds.visible
    expected = hide("; ".join(f"{i}={v}" for i, v in enumerate(everything)), creds)
    (error,) = [m["content"] for m in iopub if m["msg_type"] == "error"]
    assert (error["ename"], error["evalue"]) == ("PermissionError", expected)
    assert (reply["content"]["status"], reply["content"]["evalue"]) == ("error", expected)


def test_fd_level_output(kernel: Kernel, creds: Credentials) -> None:
    """os.write(1, ...) bypasses sys.stdout: the kernel's fd capture is hooked too."""
    iopub, _, _ = kernel.run(
        """
        import os, time
        for i, v in enumerate(secrets):
            os.write(1, f"fd {i}: {v}\\n".encode())
        time.sleep(0.5)
        """
    )
    iopub += kernel.drain(quiet=1.0, limit=5.0)
    assert streams(iopub) == "".join(f"fd {i}: {R}\n" for i in range(len(creds.secrets)))
    time.sleep(1.0)
    raw = kernel.log.read_text(encoding="utf-8", errors="replace")
    assert f"fd 0: {R}\n" in raw  # ipykernel's raw copy to its own stdout is redacted too
    assert all(value not in raw for _, value in creds.secrets)


def test_sources_magic_lists_every_source_by_name(kernel: Kernel, creds: Credentials) -> None:
    iopub, _, _ = kernel.run("%redactor sources")
    listed = creds.by_source()
    out = streams(iopub)
    assert out == (
        "".join(
            f"discovered: {source}: {len(names)} secret{'' if len(names) == 1 else 's'} "
            f"({', '.join(names)})\n"
            for source, names in listed.items()
        )
        + "registered in this process: 0 secrets\n"
        + f"total: {len(creds.secrets)} secrets\n"
    )
    lines = out.splitlines()
    assert lines[0] == "discovered: env: 1 secret (env:DATABRICKS_TOKEN)"
    assert lines[2] == (
        "discovered: aws: 4 secrets (~/.aws/credentials[default]/aws_secret_access_key, "
        "~/.aws/credentials[dev]/aws_secret_access_key, "
        "~/.aws/credentials[dev]/aws_session_token, "
        "~/.aws/config[profile ci]/aws_secret_access_key)"
    )
    assert lines[9] == (
        "discovered: kube: 2 secrets (~/.kube/config[user dev-admin]/token, "
        "~/.kube/config[user ci-deployer]/client-key-data)"
    )
