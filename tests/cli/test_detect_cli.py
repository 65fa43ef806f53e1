"""Token detection from the command line: `filter`, `run`, `scrub` and `redactor detectors`,
as real processes, with tokens that no source registered."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
from helpers.cli import run_redactor
from helpers.tokenfactory import AWS_ID, AWS_SECRET, GITHUB, github_token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor.config import resolve
from redactor.engine.tokens import detector_names, get_detector
from redactor.sinks.ci import MaskingFilter
from redactor.sources.load import HOW_TO_CONFIGURE, build_redactor

PASSWORD = "db-Pa55word-registered-only"
R = "[REDACTED]"
TEXT = (
    f"password {PASSWORD}\n"
    f"remote https://x-access-token:{GITHUB}@github.com/org/repo.git\n"
    f"export AWS_ACCESS_KEY_ID={AWS_ID}\n"
    "nothing to hide here\n"
)


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "REDACTOR_DETECT"}
    return {**out, "MY_PASSWORD": PASSWORD, **extra}


def test_filter_hides_tokens_nobody_registered_next_to_a_registered_secret() -> None:
    proc = run_redactor(
        "filter", "--no-config", "--secret-env", "MY_PASSWORD", input=TEXT.encode(), env=env()
    )
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout.decode() == (
        f"password {R}\n"
        f"remote https://x-access-token:{R}@github.com/org/repo.git\n"
        f"export AWS_ACCESS_KEY_ID={R}\n"
        "nothing to hide here\n"
    )


def test_no_detect_and_the_variable_leave_the_tokens() -> None:
    expected = TEXT.replace(PASSWORD, R)
    args = ("filter", "--no-config", "--secret-env", "MY_PASSWORD")
    proc = run_redactor(*args, "--no-detect", input=TEXT.encode(), env=env())
    assert (proc.returncode, proc.stdout.decode()) == (0, expected)
    proc = run_redactor(*args, input=TEXT.encode(), env=env(REDACTOR_DETECT="0"))
    assert (proc.returncode, proc.stdout.decode()) == (0, expected)
    # --detect names kinds: only those are on
    proc = run_redactor(*args, "--detect", "github-token", input=TEXT.encode(), env=env())
    assert proc.stdout.decode() == expected.replace(GITHUB, R)


def test_detection_alone_is_not_a_configured_source(tmp_path: Path) -> None:
    """No source, nothing discovered: the command still stops, detectors or not."""
    proc = run_redactor(
        "filter", "--no-config", input=TEXT.encode(), env=env(), cwd=tmp_path, text=False
    )
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode() == (
        f"redactor: error: {HOW_TO_CONFIGURE} (or pass --add-mask-only to rely on "
        "'::add-mask::' lines alone)\n"
    )


def test_run_hides_a_token_its_command_prints() -> None:
    code = f"print('token', {GITHUB!r}); print('aws_secret_access_key =', {AWS_SECRET!r})"
    proc = run_redactor(
        "run",
        "--no-config",
        "--secret-env",
        "MY_PASSWORD",
        "--",
        sys.executable,
        "-c",
        code,
        env=env(),
    )
    assert (proc.returncode, proc.stderr) == (0, b"")
    out = proc.stdout.decode()
    assert out.startswith(f"token {R}\n") and GITHUB not in out


def test_detectors_lists_kinds_sets_and_sources_never_values(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.redactor]\ndetect = ['github-token', 'acme-key']\n"
        "[[tool.redactor.detectors]]\nkind = 'acme-key'\nanchors = ['acme_']\n"
        "pattern = 'acme_[0-9a-f]{32}'\nmax-length = 37\ndefault = false\n"
    )
    proc = run_redactor("detectors", cwd=tmp_path, env=env(), text=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    rows = [("kind", "set", "on", "max length", "source")]
    for kind in detector_names():
        d = get_detector(kind)
        group = "default" if d.default else "opt-in"
        on = "on" if kind == "github-token" else "off"
        rows.append((kind, group, on, str(d.max_length), d.source))
    rows.append(("acme-key", "opt-in (yours)", "on", "37", str(tmp_path / "pyproject.toml")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    expected = [
        "  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2])])
        + "  "
        + r[3].rjust(widths[3])
        + "  "
        + r[4]
        for r in rows
    ]
    expected.append(f"2 of {len(rows) - 1} on (detect = github-token, acme-key)")
    assert proc.stdout.splitlines() == expected
    off = run_redactor("detectors", "--no-config", "--no-detect", env=env(), text=True)
    assert off.stdout.splitlines()[-1] == f"0 of {len(detector_names())} on (detect = false)"


def test_scrub_reports_detections_by_kind_and_place(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print(token)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"token: {GITHUB}\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), code]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    args = ("scrub", "--no-config", "--secret-env", "MY_PASSWORD")
    proc = run_redactor(*args, "--format", "json", path, env=env(), text=True)
    assert proc.returncode == 1, proc.stderr
    (doc,) = json.loads(proc.stdout)["files"]
    assert doc["detections"] == [
        {"kind": "github-token", "cell": 2, "where": "stream.stdout", "count": 1}
    ]
    assert GITHUB not in proc.stdout and GITHUB not in path.read_text()
    nbformat.write(nb, str(path))
    proc = run_redactor(*args, path, env=env(), text=True)
    assert proc.stdout.splitlines()[:2] == [
        f"scrubbed {path}: 1 redaction (github-token: 1)",
        "  detected github-token: cell 2 stream.stdout (1)",
    ]


# -- any chunking: the filter's pipe core, with tokens at random places ---------------------------

base62 = st.text(
    alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    min_size=30,
    max_size=30,
)
filler = st.text(alphabet=" \n\t.,:;=/\"'()[]{}<>-éあ", max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tokens=st.lists(base62.map(github_token), min_size=1, max_size=4),
    gaps=st.lists(filler, min_size=5, max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_text_with_tokens_comes_back_with_none_for_any_chunking(tokens, gaps, cuts) -> None:
    text = gaps[0] + "".join(f" {t}{g}" for t, g in zip(tokens, gaps[1:] + gaps[1:]))
    data = text.encode()
    cfg = resolve({"secret_env": ["MY_PASSWORD"]}, use_config=False, environ={})
    redactor = build_redactor(cfg, environ={"MY_PASSWORD": PASSWORD})
    filt = MaskingFilter(redactor)
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = b"", 0
    for p in [*points, len(data)]:
        out += filt.feed(data[last:p])
        last = p
    out += filt.flush()
    for token in tokens:
        assert token.encode() not in out
    assert out.count(R.encode()) == len(tokens)


def test_a_user_detector_from_pyproject_hides_its_tokens(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.redactor]\nsecret-env = ['MY_PASSWORD']\n"
        "[[tool.redactor.detectors]]\nkind = 'acme-key'\nanchors = ['acme_']\n"
        "pattern = '(?<![A-Za-z0-9_])acme_[0-9a-f]{32}(?![A-Za-z0-9_])'\nmax-length = 37\n"
    )
    key = "acme_" + "0123456789abcdef" * 2
    data = f"key={key} short=acme_0123 pw={PASSWORD}\n".encode()
    proc = run_redactor("filter", input=data, cwd=tmp_path, env=env())
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout.decode() == f"key={R} short=acme_0123 pw={R}\n"
    proc = run_redactor("filter", "--detect", "github-token", input=data, cwd=tmp_path, env=env())
    assert proc.stdout.decode() == f"key={key} short=acme_0123 pw={R}\n"
