"""`--format text|json|sarif` on `redactor scrub` and `--report-format` on `redactor scrub-logs`,
as real processes: the SARIF logs validate against the published SARIF 2.1.0 schema (the one the
`scan` tests use), name files, secrets, counts and the region of each line of a field where the
copies are (line and column in the file as it was read, located by scan's scanner), and never a
value; the text and JSON reports keep their shapes, and `scrub-logs --json` still works as an
alias of `--report-format json`."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from helpers.cli import run_redactor
from helpers.nbfactory import PASSWORD, TOKEN, dumps
from helpers.tokenfactory import with_crc
from nbformat.v4 import new_code_cell, new_notebook, new_output

from redactor.sinks.sarif import UNPLACED, artifact_location

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"
SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "sarif-schema-2.1.0.json"
A, S = "secrets.env/API_TOKEN", "secrets.env/SQL_DB_PASSWORD"


def validate(doc: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def no_values(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and TOKEN not in text


def region(loc: dict) -> tuple[int, ...]:
    """(startLine, startColumn, endLine, endColumn) of a physical location; checks what GitHub
    needs on the way: a region with a startLine, a URI relative to the checkout."""
    assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert not loc["artifactLocation"]["uri"].startswith(("/", "file:"))
    r = loc["region"]
    return tuple(r[k] for k in ("startLine", "startColumn", "endLine", "endColumn") if k in r)


def results(doc: dict) -> list[tuple]:
    """(rule, uri, secret, count, region) and the message of each result, checking ruleIndex and
    the fingerprints (one per result, distinct, never a plain value) on the way."""
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    out = []
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        (loc,) = r["locations"]
        phys = loc["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        count = r["properties"]["count"]
        out.append((r["ruleId"], uri, r["properties"]["secret"], count, region(phys)))
        out.append(r["message"]["text"])
    prints = [r["partialFingerprints"]["redactorCount/v1"] for r in run["results"]]
    assert len(set(prints)) == len(prints) and all(len(p) == 64 for p in prints)
    return out


def at(path: Path, reg: tuple[int, ...]) -> str:
    """The text of the file in a one-line region (SARIF's endColumn is one past the end)."""
    line, start, end_line, end = reg
    assert line == end_line
    return path.read_text(encoding="utf-8").splitlines()[line - 1][start - 1 : end - 1]


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
    found = results(doc)
    rows, messages = found[0::2], found[1::2]
    # Every copy the scrubber counted (11 and 10, as its JSON report says) is placed, one copy
    # per line of a field in this notebook, and each region holds that copy in the saved file.
    nb_rows = [r for r in rows if r[1] == "nb.ipynb"]
    assert Counter(r[2] for r in nb_rows for _ in range(r[3])) == {A: 11, S: 10}
    escaped = json.dumps(PASSWORD)[1:-1]
    for (_, _, secret, count, reg), message in zip(nb_rows, messages):
        assert count == 1 and message.endswith("(would be scrubbed).")
        if "(raw)" in message:
            assert (secret, at(work / "nb.ipynb", reg)) == (A, TOKEN)
        elif "(json)" in message:
            assert (secret, at(work / "nb.ipynb", reg)) == (S, escaped)
    first = messages[0]
    assert first == (
        f"secret {S} (base64): 1 copy in cell 1, attachments.diagram.png.image/png "
        "(would be scrubbed)."
    )
    assert found[-2:] == [
        ("secret/source", "src.ipynb", A, 1, (11, 15, 11, 15 + len(TOKEN))),
        f"secret {A} (raw): 1 copy in cell 1, source.1.",
    ]
    assert at(work / "src.ipynb", found[-2][4]) == TOKEN
    assert (work / "nb.ipynb").read_bytes() == before  # --check wrote nothing


def test_scrub_sarif_is_stable_and_fixed_sources_are_noted(work):
    (work / "src.ipynb").write_text(source_nb())
    proc = run_redactor("scrub", "--fix-sources", "--format", "sarif", "src.ipynb", cwd=work)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    validate(doc)
    # The region is the line of the file as it was read, before the rewrite.
    assert results(doc) == [
        ("secret/source", "src.ipynb", A, 1, (11, 15, 11, 15 + len(TOKEN))),
        f"secret {A} (raw): 1 copy in cell 1, source.1 (replaced in the source).",
    ]
    # A clean run is an empty, valid log and exit 0.
    proc = run_redactor("scrub", "--format", "sarif", "src.ipynb", cwd=work)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    validate(doc)
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_scrub_sarif_copies_on_one_line_share_a_result_and_the_unplaced_are_kept(work):
    """Two copies in one line of a field are one result whose region runs from the first to the
    last; a copy the scrubber finds only by joining two stream outputs (the secret split across
    them) is not in the saved text as such: it is still reported, on the file's first line."""
    nb = new_notebook()
    cell = new_code_cell("print(1)", execution_count=1)
    cell["id"] = "c1"
    half = len(PASSWORD) // 2  # each half shorter than a fragment window
    cell.outputs = [
        new_output("stream", name="stdout", text=f"a {TOKEN} b {TOKEN}\n"),
        new_output("stream", name="stdout", text=f"x {PASSWORD[:half]}"),
        new_output("stream", name="stdout", text=f"{PASSWORD[half:]} y\n"),
    ]
    nb.cells = [cell]
    (work / "j.ipynb").write_text(dumps(nb))
    proc = run_redactor("scrub", "--check", "--format", "sarif", "j.ipynb", cwd=work, text=True)
    assert (proc.returncode, proc.stderr) == (1, "")
    doc = json.loads(proc.stdout)
    validate(doc)
    lines = (work / "j.ipynb").read_text().splitlines()
    assert lines[12] == f'      "a {TOKEN} b {TOKEN}\\n"'
    assert results(doc) == [
        ("secret/redacted", "j.ipynb", A, 2, (13, 10, 13, 10 + 2 * len(TOKEN) + 3)),
        f"secret {A} (raw): 2 copies in cell 1, output 1, text.0 (would be scrubbed).",
        ("secret/redacted", "j.ipynb", S, 1, (1,)),
        f"secret {S}: 1 copy in {UNPLACED}.",
    ]


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
    found = results(doc)
    assert found == [
        ("token/github-token", "d.ipynb", "github-token", 1, found[0][4]),
        "token of kind github-token: 1 copy in cell 1, output 1, text.0 (would be scrubbed).",
    ]
    assert at(work / "d.ipynb", found[0][4]) == ghp


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
        ("secret/source", "x.ipynb", A, 1, (11, 15, 11, 15 + len(TOKEN))),
        f"secret {A} (raw): 1 copy in cell 1, source.1.",
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


def scrub_logs(secrets_file: Path, root: Path, *args: str, cwd: Path | None = None):
    where = (Path("in"), Path("out")) if cwd else (root / "in", root / "out")
    return run_redactor(
        "scrub-logs", "--no-config", "--secrets-file", secrets_file, *args, *where,
        text=True, cwd=cwd,
    )  # fmt: skip


def test_scrub_logs_sarif(secrets_file, logs):
    with gzip.open(logs / "in" / "c.log.gz", "wt") as f:
        f.write(f"ok\n\npw={PASSWORD}\n")
    proc = scrub_logs(secrets_file, logs, "--report-format", "sarif", cwd=logs)
    assert (proc.returncode, proc.stderr) == (0, "")
    no_values(proc.stdout)
    doc = json.loads(proc.stdout)
    validate(doc)
    assert doc["runs"][0]["invocations"] == [{"executionSuccessful": True}]
    # The input's path from the checkout (the working directory), each line's copies; a
    # compressed file's line is the line of what it holds, the member named.
    n, t = len(PASSWORD), len(TOKEN)
    assert results(doc) == [
        ("secret/redacted", "in/c.log.gz", P, 1, (3, 4, 3, 4 + n)),
        f"secret {P} (raw): 1 copy in c.log (redacted in the copy).",
        ("secret/redacted", "in/app/a.log", P, 1, (1, 4, 1, 4 + n)),
        f"secret {P} (raw): 1 copy (redacted in the copy).",
        ("secret/redacted", "in/app/a.log", T, 2, (2, 5, 2, 5 + 2 * t + 1)),
        f"secret {T} (raw): 2 copies (redacted in the copy).",
    ]
    assert at(logs / "in" / "app" / "a.log", (1, 4, 1, 4 + n)) == PASSWORD
    assert (
        logs / "out" / "app" / "a.log"
    ).read_text() == "pw [REDACTED]\ntok [REDACTED] [REDACTED]\n"


def test_artifact_location_is_relative_to_the_checkout(tmp_path, monkeypatch):
    """GitHub resolves a result's URI against the repository root: a path under the working
    directory is given relative to it (percent-encoded); one outside it can only be a file URI."""
    monkeypatch.chdir(tmp_path)
    assert artifact_location("a b/c.log") == {"uri": "a%20b/c.log", "uriBaseId": "%SRCROOT%"}
    assert artifact_location("./x/../y.log") == {"uri": "y.log", "uriBaseId": "%SRCROOT%"}
    inside = os.path.join(str(tmp_path), "in", "a.log")
    assert artifact_location(inside) == {"uri": "in/a.log", "uriBaseId": "%SRCROOT%"}
    outside = tmp_path.parent / "elsewhere.log"
    assert artifact_location(str(outside)) == {"uri": outside.as_uri()}


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
