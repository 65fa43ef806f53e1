"""Build realistic notebooks for the scrubbing tests, the demo fixture and the benchmark.

Kept free of pytest so that ``benchmarks/bench_scrub.py`` and the fixture script can import it.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import nbformat
from nbformat.v4 import (
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
    new_raw_cell,
)

# The fake secrets of fixtures/demo-secrets.env, which fixtures/leaky.ipynb is built from.
PASSWORD = 'Tr0ub4dor&3"horse'
TOKEN = "ghp_demoT0ken1234567890abcdefXYZ"


def demo_redactor():
    """A redactor holding the two demo secrets, named as the notebook tests expect."""
    from redactor import Redactor

    r = Redactor()
    r.add(PASSWORD, "db/password")
    r.add(TOKEN, "api/token")
    return r


def png(text: str = "", size: int = 2) -> bytes:
    """A valid PNG of ``size``×``size`` grey pixels, with ``text`` in a tEXt chunk (as matplotlib
    writes metadata there)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\x80" * size for _ in range(size))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
    if text:
        body += chunk(b"tEXt", b"Comment\x00" + text.encode("latin-1", "replace"))
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def leaky_notebook(password: str, token: str) -> nbformat.NotebookNode:
    """Every field a scrubber must reach, each holding a secret, plus clean outputs to keep."""
    import html
    import json

    esc = "\x1b[0;31m"
    reset = "\x1b[0m"
    nb = new_notebook()
    nb.metadata.update(
        {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "papermill": {"parameters": {"db_password": password, "rows": 10}},
            "widgets": {
                "application/vnd.jupyter.widget-state+json": {
                    "state": {
                        "a1b2c3": {
                            "model_name": "TextModel",
                            "state": {"value": f"token={token}", "description": "API"},
                        },
                        "d4e5f6": {
                            "model_name": "ImageModel",
                            "state": {"format": "png"},
                            "buffers": [
                                {"encoding": "base64", "path": ["value"], "data": b64(png(token))}
                            ],
                        },
                    },
                    "version_major": 2,
                    "version_minor": 0,
                }
            },
        }
    )
    md = new_markdown_cell("Connect to the warehouse:\n\n![diagram](attachment:diagram.png)")
    md.attachments = {
        "diagram.png": {"image/png": b64(png(f"pw={password}"))},
        "notes.txt": {"text/plain": b64(f"password: {password}\n".encode())},
    }
    setup = new_code_cell(
        "import os\npassword = os.environ['SQL_DB_PASSWORD']\nprint('connecting', password)",
        execution_count=1,
    )
    setup.outputs = [
        new_output("stream", name="stdout", text=f"connecting {password}\nconnected\n"),
    ]
    ask = new_code_cell("token = input('token: ')", execution_count=2)
    ask.outputs = [
        new_output("stream", name="stdout", text="token: "),
        new_output("stream", name="stdin", text=f"{token}\n"),
    ]
    show = new_code_cell("cfg", execution_count=3)
    show.metadata["tags"] = ["config"]
    show.metadata["debug"] = {"last_token": token}
    show.outputs = [
        new_output(
            "execute_result",
            execution_count=3,
            data={
                "text/plain": f"{{'user': 'etl', 'password': {password!r}}}",
                "text/html": f"<table><tr><td>password</td><td>{html.escape(password)}</td></tr>"
                "<tr><td>user</td><td>etl</td></tr></table>",
                "application/json": {
                    "user": "etl",
                    "password": password,
                    "headers": [{"Authorization": f"Bearer {token}"}],
                    token: "a key that is a secret",
                },
            },
        ),
    ]
    plot = new_code_cell("plot()", execution_count=4)
    plot.outputs = [
        new_output(
            "display_data",
            data={"image/png": b64(png(f"token={token}")), "text/plain": "<Figure size 2x2>"},
        ),
        new_output(
            "display_data",
            data={"image/png": b64(png("a clean figure")), "text/plain": "<Figure size 2x2>"},
        ),
        new_output(
            "display_data",
            data={
                "image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg"><text>{html.escape(token)}</text></svg>',
                "application/javascript": f"console.log({json.dumps(token)});",
                "text/markdown": f"**token** `{token}`",
            },
        ),
    ]
    fail = new_code_cell("connect(password)", execution_count=5)
    fail.outputs = [
        new_output(
            "error",
            ename="OperationalError",
            evalue=f"FATAL: password authentication failed for password '{password}'",
            traceback=[
                f"{esc}---------------------------------------------------------------------------{reset}",
                f"{esc}OperationalError{reset}                          Traceback (most recent call last)",
                f"Cell {esc}In[5], line 1{reset}\n----> 1 connect(password)\n",
                f"File {esc}db.py:3{reset}, in connect(password={esc}'{password}'{reset})\n",
                f"{esc}OperationalError{reset}: FATAL: password authentication failed for password '{password}'",
            ],
        )
    ]
    clean = new_code_cell("1 + 1", execution_count=6)
    clean.outputs = [
        new_output("execute_result", execution_count=6, data={"text/plain": "2"}),
        new_output("stream", name="stderr", text="a warning without secrets\n"),
    ]
    raw = new_raw_cell("raw cell")
    raw.attachments = {"key.txt": {"text/plain": b64(f"token: {token}\n".encode())}}
    nb.cells = [md, setup, ask, show, plot, fail, clean, raw]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def dumps(nb: Any) -> str:
    """What nbformat writes to disk (indent=1, sorted keys, trailing newline)."""
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def to_disk_dict(nb: Any) -> dict:
    """The plain JSON object as it is on disk (multi-line strings split into lists of lines)."""
    import json

    return json.loads(dumps(nb))


def kernelspec_path(tmp: Any) -> str:
    """A JUPYTER_PATH entry with a ``redactor-test`` kernelspec for this interpreter, so that a
    python3 kernelspec installed elsewhere cannot interfere."""
    import json
    import sys
    from pathlib import Path

    spec = Path(tmp) / "share" / "jupyter" / "kernels" / "redactor-test"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "t", "language": "python"})
    )
    return str(Path(tmp) / "share" / "jupyter")


# A cell whose child process writes the value of the environment variable ``var`` in two halves,
# ``pause`` seconds apart: ipykernel sends what it captured every 0.2 s, so the kernel sends two
# stream messages and nbclient saves two outputs, as with papermill.
SPLIT_WRITE = """\
import subprocess, sys
child = (
    "import os, sys, time\\n"
    "v = os.environ[{var!r}]\\n"
    "os.write(1, v[:{cut}].encode()); time.sleep({pause}); os.write(1, (v[{cut}:] + '\\\\n').encode())"
)
_ = subprocess.run([sys.executable, "-c", child], check=True)
"""
