"""The Jupyter Server pre-save hook, through a real FileContentsManager.save()."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest
from helpers.nbfactory import PASSWORD, TOKEN
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jupyter_server.services.contents.filemanager import FileContentsManager
from nbformat.v4 import new_code_cell, new_notebook, new_output
from tornado.web import HTTPError

import redactor
from redactor import Redactor
from redactor.sinks.jupyter import clear_cache, pre_save_hook

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"
HOOK = "redactor.jupyter.pre_save_hook"


@pytest.fixture(autouse=True)
def isolated():
    previous = redactor.set_redactor(Redactor())
    clear_cache()
    yield
    clear_cache()
    redactor.set_redactor(previous)


def configure(folder: Path, **values: str) -> None:
    (folder / "s.env").write_text("".join(f"{k}={v!r}\n" for k, v in values.items()))
    (folder / "pyproject.toml").write_text('[tool.redactor]\nsecrets-file = ["s.env"]\n')


def model(content: dict) -> dict:
    return {"type": "notebook", "format": "json", "content": content}


def leaky() -> dict:
    return json.loads(LEAKY.read_text())


def test_save_scrubs_outputs_and_keeps_them(tmp_path):
    configure(tmp_path, API_TOKEN=TOKEN, DB=PASSWORD)
    cm = FileContentsManager(root_dir=str(tmp_path), pre_save_hook=HOOK)
    content = leaky()
    saved = cm.save(model(content), "nb.ipynb")
    assert saved["type"] == "notebook"
    text = (tmp_path / "nb.ipynb").read_text()
    assert TOKEN not in text and "Tr0ub4dor" not in text
    on_disk = json.loads(text)
    assert [len(c.get("outputs", [])) for c in on_disk["cells"]] == [
        len(c.get("outputs", [])) for c in content["cells"]
    ]
    assert on_disk["cells"][1]["outputs"][0]["text"] == ["connecting [REDACTED]\n", "connected\n"]
    # what the browser reloads is the scrubbed notebook too
    reloaded = cm.get("nb.ipynb")["content"]
    assert reloaded.cells[2].outputs[1].text == "[REDACTED]\n"


def test_notebook_in_a_subfolder_uses_the_pyproject_above(tmp_path):
    configure(tmp_path, API_TOKEN=TOKEN)
    (tmp_path / "a" / "b").mkdir(parents=True)
    cm = FileContentsManager(root_dir=str(tmp_path), pre_save_hook=HOOK)
    cm.save(model(leaky()), "a/b/nb.ipynb")
    text = (tmp_path / "a" / "b" / "nb.ipynb").read_text()
    assert TOKEN not in text
    assert "Tr0ub4dor" in text  # only the configured secret is redacted


def test_process_wide_redactor_of_the_server(tmp_path):
    redactor.add_secret(PASSWORD, "server/db")
    cm = FileContentsManager(root_dir=str(tmp_path))
    cm.register_pre_save_hook(pre_save_hook)
    cm.save(model(leaky()), "nb.ipynb")
    text = (tmp_path / "nb.ipynb").read_text()
    assert "Tr0ub4dor" not in text and TOKEN in text


def test_nothing_configured_saves_unchanged(tmp_path):
    cm = FileContentsManager(root_dir=str(tmp_path), pre_save_hook=HOOK)
    plain = FileContentsManager(root_dir=str(tmp_path))
    cm.save(model(leaky()), "hooked.ipynb")
    plain.save(model(leaky()), "plain.ipynb")
    assert (tmp_path / "hooked.ipynb").read_bytes() == (tmp_path / "plain.ipynb").read_bytes()


def test_broken_config_rejects_the_save(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.redactor]\nsecrets-file = ["missing.env"]\n')
    cm = FileContentsManager(root_dir=str(tmp_path), pre_save_hook=HOOK)
    with pytest.raises(HTTPError) as exc:
        cm.save(model(leaky()), "nb.ipynb")
    assert exc.value.status_code == 400
    assert "secrets file" in exc.value.log_message and "does not exist" in exc.value.log_message
    assert not (tmp_path / "nb.ipynb").exists()


def test_changed_secrets_file_is_picked_up(tmp_path):
    configure(tmp_path, A="first-secret-value")
    cm = FileContentsManager(root_dir=str(tmp_path), pre_save_hook=HOOK)
    nb = new_notebook()
    cell = new_code_cell("x")
    cell.outputs = [
        new_output("stream", name="stdout", text="first-secret-value second-secret-value")
    ]
    nb.cells = [cell]
    content = json.loads(json.dumps(nb))
    cm.save(model(content), "nb.ipynb")
    assert "first-secret-value" not in (tmp_path / "nb.ipynb").read_text()
    assert "second-secret-value" in (tmp_path / "nb.ipynb").read_text()
    configure(tmp_path, A="first-secret-value", B="second-secret-value")
    st_ = os.stat(tmp_path / "s.env")
    os.utime(tmp_path / "s.env", ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))
    cm.save(model(content), "nb.ipynb")
    assert "second-secret-value" not in (tmp_path / "nb.ipynb").read_text()


def test_source_secret_is_logged_by_name_and_kept(tmp_path):
    configure(tmp_path, API_TOKEN=TOKEN)
    cm = FileContentsManager(root_dir=str(tmp_path), pre_save_hook=HOOK)
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Collect(logging.DEBUG)
    cm.log.addHandler(handler)
    cm.log.setLevel(logging.DEBUG)
    try:
        nb = new_notebook()
        nb.cells = [new_code_cell(f"t = '{TOKEN}'")]
        cm.save(model(json.loads(json.dumps(nb))), "src.ipynb")
    finally:
        cm.log.removeHandler(handler)
    assert "redactor: src.ipynb: cell 1, line 1: secret s.env/API_TOKEN in the source" in records
    assert all(TOKEN not in r for r in records)
    assert TOKEN in (tmp_path / "src.ipynb").read_text()


def test_non_notebook_models_pass_through(tmp_path):
    configure(tmp_path, API_TOKEN=TOKEN)
    cm = FileContentsManager(root_dir=str(tmp_path), pre_save_hook=HOOK)
    cm.save({"type": "file", "format": "text", "content": f"t={TOKEN}"}, "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == f"t={TOKEN}"


secret_st = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=8, max_size=24
).filter(lambda s: len(set(s)) >= 4 and "[REDACTED]" not in s)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=secret_st, before=st.text(max_size=20), after=st.text(max_size=20))
def test_property_saved_file_never_holds_the_secret(tmp_path, secret, before, after):
    folder = tmp_path / f"p{time.monotonic_ns()}"
    folder.mkdir()
    r = Redactor()
    r.add(secret, "s")
    redactor.set_redactor(r)

    def build(value: str) -> dict:
        nb = new_notebook()
        cell = new_code_cell("x", execution_count=1, id="c1")
        cell.outputs = [
            new_output("stream", name="stdout", text=before + value + after),
            new_output("display_data", data={"application/json": {"k": [before + value]}}),
            new_output("error", ename="E", evalue=value, traceback=[f"\x1b[31m{value}\x1b[0m"]),
        ]
        nb.cells = [cell]
        return json.loads(json.dumps(nb))

    # the notebook's own structure (keys, mime types) is out of scope
    assume(not r.contains_secret(json.dumps(build(""), ensure_ascii=False)))
    cm = FileContentsManager(root_dir=str(folder), pre_save_hook=HOOK)
    cm.save(model(build(secret)), "nb.ipynb")
    text = (folder / "nb.ipynb").read_text()
    assert not r.contains_secret(text)
    assert not any(r.contains_secret(s) for s in _strings(json.loads(text)))


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
