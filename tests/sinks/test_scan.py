"""The scan sink's parts: naming the form of a copy, locating it in a notebook, reading
compressed members, and scanning each git blob once however many commits hold it."""

from __future__ import annotations

import base64
import bz2
import io
import json
import os
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers.git import GIT_IDENTITY, git
from hypothesis import given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.engine.encodings import json_escape, repr_body
from redactor.sinks.gitscan import scan_history
from redactor.sinks.logfiles import leaf_streams
from redactor.sinks.notebook import json_path_at
from redactor.sinks.scan import Finding, Scanner, notebook_place

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

PW = 'pa"ss\\word-Xy7&<q>'
KEY = b"test-key"


def scanner(binary: bool = False) -> Scanner:
    r = Redactor(detect=False)
    items = [("db/pw", PW), ("conn", "postgres://app:Hunter2Hunter2@db:5432/x")]
    r.add_many(items)
    return Scanner(r, items, key=KEY, binary=binary)


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (f"x {PW} y", "raw"),
        (f"x {base64.b64encode(PW.encode()).decode()} y", "base64"),
        (f"x {quote(PW, safe='')} y", "url"),
        (f'"msg": "{json_escape(PW)}"', "json"),
        (f"x {repr_body(PW)} y", "repr"),
        (f"x {PW.encode().hex()} y", "hex"),
        (f"{PW[:17]}...", "raw-partial"),
    ],
)
def test_the_form_of_each_copy(text, form):
    [finding] = scanner().scan_text(text, "f")
    assert (finding.secret, finding.form) == ("db/pw", form)


def test_a_structured_part_is_named_with_its_label():
    found = scanner().scan_text("password was Hunter2Hunter2\n", "f")
    assert [(f.secret, f.form, f.line, f.column) for f in found] == [
        ("conn#password", "raw", 1, 14)
    ]


def test_findings_hold_no_value():
    [finding] = scanner().scan_text(f"{PW}\n", "f")
    assert PW not in repr(finding) and PW not in json.dumps(finding.to_dict())


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\r"), max_size=60), st.integers(0, 3))
def test_line_and_column_point_at_the_copy(prefix, newlines):
    text = prefix + "\n" * newlines + PW + "\n"
    found = [f for f in scanner().scan_text(text, "f") if f.form == "raw"]
    start = text.rindex(PW)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    assert (found[-1].line, found[-1].column) == (line, column)


def test_json_path_at_and_the_place_it_names():
    nb = {"cells": [{"source": "a"}, {"outputs": [{"x": 1}, {"data": {"text/plain": "HIT"}}]}]}
    text = json.dumps(nb, indent=1)
    path = json_path_at(text, text.index("HIT"))
    assert path == ["cells", 1, "outputs", 1, "data", "text/plain"]
    assert notebook_place(path) == "cell 2, output 2, data.text/plain"
    assert notebook_place(["metadata", "widgets"]) == "metadata.widgets"
    assert json_path_at("not json", 3) == []


def test_leaf_streams_open_codecs_and_archives():
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("a/x.log", b"one\n")
        zf.writestr("b.log.bz2", bz2.compress(b"two\n"))
    got = [(name, s.read()) for name, s in leaf_streams(io.BytesIO(inner.getvalue()), "l.zip")]
    assert got == [("l.zip/a/x.log", b"one\n"), ("l.zip/b.log", b"two\n")]


def test_each_blob_is_scanned_once(tmp_path: Path):
    env = {**os.environ, **GIT_IDENTITY, "HOME": str(tmp_path)}
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text(f"{PW}\n")
    for i in range(5):  # five commits hold a.txt's one blob; b.txt changes every time
        (repo / "b.txt").write_text(f"{i}\n")
        git(repo, env, "add", "-A")
        git(repo, env, "commit", "-q", "-m", str(i))
    git(repo, env, "branch", "side")

    seen: list[str] = []

    class Counting(Scanner):
        def scan_bytes(self, data: bytes, path: str) -> list[Finding]:
            seen.append(path)
            return super().scan_bytes(data, path)

    base = scanner()
    found = scan_history(Counting(base.redactor, [("db/pw", PW)], key=KEY), repo, [])
    assert sorted(seen) == ["a.txt"] + ["b.txt"] * 5
    [finding] = found
    assert (finding.path, len(finding.commits), finding.paths) == ("a.txt", 5, ["a.txt"])
