"""`redactor scan` over files end to end: exact reports (secret, form, file, line, column, place),
never the value, exit codes 0/1/2, notebooks, JSON-lines and compressed logs, binary files."""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import tarfile
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers.cli import run_redactor
from helpers.tokenfactory import with_crc

PASSWORD = "Tr0ub4dor&3-horse:battery"
TOKEN = "tok_7Hq2Lm9Xw4Rz8Kp3Vn6"


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    """A folder with a secrets file and a pyproject.toml naming it."""
    (tmp_path / "secrets.env").write_text(
        f"DB_PASSWORD='{PASSWORD}'\nAPI_TOKEN={TOKEN}\n", encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.redactor]\nsecrets-file = ["secrets.env"]\n', encoding="utf-8"
    )
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def scan(*args: str) -> tuple[int, str, str]:
    proc = run_redactor("scan", "--no-discover", "--no-detect", *args, text=True)
    assert PASSWORD not in proc.stdout + proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def notebook(cells: list[dict]) -> str:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    return json.dumps(nb, indent=1) + "\n"


def code_cell(source: str, outputs: list[dict]) -> dict:
    return {
        "cell_type": "code",
        "execution_count": 1,
        "id": "c",
        "metadata": {},
        "source": source,
        "outputs": outputs,
    }


def test_clean_folder_exits_0(work):
    (work / "data" / "a.txt").write_text("nothing here\n")
    assert scan("data") == (0, "redactor scan: 0 findings\n", "")


def test_text_file_line_column_and_forms(work):
    b64 = base64.b64encode(PASSWORD.encode()).decode()
    (work / "data" / "app.log").write_text(
        f"start\nuser connected with {PASSWORD}\n"
        f"  header: {b64}\nurl=https://x/?p={quote(PASSWORD, safe='')}\n"
    )
    code, out, err = scan("data/app.log")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "data/app.log:2:21: secret secrets.env/DB_PASSWORD (raw)",
        "data/app.log:3:11: secret secrets.env/DB_PASSWORD (base64)",
        "data/app.log:4:18: secret secrets.env/DB_PASSWORD (url)",
        "redactor scan: 3 findings",
    ]


def test_json_lines_log_names_the_json_form(work):
    record = {"msg": f'said "{PASSWORD}"\\', "token": TOKEN}
    line = json.dumps(record)
    (work / "data" / "app.jsonl").write_text(
        "{}\n" + line.replace(PASSWORD, f"{PASSWORD}\\n") + "\n"
    )
    code, out, _ = scan("data/app.jsonl")
    assert code == 1
    col_pw = line.index(PASSWORD) + 1
    col_tok = line.index(TOKEN) + len("\\n") + 1
    assert out.splitlines() == [
        f"data/app.jsonl:2:{col_pw}: secret secrets.env/DB_PASSWORD (raw)",
        f"data/app.jsonl:2:{col_tok}: secret secrets.env/API_TOKEN (raw)",
        "redactor scan: 2 findings",
    ]


def test_notebook_cell_output_and_field(work):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + f"pw={PASSWORD};".encode()).decode()
    text = notebook(
        [
            code_cell("print(1)", [{"output_type": "stream", "name": "stdout", "text": "1\n"}]),
            code_cell(
                f"token = '{TOKEN}'",
                [
                    {"output_type": "stream", "name": "stdout", "text": "ok\n"},
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/png": png, "text/plain": "<Figure>"},
                    },
                ],
            ),
        ]
    )
    (work / "data" / "nb.ipynb").write_text(text)
    code, out, _ = scan("data")
    assert code == 1
    lines = text.splitlines()
    src = next(i for i, line in enumerate(lines) if TOKEN in line)
    img = next(i for i, line in enumerate(lines) if "image/png" in line)
    assert out.splitlines() == [
        f"data/nb.ipynb:{src + 1}:{lines[src].index(TOKEN) + 1}: secret secrets.env/API_TOKEN "
        "(raw) in cell 2, source",
        f"data/nb.ipynb:{img + 1}:{_b64_column(lines[img], png)}: secret secrets.env/DB_PASSWORD "
        "(base64) in cell 2, output 2, data.image/png",
        "redactor scan: 2 findings",
    ]


