"""`redactor scan --format sarif`: valid against the published SARIF 2.1.0 schema, in the shape
GitHub code scanning uploads (checked offline), rules per form and detector, regions, and
partial fingerprints that are keyed (not a plain hash of the value) and never the value."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
from pathlib import Path

import jsonschema
import pytest
from helpers.cli import run_redactor
from helpers.tokenfactory import with_crc

SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "sarif-schema-2.1.0.json"
PASSWORD = "Tr0ub4dor&3-horse:battery"
TOKEN = "tok_7Hq2Lm9Xw4Rz8Kp3Vn6"
GHP = with_crc("ghp_", random.Random(7))


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "secrets.env").write_text(f"DB_PASSWORD='{PASSWORD}'\nAPI_TOKEN={TOKEN}\n")
    (tmp_path / "pyproject.toml").write_text('[tool.redactor]\nsecrets-file = ["secrets.env"]\n')
    data = tmp_path / "data"
    data.mkdir()
    b64 = base64.b64encode(PASSWORD.encode()).decode()
    (data / "app.log").write_text(f"pw {PASSWORD}\n  b64 {b64}\n{GHP}\n")
    (data / "b.txt").write_text(f"t={TOKEN}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sarif(*args: str, env: dict | None = None) -> dict:
    proc = run_redactor("scan", "--no-discover", "--format", "sarif", *args, text=True, env=env)
    assert proc.returncode == 1, proc.stderr
    for value in (PASSWORD, TOKEN, GHP, base64.b64encode(PASSWORD.encode()).decode()):
        assert value not in proc.stdout
    return json.loads(proc.stdout)


def test_validates_against_the_sarif_schema(work):
    doc = sarif("data")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def test_the_schema_rejects_a_broken_log(work):
    """The validation is not vacuous: a result without a message fails it."""
    doc = sarif("data")
    del doc["runs"][0]["results"][0]["message"]
    schema = json.loads(SCHEMA.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(doc)


def test_rules_results_and_regions(work):
    run = sarif("data")["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["secret/raw", "secret/base64", "token/github-token"]
    results = [
        (
            r["ruleId"],
            rules[r["ruleIndex"]]["id"],
            r["properties"]["secret"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"],
        )
        for r in run["results"]
    ]
    b64_len = len(base64.b64encode(PASSWORD.encode()).decode())
    assert results == [
        (
            "secret/raw",
            "secret/raw",
            "secrets.env/DB_PASSWORD",
            "data/app.log",
            {"startLine": 1, "startColumn": 4, "endLine": 1, "endColumn": 4 + len(PASSWORD)},
        ),
        (
            "secret/base64",
            "secret/base64",
            "secrets.env/DB_PASSWORD",
            "data/app.log",
            {"startLine": 2, "startColumn": 7, "endLine": 2, "endColumn": 7 + b64_len},
        ),
        (
            "token/github-token",
            "token/github-token",
            "github-token",
            "data/app.log",
            {"startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 1 + len(GHP)},
        ),
        (
            "secret/raw",
            "secret/raw",
            "secrets.env/API_TOKEN",
            "data/b.txt",
            {"startLine": 1, "startColumn": 3, "endLine": 1, "endColumn": 3 + len(TOKEN)},
        ),
    ]
    assert run["columnKind"] == "unicodeCodePoints"


def test_github_upload_shape(work):
    """What GitHub's code scanning upload documents (checked offline): version 2.1.0, a driver
    name, rules with ids, results with ruleId, a message, a physical location whose uri is
    relative to the checkout (uriBaseId %SRCROOT%) with a startLine, partialFingerprints, and a
    numeric security-severity string on rules tagged security."""
    doc = sarif("data")
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "redactor"
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["id"] and rule["shortDescription"]["text"] and rule["help"]["text"]
        assert "security" in rule["properties"]["tags"]
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    assert len(run["results"]) <= 25_000
    for result in run["results"]:
        loc = result["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["region"]["startLine"] >= 1
        assert result["message"]["text"]
        assert set(result["partialFingerprints"]) == {"redactorFinding/v1"}


def test_fingerprints_are_keyed_stable_and_not_plain_hashes(work):
    env = {**os.environ, "REDACTOR_HASH_KEY": "repo-key-1"}
    first = sarif("data", env=env)
    again = sarif("data", env=env)
    other = sarif("data", env={**env, "REDACTOR_HASH_KEY": "repo-key-2"})

    def fps(doc: dict) -> list[str]:
        return [r["partialFingerprints"]["redactorFinding/v1"] for r in doc["runs"][0]["results"]]

    assert fps(first) == fps(again)
    assert not set(fps(first)) & set(fps(other))
    assert len(set(fps(first))) == 4
    plain = {hashlib.sha256(v.encode()).hexdigest() for v in (PASSWORD, TOKEN, GHP)} | {
        hashlib.sha1(v.encode()).hexdigest() for v in (PASSWORD, TOKEN, GHP)
    }
    assert not set(fps(first)) & plain
    # a moved line keeps its fingerprint
    log = work / "data" / "b.txt"
    log.write_text("\n\nnew first lines\n" + log.read_text())
    moved = sarif("data", env=env)
    assert fps(moved) == fps(first)
    assert (
        moved["runs"][0]["results"][3]["locations"][0]["physicalLocation"]["region"]["startLine"]
        == 4
    )


def test_more_results_than_github_takes_are_warned_about(work):
    """GitHub's upload rejects a run of more than 25,000 results: the log is still written
    (valid SARIF, every finding), with a warning that says so and points at the baseline."""
    (work / "data" / "many.txt").write_text(f"t={TOKEN}\n" * 25_000)
    proc = run_redactor("scan", "--no-discover", "--format", "sarif", "data", text=True)
    assert proc.returncode == 1
    assert proc.stderr == (
        "redactor: warning: 25004 results: GitHub code scanning rejects a SARIF run of more "
        "than 25,000; record the accepted ones with --write-baseline\n"
    )
    assert len(json.loads(proc.stdout)["runs"][0]["results"]) == 25_004
