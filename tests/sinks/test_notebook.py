"""The notebook scrubber: every field, binary outputs, sources, minimal diffs, and properties."""

from __future__ import annotations

import base64
import copy
import difflib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from helpers.nbfactory import PASSWORD, TOKEN, b64, dumps, png, to_disk_dict
from helpers.nbfactory import demo_redactor as make_redactor
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from redactor import Redactor
from redactor.engine.walk import MAX_DEPTH
from redactor.sinks.notebook import (
    NotebookError,
    RemovedOutput,
    SourceFinding,
    scrub_notebook,
    scrub_text,
)

R = "[REDACTED]"
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "leaky.ipynb"


@pytest.fixture
def r() -> Redactor:
    return make_redactor()


def strings(value, keys: bool = True):
    """Every string in a JSON value, list-of-lines fields joined (a secret may span lines)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        if value and all(isinstance(x, str) for x in value):
            yield "".join(value)
        for item in value:
            yield from strings(item, keys)
    elif isinstance(value, dict):
        for k, v in value.items():
            if keys:
                yield k
            yield from strings(v, keys)


def binaries(nb):
    """Every base64 entry of outputs, attachments and widget buffers, decoded."""
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            for mime, v in out.get("data", {}).items():
                if mime.startswith("image/") and mime != "image/svg+xml":
                    yield base64.b64decode("".join(v) if isinstance(v, list) else v)
        for bundle in cell.get("attachments", {}).values():
            for v in bundle.values():
                yield base64.b64decode("".join(v) if isinstance(v, list) else v)
    state = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json")
    for model in (state or {}).get("state", {}).values():
        for buf in model.get("buffers", []):
            yield base64.b64decode(buf["data"])


def assert_clean(r: Redactor, nb) -> None:
    for s in strings(nb):
        assert not r.contains_secret(s), s
    for data in binaries(nb):
        assert r.redact_bytes(data) == data


def one_output_nb(*outputs, **cell_kw) -> dict:
    nb = new_notebook()
    cell = new_code_cell("x", execution_count=1, **cell_kw)
    cell.outputs = list(outputs)
    nb.cells = [cell]
    return to_disk_dict(nb)


# -- the fixture: every field at once -----------------------------------------------------------


def test_leaky_fixture_every_field(r):
    nb = json.loads(FIXTURE.read_text())
    before = copy.deepcopy(nb)
    new, report = scrub_notebook(nb, r)
    assert nb == before, "the input must not be mutated"
    assert report.changed
    assert report.counts == Counter({"api/token": 11, "db/password": 10})
    assert report.fields == Counter(
        {
            "attachments.image/png": 1,
            "attachments.text/plain": 2,
            "cell.metadata": 1,
            "display_data.application/javascript": 1,
            "display_data.image/png": 1,
            "display_data.image/svg+xml": 1,
            "display_data.text/markdown": 1,
            "error.evalue": 1,
            "error.traceback": 2,
            "execute_result.application/json": 3,
            "execute_result.text/html": 1,
            "execute_result.text/plain": 1,
            "metadata": 1,
            "metadata.widgets": 2,
            "stream.stdin": 1,
            "stream.stdout": 1,
        }
    )
    assert report.removed == [
        RemovedOutput(1, "attachments.image/png", "image/png", ("db/password",)),
        RemovedOutput(5, "display_data.image/png", "image/png", ("api/token",)),
        RemovedOutput(None, "metadata.widgets", "base64 buffer", ("api/token",)),
    ]
    assert report.source_findings == []
    assert_clean(r, new)
    # every output is kept, the clean ones untouched
    assert [len(c.get("outputs", [])) for c in new["cells"]] == [
        len(c.get("outputs", [])) for c in nb["cells"]
    ]
    assert new["cells"][6] is nb["cells"][6]
    assert new["cells"][4]["outputs"][1] is nb["cells"][4]["outputs"][1]
    nbformat.validate(nbformat.from_dict(new))


def test_fixture_exact_redactions(r):
    new, _ = scrub_notebook(json.loads(FIXTURE.read_text()), r)
    cells = new["cells"]
    assert cells[1]["outputs"][0]["text"] == [f"connecting {R}\n", "connected\n"]
    assert cells[2]["outputs"][1] == {"name": "stdin", "output_type": "stream", "text": [f"{R}\n"]}
    data = cells[3]["outputs"][0]["data"]
    assert data["text/plain"] == [f"{{'user': 'etl', 'password': '{R}'}}"]
    assert data["text/html"] == [
        f"<table><tr><td>password</td><td>{R}</td></tr><tr><td>user</td><td>etl</td></tr></table>"
    ]
    assert data["application/json"] == {
        R: "a key that is a secret",
        "headers": [{"Authorization": f"Bearer {R}"}],
        "password": R,
        "user": "etl",
    }
    assert cells[3]["metadata"] == {"debug": {"last_token": R}, "tags": ["config"]}
    err = cells[5]["outputs"][0]
    assert err["evalue"] == f"FATAL: password authentication failed for password '{R}'"
    assert err["traceback"][3] == (
        f"File \x1b[0;31mdb.py:3\x1b[0m, in connect(password=\x1b[0;31m'{R}'\x1b[0m)\n"
    )
    png_out = cells[4]["outputs"][0]["data"]
    assert png_out == {
        "text/plain": [
            "<Figure size 2x2>\n",
            "[image/png output removed by redactor: it contained a secret]",
        ]
    }
    att = cells[0]["attachments"]
    assert att["diagram.png"] == {
        "text/plain": b64(b"[image/png output removed by redactor: it contained a secret]")
    }
    assert base64.b64decode(att["notes.txt"]["text/plain"]) == f"password: {R}\n".encode()
    assert new["metadata"]["papermill"]["parameters"] == {"db_password": R, "rows": 10}
    state = new["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert state["a1b2c3"]["state"]["value"] == f"token={R}"
    assert state["d4e5f6"]["buffers"] == []


# -- field by field -----------------------------------------------------------------------------


def test_stream_list_of_lines_multiline_secret():
    key = "-----BEGIN KEY-----\nabcdefghijklmnop\n-----END KEY-----"
    red = Redactor()
    red.add(key, "pem")
    nb = one_output_nb(new_output("stream", name="stdout", text=f"before\nkey: {key}\nafter\n"))
    assert nb["cells"][0]["outputs"][0]["text"] == [
        "before\n",
        "key: -----BEGIN KEY-----\n",
        "abcdefghijklmnop\n",
        "-----END KEY-----\n",
        "after\n",
    ]
    new, report = scrub_notebook(nb, red)
    assert new["cells"][0]["outputs"][0]["text"] == ["before\n", f"key: {R}\n", "after\n"]
    assert report.counts == Counter({"pem": 1})
    assert report.fields == Counter({"stream.stdout": 1})


def test_notebooknode_in_notebooknode_out(r):
    nb = nbformat.read(FIXTURE, as_version=4)
    new, report = scrub_notebook(nb, r)
    assert isinstance(new, nbformat.NotebookNode)
    assert isinstance(new.cells[1].outputs[0], nbformat.NotebookNode)
    assert new.cells[1].outputs[0].text == f"connecting {R}\nconnected\n"
    assert report.redactions == 21
    assert_clean(r, json.loads(nbformat.writes(new)))


def test_json_mime_types_walked_recursively_with_keys(r):
    payload = {TOKEN: [1, {"nested": [f"x{PASSWORD}y", None, True, 2.5]}], "ok": "fine"}
    nb = one_output_nb(
        new_output(
            "display_data",
            data={"application/vnd.custom+json": payload, "application/json": [TOKEN]},
        )
    )
    new, report = scrub_notebook(nb, r)
    assert new["cells"][0]["outputs"][0]["data"] == {
        "application/json": [R],
        "application/vnd.custom+json": {
            R: [1, {"nested": [f"x{R}y", None, True, 2.5]}],
            "ok": "fine",
        },
    }
    assert report.fields == Counter(
        {"display_data.application/vnd.custom+json": 2, "display_data.application/json": 1}
    )


def test_keys_redacted_to_the_same_text_keep_both_entries(r):
    nb = one_output_nb(
        new_output("display_data", data={"application/json": {TOKEN: 1, PASSWORD: 2}})
    )
    new, _ = scrub_notebook(nb, r)
    # keys are sorted on disk: the password ("T...") comes first
    assert new["cells"][0]["outputs"][0]["data"]["application/json"] == {R: 2, f"{R} #2": 1}


@pytest.mark.parametrize("mime", ["image/png", "image/jpeg", "application/pdf", "image/x-unknown"])
def test_binary_with_secret_dropped_with_note(r, mime):
    blob = b"\xff\xd8\xff\xe0 binary " + TOKEN.encode() + b"\x00\x01 more"
    nb = one_output_nb(new_output("display_data", data={mime: b64(blob)}))
    new, report = scrub_notebook(nb, r)
    assert new["cells"][0]["outputs"][0]["data"] == {
        "text/plain": f"[{mime} output removed by redactor: it contained a secret]"
    }
    assert report.removed == [RemovedOutput(1, f"display_data.{mime}", mime, ("api/token",))]
    assert report.counts == Counter({"api/token": 1})


def test_binary_split_base64_lines_and_clean_binary_kept(r):
    leaky = base64.encodebytes(png("x" * 100 + TOKEN)).decode()  # wrapped at 76 columns
    clean = b64(png("nothing here"))
    nb = one_output_nb(
        new_output("display_data", data={"image/png": leaky.splitlines(True)}),
        new_output("display_data", data={"image/png": clean}),
    )
    new, report = scrub_notebook(nb, r)
    assert "image/png" not in new["cells"][0]["outputs"][0]["data"]
    assert new["cells"][0]["outputs"][1] is nb["cells"][0]["outputs"][1]
    assert len(report.removed) == 1


def test_base64_form_of_secret_in_an_image_is_not_edited_as_text(r):
    # The image's base64 text contains the secret's base64 form; editing it would corrupt the
    # image: the decoded bytes decide (here: the secret is in them, so the entry goes).
    blob = b"abc" + TOKEN.encode()
    nb = one_output_nb(new_output("display_data", data={"image/png": b64(blob)}))
    new, _ = scrub_notebook(nb, r)
    assert list(new["cells"][0]["outputs"][0]["data"]) == ["text/plain"]


def test_unknown_text_mime_is_redacted_as_text(r):
    nb = one_output_nb(new_output("display_data", data={"application/x-custom": f"token: {TOKEN}"}))
    new, _ = scrub_notebook(nb, r)
    assert new["cells"][0]["outputs"][0]["data"] == {"application/x-custom": f"token: {R}"}


def test_error_fields(r):
    nb = one_output_nb(
        new_output(
            "error",
            ename=f"Err{TOKEN}",
            evalue=f"bad {PASSWORD}",
            traceback=[f"\x1b[0;31m{TOKEN}\x1b[0m", "plain"],
        )
    )
    new, report = scrub_notebook(nb, r)
    out = new["cells"][0]["outputs"][0]
    assert (out["ename"], out["evalue"], out["traceback"]) == (
        f"Err{R}",
        f"bad {R}",
        [f"\x1b[0;31m{R}\x1b[0m", "plain"],
    )
    assert report.fields == Counter({"error.ename": 1, "error.evalue": 1, "error.traceback": 1})


def test_output_metadata_and_widget_output_nested(r):
    nb = new_notebook()
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {
                "m1": {
                    "model_name": "OutputModel",
                    "state": {
                        "outputs": [
                            {"output_type": "stream", "name": "stdout", "text": f"{TOKEN}\n"},
                            {
                                "output_type": "display_data",
                                "data": {"image/png": b64(png(TOKEN))},
                                "metadata": {},
                            },
                        ]
                    },
                }
            }
        }
    }
    cell = new_code_cell("x")
    cell.outputs = [new_output("display_data", data={"text/plain": "ok"}, metadata={"k": TOKEN})]
    nb.cells = [cell]
    new, report = scrub_notebook(to_disk_dict(nb), r)
    outputs = new["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"][
        "m1"
    ]["state"]["outputs"]
    assert outputs[0]["text"] == f"{R}\n"  # nbformat does not split widget state
    assert outputs[1]["data"] == {
        "text/plain": "[image/png output removed by redactor: it contained a secret]"
    }
    assert new["cells"][0]["outputs"][0]["metadata"] == {"k": R}
    assert report.fields["display_data.metadata"] == 1


def test_source_reported_not_changed_then_fixed(r):
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# title"),
        new_code_cell(f"import x\n\ntoken = '{TOKEN}'\npw = {PASSWORD!r}; again = '{TOKEN}'"),
    ]
    nb.cells[1]["id"] = "abc"
    disk = to_disk_dict(nb)
    new, report = scrub_notebook(disk, r)
    assert new is disk and not report.changed
    assert report.source_findings == [
        SourceFinding(2, 3, "api/token", "abc", False),
        SourceFinding(2, 4, "db/password", "abc", False),
        SourceFinding(2, 4, "api/token", "abc", False),
    ]
    assert report.counts == Counter()
    fixed, report = scrub_notebook(disk, r, fix_sources=True)
    assert fixed["cells"][1]["source"] == [
        "import x\n",
        "\n",
        f"token = '{R}'\n",
        f"pw = '{R}'; again = '{R}'",
    ]
    assert all(f.fixed for f in report.source_findings)
    assert report.counts == Counter({"api/token": 2, "db/password": 1})
    assert report.fields == Counter({"source": 3})


def test_nothing_to_redact_returns_the_same_object(r):
    nb = one_output_nb(new_output("stream", name="stdout", text="hello\n"))
    new, report = scrub_notebook(nb, r)
    assert new is nb
    assert not report.changed and report.redactions == 0


def test_several_redactors_applied_in_turn():
    a, b = Redactor(), Redactor()
    a.add("first-secret", "a/one")
    b.add("second-secret", "b/two")
    nb = one_output_nb(new_output("stream", name="stdout", text="first-secret second-secret"))
    new, report = scrub_notebook(nb, [a, b, Redactor()])
    assert new["cells"][0]["outputs"][0]["text"] == [f"{R} {R}"]
    assert report.counts == Counter({"a/one": 1, "b/two": 1})


def test_process_wide_redactor_is_the_default():
    import redactor

    r = Redactor()
    r.add("process-wide-secret", "pw")
    previous = redactor.set_redactor(r)
    try:
        nb = one_output_nb(new_output("stream", name="stdout", text="process-wide-secret"))
        new, _ = scrub_notebook(nb)
    finally:
        redactor.set_redactor(previous)
    assert new["cells"][0]["outputs"][0]["text"] == [R]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2], "not a Jupyter notebook: the top level is a JSON array"),
        ({"a": 1}, "not a Jupyter notebook: no 'nbformat' and 'cells' at the top level"),
        ({"nbformat": 3, "worksheets": []}, "an nbformat 3 notebook"),
        ({"nbformat": 5, "cells": []}, "unsupported nbformat version 5 (only version 4 is)"),
        ({"nbformat": 4, "cells": {}}, "not a Jupyter notebook: 'cells' is not a list"),
    ],
)
def test_not_a_notebook(r, value, message):
    with pytest.raises(NotebookError) as exc:
        scrub_notebook(value, r)
    assert str(exc.value).startswith(message)


def test_invalid_json_error_names_the_place_never_the_content(r):
    text = FIXTURE.read_text()
    with pytest.raises(NotebookError) as exc:
        scrub_text(text[:2000], r)
    message = str(exc.value)
    assert message.startswith("not valid JSON: ")
    assert message.endswith("; the file looks truncated")
    assert TOKEN not in message and PASSWORD not in message


# -- text round trips: minimal diffs ------------------------------------------------------------


def changed_lines(a: str, b: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(a.splitlines(), b.splitlines(), n=0, lineterm="")
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]


def strings_only_nb() -> dict:
    """Secrets only in strings: scrubbing changes no structure."""
    nb = new_notebook()
    nb.metadata["title"] = "Café report ✓"
    cell = new_code_cell("print(x)", execution_count=1)
    cell.outputs = [
        new_output("stream", name="stdout", text=f"a\ntoken {TOKEN}\nb — ü\n"),
        new_output("execute_result", execution_count=1, data={"text/html": f"<b>{PASSWORD}</b>"}),
    ]
    nb.cells = [new_markdown_cell("Ünïcode"), cell]
    return nb


def test_nbformat_file_only_the_secret_lines_change(r):
    text = dumps(strings_only_nb())
    new, _ = scrub_text(text, r)
    assert changed_lines(text, new) == [
        f'-      "token {TOKEN}\\n",',
        f'+      "token {R}\\n",',
        f'-       "<b>{PASSWORD.replace(chr(34), chr(92) + chr(34))}</b>"',
        f'+       "<b>{R}</b>"',
    ]
    assert new.endswith("}\n")


@pytest.mark.parametrize("sort_keys", [True, False])
@pytest.mark.parametrize("indent", [1, 2, 4, "\t"])
@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("newline", ["\n", "\r\n", ""])
def test_layout_kept_for_other_writers(r, sort_keys, indent, ensure_ascii, newline):
    doc = to_disk_dict(strings_only_nb())
    if not sort_keys:  # like a JavaScript writer: insertion order, reversed to be sure
        doc = {k: doc[k] for k in reversed(list(doc))}
    text = json.dumps(doc, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    text = text.replace("\n", newline or "\n") + newline
    new, report = scrub_text(text, r)
    assert report.redactions == 2
    expected = json.dumps(
        json.loads(new), indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii
    )
    assert new == expected.replace("\n", newline or "\n") + newline
    assert len(changed_lines(text, new)) == 4
    assert scrub_text(new, r)[0] == new


@pytest.mark.parametrize("sort_keys", [True, False])
@pytest.mark.parametrize("indent", [1, 2])
def test_layout_kept_when_an_image_is_dropped(r, sort_keys, indent):
    nb = strings_only_nb()
    nb.cells[1].outputs.append(
        new_output("display_data", data={"image/png": b64(png(TOKEN)), "text/plain": "<Fig>"})
    )
    doc = to_disk_dict(nb)
    if not sort_keys:
        doc = {k: doc[k] for k in reversed(list(doc))}
    text = json.dumps(doc, indent=indent, sort_keys=sort_keys, ensure_ascii=True) + "\n"
    new, report = scrub_text(text, r)
    assert len(report.removed) == 1
    assert new == json.dumps(json.loads(new), indent=indent, sort_keys=sort_keys) + "\n"
    assert list(json.loads(new)) == list(doc)  # top-level key order kept


def test_dropped_image_rewrites_only_its_bundle(r):
    nb = strings_only_nb()
    nb.cells[1].outputs.append(
        new_output("display_data", data={"image/png": b64(png(TOKEN)), "text/plain": "<Fig>"})
    )
    text = dumps(nb)
    new, _ = scrub_text(text, r)
    assert changed_lines(text, new) == [
        f'-      "token {TOKEN}\\n",',
        f'+      "token {R}\\n",',
        f'-       "<b>{PASSWORD.replace(chr(34), chr(92) + chr(34))}</b>"',
        f'+       "<b>{R}</b>"',
        f'-      "image/png": "{b64(png(TOKEN))}",',
        '-       "<Fig>"',
        '+       "<Fig>\\n",',
        '+       "[image/png output removed by redactor: it contained a secret]"',
    ]


def test_multiline_secret_merges_lines_in_place(r):
    key = "-----BEGIN KEY-----\nabcdefghijklmnop\n-----END KEY-----"
    red = Redactor()
    red.add(key, "pem")
    nb = strings_only_nb()
    nb.cells[1].outputs[0].text = f"a\n{key}\nb\n"
    text = dumps(nb)
    new, _ = scrub_text(text, red)
    assert changed_lines(text, new) == [
        '-      "-----BEGIN KEY-----\\n",',
        '-      "abcdefghijklmnop\\n",',
        '-      "-----END KEY-----\\n",',
        f'+      "{R}\\n",',
    ]


def test_layout_json_dumps_cannot_reproduce_falls_back_to_a_full_dump(r):
    # Odd spacing and a dropped image: the notebook is written again with the detected indent.
    doc = to_disk_dict(strings_only_nb())
    doc["cells"][1]["outputs"].append(
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": b64(png(TOKEN))}}
    )
    text = json.dumps(doc, indent=3).replace('": ', '" : ') + "\n"
    new, report = scrub_text(text, r)
    assert len(report.removed) == 1
    assert new == json.dumps(json.loads(new), indent=3) + "\n"
    assert_clean(r, json.loads(new))


def test_duplicate_keys_fall_back_safely(r):
    text = (
        '{"nbformat": 4, "nbformat_minor": 5, "metadata": {"a": "x", "a": "' + TOKEN + '"},'
        ' "cells": []}'
    )
    new, _ = scrub_text(text, r)
    assert json.loads(new) == {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"a": R},
        "cells": [],
    }


def test_unusual_spacing_and_escapes_survive_outside_changed_strings(r):
    # A layout json.dumps cannot reproduce: only the changed string tokens are rewritten.
    text = (
        '{ "nbformat" : 4 , "nbformat_minor":5,\n'
        '  "metadata": {"note": "caf\\u00e9 \\/ kept"},\n'
        '  "cells": [ {"cell_type": "code", "execution_count": null, "id": "a",\n'
        '     "metadata": {}, "source": "x",\n'
        f'     "outputs": [{{"output_type": "stream", "name": "stdout", "text": "t={TOKEN}"}}]}}]\n'
        "}"
    )
    new, _ = scrub_text(text, r)
    assert new == text.replace(f"t={TOKEN}", f"t={R}")


def test_bom_is_kept(r):
    text = "\ufeff" + dumps(strings_only_nb())
    new, _ = scrub_text(text, r)
    assert new.startswith("\ufeff{\n") and TOKEN not in new


def test_unchanged_text_is_the_same_object():
    other = Redactor()
    other.add("a value not in the notebook", "absent")
    text = dumps(strings_only_nb())
    new, report = scrub_text(text, other)
    assert new is text and not report.changed


# -- properties ---------------------------------------------------------------------------------

secret_chars = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "S"),
    exclude_characters="\x00",
    include_characters="\"'\\&<>/\n",
)
secrets_st = st.text(secret_chars, min_size=8, max_size=20).filter(
    lambda s: len(s.strip()) >= 8 and len(set(s)) >= 4
)
filler_st = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)

FIELDS = [
    "stream",
    "stdin",
    "html",
    "plain_lines",
    "svg",
    "js",
    "json_value",
    "json_key",
    "ename",
    "evalue",
    "traceback",
    "png",
    "jpeg",
    "attachment_png",
    "attachment_text",
    "cell_metadata",
    "nb_metadata",
    "widget_value",
    "widget_buffer",
    "papermill",
]


def place(nb, cell, field: str, text: str) -> None:
    """Put ``text`` (holding a secret) into ``field`` of the notebook."""
    import html as html_mod

    def out(**kw):
        cell.outputs.append(new_output(**kw))

    if field in ("stream", "stdin"):
        out(output_type="stream", name="stdin" if field == "stdin" else "stdout", text=text)
    elif field == "html":
        out(output_type="display_data", data={"text/html": html_mod.escape(text)})
    elif field == "plain_lines":
        out(output_type="execute_result", execution_count=1, data={"text/plain": text + "\nx\n"})
    elif field == "svg":
        out(
            output_type="display_data",
            data={"image/svg+xml": f"<svg>{html_mod.escape(text)}</svg>"},
        )
    elif field == "js":
        out(output_type="display_data", data={"application/javascript": json.dumps(text)})
    elif field == "json_value":
        out(output_type="display_data", data={"application/json": {"a": [{"b": text}]}})
    elif field == "json_key":
        out(output_type="display_data", data={"application/geo+json": {text: 1}})
    elif field in ("ename", "evalue", "traceback"):
        out(
            output_type="error",
            ename=text if field == "ename" else "E",
            evalue=text if field == "evalue" else "v",
            traceback=[f"\x1b[0;31m{text}\x1b[0m"] if field == "traceback" else [],
        )
    elif field in ("png", "jpeg"):
        out(output_type="display_data", data={f"image/{field}": b64(b"\x89\x00" + text.encode())})
    elif field == "attachment_png":
        cell.setdefault("attachments", {})["a.png"] = {"image/png": b64(text.encode() + b"\xff")}
    elif field == "attachment_text":
        cell.setdefault("attachments", {})["a.txt"] = {"text/plain": b64(text.encode())}
    elif field == "cell_metadata":
        cell.metadata["x"] = {"y": [text]}
    elif field == "nb_metadata":
        nb.metadata["custom"] = text
    elif field == "widget_value":
        nb.metadata.setdefault("widgets", {}).setdefault(
            "application/vnd.jupyter.widget-state+json", {"state": {}}
        )["state"]["w1"] = {"state": {"value": text}}
    elif field == "widget_buffer":
        nb.metadata.setdefault("widgets", {}).setdefault(
            "application/vnd.jupyter.widget-state+json", {"state": {}}
        )["state"]["w2"] = {
            "state": {},
            "buffers": [{"encoding": "base64", "path": ["v"], "data": b64(text.encode())}],
        }
    elif field == "papermill":
        nb.metadata["papermill"] = {"parameters": {"p": text}}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secrets=st.lists(secrets_st, min_size=1, max_size=3, unique=True),
    placements=st.lists(
        st.tuples(st.sampled_from(FIELDS), filler_st, filler_st, st.integers(0, 2)),
        min_size=1,
        max_size=6,
    ),
    ensure_ascii=st.booleans(),
)
def test_property_no_secret_form_survives_anywhere(secrets, placements, ensure_ascii):
    red = Redactor()
    for i, s in enumerate(secrets):
        red.add(s, f"s{i}")
    # A secret made of the replacement's own characters could re-form next to it.
    assume(not any(red.contains_secret(x) for x in (R, R + R)))

    def build(with_secrets: bool) -> dict:
        nb = new_notebook()
        nb.cells = [new_code_cell("pass", execution_count=1), new_markdown_cell("m")]
        nb.cells[0]["id"], nb.cells[1]["id"] = "c0", "c1"
        for field, before, after, which in placements:
            cell = nb.cells[1] if field.startswith("attachment") else nb.cells[0]
            secret = secrets[which % len(secrets)] if with_secrets else ""
            place(nb, cell, field, before + secret + after)
        return to_disk_dict(nb)

    # The notebook's own structure (keys such as "attachments", mime types) is never redacted:
    # a "secret" that is part of it is out of scope.
    assume(not red.contains_secret(json.dumps(build(False), ensure_ascii=False)))
    doc = build(True)
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=ensure_ascii) + "\n"
    new_text, report = scrub_text(text, red)
    assert report.changed
    new = json.loads(new_text)
    assert_clean(red, new)
    # every secret form the engine knows is gone from the raw JSON text as well
    assert not red.contains_secret(new_text)
    assert scrub_text(new_text, red)[0] is new_text  # idempotent
    nbformat.validate(nbformat.reads(new_text, as_version=4))


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(filler_st, min_size=1, max_size=8),
    fields=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=8),
    layout=st.sampled_from(["nbformat", "indent2-unsorted-ascii", "compact"]),
)
def test_property_no_secret_means_byte_for_byte_unchanged(texts, fields, layout):
    r = make_redactor()
    nb = new_notebook()
    nb.cells = [new_code_cell("pass", execution_count=1), new_markdown_cell("m")]
    for field, text in zip(fields, texts):
        assume(not r.contains_secret(text))
        cell = nb.cells[1] if field.startswith("attachment") else nb.cells[0]
        place(nb, cell, field, text)
    if layout == "nbformat":
        text = dumps(nb)
    else:
        doc = to_disk_dict(nb)
        doc = {k: doc[k] for k in reversed(list(doc))}
        text = (
            json.dumps(doc, indent=2, ensure_ascii=True)
            if layout != "compact"
            else json.dumps(doc, separators=(",", ":"))
        )
    new, report = scrub_text(text, r)
    assert new is text
    assert not report.changed


@settings(max_examples=40, deadline=None)
@given(
    secret=secrets_st,
    before=filler_st,
    after=filler_st,
    cuts=st.lists(st.integers(0, 80), max_size=6),
)
def test_property_any_split_into_lines_gives_the_same_text(secret, before, after, cuts):
    red = Redactor()
    red.add(secret, "s")
    whole = before + secret + after
    pieces, pos = [], 0
    for cut in sorted({min(c, len(whole)) for c in cuts}):
        pieces.append(whole[pos:cut])
        pos = cut
    pieces.append(whole[pos:])
    as_str = one_output_nb(new_output("stream", name="stdout", text=whole))
    as_str["cells"][0]["outputs"][0]["text"] = whole
    as_list = copy.deepcopy(as_str)
    as_list["cells"][0]["outputs"][0]["text"] = pieces
    a, _ = scrub_notebook(as_str, red)
    b, _ = scrub_notebook(as_list, red)
    assert "".join(b["cells"][0]["outputs"][0]["text"]) == a["cells"][0]["outputs"][0]["text"]
    assert a["cells"][0]["outputs"][0]["text"] == red.redact(whole)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=secrets_st,
    placements=st.lists(st.tuples(st.sampled_from(FIELDS), filler_st), min_size=1, max_size=5),
    indent=st.sampled_from([1, 2, 4, "\t"]),
    sort_keys=st.booleans(),
    ensure_ascii=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_property_layout_kept_whatever_changed(
    secret, placements, indent, sort_keys, ensure_ascii, newline
):
    red = Redactor()
    red.add(secret, "s")
    assume(not any(red.contains_secret(x) for x in (R, R + R)))

    def build(value: str) -> dict:
        nb = new_notebook()
        nb.cells = [new_code_cell("pass", execution_count=1), new_markdown_cell("m")]
        nb.cells[0]["id"], nb.cells[1]["id"] = "c0", "c1"
        for field, filler in placements:
            cell = nb.cells[1] if field.startswith("attachment") else nb.cells[0]
            place(nb, cell, field, filler + value)
        doc = to_disk_dict(nb)
        return doc if sort_keys else {k: doc[k] for k in reversed(list(doc))}

    assume(not red.contains_secret(json.dumps(build(""), ensure_ascii=False)))

    def write(doc) -> str:
        text = json.dumps(doc, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
        return text.replace("\n", newline) + newline

    text = write(build(secret))
    new, report = scrub_text(text, red)
    assert report.changed
    assert new == write(json.loads(new))  # the same layout, whatever had to change
    assert not red.contains_secret(new)


def test_too_deep_json_is_an_error_not_a_crash(r):
    def nb_with(value: str) -> str:
        return (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code",'
            ' "id": "a", "metadata": {}, "source": "", "execution_count": 1, "outputs": [{'
            '"output_type": "display_data", "metadata": {}, "data": {"application/json": '
            + value
            + "}}]}]}"
        )

    clean = nb_with("[" * 2000 + '"x"' + "]" * 2000)
    with pytest.raises(NotebookError, match=r"^not valid JSON: nested too deeply$"):
        scrub_text(clean, r)
    deep = nb_with("[" * 600 + json.dumps(TOKEN) + "]" * 600)
    with pytest.raises(NotebookError, match=r"^JSON nested too deeply to scrub$"):
        scrub_text(deep, r)
    clean_deep = nb_with("[" * 600 + '"x"' + "]" * 600)
    assert scrub_text(clean_deep, r)[0] is clean_deep  # one scan says clean: no walk needed


def test_past_the_walkers_depth_limit_clean_json_is_kept_and_secrets_refuse(r):
    """The engine's walker stops at MAX_DEPTH containers; below that the notebook scans the rest
    in one pass: clean, it is kept as it is; with a secret the notebook is refused, not guessed."""
    deep_clean = {"k": [[[["x"]]]]}
    for _ in range(MAX_DEPTH):
        deep_clean = {"k": deep_clean}
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"widgets": deep_clean, "note": TOKEN},
        "cells": [],
    }
    new, report = scrub_notebook(nb, r)
    assert new["metadata"] == {"widgets": deep_clean, "note": "[REDACTED]"}
    assert new["metadata"]["widgets"] is deep_clean
    assert dict(report.fields) == {"metadata": 1}
    leaf = deep_clean
    while isinstance(leaf, dict):
        leaf = leaf["k"]
    leaf[0][0][0][0] = TOKEN
    with pytest.raises(NotebookError, match=r"^JSON nested too deeply to scrub$"):
        scrub_notebook(nb, r)


def test_the_notebook_sink_imports_no_jupyter_library():
    code = (
        "import sys, redactor.sinks.notebook, redactor.cli.commands.scrub\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'nbformat', 'IPython', 'nbconvert', 'jupyter_server', 'traitlets'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
