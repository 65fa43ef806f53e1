"""A labelled replacement (``[REDACTED:{name}:{hash}]``) in the sinks that splice regions
themselves: the notebook scrub (split stream outputs, lists of lines, base64 attachments,
sources), the ``::add-mask::`` echo of the CI filter, and the number quoting of JSON-lines log
copies. Each writes the label of the secret it hid, never the template text; any chunking and
both engines give the same bytes."""

from __future__ import annotations

import base64
import json
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from helpers.chunks import split_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor, hyperscan_available
from redactor.sinks import logfiles
from redactor.sinks.ci import MaskingFilter
from redactor.sinks.logfiles import LogFile, redact_json_line, scrub_log_file
from redactor.sinks.notebook import scrub_notebook

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

TEMPLATE = "[REDACTED:{name}:{hash}]"
KEY = "labelled-sinks-key"
PW = "hunter2-password"
TOKEN = "ghp_Zk7Qm2Xr9Lp4Wv8Nt3Bc6Yd1Hs5Jf0Ga"
ACCT = "40512938776"
ENGINES = ["ahocorasick", *(["hyperscan"] if hyperscan_available() else [])]


def labelled(engine: str | None = None) -> Redactor:
    r = Redactor(replacement=TEMPLATE, hash_key=KEY, engine=engine)
    r.add(PW, "db/password")
    r.add(TOKEN, "env:GITHUB_TOKEN")
    r.add(ACCT, "bank/acct")
    return r


R = labelled()
L_PW = f"[REDACTED:db/password:{R.secret_hash(PW)}]"
L_TOKEN = f"[REDACTED:env:GITHUB_TOKEN:{R.secret_hash(TOKEN)}]"
L_ACCT = f"[REDACTED:bank/acct:{R.secret_hash(ACCT)}]"


def test_labels_are_distinct_and_not_the_template():
    assert len({L_PW, L_TOKEN, L_ACCT}) == 3
    assert R.redact(f"{PW} {TOKEN}") == f"{L_PW} {L_TOKEN}"


# -- notebooks ----------------------------------------------------------------------------------


def stream(text) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def notebook(cells: list[dict]) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def code(source, outputs: list[dict]) -> dict:
    return {
        "cell_type": "code",
        "execution_count": 1,
        "id": "c1",
        "metadata": {},
        "source": source,
        "outputs": outputs,
    }


def test_notebook_every_splice_writes_the_label():
    half = len(TOKEN) // 2
    attachment = base64.b64encode(f"pw {PW}\n".encode()).decode()
    nb = notebook(
        [
            code(
                ["x = 1\n", f"pw = '{PW}'\n", "print(pw)\n"],
                [
                    # one print saved as two outputs, the token split across them
                    stream(["before\n", f"tok {TOKEN[:half]}"]),
                    stream([f"{TOKEN[half:]} end\n", "after\n"]),
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {"text/plain": ["line one\n", f"{PW} and {ACCT}\n", "last"]},
                    },
                ],
            ),
            {
                "cell_type": "markdown",
                "id": "m1",
                "metadata": {},
                "source": "![a](attachment:a.txt)",
                "attachments": {"a.txt": {"text/plain": attachment}},
            },
        ]
    )
    out, report = scrub_notebook(nb, R, fix_sources=True)
    cell = out["cells"][0]
    assert cell["source"] == ["x = 1\n", f"pw = '{L_PW}'\n", "print(pw)\n"]
    assert cell["outputs"][0]["text"] == ["before\n", f"tok {L_TOKEN}"]
    assert cell["outputs"][1]["text"] == [" end\n", "after\n"]
    assert cell["outputs"][2]["data"]["text/plain"] == [
        "line one\n",
        f"{L_PW} and {L_ACCT}\n",
        "last",
    ]
    # only the lines a secret touched were rewritten: the others are the input's objects
    assert cell["source"][0] is nb["cells"][0]["source"][0]
    assert cell["outputs"][1]["text"][1] is nb["cells"][0]["outputs"][1]["text"][1]
    got = out["cells"][1]["attachments"]["a.txt"]["text/plain"]
    assert base64.b64decode(got).decode() == f"pw {L_PW}\n"
    assert report.counts == Counter({"db/password": 3, "env:GITHUB_TOKEN": 1, "bank/acct": 1})


