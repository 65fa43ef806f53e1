"""The scan sink's parts: naming the form of a copy, locating it in a notebook, reading
compressed members, and scanning each git blob once however many commits hold it."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import os
import random
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers.git import GIT_IDENTITY, git
from helpers.tokenfactory import with_crc
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


# -- large files and blobs: windows ---------------------------------------------------------------


def big_text(seed: int, size: int, secrets: list[str]) -> str:
    """Log-like lines of about ``size`` characters with ``secrets`` copied at random places
    (some inside a line, some across what will be window edges), in their raw and base64 forms."""
    rnd = random.Random(seed)
    words = "alpha beta gamma delta config value import return data frame log step ok".split()
    out: list[str] = []
    n = 0
    while n < size:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 12)))
        if rnd.random() < 0.02:
            s = rnd.choice(secrets)
            line += " " + (s if rnd.random() < 0.7 else base64.b64encode(s.encode()).decode())
            line += " " + rnd.choice(words)
        out.append(line + "\n")
        n += len(out[-1])
    return "".join(out)


GHP = with_crc("ghp_", random.Random(5))
TOK = "k3y-" + "Zq9" * 10


def windowed_scanner() -> Scanner:
    """A fresh one each time: a scan learns the tokens it detects (a later copy is then a
    registered secret), so the two sides of a comparison each get their own."""
    r = Redactor(detect=True)
    items = [("db/pw", PW), ("tok", TOK)]
    r.add_many(items)
    return Scanner(r, items, key=KEY)


@pytest.mark.parametrize("chunk", [4096, 70_000, 131_072, 400_000])
def test_a_text_larger_than_the_window_gives_the_same_findings(chunk):
    """A file larger than the window is scanned in overlapping windows (memory: about two of
    them): exactly the findings of one call on the whole, lines and columns included, whatever
    the window size, with copies across window edges and a detected token."""
    text = big_text(1, 1_000_000, [PW, TOK, GHP])
    data = text.encode()
    whole = [f.to_dict() for f in windowed_scanner().scan_bytes(data, "app.log")]
    assert len(whole) > 100 and {f["form"] for f in whole} >= {"raw", "base64", "detected"}
    s = windowed_scanner()
    streamed = [f.to_dict() for f in s.scan_stream(io.BytesIO(data), "app.log", chunk=chunk)]
    assert streamed == whole


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(0, 90_000), min_size=1, max_size=6),
    chunk=st.integers(1000, 40_000),
    multibyte=st.booleans(),
)
def test_windows_never_cut_a_copy_in_two(cuts, chunk, multibyte):
    """Copies placed anywhere (around the window edges too), text with multi-byte characters
    or not: the windows find what one call finds."""
    s = scanner()
    filler = ("é ü 日本 " if multibyte else "plain words ") * 12_000
    text = filler
    for at in sorted(set(cuts), reverse=True):
        text = text[:at] + PW + text[at:]
    data = text.encode()
    whole = [f.to_dict() for f in s.scan_bytes(data, "x.txt")]
    assert [f.to_dict() for f in s.scan_stream(io.BytesIO(data), "x.txt", chunk=chunk)] == whole


def test_large_files_and_blobs_are_streamed(tmp_path: Path):
    """A file and a git blob larger than the 8 MiB window: scan_file and scan --git's blob
    reader give the findings of the whole (the file's last copy on its last line)."""
    from redactor.sinks.scan import CHUNK

    s = scanner()
    text = big_text(2, CHUNK + 2_000_000, [PW])
    text += f"last {PW}\n"
    path = tmp_path / "r" / "big.log"
    path.parent.mkdir()
    path.write_text(text)
    whole = [f.to_dict() for f in s.scan_bytes(text.encode(), str(path))]
    assert [f.to_dict() for f in s.scan_file(path)] == whole
    assert whole[-1]["line"] == text.count("\n")
    # A compressed file's member (a decompressor returns short reads): the same lines.
    packed = tmp_path / "big.log.gz"
    packed.write_bytes(gzip.compress(text.encode(), compresslevel=1))
    inner = [(f.path, f.line, f.column) for f in s.scan_file(packed)]
    assert inner == [(str(tmp_path / "big.log"), f["line"], f["column"]) for f in whole]

    env = {**os.environ, **GIT_IDENTITY, "HOME": str(tmp_path)}
    repo = path.parent
    git(repo, env, "init", "-q", "-b", "main")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "big")
    found = scan_history(s, repo, [])
    assert [(f.line, f.column, f.end_column, f.form) for f in found] == [
        (f["line"], f["column"], f["end_column"], f["form"]) for f in whole
    ]
    assert {f.path for f in found} == {"big.log"}
