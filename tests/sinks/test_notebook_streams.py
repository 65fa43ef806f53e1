"""A secret split across consecutive stream outputs (issue 12, item 1), on every notebook path.

nbclient and papermill save one print as several ``stream`` outputs (one per message: ipykernel
sends what it captured every 0.2 s); JupyterLab and nbconvert show consecutive stream outputs of
one name joined. The notebook here is made by really executing a cell with nbclient in which a
child process writes the two halves of a token 0.6 s apart, then driven through ``redactor
scrub``, pre-commit, the git clean filter, ``jupyter nbconvert`` and the Jupyter Server save hook.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers.git import GIT_IDENTITY, git
from helpers.git import head_has_hooks as _head_has_hooks
from helpers.nbfactory import SPLIT_WRITE, dumps, kernelspec_path
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook, new_output

import redactor
from redactor import Redactor
from redactor.sinks.notebook import scrub_notebook, scrub_text

TOKEN = "ghp_Zk7Qm2Xr9Lp4Wv8Nt3Bc6Yd1Hs5Jf0Ga"
HEAD, TAIL = TOKEN[:15], TOKEN[15:]  # "ghp_Zk7Qm2Xr9Lp", "4Wv8Nt3Bc6Yd1Hs5Jf0Ga"
R = "[REDACTED]"
# The package under test (this worktree's, or main's when main's interpreter runs this file).
SOURCE = Path(redactor.__file__).resolve().parents[1]

# What the two stream outputs become: the replacement where the token starts, its rest removed.
SCRUBBED_STREAMS = [
    {"name": "stdout", "output_type": "stream", "text": [R]},
    {"name": "stdout", "output_type": "stream", "text": ["\n"]},
]


def token_redactor() -> Redactor:
    r = Redactor()
    r.add(TOKEN, "env/RT_TOKEN")
    return r


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> str:
    """The .ipynb text nbclient saves for the split-writing cell (real kernel, real child)."""
    from nbclient import NotebookClient

    tmp = tmp_path_factory.mktemp("executed")
    nb = new_notebook()
    nb.cells = [new_code_cell(SPLIT_WRITE.format(var="RT_TOKEN", cut=len(HEAD), pause=0.6))]
    nb.cells[0]["id"] = "split"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", kernelspec_path(tmp))
        mp.setenv("RT_TOKEN", TOKEN)
        # ipykernel does not capture fd-level output when it sees this (its own test switch).
        mp.delenv("PYTEST_CURRENT_TEST", raising=False)
        NotebookClient(nb, kernel_name="redactor-test", timeout=120).execute()
    return nbformat.writes(nb) + "\n"


def streams_of(text: str) -> list:
    return json.loads(text)["cells"][0]["outputs"]


def env_with_token() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["RT_TOKEN"] = TOKEN
    return env


def test_nbclient_saves_the_token_as_two_stream_outputs(executed):
    assert streams_of(executed) == [
        {"name": "stdout", "output_type": "stream", "text": [HEAD]},
        {"name": "stdout", "output_type": "stream", "text": [TAIL + "\n"]},
    ]


def test_scrub_text_is_a_minimal_rewrite(executed):
    new, report = scrub_text(executed, token_redactor())
    assert new == executed.replace(json.dumps(HEAD), json.dumps(R), 1).replace(
        json.dumps(TAIL + "\n"), json.dumps("\n"), 1
    )
    assert streams_of(new) == SCRUBBED_STREAMS
    assert report.to_dict()["counts"] == {"env/RT_TOKEN": 1}
    assert report.to_dict()["fields"] == {"stream.stdout": 1}


def scrub_in(folder: Path) -> subprocess.CompletedProcess:
    """``redactor scrub --secret-env RT_TOKEN nb.ipynb`` in ``folder``, RT_TOKEN exported."""
    return subprocess.run(
        [sys.executable, "-m", "redactor", "scrub", "--secret-env", "RT_TOKEN", "nb.ipynb"],
        cwd=folder,
        env=env_with_token(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_redactor_scrub_cli(executed, tmp_path):
    (tmp_path / "nb.ipynb").write_text(executed)
    proc = scrub_in(tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1,
        "scrubbed nb.ipynb: 1 redaction (env/RT_TOKEN: 1)\n"
        "redactor scrub: 1 file scrubbed, 0 unchanged\n",
        "",
    )
    assert streams_of((tmp_path / "nb.ipynb").read_text()) == SCRUBBED_STREAMS
    again = scrub_in(tmp_path)
    assert (again.returncode, again.stdout) == (
        0,
        "redactor scrub: 0 files scrubbed, 1 unchanged\n",
    )


def git_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = env_with_token()
    env.update(
        HOME=str(home),
        **GIT_IDENTITY,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PRE_COMMIT_HOME=str(tmp_path / "cache"),
    )
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_clean_filter_stages_the_scrubbed_notebook(executed, tmp_path):
    env = git_env(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", "main")
    proc = subprocess.run(
        [sys.executable, "-m", "redactor", "install-git-filter", "--secret-env", "RT_TOKEN"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (repo / "nb.ipynb").write_text(executed)
    git(repo, env, "add", "nb.ipynb")
    staged = git(repo, env, "show", ":nb.ipynb").stdout
    assert staged == scrub_text(executed, token_redactor())[0]
    assert streams_of(staged) == SCRUBBED_STREAMS
    assert (repo / "nb.ipynb").read_text() == executed  # the working copy is left alone


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_pre_commit_blocks_the_commit_and_fixes_the_notebook(executed, tmp_path):
    """pre-commit installs the package under test (its committed HEAD) from its own hooks file."""
    rev = _head_has_hooks(SOURCE)
    if rev is None:
        pytest.skip("needs a git checkout with .pre-commit-hooks.yaml")
    env = git_env(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", "main")
    (repo / "pyproject.toml").write_text('[tool.redactor]\nsecret-env = ["RT_TOKEN"]\n')
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {SOURCE}\n  rev: {rev}\n  hooks:\n  - id: redactor-scrub\n"
    )
    (repo / "nb.ipynb").write_text(executed)
    git(repo, env, "add", ".")
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "redactor scrub (replace secret values in notebook outputs)" in proc.stdout
    assert "Failed" in proc.stdout
    assert "scrubbed nb.ipynb: 1 redaction (env/RT_TOKEN: 1)" in proc.stdout
    assert "- files were modified by this hook" in proc.stdout
    assert HEAD not in proc.stdout and TAIL not in proc.stdout
    assert streams_of((repo / "nb.ipynb").read_text()) == SCRUBBED_STREAMS


def test_jupyter_nbconvert_html_with_the_preprocessor(executed, tmp_path):
    (tmp_path / "nb.ipynb").write_text(executed)
    base = [sys.executable, "-m", "nbconvert", "--to", "html", "nb.ipynb"]
    plain = subprocess.run(
        [*base, "--output", "plain"],
        cwd=tmp_path,
        env=env_with_token(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert plain.returncode == 0, plain.stderr
    assert HEAD in (tmp_path / "plain.html").read_text()  # what the export shows without it
    proc = subprocess.run(
        [
            *base,
            '--Exporter.preprocessors=["redactor.nbconvert.RedactPreprocessor"]',
            "--RedactPreprocessor.secret_env=RT_TOKEN",
        ],
        cwd=tmp_path,
        env=env_with_token(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "nb.html").read_text()
    assert HEAD not in html and TAIL not in html
    assert R in html
    assert HEAD not in proc.stderr and TAIL not in proc.stderr


def test_jupyter_server_save_hook(executed, tmp_path, monkeypatch, fresh_redactor):
    from jupyter_server.services.contents.filemanager import FileContentsManager

    from redactor.sinks.jupyter import clear_cache

    monkeypatch.setenv("RT_TOKEN", TOKEN)
    (tmp_path / "pyproject.toml").write_text('[tool.redactor]\nsecret-env = ["RT_TOKEN"]\n')
    clear_cache()
    try:
        cm = FileContentsManager(
            root_dir=str(tmp_path), pre_save_hook="redactor.jupyter.pre_save_hook"
        )
        cm.save({"type": "notebook", "format": "json", "content": json.loads(executed)}, "nb.ipynb")
    finally:
        clear_cache()
    saved = (tmp_path / "nb.ipynb").read_text()
    assert HEAD not in saved and TAIL not in saved
    assert streams_of(saved) == SCRUBBED_STREAMS


# -- the rule, on hand-made runs --------------------------------------------------------------


def _nb(outputs: list, widgets: dict | None = None) -> dict:
    nb = new_notebook()
    cell = new_code_cell("x", execution_count=1)
    cell["id"] = "c"
    cell.outputs = outputs
    nb.cells = [cell]
    if widgets is not None:
        nb.metadata["widgets"] = widgets
    return json.loads(dumps(nb))


def test_only_consecutive_outputs_of_one_name_are_joined():
    # Fragment windows off: TAIL alone is long enough to be hidden by them, and this test is about
    # which outputs are joined.
    r = Redactor(fragment_length=None)
    r.add(TOKEN, "env/RT_TOKEN")
    outputs = [
        new_output("stream", name="stdout", text=HEAD),
        new_output("stream", name="stderr", text=TAIL),
        new_output("stream", name="stdout", text=HEAD),
        new_output("display_data", data={"text/plain": "x"}),
        new_output("stream", name="stdout", text=TAIL),
    ]
    text = dumps(_nb(outputs))
    assert scrub_text(text, r)[0] is text


def test_a_region_over_three_outputs_and_an_empty_one():
    r = token_redactor()
    outputs = [
        new_output("stream", name="stdout", text=f"a {TOKEN[:4]}"),
        new_output("stream", name="stdout", text=""),
        new_output("stream", name="stdout", text=TOKEN[4:10]),
        new_output("stream", name="stdout", text=f"{TOKEN[10:]} b\nc\n"),
    ]
    new, report = scrub_notebook(_nb(outputs), r)
    assert [o["text"] for o in new["cells"][0]["outputs"]] == [[f"a {R}"], [], [], [" b\n", "c\n"]]
    assert report.redactions == 1


def test_output_widget_outputs_under_metadata_widgets():
    r = token_redactor()
    widgets = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {
                "w1": {
                    "model_name": "OutputModel",
                    "state": {
                        "outputs": [
                            {"name": "stdout", "output_type": "stream", "text": f"x {HEAD}"},
                            {"name": "stdout", "output_type": "stream", "text": f"{TAIL}\n"},
                        ]
                    },
                }
            },
            "version_major": 2,
            "version_minor": 0,
        }
    }
    text = dumps(_nb([], widgets))
    new, report = scrub_text(text, r)
    nested = json.loads(new)["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    assert nested["state"]["w1"]["state"]["outputs"] == [
        {"name": "stdout", "output_type": "stream", "text": f"x {R}"},
        {"name": "stdout", "output_type": "stream", "text": "\n"},
    ]
    assert new == text.replace(json.dumps(f"x {HEAD}"), json.dumps(f"x {R}")).replace(
        json.dumps(f"{TAIL}\n"), json.dumps("\n")
    )
    assert report.to_dict()["fields"] == {"stream.stdout": 1}


# -- property ---------------------------------------------------------------------------------

secret_st = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S"), include_characters="'\"\\"),
    min_size=8,
    max_size=40,
).filter(lambda s: len(set(s)) >= 4 and R not in s)
digits_st = st.text("0123456789", min_size=8, max_size=20).filter(lambda s: len(set(s)) >= 3)
filler_st = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@st.composite
def split_text(draw):
    """(secrets, text holding them, cut points, shape of each piece)."""
    secrets = draw(st.lists(st.one_of(secret_st, digits_st), min_size=1, max_size=3, unique=True))
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        parts.append(draw(filler_st))
        parts.append(draw(st.sampled_from(secrets)))
    parts.append(draw(filler_st))
    text = "".join(parts)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), min_size=1, max_size=6)))
    shapes = draw(st.lists(st.booleans(), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    return secrets, text, cuts, shapes


def drawn_redactor(secrets: list[str]) -> Redactor:
    """A redactor of the drawn secrets, named s0, s1, ..."""
    r = Redactor()
    for i, s in enumerate(secrets):
        r.add(s, f"s{i}")
    return r


def _outputs(text: str, cuts: list[int], shapes: list[bool]) -> list[dict]:
    bounds = [0, *cuts, len(text)]
    out = []
    for (a, b), as_lines in zip(itertools.pairwise(bounds), shapes):
        piece = text[a:b]
        out.append(
            {
                "name": "stdout",
                "output_type": "stream",
                "text": piece.splitlines(True) if as_lines else piece,
            }
        )
    return out


def _joined(output: dict) -> str:
    text = output["text"]
    return text if isinstance(text, str) else "".join(text)


@settings(max_examples=150, deadline=None)
@given(split_text())
def test_property_joined_outputs_equal_redact_of_the_joined_text(each_engine, case):
    secrets, text, cuts, shapes = case
    r = drawn_redactor(secrets)
    outputs = _outputs(text, cuts, shapes)
    nb_text = dumps(_nb(outputs))
    new_text, _ = scrub_text(nb_text, r)
    new = json.loads(new_text)["cells"][0]["outputs"]
    assert len(new) == len(outputs)
    assert "".join(_joined(o) for o in new) == r.redact(text)
    for old, out in zip(outputs, new):
        assert out["name"] == "stdout" and out["output_type"] == "stream"
        # the shape is kept (nbformat writes a str as a list of lines, an empty one as "")
        assert isinstance(out["text"], list) or out["text"] == ""
    # The outputs' text, not the whole file: a secret may also spell a key ("cell_typ").
    shown = "".join(_joined(o) for o in new)
    assert not any(s in shown for s in secrets)


@settings(max_examples=100, deadline=None)
@given(split_text())
def test_property_in_memory_str_and_list_shapes(each_engine, case):
    """As nbclient leaves them in memory (str texts) and as on disk (lists), mixed."""
    secrets, text, cuts, shapes = case
    r = drawn_redactor(secrets)
    outputs = _outputs(text, cuts, shapes)
    nb = _nb([])
    nb["cells"][0]["outputs"] = outputs
    new, _ = scrub_notebook(nb, r)
    got = new["cells"][0]["outputs"]
    assert "".join(_joined(o) for o in got) == r.redact(text)
    for old, out in zip(outputs, got):
        assert type(out["text"]) is type(old["text"])
        if _joined(old) == _joined(out):
            assert out is old  # untouched outputs are shared


@settings(max_examples=60, deadline=None)
@given(filler_st, st.lists(st.integers(0, 60), max_size=5), st.data())
def test_property_clean_notebook_is_the_same_string(each_engine, text, cuts, data):
    r = token_redactor()
    cuts = sorted(min(c, len(text)) for c in cuts)
    shapes = data.draw(st.lists(st.booleans(), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    nb_text = dumps(_nb(_outputs(text, cuts, shapes)))
    assert scrub_text(nb_text, r)[0] is nb_text