def test_notebook_str_fields_and_metadata():
    nb = notebook([code(f"print('{TOKEN}')", [stream(f"{TOKEN}\n")])])
    nb["metadata"] = {"note": f"pw={PW}"}
    out, _ = scrub_notebook(nb, R, fix_sources=True)
    assert out["cells"][0]["source"] == f"print('{L_TOKEN}')"
    assert out["cells"][0]["outputs"][0]["text"] == f"{L_TOKEN}\n"
    assert out["metadata"] == {"note": f"pw={L_PW}"}


def stream_texts(outputs: list[dict]) -> str:
    return "".join(o["text"] if isinstance(o["text"], str) else "".join(o["text"]) for o in outputs)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from([PW, TOKEN, ACCT, "\n", " ", "x", "1", "hunter", "ghp_Zk7"]), max_size=14
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=5),
    as_lines=st.booleans(),
)
def test_property_split_streams_are_the_one_shot_text(parts, cuts, as_lines):
    """A run of stream outputs cut anywhere: joined, the scrubbed texts are what ``redact``
    makes of the joined text, labels included; both engines write the same notebook."""
    text = "".join(parts)
    pieces = split_at(text, cuts)
    outputs = [stream(p.splitlines(True) if as_lines else p) for p in pieces]
    nb = notebook([code("", outputs)])
    results = []
    for engine in ENGINES:
        r = labelled(engine)
        out, _ = scrub_notebook(nb, r)
        got = out["cells"][0]["outputs"]
        assert len(got) == len(outputs)
        assert stream_texts(got) == r.redact(text)
        results.append(out)
    assert all(res == results[0] for res in results)


# -- the ::add-mask:: echo ----------------------------------------------------------------------

MASKED = b"runtime-value-77"


def mask_filter(engine: str | None = None) -> tuple[Redactor, MaskingFilter]:
    r = labelled(engine)
    return r, MaskingFilter(r, label="stdout")


def filtered(data: bytes, chunks: list[bytes] | None = None, engine: str | None = None) -> bytes:
    _, f = mask_filter(engine)
    return b"".join(f.feed(c) for c in (chunks if chunks is not None else [data])) + f.flush()


def test_add_mask_echo_is_labelled():
    h = R.secret_hash(MASKED)
    name = "::add-mask:: #1 on stdout"
    data = (
        b"\x1b[36m::add-mask::runtime-value-77\x1b[0m\n"
        + f"see runtime-value-77 and {PW}\n".encode()
        + b"##[add-mask]runtime-value-77\n"
        + b"::add-mask::abc\n"  # too short: not registered, still hidden in its own line
    )
    label = f"[REDACTED:{name}:{h}]".encode()
    with pytest.warns(UserWarning, match="too short"):
        got = filtered(data)
    assert got == (
        b"\x1b[36m::add-mask::" + label + b"\x1b[0m\n"
        b"see " + label + b" and " + L_PW.encode() + b"\n"
        b"##[add-mask]" + label + b"\n"
        b"::add-mask::[REDACTED:::add-mask:: #3 on stdout:" + R.secret_hash("abc").encode() + b"]\n"
    )


def test_add_mask_of_a_known_secret_takes_its_label():
    """A value already registered is labelled as its other copies are (the lowest secret id)."""
    data = f"::add-mask::{PW}\n{PW}\n".encode()
    assert filtered(data) == f"::add-mask::{L_PW}\n{L_PW}\n".encode()


