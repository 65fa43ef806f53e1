"""`redactor scrub` end to end: exit codes, exact reports, atomic writes, bad files, many files."""

from __future__ import annotations

import json
import os
import pty
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from helpers.cli import SCRIPT, run_redactor
from helpers.nbfactory import PASSWORD, TOKEN, dumps
from nbformat.v4 import new_code_cell, new_notebook, new_output

from redactor.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"
LEAKY_LINE = (
    "{verb} {path}: 21 redactions (secrets.env/API_TOKEN: 11, secrets.env/SQL_DB_PASSWORD: 10), "
    "3 binary outputs removed"
)


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """A folder with a secrets file and no pyproject.toml above it that could interfere."""
    (tmp_path / "secrets.env").write_text(
        f"SQL_DB_PASSWORD='{PASSWORD}'\nAPI_TOKEN={TOKEN}\n", encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.redactor]\nsecrets-file = ["secrets.env"]\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def clean_nb_text(text: str = "hello") -> str:
    nb = new_notebook()
    cell = new_code_cell("print('hello')", execution_count=1)
    cell["id"] = "c1"
    cell.outputs = [new_output("stream", name="stdout", text=f"{text}\n")]
    nb.cells = [cell]
    return dumps(nb)


def scrub(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["scrub", *args])
    out, err = capsys.readouterr()
    for text in (out, err):
        assert TOKEN not in text and PASSWORD not in text
    return code, out, err


def test_scrub_rewrites_then_nothing_left(work, capsys):
    shutil.copyfile(LEAKY, "nb.ipynb")
    code, out, err = scrub(capsys, "nb.ipynb")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        LEAKY_LINE.format(verb="scrubbed", path="nb.ipynb"),
        "redactor scrub: 1 file scrubbed, 0 unchanged",
    ]
    text = Path("nb.ipynb").read_text(encoding="utf-8")
    assert TOKEN not in text and PASSWORD not in text
    assert scrub(capsys, "nb.ipynb") == (0, "redactor scrub: 0 files scrubbed, 1 unchanged\n", "")


def test_check_writes_nothing(work, capsys):
    shutil.copyfile(LEAKY, "nb.ipynb")
    before = os.stat("nb.ipynb")
    code, out, _ = scrub(capsys, "--check", "nb.ipynb")
    assert code == 1
    assert out.splitlines() == [
        LEAKY_LINE.format(verb="would scrub", path="nb.ipynb"),
        "redactor scrub: 1 file would be scrubbed, 0 unchanged",
    ]
    assert Path("nb.ipynb").read_bytes() == LEAKY.read_bytes()
    assert os.stat("nb.ipynb").st_mtime_ns == before.st_mtime_ns


def test_clean_file_is_not_rewritten(work, capsys):
    Path("clean.ipynb").write_text(clean_nb_text())
    before = os.stat("clean.ipynb")
    assert scrub(capsys, "clean.ipynb")[0] == 0
    after = os.stat("clean.ipynb")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_permissions_kept_symlink_followed_no_temp_left(work, capsys):
    real = work / "real"
    real.mkdir()
    shutil.copyfile(LEAKY, real / "nb.ipynb")
    os.chmod(real / "nb.ipynb", 0o640)
    os.symlink(real / "nb.ipynb", "link.ipynb")
    code, _, _ = scrub(capsys, "link.ipynb")
    assert code == 1
    assert os.path.islink("link.ipynb")
    assert stat.S_IMODE(os.stat(real / "nb.ipynb").st_mode) == 0o640
    assert TOKEN not in (real / "nb.ipynb").read_text()
    assert sorted(os.listdir(real)) == ["nb.ipynb"]


