"""Fail closed: when the configured sources give nothing to redact, or a source cannot be read,
every notebook, git and CI path stops (exit 2, a failed `git add`, an exception) before anything
is written or run, with a message that says what to fix and never a value.

Real components throughout: pre-commit installing this checkout's hooks, git with the installed
clean filter, `redactor filter` / `run` / `scrub` / `scrub-logs` as processes, nbconvert's
exporter and Jupyter Server's FileContentsManager.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import SCRIPT as REDACTOR
from helpers.git import GIT_IDENTITY
from helpers.nbfactory import PASSWORD, TOKEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor
from redactor.config import Settings
from redactor.sources.load import ConfigError, NoSecretsConfigured, NoSecretValues, build_redactor

# The checkout whose code is imported (this worktree, or another one's when run from there).
ROOT = Path(redactor.__file__).resolve().parents[1]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"
TIMEOUT = 120
PATTERN = "REDACTOR_FC_*_TOKEN"
VARIABLE = "REDACTOR_FC_API_TOKEN"
PYPROJECT = f'[tool.redactor]\nenv-pattern = ["{PATTERN}"]\n'

NOTHING = (
    "redactor: error: the configured sources hold no secret value, so nothing would be "
    f"redacted: env-pattern '{PATTERN}' matches no environment variable. To redact, export the "
    "variables in the environment that runs redactor (an IDE or a git GUI may not have your "
    "shell's), or fix the sources; to run with nothing to redact, pass --allow-empty or set "
    "allow-empty = true under [tool.redactor]\n"
)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any variable the pattern could match, nor git's own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REDACTOR_FC_", "GIT_", "PRE_COMMIT"))
    }
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], data: bytes = b"", timeout=TIMEOUT):
    return subprocess.run(cmd, cwd=cwd, env=env, input=data, capture_output=True, timeout=timeout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder configured the way the issue describes: ``env-pattern`` under [tool.redactor]."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PYPROJECT)
    shutil.copyfile(LEAKY, folder / "leaky.ipynb")
    return folder


# -- redactor scrub, filter, run, scrub-logs as processes ------------------------------------


def test_scrub_refuses_when_the_variable_is_not_exported(project: Path) -> None:
    before = (project / "leaky.ipynb").read_bytes()
    for args in (["leaky.ipynb"], ["--check", "leaky.ipynb"]):
        proc = run([REDACTOR, "scrub", *args], project, clean_env())
        assert proc.returncode == 2
        assert proc.stdout == b""
        assert proc.stderr.decode() == NOTHING
    assert (project / "leaky.ipynb").read_bytes() == before
    # exported, the same configuration scrubs
    proc = run([REDACTOR, "scrub", "leaky.ipynb"], project, clean_env(**{VARIABLE: TOKEN}))
    assert proc.returncode == 1, proc.stderr
    assert TOKEN not in (project / "leaky.ipynb").read_text()


def test_allow_empty_flag_and_setting_let_scrub_pass(project: Path) -> None:
    before = (project / "leaky.ipynb").read_bytes()
    warning = (
        b"redactor: warning: the configured sources hold no secret value; nothing to redact "
        b"(allowed by allow-empty)\n"
    )
    proc = run([REDACTOR, "scrub", "--allow-empty", "leaky.ipynb"], project, clean_env())
    assert (proc.returncode, proc.stderr) == (0, warning)
    assert proc.stdout == b"redactor scrub: 0 files scrubbed, 1 unchanged\n"
    (project / "pyproject.toml").write_text(PYPROJECT + "allow-empty = true\n")
    proc = run([REDACTOR, "scrub", "leaky.ipynb"], project, clean_env())
    assert (proc.returncode, proc.stderr) == (0, warning)
    assert (project / "leaky.ipynb").read_bytes() == before


def test_filter_passes_nothing_through(project: Path) -> None:
    data = f"deploy with {TOKEN}\n".encode()
    proc = run([REDACTOR, "filter"], project, clean_env(), data)
    assert (proc.returncode, proc.stdout, proc.stderr.decode()) == (2, b"", NOTHING)
    exported = run([REDACTOR, "filter"], project, clean_env(**{VARIABLE: TOKEN}), data)
    assert (exported.returncode, exported.stdout) == (0, b"deploy with [REDACTED]\n")


def test_filter_opt_outs(project: Path) -> None:
    data = b"plain\n::add-mask::announced-in-the-log\nsee announced-in-the-log\n"
    masked = b"plain\n::add-mask::[REDACTED]\nsee [REDACTED]\n"
    # --allow-empty: runs, says that only ::add-mask:: lines will be masked
    proc = run([REDACTOR, "filter", "--allow-empty"], project, clean_env(), data)
    assert (proc.returncode, proc.stdout) == (0, masked)
    assert proc.stderr == (
        b"redactor: warning: the configured sources hold no secret value; only '::add-mask::' "
        b"lines will be masked\n"
    )
    # the setting does the same
    (project / "pyproject.toml").write_text(PYPROJECT + "allow-empty = true\n")
    proc = run([REDACTOR, "filter"], project, clean_env(), data)
    assert (proc.returncode, proc.stdout) == (0, masked)
    # --add-mask-only: the stream announces its secrets; configured sources may be empty, quietly
    (project / "pyproject.toml").write_text(PYPROJECT)
    proc = run([REDACTOR, "filter", "--add-mask-only"], project, clean_env(), data)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, masked, b"")


def test_run_does_not_start_the_command(project: Path) -> None:
    marker = project / "ran"
    cmd = [sys.executable, "-c", f"open({str(marker)!r}, 'w'); print('started')"]
    proc = run([REDACTOR, "run", "--", *cmd], project, clean_env())
    assert (proc.returncode, proc.stdout, proc.stderr.decode()) == (2, b"", NOTHING)
    assert not marker.exists()
    proc = run([REDACTOR, "run", "--allow-empty", "--", *cmd], project, clean_env())
    assert (proc.returncode, proc.stdout) == (0, b"started\n")
    assert marker.exists()


def test_scrub_logs_writes_nothing(project: Path) -> None:
    (project / "logs").mkdir()
    (project / "logs" / "app.log").write_text(f"token {TOKEN}\n")
    proc = run([REDACTOR, "scrub-logs", "logs", "clean"], project, clean_env())
    assert (proc.returncode, proc.stdout, proc.stderr.decode()) == (2, b"", NOTHING)
    assert not (project / "clean").exists()
    proc = run([REDACTOR, "scrub-logs", "--allow-empty", "logs", "clean"], project, clean_env())
    assert proc.returncode == 0
    assert proc.stderr == (
        b"redactor: warning: the configured sources hold no secret value; the copies are not "
        b"redacted (allowed by allow-empty)\n"
    )


# -- sources that cannot be read --------------------------------------------------------------


def test_a_dotenv_line_that_cannot_be_parsed_names_file_and_line_never_the_value(
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "secrets.env"
    # line 2: a value pasted without a name; line 4: text after a closing quote (the password
    # holds one); line 5: an unclosed quote (python-dotenv reads a quoted value across lines, so
    # an unclosed quote swallows the lines after it into one error: it comes last here)
    secrets.write_text(
        f"DB_PASSWORD='{PASSWORD[:5]}x'\n"
        f"{TOKEN}\n"
        "# a comment\n"
        f'OTHER="{PASSWORD}" {TOKEN}\n'
        f'API_TOKEN="{TOKEN}\n'
    )
    nb = tmp_path / "nb.ipynb"
    shutil.copyfile(LEAKY, nb)
    before = nb.read_bytes()
    for cmd in (
        ["scrub", "--no-config", "--secrets-file", str(secrets), str(nb)],
        ["filter", "--no-config", "--secrets-file", str(secrets)],
        ["scrub-logs", "--no-config", "--secrets-file", str(secrets), str(nb), "out"],
    ):
        proc = run([REDACTOR, *cmd], tmp_path, clean_env(), TOKEN.encode())
        assert (proc.returncode, proc.stdout) == (2, b""), cmd
        assert proc.stderr.decode() == (
            f"redactor: error: cannot parse secrets file {secrets} at lines 2, 4, 5: not "
            "NAME=VALUE (an unclosed quote, text after a closing quote, or no '='); fix or "
            "remove them (the content is not shown)\n"
        )
    assert nb.read_bytes() == before
    assert not (tmp_path / "out").exists()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # no quote nor backslash: the opening quote is never closed, so the line cannot parse
    value=st.text(
        st.characters(codec="utf-8", exclude_characters='\r\n\x00"\\'), min_size=8, max_size=40
    ),
    good=st.integers(min_value=0, max_value=3),
)
def test_property_a_bad_line_is_never_dropped_silently(tmp_path_factory, value, good) -> None:
    """Any unparseable line, among good ones: the build fails naming its line, never its text."""
    folder = tmp_path_factory.mktemp("dotenv")
    lines = [f"GOOD_{i}=good-value-{i}" for i in range(good)]
    lines.append(f'BAD="{value}')  # an unclosed double quote to the end of the file
    path = folder / "s.env"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = Settings(secrets_file=(path,))
    with pytest.raises(ConfigError) as info:
        build_redactor(cfg, {})
    message = str(info.value)
    assert message == (
        f"cannot parse secrets file {path} at line {good + 1}: not NAME=VALUE (an unclosed "
        "quote, text after a closing quote, or no '='); fix or remove it (the content is not "
        "shown)"
    )


def test_secrets_file_that_cannot_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.env"
    folder.mkdir()
    latin1 = tmp_path / "latin1.env"
    latin1.write_bytes(b"A=ok-value-1\nB=caf\xe9-secret\n")
    cases = {
        folder: f"secrets file {folder} is a folder, not a dotenv file",
        latin1: f"cannot read secrets file {latin1}: line 2 is not UTF-8",
        tmp_path / "missing.env": f"secrets file {tmp_path / 'missing.env'} does not exist",
    }
    for path, message in cases.items():
        proc = run(
            [REDACTOR, "filter", "--no-config", "--allow-empty", "--secrets-file", str(path)],
            tmp_path,
            clean_env(),
            b"data\n",
        )
        # --allow-empty never excuses a source that cannot be read
        assert (proc.returncode, proc.stdout) == (2, b"")
        assert proc.stderr.decode() == f"redactor: error: {message}\n"


AS_USER: list[str] = []
if os.geteuid() == 0:
    # root reads any file: the process drops the capabilities that let it (setpriv, util-linux)
    AS_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.skipif(bool(AS_USER) and shutil.which("setpriv") is None, reason="needs setpriv")
def test_unreadable_secrets_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"API_TOKEN={TOKEN}\n")
    secrets.chmod(0)
    proc = run(
        [*AS_USER, REDACTOR, "filter", "--no-config", "--secrets-file", str(secrets)],
        tmp_path,
        clean_env(),
        TOKEN.encode(),
    )
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode() == (
        f"redactor: error: cannot read secrets file {secrets}: Permission denied\n"
    )


def test_an_empty_scope_and_a_missing_one_are_named(tmp_path: Path) -> None:
    home = tmp_path / "store"
    env = clean_env(REDACTOR_HOME=str(home), REDACTOR_MASTER_KEY="ab" * 32)
    created = run([REDACTOR, "secrets", "create-scope", "empty-scope"], tmp_path, env)
    if created.returncode != 0:
        pytest.skip(f"cannot create a local scope here: {created.stderr.decode()}")
    proc = run([REDACTOR, "filter", "--no-config", "--scope", "empty-scope"], tmp_path, env, b"x")
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode() == (
        "redactor: error: the configured sources hold no secret value, so nothing would be "
        "redacted: scope 'empty-scope' holds no secret. To redact, fix the sources; to run with "
        "nothing to redact, pass --allow-empty or set allow-empty = true under [tool.redactor]\n"
    )
    # a scope that cannot be opened is an error even with --allow-empty
    proc = run(
        [REDACTOR, "filter", "--no-config", "--allow-empty", "--scope", "no-such-scope"],
        tmp_path,
        env,
        b"x",
    )
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr == b"redactor: error: secret scope 'no-such-scope' does not exist\n"


def test_an_empty_variable_and_too_short_values_are_named() -> None:
    # discovery off: these are the configured sources' own rules (discovery's are below)
    cfg = Settings(secret_env=("CI_SECRET",), env_pattern=("*_PW",), discover=False)
    with pytest.warns(UserWarning):
        with pytest.raises(ConfigError) as info:
            build_redactor(cfg, {"CI_SECRET": "", "A_PW": "abc"})
    assert str(info.value) == (
        "the configured sources hold no secret value, so nothing would be redacted: "
        "secret-env CI_SECRET: env/CI_SECRET is empty; env-pattern '*_PW': env/A_PW is shorter "
        "than min-length 6. To redact, export the variables in the environment that runs "
        "redactor (an IDE or a git GUI may not have your shell's), or fix the sources; to run "
        "with nothing to redact, pass --allow-empty or set allow-empty = true under "
        "[tool.redactor]"
    )
    # one source that gives a value is enough; the others may be empty
    with pytest.warns(UserWarning, match="'env/CI_SECRET' is empty"):
        assert len(build_redactor(cfg, {"CI_SECRET": "", "A_PW": "long-enough"})) == 1


def test_discovery_runs_alone_but_never_stands_in_for_a_configured_source() -> None:
    token = "dapi" + "0a1b2c3d" * 4
    environ = {"HOME": "/nonexistent", "DATABRICKS_TOKEN": token}
    # no source configured: what discovery finds is enough
    found = build_redactor(Settings(), environ)
    assert found.secret_names == ["env:DATABRICKS_TOKEN"] and found.redact(token) == "[REDACTED]"
    # nothing configured and nothing found: the message of no configuration at all
    with pytest.raises(NoSecretsConfigured):
        build_redactor(Settings(), {"HOME": "/nonexistent"})
    with pytest.raises(NoSecretsConfigured):
        build_redactor(Settings(discover=False), environ)
    # a configured source that gives nothing fails closed, whatever discovery found
    with pytest.raises(NoSecretValues) as info:
        build_redactor(Settings(env_pattern=("NOT_SET_*",)), environ)
    assert str(info.value).startswith(
        "the configured sources hold no secret value, so nothing would be redacted: "
        "env-pattern 'NOT_SET_*' matches no environment variable."
    )
    assert token not in str(info.value)
    # discovery adds to a configured source that gives something
    both = build_redactor(Settings(env_pattern=("DATABRICKS_*",)), environ)
    assert both.secret_names == ["env/DATABRICKS_TOKEN", "env:DATABRICKS_TOKEN"]
    # only too-short values found: nothing at all, with the usual warning by name
    with pytest.warns(UserWarning, match="'env:A_TOKEN' is too short"):
        with pytest.raises(NoSecretsConfigured):
            build_redactor(Settings(), {"A_TOKEN": "abc"})


# -- git: the clean filter, pre-commit --------------------------------------------------------


def git_env(home: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        HOME=str(home),
        **GIT_IDENTITY,
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        **extra,
    )


def git(repo: Path, env, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_add_fails_through_the_clean_filter(project: Path, tmp_path: Path) -> None:
    env = git_env(tmp_path)
    assert git(project, env, "init", "-q", "-b", "main").returncode == 0
    installed = run([REDACTOR, "install-git-filter"], project, env)
    assert installed.returncode == 0, installed.stderr
    proc = git(project, env, "add", "leaky.ipynb")
    assert proc.returncode == 128
    clean = git(project, env, "config", "--get", "filter.redactor.clean").stdout.strip()
    assert proc.stderr == (
        NOTHING
        + f"error: external filter '{clean}' failed 2\n"
        + f"error: external filter '{clean}' failed\n"
        + "fatal: leaky.ipynb: clean filter 'redactor' failed\n"
    )
    assert git(project, env, "ls-files", "--stage").stdout == ""
    # exported: staged scrubbed
    exported = git_env(tmp_path, **{VARIABLE: TOKEN})
    assert git(project, exported, "add", "leaky.ipynb").returncode == 0
    staged = git(project, env, "show", ":leaky.ipynb").stdout
    assert TOKEN not in staged and "[REDACTED]" in staged
    # the opt-out: staged as it is
    git(project, env, "rm", "-q", "--cached", "leaky.ipynb")
    (project / "pyproject.toml").write_text(PYPROJECT + "allow-empty = true\n")
    assert git(project, env, "add", "leaky.ipynb").returncode == 0
    assert TOKEN in git(project, env, "show", ":leaky.ipynb").stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_filter_installed_with_allow_empty(project: Path, tmp_path: Path) -> None:
    env = git_env(tmp_path)
    assert git(project, env, "init", "-q", "-b", "main").returncode == 0
    installed = run([REDACTOR, "install-git-filter", "--allow-empty"], project, env)
    assert installed.returncode == 0, installed.stderr
    clean = git(project, env, "config", "--get", "filter.redactor.clean").stdout.strip()
    assert clean.endswith(" --allow-empty --stdin-name %f")
    proc = git(project, env, "add", "leaky.ipynb")
    assert proc.returncode == 0
    assert proc.stderr == (
        "redactor: warning: the configured sources hold no secret value; nothing to redact "
        "(allowed by allow-empty)\n"
    )


def _head_with_hooks() -> str | None:
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "HEAD^{commit}"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not (ROOT / ".pre-commit-hooks.yaml").is_file():
        return None
    return proc.stdout.strip()


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.skipif(_head_with_hooks() is None, reason="needs a git checkout with the hooks")
def test_precommit_refuses_the_commit(project: Path, tmp_path: Path) -> None:
    """A commit from an IDE: the variable is not exported, so the hook fails and nothing is
    committed (pre-commit installs this checkout's committed HEAD from .pre-commit-hooks.yaml)."""
    env = git_env(
        tmp_path, PRE_COMMIT_HOME=str(tmp_path / "cache"), PIP_DISABLE_PIP_VERSION_CHECK="1"
    )
    assert git(project, env, "init", "-q", "-b", "main").returncode == 0
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {_head_with_hooks()}\n  hooks:\n  - id: redactor-scrub\n"
    )
    git(project, env, "add", ".")
    installed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr
    proc = git(project, env, "commit", "-q", "-m", "from an IDE", timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert re.search(
        r"^redactor scrub \(replace secret values in notebook outputs\)\.+Failed$", out, re.M
    ), out
    assert "- hook id: redactor-scrub\n- exit code: 2\n\n" + NOTHING in out
    assert git(project, env, "rev-parse", "--verify", "HEAD").returncode != 0  # no commit
    assert (project / "leaky.ipynb").read_bytes() == LEAKY.read_bytes()
    # exported (a terminal commit), the hook scrubs and the re-added notebook commits clean
    exported = env | {VARIABLE: TOKEN}
    proc = git(project, exported, "commit", "-q", "-m", "from a shell", timeout=900)
    assert proc.returncode == 1  # files were modified by the hook
    git(project, exported, "add", "leaky.ipynb")
    proc = git(project, exported, "commit", "-q", "-m", "scrubbed", timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert TOKEN not in git(project, env, "show", "HEAD:leaky.ipynb").stdout


# -- nbconvert and the Jupyter save hook ------------------------------------------------------


@pytest.fixture
def process_redactor():
    previous = redactor.set_redactor(Redactor())
    yield redactor.get_redactor()
    redactor.set_redactor(previous)


def test_nbconvert_does_not_export_with_configured_sources_empty(
    project: Path, monkeypatch, process_redactor
) -> None:
    """The exporting process knows one secret, but the configured pattern matches nothing:
    exporting would show the token the configuration was written for."""
    import nbformat
    from nbconvert import HTMLExporter

    from redactor.sinks.nbconvert import RedactPreprocessor

    monkeypatch.chdir(project)
    for name in [n for n in os.environ if n.startswith("REDACTOR_FC_")]:
        monkeypatch.delenv(name)
    process_redactor.add(PASSWORD, "process/password")
    nb = nbformat.read(project / "leaky.ipynb", as_version=4)
    resources = {"metadata": {"path": str(project)}}
    with pytest.raises(ConfigError) as info:
        HTMLExporter(preprocessors=[RedactPreprocessor()]).from_notebook_node(nb, resources)
    assert str(info.value) == NOTHING.removeprefix("redactor: error: ").removesuffix("\n")
    # exported, the token is redacted
    monkeypatch.setenv(VARIABLE, TOKEN)
    body, _ = HTMLExporter(preprocessors=[RedactPreprocessor()]).from_notebook_node(nb, resources)
    assert TOKEN not in body
    # the opt-outs: allow-empty, or require_secrets=False
    monkeypatch.delenv(VARIABLE)
    (project / "pyproject.toml").write_text(PYPROJECT + "allow-empty = true\n")
    body, _ = HTMLExporter(preprocessors=[RedactPreprocessor()]).from_notebook_node(nb, resources)
    assert TOKEN in body  # only the process's password was known


def test_jupyter_save_is_rejected_with_configured_sources_empty(
    project: Path, monkeypatch, process_redactor
) -> None:
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from tornado.web import HTTPError

    from redactor.sinks.jupyter import clear_cache

    for name in [n for n in os.environ if n.startswith("REDACTOR_FC_")]:
        monkeypatch.delenv(name)
    clear_cache()
    cm = FileContentsManager(root_dir=str(project), pre_save_hook="redactor.jupyter.pre_save_hook")
    content = json.loads(LEAKY.read_text())
    model = {"type": "notebook", "format": "json", "content": content}
    with pytest.raises(HTTPError) as info:
        cm.save(model, "saved.ipynb")
    assert info.value.status_code == 400
    assert info.value.log_message == "redactor: cannot scrub saved.ipynb: " + NOTHING.removeprefix(
        "redactor: error: "
    ).removesuffix("\n")
    assert not (project / "saved.ipynb").exists()
    # the server started with the variable: saved scrubbed
    monkeypatch.setenv(VARIABLE, TOKEN)
    cm.save(model, "saved.ipynb")
    assert TOKEN not in (project / "saved.ipynb").read_text()
    clear_cache()
