"""Token detection in a real kernel: ``%load_ext redactor`` turns on the default detectors, so a
GitHub token nobody registered is hidden in print, the cell's result and logging;
``%redactor detect`` shows and changes them."""

from __future__ import annotations

import os

import pytest
from helpers.kernel import Kernel
from helpers.kernel import kernelspec as _kernelspec
from helpers.kernel import start as _start
from helpers.kernel import stop as _stop
from helpers.kernel import strings as _strings
from helpers.tokenfactory import github_token

from redactor.engine.tokens import detector_names

pytestmark = pytest.mark.kernel

SEEN = github_token("K3rnelT0kenHiddenByDetecti0n01")  # printed with detection on: never shown
LATER = github_token("K3rnelT0kenPrintedWithDetect0f")  # printed after `%redactor detect off`
PASSWORD = "kernel-Pa55word-registered"
R = "[REDACTED]"


def assert_clean(msgs):
    for msg in msgs:
        for text in _strings({k: msg.get(k) for k in ("content", "metadata", "buffers")}, []):
            assert SEEN not in text and PASSWORD not in text, msg["msg_type"]


def out(iopub, name="stdout"):
    return "".join(
        m["content"]["text"]
        for m in iopub
        if m["msg_type"] == "stream" and m["content"]["name"] == name
    )


def test_load_ext_detects_tokens_and_the_magic_turns_it_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDACTOR_DETECT"}
    env.pop("PYTEST_CURRENT_TEST", None)  # ipykernel captures fd output only without it
    env.update(
        IPYTHONDIR=str(tmp_path / "ipython"),
        MY_PASSWORD=PASSWORD,
        TOKENS=f"{SEEN} {LATER}",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path)))
        km, kc, log = _start(tmp_path, env, [])
        k = Kernel(km, kc, log, check=assert_clean)
        try:
            iopub, reply, _ = k.run(
                "%load_ext redactor\n"
                "import logging, os, sys, redactor\n"
                "redactor.add_secret(os.environ['MY_PASSWORD'], 'MY_PASSWORD')\n"
                "seen, later = os.environ['TOKENS'].split()\n"
                "print('password', os.environ['MY_PASSWORD'], 'token', seen)\n"
                "logging.basicConfig(stream=sys.stderr, format='%(message)s', force=True)\n"
                "logging.getLogger('app').warning('pushing with %s', seen)\n"
                "seen"
            )
            assert reply["content"]["status"] == "ok"
            assert out(iopub) == f"password {R} token {R}\n"
            assert out(iopub, "stderr") == f"pushing with {R}\n"
            results = [m["content"] for m in iopub if m["msg_type"] == "execute_result"]
            assert [r["data"]["text/plain"] for r in results] == [f"'{R}'"]

            iopub, _, _ = k.run("%redactor detect")
            default = ", ".join(detector_names(default_only=True))
            assert out(iopub) == f"detect: {default}\n"

            iopub, _, _ = k.run("%redactor detect off\nprint(later, os.environ['MY_PASSWORD'])")
            assert out(iopub) == f"detect: off\n{LATER} {R}\n"
            # A token once detected was learnt: it stays hidden with detection off.
            iopub, _, _ = k.run("print(seen)")
            assert out(iopub) == f"{R}\n"

            iopub, _, _ = k.run("%redactor detect github-tokn")
            assert out(iopub, "stderr") == (
                "%redactor detect: unknown detector 'github-tokn'; did you mean "
                "'github-token'? (`redactor detectors` lists them)\n"
            )
            iopub, _, _ = k.run(
                "%redactor detect on\nlogging.getLogger('app').warning('again %s', later)"
            )
            assert out(iopub) == f"detect: {default}\n"
            assert out(iopub, "stderr") == f"again {R}\n"
        finally:
            _stop(km, kc)