def test_bad_files_are_named_left_untouched_and_others_processed(work, capsys):
    leaky_text = LEAKY.read_text()
    files = {
        "a_truncated.ipynb": leaky_text[:1500],
        "b_list.ipynb": "[1, 2]\n",
        "c_empty.ipynb": "",
        "d_v3.ipynb": '{"nbformat": 3, "worksheets": []}',
        "e_leaky.ipynb": leaky_text,
    }
    for name, text in files.items():
        Path(name).write_text(text)
    Path("f_binary.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    code, out, err = scrub(capsys, *sorted(files), "f_binary.ipynb", "missing.ipynb")
    assert code == 2
    assert err.splitlines() == [
        "redactor: error: missing.ipynb: no such file or directory; left untouched",
        "redactor: error: a_truncated.ipynb: not valid JSON: Unterminated string starting at "
        "(line 78, column 6); the file looks truncated; left untouched",
        "redactor: error: b_list.ipynb: not a Jupyter notebook: the top level is a JSON array; "
        "left untouched",
        "redactor: error: c_empty.ipynb: empty file, not a notebook; left untouched",
        "redactor: error: d_v3.ipynb: an nbformat 3 notebook: convert it first with "
        "`jupyter nbconvert --to notebook --nbformat 4`; left untouched",
        "redactor: error: f_binary.ipynb: not UTF-8 text (invalid byte at offset 0); "
        "left untouched",
    ]
    assert out.splitlines() == [
        LEAKY_LINE.format(verb="scrubbed", path="e_leaky.ipynb"),
        "redactor scrub: 1 file scrubbed, 0 unchanged, 6 errors",
    ]
    for name, text in files.items():
        if name != "e_leaky.ipynb":
            assert Path(name).read_text() == text
    assert Path("f_binary.ipynb").read_bytes() == b"\x89PNG\r\n\x1a\n\xff\xfe"


def test_source_literal_fails_and_fix_sources_replaces_it(work, capsys):
    nb = new_notebook()
    nb.cells = [new_code_cell(f"import os\ntoken = '{TOKEN}'\n")]
    Path("src.ipynb").write_text(dumps(nb))
    code, out, _ = scrub(capsys, "src.ipynb")
    assert code == 1
    assert out.splitlines() == [
        "src.ipynb: cell 1, line 2: secret secrets.env/API_TOKEN in the source "
        "(remove it, or pass --fix-sources)",
        "redactor scrub: 0 files scrubbed, 1 unchanged, 1 secret in sources",
    ]
    assert TOKEN in Path("src.ipynb").read_text()
    code, out, _ = scrub(capsys, "--fix-sources", "src.ipynb")
    assert code == 1
    assert out.splitlines() == [
        "scrubbed src.ipynb: 1 redaction (secrets.env/API_TOKEN: 1)",
        "src.ipynb: cell 1, line 2: secret secrets.env/API_TOKEN replaced in the source",
        "redactor scrub: 1 file scrubbed, 0 unchanged",
    ]
    assert "token = '[REDACTED]'" in Path("src.ipynb").read_text()


def test_json_format(work, capsys):
    shutil.copyfile(LEAKY, "nb.ipynb")
    Path("clean.ipynb").write_text(clean_nb_text())
    Path("bad.ipynb").write_text("{")
    code, out, err = scrub(
        capsys, "--check", "--format", "json", "bad.ipynb", "clean.ipynb", "nb.ipynb"
    )
    assert (code, err) == (2, "")
    doc = json.loads(out)
    assert doc["exit_code"] == 2
    assert doc["summary"] == {
        "files": 3,
        "scrubbed": 0,
        "would_scrub": 1,
        "unchanged": 1,
        "errors": 1,
        "source_findings": 0,
        "redactions": 21,
    }
    bad, clean, leaky = doc["files"]
    assert bad == {
        "path": "bad.ipynb",
        "status": "error",
        "error": "not valid JSON: Expecting property name enclosed in double quotes "
        "(line 1, column 2); the file looks truncated",
    }
    assert clean == {
        "path": "clean.ipynb",
        "status": "unchanged",
        "redactions": 0,
        "counts": {},
        "fields": {},
        "source_findings": [],
        "removed": [],
        "detections": [],
    }
    assert leaky["status"] == "would-scrub"
    assert leaky["counts"] == {"secrets.env/API_TOKEN": 11, "secrets.env/SQL_DB_PASSWORD": 10}
    assert leaky["fields"]["stream.stdin"] == 1
    assert leaky["removed"][1] == {
        "cell": 5,
        "where": "display_data.image/png",
        "mime": "image/png",
        "secrets": ["secrets.env/API_TOKEN"],
    }


def test_folders_are_searched(work, capsys):
    (work / "a" / "b").mkdir(parents=True)
    shutil.copyfile(LEAKY, work / "a" / "b" / "deep.ipynb")
    Path("a/top.ipynb").write_text(clean_nb_text())
    Path("a/notes.txt").write_text(TOKEN)
    code, out, _ = scrub(capsys, "a")
    assert code == 1
    assert out.splitlines()[0] == LEAKY_LINE.format(verb="scrubbed", path="a/b/deep.ipynb")
    assert out.splitlines()[1] == "redactor scrub: 1 file scrubbed, 1 unchanged"
    assert Path("a/notes.txt").read_text() == TOKEN


def test_no_secret_configured_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("nb.ipynb").write_text(clean_nb_text())
    code, _, err = scrub(capsys, "--no-config", "nb.ipynb")
    assert code == 2
    assert err.startswith("redactor: error: no secret is configured: pass --scope NAME")
    code, _, err = scrub(capsys, "--no-config", "--secret-env", "NOT_SET_ANYWHERE_X", "nb.ipynb")
    assert code == 2
    assert err == (
        "redactor: error: environment variable NOT_SET_ANYWHERE_X (--secret-env) is not set\n"
    )


def test_env_pattern_source(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MY_SERVICE_TOKEN", TOKEN)
    shutil.copyfile(LEAKY, "nb.ipynb")
    code, out, _ = scrub(capsys, "--no-config", "--env-pattern", "*_SERVICE_TOKEN", "nb.ipynb")
    assert code == 1
    assert out.splitlines()[0] == (
        "scrubbed nb.ipynb: 11 redactions (env/MY_SERVICE_TOKEN: 11), 2 binary outputs removed"
    )


def test_usage_errors(work, capsys):
    assert scrub(capsys)[0:1] == (2,)
    code, _, err = scrub(capsys, "--stdin", "x.ipynb")
    assert code == 2 and "do not pass PATHs" in err


# -- real processes -----------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path, stdin: bytes | None = None, env=None):
    proc = run_redactor("scrub", *args, cwd=cwd, input=stdin, env=env, timeout=120, script=True)
    for stream in (proc.stdout, proc.stderr):
        assert TOKEN.encode() not in stream or args[0] == "--stdin"
    return proc


def test_stdin_mode(work):
    proc = run_cli("--stdin", "--stdin-name", "nb.ipynb", cwd=work, stdin=LEAKY.read_bytes())
    assert proc.returncode == 0
    assert TOKEN.encode() not in proc.stdout and b"[REDACTED]" in proc.stdout
    assert (
        proc.stderr.decode()
        == "redactor: " + LEAKY_LINE.format(verb="scrubbed", path="nb.ipynb") + "\n"
    )
    clean = clean_nb_text().encode()
    proc = run_cli("--stdin", "-q", cwd=work, stdin=clean)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, clean, b"")
    proc = run_cli("--stdin", "--stdin-name", "x.ipynb", cwd=work, stdin=b'{"cells": [')
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().startswith("redactor: error: x.ipynb: not valid JSON")


def make_many(folder: Path, n: int) -> list[Path]:
    folder.mkdir()
    paths = []
    text = LEAKY.read_text()
    for i in range(n):
        p = folder / f"nb{i:03d}.ipynb"
        p.write_text(text if i % 3 else clean_nb_text(f"clean {i}"))
        paths.append(p)
    return paths


def test_many_files_in_two_processes_match_one(work):
    one = make_many(work / "one", 24)
    two = make_many(work / "two", 24)
    p1 = run_cli("--jobs", "1", "one", cwd=work)
    p2 = run_cli("--jobs", "2", "two", cwd=work)
    assert p1.returncode == p2.returncode == 1
    assert p2.stdout.decode().replace("two/", "one/") == p1.stdout.decode()
    assert p1.stdout.decode().splitlines()[-1] == "redactor scrub: 16 files scrubbed, 8 unchanged"
    for a, b in zip(one, two):
        assert a.read_bytes() == b.read_bytes()
        assert TOKEN not in b.read_text()


def test_progress_bar_on_a_terminal_only(work):
    make_many(work / "many", 12)
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [SCRIPT, "scrub", "--check", "many"],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=120,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    tty_err = b"".join(chunks).decode()
    assert proc.returncode == 1
    assert "\rscrubbing [##############################] 12/12" in tty_err
    assert tty_err.endswith("\r")  # the bar is cleared at the end
    piped = run_cli("--check", "many", cwd=work)
    assert "scrubbing [" not in piped.stderr.decode()


def test_atomic_write_refuses_a_file_changed_since_it_was_read(tmp_path):
    from redactor.cli.commands.scrub import ChangedMeanwhile, atomic_write

    p = tmp_path / "nb.ipynb"
    p.write_text("old")
    mtime = p.stat().st_mtime_ns
    os.utime(p, ns=(mtime, mtime + 1_000_000_000))  # an editor saved meanwhile
    with pytest.raises(ChangedMeanwhile):
        atomic_write(p, b"new", mtime)
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["nb.ipynb"]
    atomic_write(p, b"new", p.stat().st_mtime_ns)
    assert p.read_text() == "new"


def test_unwritable_folder_is_an_error_naming_the_file(work, capsys):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    folder = work / "ro"
    folder.mkdir()
    shutil.copyfile(LEAKY, folder / "nb.ipynb")
    folder.chmod(0o555)
    try:
        code, _, err = scrub(capsys, "ro/nb.ipynb")
    finally:
        folder.chmod(0o755)
    assert code == 2
    assert err == "redactor: error: ro/nb.ipynb: cannot write: Permission denied; left untouched\n"
    assert (folder / "nb.ipynb").read_bytes() == LEAKY.read_bytes()


def test_scope_source_with_a_real_local_store(tmp_path):
    env = dict(os.environ, REDACTOR_HOME=str(tmp_path / "home"))
    env.pop("REDACTOR_MASTER_KEY", None)
    env.pop("REDACTOR_PASSPHRASE", None)

    def redactor(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return run_redactor(*args, cwd=tmp_path, env=env, input=stdin, script=True)

    assert redactor("secrets", "create-scope", "team").returncode == 0
    assert (
        redactor("secrets", "put-secret", "team", "api-token", stdin=TOKEN.encode()).returncode == 0
    )
    shutil.copyfile(LEAKY, tmp_path / "nb.ipynb")
    proc = redactor("scrub", "--no-config", "--scope", "team", "nb.ipynb")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.decode().splitlines()[0] == (
        "scrubbed nb.ipynb: 11 redactions (team/api-token: 11), 2 binary outputs removed"
    )
    assert TOKEN not in (tmp_path / "nb.ipynb").read_text()
    proc = redactor("scrub", "--no-config", "--scope", "missing", "nb.ipynb")
    assert proc.returncode == 2
    assert proc.stderr.decode() == "redactor: error: secret scope 'missing' does not exist\n"


def test_demo_step_scrubs_the_leaky_fixture():
    import io

    from redactor.cli._demo import run_all

    out = io.StringIO()
    assert run_all(out=out, steps=["notebook"]) == 0
    text = out.getvalue()
    assert "  ok: every output is kept\n" in text
    assert (
        "  would scrub leaky.ipynb: 21 redactions (demo-secrets.env/API_TOKEN: 11, "
        "demo-secrets.env/SQL_DB_PASSWORD: 10), 3 binary outputs removed\n" in text
    )
    assert "FAILED" not in text and TOKEN not in text and PASSWORD not in text
