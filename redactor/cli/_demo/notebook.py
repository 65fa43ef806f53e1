"""Demo step: `redactor scrub` on a leaky notebook, outputs kept, secrets gone."""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import shutil
from pathlib import Path

from redactor.cli._demo import DemoContext
from redactor.cli.main import main

TITLE = "Notebooks: a leaky notebook scrubbed"


def _scrub(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["scrub", "--no-config", "--no-progress", *args])
    # Show the paths as a user in that folder would see them.
    text = out.getvalue().replace(str(Path(args[-1]).parent) + os.sep, "")
    return code, text.replace(str(Path(args[-3])), Path(args[-3]).name)


def _outputs(nb: dict) -> list[int]:
    return [len(cell.get("outputs", [])) for cell in nb["cells"]]


def run(ctx: DemoContext) -> None:
    from dotenv import dotenv_values

    secrets_file = ctx.fixture("demo-secrets.env")
    values = [v for v in dotenv_values(secrets_file, interpolate=False).values() if v]
    path = ctx.workdir / "leaky.ipynb"
    shutil.copyfile(ctx.fixture("leaky.ipynb"), path)
    before_text = path.read_text(encoding="utf-8")
    before = json.loads(before_text)
    ctx.say(f"leaky.ipynb: {len(before['cells'])} cells; secrets in stream, stdin, HTML, JSON,")
    ctx.say("  SVG, JavaScript, a traceback, PNG images, attachments, widget state, papermill")

    ctx.say("$ redactor scrub --check --secrets-file demo-secrets.env leaky.ipynb")
    code, text = _scrub("--check", "--secrets-file", str(secrets_file), str(path))
    ctx.say("  " + text.strip().replace("\n", "\n  "))
    ctx.check(code == 1, "--check exits 1 and names the secrets (never their values)")
    ctx.check(path.read_text(encoding="utf-8") == before_text, "--check leaves the file as it was")

    ctx.say("$ redactor scrub --secrets-file demo-secrets.env leaky.ipynb")
    code, text = _scrub("--secrets-file", str(secrets_file), str(path))
    ctx.say("  " + text.strip().replace("\n", "\n  "))
    after_text = path.read_text(encoding="utf-8")
    after = json.loads(after_text)
    ctx.check(code == 1, "scrub exits 1: the file was changed")
    ctx.check(
        not any(v in after_text for v in values) and all(v not in text for v in values),
        "no secret value is left in the file or in the report",
    )
    ctx.check(_outputs(after) == _outputs(before), "every output is kept")
    clean = after["cells"][6]["outputs"]
    ctx.check(clean[0]["data"]["text/plain"] == ["2"], "clean outputs are unchanged")
    removed = after["cells"][4]["outputs"][0]["data"]
    ctx.check(
        "image/png" not in removed and "removed by redactor" in "".join(removed["text/plain"]),
        "a PNG holding a secret is dropped (not corrupted) and a note says so",
    )
    diff = difflib.unified_diff(before_text.splitlines(), after_text.splitlines(), n=0)
    changed = sum(line.startswith("-") and not line.startswith("---") for line in diff)
    ctx.say(
        f"  git diff: {changed} of {len(before_text.splitlines())} lines changed "
        "(same indentation, key order and trailing newline)"
    )

    code, text = _scrub("--check", "--secrets-file", str(secrets_file), str(path))
    ctx.say("$ redactor scrub --check ... leaky.ipynb   # again")
    ctx.say("  " + text.strip())
    ctx.check(code == 0, "a scrubbed notebook passes --check (exit 0)")