def test_over_long_add_mask_line_is_labelled_without_a_hash():
    _, f = mask_filter()
    f._max_command = 40
    with pytest.warns(UserWarning, match="longer than 40 bytes"):
        got = f.feed(b"::add-mask::" + b"v" * 60 + b"\nok\n") + f.flush()
    assert got == b"::add-mask::[REDACTED:::add-mask:: #1 on stdout:????????]\nok\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(
        st.sampled_from(
            [
                b"::add-mask::runtime-value-77\n",
                b"##[add-mask]other-value-9%3B9\n",
                b"runtime-value-77",
                b"other-value-9;9",
                PW.encode(),
                TOKEN.encode(),
                b"\x1b[1m",
                b"\n",
                b" x ",
            ]
        ),
        max_size=12,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=6),
)
def test_property_add_mask_any_chunking_both_engines(parts, cuts):
    data = b"".join(parts)
    outs = {filtered(data, split_at(data, cuts), engine) for engine in ENGINES}
    outs.add(filtered(data))
    assert len(outs) == 1
    out = outs.pop()
    assert TOKEN.encode() not in out and PW.encode() not in out


# -- JSON lines ---------------------------------------------------------------------------------


def test_json_line_numbers_become_labelled_strings():
    line = f'{{"acct": {ACCT}, "n": 12{ACCT}.5, "pw": "{PW}", "e": 1e5, "l": [{ACCT}, 3]}}\n'
    counts: Counter[str] = Counter()
    got = redact_json_line(R.redact(line), R, counts)
    assert got == (
        f'{{"acct": "{L_ACCT}", "n": "12{L_ACCT}.5", "pw": "{L_PW}", "e": 1e5, '
        f'"l": ["{L_ACCT}", 3]}}\n'
    )
    assert json.loads(got)["acct"] == L_ACCT


def test_json_line_label_holding_number_characters():
    """A label of digits and hex (``{hash}`` alone) next to a number's digits: one string."""
    r = Redactor(replacement="{hash}", hash_key=KEY)
    r.add(ACCT, "bank/acct")
    h = r.secret_hash(ACCT)
    line = f'{{"a": 7{ACCT}e3, "b": "x"}}'
    got = redact_json_line(r.redact(line), r, Counter())
    assert json.loads(got) == {"a": f"7{h}e3", "b": "x"}


def test_json_line_secrets_added_later_are_found():
    r = Redactor(replacement=TEMPLATE, hash_key=KEY)
    r.add(PW, "db/password")
    assert redact_json_line('{"a": 1}', r, Counter()) == '{"a": 1}'
    r.add(ACCT, "bank/acct")
    got = redact_json_line(r.redact(f'{{"a": {ACCT}}}'), r, Counter())
    assert got == f'{{"a": "[REDACTED:bank/acct:{r.secret_hash(ACCT)}]"}}'


@settings(max_examples=40, deadline=None)
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {
                "n": st.sampled_from([ACCT, f"1{ACCT}", f"{ACCT}.25", "42", f"-{ACCT}e2"]),
                "s": st.sampled_from([PW, TOKEN, "plain", f"{PW}/{TOKEN}"]),
            }
        ),
        max_size=6,
    ),
    chunk=st.integers(min_value=1, max_value=60),
)
def test_property_json_lines_file_any_chunking_both_engines(records, chunk):
    """A JSON-lines file read in chunks of any size: the same labelled copy as one read, on
    both engines; every line stays JSON and no secret survives."""
    data = "".join(f'{{"n": {r["n"]}, "s": {json.dumps(r["s"])}}}\n' for r in records).encode()
    copies = set()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_bytes(data)
        job = LogFile(str(src), str(Path(tmp) / "out.jsonl"), "in.jsonl", len(data), "jsonl")
        for size in (chunk, 1 << 20):
            for engine in ENGINES:
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(logfiles, "CHUNK", size)
                    assert scrub_log_file(job, labelled(engine)).error is None
                copies.add((Path(tmp) / "out.jsonl").read_bytes())
    assert len(copies) == 1
    out = copies.pop().decode()
    for line in out.splitlines():
        json.loads(line)
    assert PW not in out and TOKEN not in out and ACCT not in out
