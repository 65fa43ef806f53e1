"""RedactPreprocessor with nbconvert's real exporters: no export carries a secret."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers.nbfactory import PASSWORD, TOKEN, b64, png
from helpers.nbfactory import demo_redactor as make_redactor
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert import HTMLExporter, MarkdownExporter, PythonExporter, ScriptExporter
from nbformat.v4 import new_code_cell, new_notebook, new_output
from traitlets.config import Config

import redactor
from redactor import Redactor
from redactor.sinks.nbconvert import RedactPreprocessor
from redactor.sources.load import NoSecretsConfigured

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"


@pytest.fixture
def r() -> Redactor:
    return make_redactor()


@pytest.fixture(autouse=True)
def isolated_process_redactor():
    previous = redactor.set_redactor(Redactor())
    yield
    redactor.set_redactor(previous)


def leaky_nb() -> nbformat.NotebookNode:
    return nbformat.read(LEAKY, as_version=4)


def with_source_secret() -> nbformat.NotebookNode:
    nb = new_notebook()
    cell = new_code_cell(f"token = '{TOKEN}'\nprint(token)", execution_count=1)
    cell.outputs = [new_output("stream", name="stdout", text=f"{TOKEN}\n")]
    cell["id"] = "c1"
    nb.cells = [cell]
    return nb


@pytest.mark.parametrize("exporter", [HTMLExporter, MarkdownExporter, PythonExporter])
def test_exports_carry_no_secret(r, exporter):
    body, resources = exporter(preprocessors=[RedactPreprocessor(redactor=r)]).from_notebook_node(
        leaky_nb()
    )
    assert not r.contains_secret(body)
    assert TOKEN not in body and PASSWORD not in body
    for data in resources.get("outputs", {}).values():
        assert r.redact_bytes(data) == data
    if exporter is MarkdownExporter:  # + 5 in the files nbconvert extracted before us
        assert resources["redactor"]["counts"] == {"api/token": 14, "db/password": 12}
        assert resources["redactor"]["fields"]["extracted-file"] == 5
    else:
        assert resources["redactor"]["counts"] == {"api/token": 11, "db/password": 10}


@pytest.mark.parametrize("exporter", [HTMLExporter, MarkdownExporter])
def test_without_the_preprocessor_the_same_export_leaks(r, exporter):
    body, _ = exporter().from_notebook_node(leaky_nb())
    assert r.contains_secret(body)


def test_html_keeps_the_clean_image_and_notes_the_removed_one(r):
    body, _ = HTMLExporter(preprocessors=[RedactPreprocessor(redactor=r)]).from_notebook_node(
        leaky_nb()
    )
    assert b64(png("a clean figure")) in body
    assert "[image/png output removed by redactor: it contained a secret]" in body
    assert "connecting [REDACTED]" in body


def test_markdown_extracted_files_are_scrubbed(r):
    exporter = MarkdownExporter(preprocessors=[RedactPreprocessor(redactor=r)])
    body, resources = exporter.from_notebook_node(leaky_nb())
    # nbconvert's own ExtractOutputPreprocessor ran first; the leaky PNG is gone from the files
    # (the clean one stays) and the extracted text files are redacted.
    assert sorted(resources["outputs"]) == [
        "key.txt",
        "notes.txt",
        "output_4_1.png",
        "output_4_2.svg",
    ]
    assert resources["outputs"]["output_4_1.png"] == png("a clean figure")
    assert resources["outputs"]["notes.txt"] == b"password: [REDACTED]\n"
    assert b"<text>[REDACTED]</text>" in resources["outputs"]["output_4_2.svg"]
    assert "output_4_0.png" not in body
    # every region counted: 21 in the notebook, 5 in files extracted before the preprocessor ran
    assert resources["redactor"]["redactions"] == 26
    unprotected = MarkdownExporter().from_notebook_node(leaky_nb())[1]["outputs"]
    assert "output_4_0.png" in unprotected


def test_script_export_sources_fixed_by_default(r):
    body, resources = PythonExporter(
        preprocessors=[RedactPreprocessor(redactor=r)]
    ).from_notebook_node(with_source_secret())
    assert "token = '[REDACTED]'" in body
    assert resources["redactor"]["source_findings"] == [
        {"cell": 1, "cell_id": "c1", "line": 1, "secret": "api/token", "fixed": True}
    ]


def test_fix_sources_off_keeps_the_code_and_logs_a_warning(r, caplog):
    pre = RedactPreprocessor(redactor=r, fix_sources=False)
    body, resources = ScriptExporter(preprocessors=[pre]).from_notebook_node(with_source_secret())
    assert f"token = '{TOKEN}'" in body
    finding = resources["redactor"]["source_findings"][0]
    assert (finding["cell"], finding["line"], finding["secret"], finding["fixed"]) == (
        1,
        1,
        "api/token",
        False,
    )


def test_sources_from_traitlets_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.env").write_text(f"API_TOKEN={TOKEN}\n")
    c = Config()
    c.HTMLExporter.preprocessors = ["redactor.nbconvert.RedactPreprocessor"]
    c.RedactPreprocessor.secrets_file = [str(tmp_path / "s.env")]
    c.RedactPreprocessor.use_pyproject = False
    body, resources = HTMLExporter(config=c).from_notebook_node(leaky_nb())
    assert TOKEN not in body
    assert resources["redactor"]["counts"] == {"s.env/API_TOKEN": 11}


def test_sources_from_pyproject_next_to_the_notebook(tmp_path):
    (tmp_path / "s.env").write_text(f"DB={PASSWORD!r}\n")
    (tmp_path / "pyproject.toml").write_text('[tool.redactor]\nsecrets-file = ["s.env"]\n')
    resources = {"metadata": {"path": str(tmp_path)}}
    body, resources = HTMLExporter(preprocessors=[RedactPreprocessor()]).from_notebook_node(
        leaky_nb(), resources
    )
    assert "Tr0ub4dor" not in body
    assert resources["redactor"]["counts"] == {"s.env/DB": 10}


def test_process_wide_redactor(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    redactor.add_secret(TOKEN, "process/token")
    body, resources = MarkdownExporter(preprocessors=[RedactPreprocessor()]).from_notebook_node(
        leaky_nb()
    )
    assert TOKEN not in body
    assert resources["redactor"]["counts"] == {"process/token": 14}


def test_no_secret_anywhere_fails_closed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoSecretsConfigured):
        HTMLExporter(preprocessors=[RedactPreprocessor()]).from_notebook_node(leaky_nb())
    body, _ = HTMLExporter(
        preprocessors=[RedactPreprocessor(require_secrets=False)]
    ).from_notebook_node(leaky_nb())
    assert TOKEN in body


def test_jupyter_nbconvert_command_line(tmp_path):
    (tmp_path / "s.env").write_text(f"API_TOKEN={TOKEN}\nDB_PASSWORD='{PASSWORD}'\n")
    (tmp_path / "pyproject.toml").write_text('[tool.redactor]\nsecrets-file = ["s.env"]\n')
    (tmp_path / "leaky.ipynb").write_bytes(LEAKY.read_bytes())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbconvert",
            "--to",
            "html",
            '--Exporter.preprocessors=["redactor.nbconvert.RedactPreprocessor"]',
            "leaky.ipynb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "leaky.html").read_text()
    assert TOKEN not in html and "Tr0ub4dor" not in html
    assert "connecting [REDACTED]" in html
    assert TOKEN not in proc.stderr


secret_st = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S"), include_characters="&<>\"'"),
    min_size=8,
    max_size=20,
).filter(lambda s: len(set(s)) >= 4 and "[REDACTED]" not in s)


@settings(max_examples=20, deadline=None)
@given(secret=secret_st, before=st.text(max_size=20), after=st.text(max_size=20))
def test_property_html_export_never_shows_a_secret(secret, before, after):
    r = Redactor()
    r.add(secret, "s")
    nb = new_notebook()
    cell = new_code_cell("x", execution_count=1)
    cell.outputs = [
        new_output("stream", name="stdout", text=before + secret + after),
        new_output(
            "execute_result",
            execution_count=1,
            data={"text/html": f"<p>{before}{secret}{after}</p>", "text/plain": secret},
        ),
        new_output("display_data", data={"image/png": base64.b64encode(secret.encode()).decode()}),
    ]
    nb.cells = [cell]
    body, _ = HTMLExporter(preprocessors=[RedactPreprocessor(redactor=r)]).from_notebook_node(nb)
    import html as html_mod

    assert secret not in body
    assert html_mod.escape(secret) not in body
    assert html_mod.escape(secret, quote=False) not in body
