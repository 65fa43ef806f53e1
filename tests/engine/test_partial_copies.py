"""Partial copies of a long secret, as real truncating renderers show them (issue 12, item 6).

pandas reprs show 46 characters of a 120-character token and "...", ``reprlib`` a head and a tail,
Spark's ``df.show()`` 17 characters, IPython's ``%whos`` 25 and 25, ``%xmode Verbose`` the frame
locals. With the default fragment length (16) no 16-character run of the secret may survive, and
the whole visible piece becomes one ``[REDACTED]``.
"""

from __future__ import annotations

import os
import random
import reprlib
import string

import pytest

from redactor import Redactor

R = "[REDACTED]"
F = 16
TOKEN = "ghp_" + "".join(random.Random(120).choices(string.ascii_letters + string.digits, k=116))


def runs_of(secret: str, n: int = F) -> set[str]:
    return {secret[i : i + n] for i in range(len(secret) - n + 1)}


def head_shown(text: str, secret: str = TOKEN) -> str:
    """The longest head of the secret that ``text`` shows."""
    k = max(k for k in range(len(secret) + 1) if secret[:k] in text)
    return secret[:k]


def assert_no_run(text: str, secret: str = TOKEN) -> None:
    leaked = [run for run in runs_of(secret) if run in text]
    assert not leaked, f"{len(leaked)} runs of {F} characters of the secret survive"


@pytest.fixture
def r() -> Redactor:
    red = Redactor()
    red.add(TOKEN, name="gh/token")
    return red


def test_pandas_dataframe_and_series_repr(r: Redactor) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"name": ["ci"], "token": [TOKEN]})
    shown = repr(df)
    head = head_shown(shown)  # pandas cuts cells to display.max_colwidth (50) with "..."
    assert len(head) > 40 and head + "..." in shown and TOKEN not in shown
    out = r.redact(shown)
    assert_no_run(out)
    assert out == shown.replace(head, R)
    series = pd.Series([TOKEN, "short"], name="token")
    head = head_shown(repr(series))
    assert len(head) > 40 and head + "..." in repr(series)
    out = r.redact(repr(series))
    assert_no_run(out)
    assert out == repr(series).replace(head, R)
    html = df._repr_html_()
    assert_no_run(r.redact(html))


def test_reprlib_head_and_tail(r: Redactor) -> None:
    # reprlib's default (maxstring=30) shows 12 and 13 characters: under the fragment length, so
    # no 16-character run is shown and the text stays as it is; fragment_length=12 hides them.
    shown = reprlib.repr({"token": TOKEN})
    assert shown == "{'token': '" + TOKEN[:12] + "..." + TOKEN[-13:] + "'}"
    assert r.redact(shown) == shown
    twelve = Redactor(fragment_length=12)
    twelve.add(TOKEN)
    assert twelve.redact(shown) == "{'token': '" + R + "..." + R + "'}"
    # with room for longer pieces (as aRepr is often configured), both are hidden whole
    wide = reprlib.Repr()
    wide.maxstring = 80
    shown = wide.repr({"token": TOKEN})
    head, tail = shown.split("...")
    assert len(head) > F + 11 and len(tail) > F + 2
    out = r.redact(shown)
    assert_no_run(out)
    assert out == "{'token': '" + R + "..." + R + "'}"


def test_spark_show_truncates_to_17_characters(spark, r: Redactor, capsys) -> None:
    df = spark.createDataFrame([("ci", TOKEN)], "name string, token string")
    df.show()
    shown = capsys.readouterr().out
    assert TOKEN[:17] + "..." in shown and TOKEN[:18] not in shown
    out = r.redact(shown)
    assert_no_run(out)
    assert out == shown.replace(TOKEN[:17] + "...", R + "...")
    df.show(truncate=False)
    assert r.redact(capsys.readouterr().out).count(R) == 1


@pytest.mark.kernel
def test_kernel_whos_and_xmode_verbose_locals(tmp_path) -> None:
    """A real kernel: %whos shows 25 characters, a head and a tail, and %xmode Verbose the frame's
    locals; after %load_ext redactor and the secret added, no 16-character run is in any message."""
    from helpers.kernel import Kernel
    from helpers.kernel import kernelspec as _kernelspec
    from helpers.kernel import start as _start
    from helpers.kernel import stop as _stop

    env = dict(os.environ, LONG_TOKEN=TOKEN, IPYTHONDIR=str(tmp_path / "ipython"))
    env.pop("PYTEST_CURRENT_TEST", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path)))
        km, kc, log = _start(tmp_path, env, [])
        k = Kernel(km, kc, log)
        try:
            messages = []
            for code in (
                "%load_ext redactor\n%redactor add-env LONG_TOKEN",
                "import os\ntoken = os.environ['LONG_TOKEN']\nsuffix = token[60:]",
                "%whos",
                "%xmode Verbose",
                "def f(tok, tail):\n    raise ValueError('bad token')\nf(token, suffix)",
                "token[:47] + '...'",
            ):
                iopub, reply, _ = k.run(code)
                messages += [*iopub, reply]
        finally:
            _stop(km, kc)
    texts: list[str] = []
    for msg in messages:
        _collect(msg.get("content"), texts)
    whole = "\n".join(texts)
    assert "registered LONG_TOKEN" in whole and "ValueError" in whole and "suffix" in whole
    assert R in whole
    for text in texts:
        assert_no_run(text)


def _collect(value, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect(v, out)
