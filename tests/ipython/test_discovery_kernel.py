"""Discovery in a real kernel: ``%load_ext redactor`` alone hides a token the kernel's environment
holds, with no ``add-env``, no configuration, and a temporary HOME."""

from __future__ import annotations

import os
import secrets

import pytest
from helpers.kernel import Kernel
from helpers.kernel import kernelspec as _kernelspec
from helpers.kernel import start as _start
from helpers.kernel import stop as _stop
from helpers.kernel import strings as _strings

pytestmark = pytest.mark.kernel

TOKEN = "dapi" + secrets.token_hex(16)
SECRETISH = ("_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD", "_API_KEY", "_KEY", "_CREDENTIALS")


def assert_clean(msgs):
    for msg in msgs:
        for text in _strings({k: msg.get(k) for k in ("content", "metadata", "buffers")}, []):
            assert TOKEN not in text, msg["msg_type"]


def test_load_ext_alone_hides_a_discovered_token(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith(SECRETISH)}
    env.pop("REDACTOR_DISCOVER", None)  # the suite turns discovery off; this test is about it
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(
        HOME=str(home),
        USERPROFILE=str(home),
        DATABRICKS_TOKEN=TOKEN,
        IPYTHONDIR=str(tmp_path / "ipython"),
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path)))
        km, kc, log = _start(tmp_path, env, [])
        k = Kernel(km, kc, log, check=assert_clean)
        try:
            iopub, reply, _ = k.run(
                "%load_ext redactor\nimport os\nt = os.environ['DATABRICKS_TOKEN']\n"
                "print('token:', t)\nt"
            )
            assert reply["content"]["status"] == "ok"
            out = "".join(m["content"]["text"] for m in iopub if m["msg_type"] == "stream")
            assert out == "token: [REDACTED]\n"
            results = [m["content"] for m in iopub if m["msg_type"] == "execute_result"]
            assert [r["data"]["text/plain"] for r in results] == ["'[REDACTED]'"]
            iopub, _, _ = k.run("%redactor sources")
            out = "".join(m["content"]["text"] for m in iopub if m["msg_type"] == "stream")
            assert out == (
                "discovered: env: 1 secret (env:DATABRICKS_TOKEN)\n"
                "registered in this process: 0 secrets\n"
                "total: 1 secret\n"
            )
        finally:
            _stop(km, kc)
