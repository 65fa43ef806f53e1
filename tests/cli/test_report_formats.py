"""`--format text|json|sarif` on `redactor scrub` and `--report-format` on `redactor scrub-logs`,
as real processes: the SARIF logs validate against the published SARIF 2.1.0 schema (the one the
`scan` tests use), name files, secrets and counts and never a value; the text and JSON reports
keep their shapes, and `scrub-logs --json` still works as an alias of `--report-format json`."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import jsonschema
import pytest
from helpers.cli import run_redactor
from helpers.nbfactory import PASSWORD, TOKEN, dumps
from helpers.tokenfactory import with_crc
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"
SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "sarif-schema-2.1.0.json"
A, S = "secrets.env/API_TOKEN", "secrets.env/SQL_DB_PASSWORD"


def validate(doc: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def no_values(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and TOKEN not in text


def results(doc: dict) -> list[tuple]:
    """(rule, uri, secret, count, message) of each result, checking ruleIndex on the way."""
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    out = []
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        (loc,) = r["locations"]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        out.append((r["ruleId"], uri, r["properties"]["secret"], r["properties"]["count"]))
        out.append(r["message"]["text"])
    return out


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "secrets.env").write_text(
        f"SQL_DB_PASSWORD='{PASSWORD}'\nAPI_TOKEN={TOKEN}\n", encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.redactor]\nsecrets-file = ["secrets.env"]\n', encoding="utf-8"
    )
    return tmp_path


def source_nb() -> str:
    nb = new_notebook()
    cell = new_code_cell(f"import os\ntoken = '{TOKEN}'\n")
    cell["id"] = "c1"
    nb.cells = [cell]
    return dumps(nb)


# -- scrub ----------------------------------------------------------------------------------------


def test_scrub_sarif_validates_and_names_files_secrets_counts(work):
    shutil.copyfile(LEAKY, work / "nb.ipynb")
    (work / "src.ipynb").write_text(source_nb())
    before = (work / "nb.ipynb").read_bytes()
    proc = run_redactor("scrub", "--check", "--format", "sarif", "nb.ipynb", "src.ipynb", cwd=work)
    assert (proc.returncode, proc.stderr) == (1, b"")
    out = proc.stdout.decode()
    no_values(out)
    doc = json.loads(out)
    validate(doc)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["secret/redacted", "secret/source"]
    assert results(doc) == [
        ("secret/redacted", "nb.ipynb", A, 11),
        f"secret {A}: 11 copies (would be scrubbed).",
        ("secret/redacted", "nb.ipynb", S, 10),
        f"secret {S}: 10 copies (would be scrubbed).",
        ("secret/source", "src.ipynb", A, 1),
        f"secret {A}: 1 copy in cell 1, line 2.",
    ]
    prints = [r["partialFingerprints"]["redactorCount/v1"] for r in run["results"]]
    assert len(set(prints)) == 3 and all(len(p) == 64 for p in prints)
    assert (work / "nb.ipynb").read_bytes() == before  # --check wrote nothing


def test_scrub_sarif_is_stable_and_fixed_sources_are_noted(work):
    (work / "src.ipynb").write_text(source_nb())
    proc = run_redactor("scrub", "--fix-sources", "--format", "sarif", "src.ipynb", cwd=work)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    validate(doc)
    assert results(doc) == [
        ("secret/redacted", "src.ipynb", A, 1),
        f"secret {A}: 1 copy (scrubbed).",
        ("secret/source", "src.ipynb", A, 1),
        f"secret {A}: 1 copy in cell 1, line 2 (replaced in the source).",
    ]
    # A clean run is an empty, valid log and exit 0.
    proc = run_redactor("scrub", "--format", "sarif", "src.ipynb", cwd=work)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    validate(doc)
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_scrub_sarif_errors_on_stderr_and_unsuccessful(work):
    (work / "bad.ipynb").write_text("{")
    proc = run_redactor(
        "scrub", "--format", "sarif", "bad.ipynb", "gone.ipynb", cwd=work, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "redactor: error: gone.ipynb: no such file or directory; left untouched",
        "redactor: error: bad.ipynb: not valid JSON: Expecting property name enclosed in double "
        "quotes (line 1, column 2); the file looks truncated; left untouched",
    ]
    doc = json.loads(proc.stdout)
    validate(doc)
    assert doc["runs"][0]["invocations"] == [{"executionSuccessful": False}]


def test_scrub_sarif_detected_token_is_one_token_result(work):
    """A token found by its shape is counted once, as ``token/KIND`` at its place."""
    ghp = with_crc("ghp_", random.Random(7))
    nb = new_notebook()
    cell = new_code_cell("print(1)", execution_count=1)
    cell["id"] = "c1"
    cell.outputs = [new_output("stream", name="stdout", text=f"tok {ghp}\n")]
    nb.cells = [cell]
    (work / "d.ipynb").write_text(dumps(nb))
    proc = run_redactor("scrub", "--check", "--format", "sarif", "d.ipynb", cwd=work, text=True)
    assert (proc.returncode, proc.stderr) == (1, "")
    assert ghp not in proc.stdout
    doc = json.loads(proc.stdout)
    validate(doc)
    assert results(doc) == [
        ("token/github-token", "d.ipynb", "github-token", 1),
        "token of kind github-token: 1 copy in cell 1 stream.stdout.",
    ]


def test_scrub_stdin_sarif_goes_to_stderr(work):
    proc = run_redactor(
        "scrub", "--stdin", "--stdin-name", "x.ipynb", "--format", "sarif",
        input=source_nb(), cwd=work, text=True,
    )  # fmt: skip
    assert proc.returncode == 1
    assert TOKEN in proc.stdout  # the notebook, unchanged: a source literal is only reported
    no_values(proc.stderr)
    doc = json.loads(proc.stderr)
    validate(doc)
    assert results(doc) == [
        ("secret/source", "x.ipynb", A, 1),
        f"secret {A}: 1 copy in cell 1, line 2.",
    ]


def test_scrub_text_and_json_unchanged_as_processes(work):
    (work / "src.ipynb").write_text(source_nb())
    proc = run_redactor("scrub", "--check", "src.ipynb", cwd=work, text=True)
    assert (proc.returncode, proc.stderr) == (1, "")
    assert proc.stdout.splitlines() == [
        f"src.ipynb: cell 1, line 2: secret {A} in the source (remove it, or pass --fix-sources)",
        "redactor scrub: 0 files would be scrubbed, 1 unchanged, 1 secret in sources",
    ]
    proc = run_redactor("scrub", "--check", "--format", "json", "src.ipynb", cwd=work, text=True)
    assert (proc.returncode, proc.stderr) == (1, "")
    assert json.loads(proc.stdout) == {
        "files": [
            {
                "path": "src.ipynb",
                "status": "unchanged",
                "redactions": 0,
                "counts": {},
                "fields": {},
                "source_findings": [
                    {"cell": 1, "cell_id": "c1", "line": 2, "secret": A, "fixed": False}
                ],
                "removed": [],
                "detections": [],
            }
        ],
        "summary": {
            "files": 1,
            "scrubbed": 0,
            "would_scrub": 0,
            "unchanged": 1,
            "errors": 0,
            "source_findings": 1,
            "redactions": 0,
        },
        "exit_code": 1,
    }


# -- scrub-logs -----------------------------------------------------------------------------------


P, T = "secrets.env/PASSWORD", "secrets.env/TOKEN"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    (tmp_path / "in" / "app").mkdir(parents=True)
    (tmp_path / "in" / "app" / "a.log").write_text(f"pw {PASSWORD}\ntok {TOKEN} {TOKEN}\n")
    (tmp_path / "in" / "b.log").write_text("nothing here\n")
    return tmp_path


def scrub_logs(secrets_file: Path, root: Path, *args: str):
    return run_redactor(
        "scrub-logs", "--no-config", "--secrets-file", secrets_file, *args,
        root / "in", root / "out", text=True,
    )  # fmt: skip


def test_scrub_logs_sarif(secrets_file, logs):
    proc = scrub_logs(secrets_file, logs, "--report-format", "sarif")
    assert (proc.returncode, proc.stderr) == (0, "")
    no_values(proc.stdout)
    doc = json.loads(proc.stdout)
    validate(doc)
    assert doc["runs"][0]["invocations"] == [{"executionSuccessful": True}]
    assert results(doc) == [
        ("secret/redacted", "app/a.log", P, 1),
        f"secret {P}: 1 copy (redacted in the copy).",
        ("secret/redacted", "app/a.log", T, 2),
        f"secret {T}: 2 copies (redacted in the copy).",
    ]
    assert (
        logs / "out" / "app" / "a.log"
    ).read_text() == "pw [REDACTED]\ntok [REDACTED] [REDACTED]\n"


def test_scrub_logs_json_alias_and_text(secrets_file, logs):
    def without_seconds(out: str) -> dict:
        doc = json.loads(out)
        assert isinstance(doc.pop("seconds"), float | int)
        return doc

    expected = {
        "files": 2,
        "failed": 0,
        "skipped": 0,
        "left_out": 0,
        "records": 3,
        "bytes": len(f"pw {PASSWORD}\ntok {TOKEN} {TOKEN}\n".encode()) + len("nothing here\n"),
        "matches": 3,
        "by_secret": {T: 2, P: 1},
        "engine": "single process",
    }
    new = scrub_logs(secrets_file, logs, "--report-format", "json")
    assert (new.returncode, new.stderr) == (0, "")
    assert without_seconds(new.stdout) == expected
    shutil.rmtree(logs / "out")
    old = scrub_logs(secrets_file, logs, "--json")
    assert (old.returncode, old.stderr) == (0, "")
    assert without_seconds(old.stdout) == expected
    shutil.rmtree(logs / "out")
    text = scrub_logs(secrets_file, logs, "--report-format", "text")
    assert text.returncode == 0, text.stderr
    first, *rest = text.stdout.splitlines()
    assert first.startswith("2 files, 3 records, 3 matches (single process, ")
    assert rest == [f"  {T}: 2", f"  {P}: 1"]


def test_scrub_logs_json_contradicting_report_format(secrets_file, logs):
    proc = scrub_logs(secrets_file, logs, "--json", "--report-format", "sarif")
    assert proc.returncode == 2
    assert proc.stderr == "redactor: error: --json contradicts --report-format sarif\n"
    assert not (logs / "out").exists()