def _b64_column(line: str, blob: str) -> int:
    # The password starts at byte 11 of the PNG data (8 of header, "pw="): offset 2 in 3-byte
    # group 3, whose first character fully determined by the password is its 4th (index 3).
    return line.index(blob) + (11 // 3) * 4 + 3 + 1


def test_compressed_log_and_tar_members(work):
    (work / "data" / "old.log.gz").write_bytes(gzip.compress(f"a\nb {TOKEN}\n".encode()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = f"x {PASSWORD}\n".encode()
        info = tarfile.TarInfo("logs/run.log")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (work / "data" / "logs.tgz").write_bytes(buf.getvalue())
    code, out, _ = scan("data")
    assert code == 1
    assert out.splitlines() == [
        "data/logs.tar/logs/run.log:1:3: secret secrets.env/DB_PASSWORD (raw)",
        "data/old.log:2:3: secret secrets.env/API_TOKEN (raw)",
        "redactor scan: 2 findings",
    ]


def test_binary_files_are_skipped_unless_asked(work):
    (work / "data" / "blob.bin").write_bytes(b"\0\1\2" + TOKEN.encode() + b"\0")
    assert scan("data") == (0, "redactor scan: 0 findings, 1 binary skipped\n", "")
    code, out, _ = scan("--binary", "data")
    assert (code, out) == (
        1,
        "data/blob.bin:1:4: secret secrets.env/API_TOKEN (raw)\nredactor scan: 1 finding\n",
    )


def test_missing_file_is_an_error_exit_2(work):
    (work / "data" / "a.txt").write_text(TOKEN)
    code, out, err = scan("data/a.txt", "nope.txt")
    assert code == 2
    assert err == "redactor: error: nope.txt: no such file or directory\n"
    assert out.splitlines()[-1] == "redactor scan: 1 finding, 1 error"


def test_no_secrets_configured_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("x\n")
    proc = run_redactor("scan", "--no-discover", "--no-detect", "a.txt", text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""


def test_json_report_shape(work):
    (work / "data" / "a.txt").write_text(f"{TOKEN}\n")
    code, out, _ = scan("--format", "json", "data")
    assert code == 1
    doc = json.loads(out)
    [finding] = doc["findings"]
    fp = finding.pop("fingerprint")
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert finding == {
        "secret": "secrets.env/API_TOKEN",
        "form": "raw",
        "path": "data/a.txt",
        "line": 1,
        "column": 1,
        "end_line": 1,
        "end_column": len(TOKEN),
        "detected": False,
    }
    assert doc["summary"] == {
        "findings": 1,
        "baselined": 0,
        "skipped_binary": 0,
        "errors": 0,
        "exit_code": 1,
    }


def test_detected_tokens_are_reported_by_kind(work):
    ghp = with_crc("ghp_", random.Random(19))
    (work / "data" / "a.txt").write_text(f"x {ghp}\n")
    proc = run_redactor("scan", "--no-discover", "data", text=True)
    assert ghp not in proc.stdout
    assert proc.stdout.splitlines() == [
        "data/a.txt:1:3: token github-token (detected)",
        "redactor scan: 1 finding",
    ]
    assert proc.returncode == 1


def test_corrupt_compressed_log_is_named_and_the_rest_scanned(work):
    (work / "data" / "a.log").write_text(f"{TOKEN}\n")
    (work / "data" / "b.log.gz").write_bytes(gzip.compress(bytes(range(256)) * 40)[:200])
    code, out, err = scan("data")
    assert code == 2
    assert err == "redactor: error: data/b.log.gz: cannot read: EOFError\n"
    assert out.splitlines() == [
        "data/a.log:1:1: secret secrets.env/API_TOKEN (raw)",
        "redactor scan: 1 finding, 1 error",
    ]


def test_output_file_gets_the_report(work):
    (work / "data" / "a.log").write_text(f"{TOKEN}\n")
    code, out, _ = scan("--format", "sarif", "-o", "report.sarif", "data")
    assert (code, out) == (1, "")
    doc = json.loads((work / "report.sarif").read_text())
    assert doc["runs"][0]["results"][0]["ruleId"] == "secret/raw"
    assert [p.name for p in work.iterdir() if p.name.startswith(".")] == []
