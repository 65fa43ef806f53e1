""".redactor.toml, the config file of its own, and REDACTOR_CONFIG: which file is read, what it
holds, the errors that name it, and every reader of the settings getting it (CLI verbs through
real subprocesses, the git clean filter through a real `git add`, nbconvert, the save hook)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers.cli import run_redactor
from helpers.git import GIT_IDENTITY, git
from helpers.nbfactory import PASSWORD, TOKEN
from helpers.options import TOML

from redactor.config import (
    CONFIG_NAME,
    OPTIONS,
    ConfigError,
    config_path,
    find_config,
    resolve,
)
from redactor.engine.detect import Detector
from redactor.errors import RedactorError

ROOT = Path(__file__).resolve().parents[1]
LEAKY = ROOT / "fixtures" / "leaky.ipynb"
SECRET = "tok-3f9a-Very-Secret-Value"


def own(folder: Path, text: str) -> Path:
    path = folder / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def pyproject(folder: Path, text: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The suite's environment without REDACTOR_CONFIG (set per test where it is the subject)."""
    env = {k: v for k, v in os.environ.items() if k != "REDACTOR_CONFIG"}
    env.update(extra)
    return env


# -- the same keys, at the top level --------------------------------------------------------------


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.key)
def test_every_key_of_tool_redactor_is_a_top_level_key(tmp_path: Path, option) -> None:
    """The same value under the same key, in a pyproject.toml's [tool.redactor] and at the top of
    a .redactor.toml (each alone in its folder), resolves to the same setting."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    pyproject(a, f"[tool.redactor]\n{option.key} = {TOML[option.kind]}\n")
    own(b, f"{option.key} = {TOML[option.kind]}\n")
    from_pyproject = getattr(resolve(cwd=a, environ={}), option.keyword)
    from_own = getattr(resolve(cwd=b, environ={}), option.keyword)
    if option.kind == "paths":  # relative to the file that names them
        assert (from_pyproject, from_own) == ((a / "abc.env",), (b / "abc.env",))
    else:
        assert from_own == from_pyproject and from_own not in (None, ())


def test_tables_are_top_level_tables(tmp_path: Path) -> None:
    """[tool.redactor.run-env] is [run-env] and [[tool.redactor.detectors]] is [[detectors]]."""
    path = own(
        tmp_path,
        'secret-env = ["DB_URL"]\nmin-length = 8\n\n'
        '[run-env]\nDB_URL = "jdbc:x;password={{secrets/kv/db}}"\nMODE = "ci"\n\n'
        '[[detectors]]\nkind = "acme-key"\nanchors = ["acme_"]\npattern = "acme_[0-9a-f]{32}"\n'
        "max-length = 37\n",
    )
    s = resolve(cwd=tmp_path, environ={})
    assert s.pyproject == path
    assert (s.secret_env, s.min_length) == (("DB_URL",), 8)
    assert s.run_env == (("DB_URL", "jdbc:x;password={{secrets/kv/db}}"), ("MODE", "ci"))
    assert s.detectors == (
        Detector(
            kind="acme-key",
            anchors=("acme_",),
            pattern="acme_[0-9a-f]{32}",
            max_length=37,
            source="",
        ),
    )


# -- which file -----------------------------------------------------------------------------------


def test_found_by_walking_up_from_the_working_directory(tmp_path: Path) -> None:
    path = own(tmp_path, 'secret-env = ["A"]\nsecrets-file = ["conf/.env"]\n')
    deep = tmp_path / "x" / "y"
    deep.mkdir(parents=True)
    assert find_config(deep) == path
    s = resolve(cwd=deep, environ={})
    # relative paths are relative to the file, not to the working directory
    assert (s.secret_env, s.secrets_file, s.pyproject) == (("A",), (tmp_path / "conf/.env",), path)


def test_in_one_folder_the_own_file_wins_and_the_two_are_not_merged(tmp_path: Path) -> None:
    """Ruff's rule (.ruff.toml over pyproject.toml): the tool's own file is the one read."""
    path = own(tmp_path, 'secret-env = ["FROM_OWN"]\n')
    pyproject(tmp_path, '[tool.redactor]\nsecret-env = ["FROM_PYPROJECT"]\nmin-length = 9\n')
    s = resolve(cwd=tmp_path, environ={})
    assert (s.pyproject, s.secret_env, s.min_length) == (path, ("FROM_OWN",), 6)


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    """A sub-project's pyproject.toml (no [tool.redactor]) does not hide the repository's
    .redactor.toml above it; a nearer one that has the table does (the closest file wins)."""
    path = own(tmp_path, 'secret-env = ["ROOT"]\n')
    sub = tmp_path / "packages" / "lib"
    sub.mkdir(parents=True)
    pyproject(sub, '[project]\nname = "lib"\nversion = "1"\n\n[tool.ruff]\nline-length = 99\n')
    assert find_config(sub) == path
    assert resolve(cwd=sub, environ={}).secret_env == ("ROOT",)
    near = pyproject(sub, '[project]\nname = "lib"\n\n[tool.redactor]\nsecret-env = ["SUB"]\n')
    assert find_config(sub) == near
    assert resolve(cwd=sub, environ={}).secret_env == ("SUB",)
    # an empty [tool.redactor] still counts: it is the project's choice of no settings
    near.write_text("[tool.redactor]\n", encoding="utf-8")
    assert find_config(sub) == near and resolve(cwd=sub, environ={}).secret_env == ()


def test_a_pyproject_that_is_not_toml_is_an_error_not_passed_over(tmp_path: Path) -> None:
    own(tmp_path, 'secret-env = ["ROOT"]\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    bad = pyproject(sub, "[tool.redactor\n")
    with pytest.raises(ConfigError) as info:
        resolve(cwd=sub, environ={})
    assert str(info.value) == (
        f"cannot read {bad}: Expected ']' at the end of a table declaration (at line 1, column 15)"
    )


def test_redactor_config_names_the_file(tmp_path: Path) -> None:
    near = own(tmp_path, 'secret-env = ["NEAREST"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    named = own(elsewhere, 'secret-env = ["NAMED"]\n')
    s = resolve(cwd=tmp_path, environ={"REDACTOR_CONFIG": str(named)})
    assert (s.pyproject, s.secret_env) == (named, ("NAMED",))
    # any name; a file named pyproject.toml is read for its [tool.redactor] table
    other = elsewhere / "ci-redactor.toml"
    other.write_text('secret-env = ["OTHER"]\n', encoding="utf-8")
    assert resolve(cwd=tmp_path, environ={"REDACTOR_CONFIG": str(other)}).secret_env == ("OTHER",)
    project = pyproject(elsewhere, '[tool.redactor]\nsecret-env = ["PROJECT"]\n')
    s = resolve(cwd=tmp_path, environ={"REDACTOR_CONFIG": str(project)})
    assert (s.pyproject, s.secret_env) == (project, ("PROJECT",))
    # --config (config=) wins over REDACTOR_CONFIG; empty is unset
    s = resolve(config=near, cwd=elsewhere, environ={"REDACTOR_CONFIG": str(named)})
    assert s.secret_env == ("NEAREST",)
    assert config_path(cwd=tmp_path, environ={"REDACTOR_CONFIG": " "}) == near
    # --no-config (use_config=False) reads none, not even a missing one
    s = resolve(use_config=False, environ={"REDACTOR_CONFIG": str(tmp_path / "missing.toml")})
    assert (s.pyproject, s.secret_env) == (None, ())


def test_redactor_config_naming_no_file_is_an_error(tmp_path: Path) -> None:
    """A typo in the variable must not silently read no sources."""
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path, environ={"REDACTOR_CONFIG": str(missing)})
    assert str(info.value) == f"REDACTOR_CONFIG names {missing}, which does not exist"
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path, environ={"REDACTOR_CONFIG": str(tmp_path)})
    assert str(info.value) == f"REDACTOR_CONFIG names {tmp_path}, which is not a file"


# -- errors name the file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('scope = ["kv"]', " has an unknown key 'scope'; did you mean 'scopes'?"),
        ("minlength = 8", " has an unknown key 'minlength'; did you mean 'min-length'?"),
        (
            "colour = true",
            " has an unknown key 'colour'; valid keys: scopes, secret-env, env-pattern, "
            "secrets-file, min-length, encodings, engine, allow-empty, discover, "
            "replacement, allow, allow-names, detect, detectors, run-env",
        ),
        ('allow-empty = "yes"', ": allow-empty must be true or false"),
        ("min-length = 0", ": min-length must be a positive integer"),
        ('engine = "turbo"', ": engine must be one of 'auto', 'ahocorasick', 'hyperscan'"),
        ("[scopes]", ": scopes must be a string or a list of strings"),
        ("detectors = 3", ": detectors must be a list of tables ([[detectors]])"),
        (
            '[[detectors]]\nkind = "acme-key"\nanchors = ["acme_"]\npattern = "x"\nmaxlength = 9',
            ": detectors: entry 1 (kind 'acme-key') has an unknown key 'maxlength'; "
            "did you mean 'max-length'?",
        ),
        ('[run-env]\n"A=B" = "x"', ": run-env: 'A=B' is not a variable name"),
        (
            'secret-env = ["{{secrets/s/k}}"]',
            ": secret-env holds a {{secrets/...}} reference: secret-env takes names, paths or "
            "settings, never a secret, so it would be read literally; references are resolved "
            "in `run-env` values (and by `redactor run`, redactor.resolve)",
        ),
        (
            '[tool.redactor]\nscopes = ["kv"]',
            " has a [tool.redactor] table: in a .redactor.toml the keys go at the top level, "
            "without it (a file named pyproject.toml is read for [tool.redactor])",
        ),
    ],
)
def test_bad_files_are_named_in_the_error(tmp_path: Path, text: str, message: str) -> None:
    path = own(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path, environ={})
    assert str(info.value) == f"{path}{message}"
    assert isinstance(info.value, RedactorError)


def test_the_pyproject_messages_are_unchanged(tmp_path: Path) -> None:
    path = pyproject(tmp_path, "[tool.redactor]\nscope = 1\n")
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path, environ={})
    assert str(info.value) == (
        f"{path}: [tool.redactor] has an unknown key 'scope'; did you mean 'scopes'?"
    )
    path.write_text("[tool.redactor]\ndetectors = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path, environ={})
    assert str(info.value) == (
        f"{path}: [tool.redactor] detectors must be a list of tables ([[tool.redactor.detectors]])"
    )


# -- the command line, for real -------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with only a .redactor.toml and the dotenv file it names (no pyproject.toml)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "secrets.env").write_text(f"SQL_DB_PASSWORD='{PASSWORD}'\nAPI_TOKEN={TOKEN}\n")
    own(folder, '# redactor settings\nsecrets-file = ["secrets.env"]\n')
    return folder


def test_filter_reads_the_file_from_a_subfolder(project: Path) -> None:
    sub = project / "logs"
    sub.mkdir()
    proc = run_redactor(
        "filter", input=f"token={TOKEN} pw={PASSWORD}\n", cwd=sub, env=clean_env(), text=True
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "token=[REDACTED] pw=[REDACTED]\n"


def test_scrub_reads_the_file(project: Path) -> None:
    shutil.copyfile(LEAKY, project / "nb.ipynb")
    proc = run_redactor("scrub", "--no-progress", "nb.ipynb", cwd=project, env=clean_env())
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.decode() == SCRUB_REPORT
    text = (project / "nb.ipynb").read_text(encoding="utf-8")
    assert TOKEN not in text and "Tr0ub4dor" not in text
    assert "connecting [REDACTED]\\n" in text


SCRUB_REPORT = (
    "scrubbed nb.ipynb: 21 redactions (secrets.env/API_TOKEN: 11, secrets.env/SQL_DB_PASSWORD: 10), "
    "3 binary outputs removed\n"
    "redactor scrub: 1 file scrubbed, 0 unchanged\n"
)


def test_no_config_disables_the_file_and_the_variable(project: Path, tmp_path: Path) -> None:
    env = clean_env(REDACTOR_CONFIG=str(tmp_path / "missing.toml"))
    proc = run_redactor("filter", "--no-config", "--secret-env", "S", input="x S\n", cwd=project,
                        env={**env, "S": SECRET}, text=True)  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "x S\n", "")
    proc = run_redactor(
        "filter", input=f"{SECRET}\n", cwd=project, env={**env, "S": SECRET}, text=True
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        f"redactor: error: REDACTOR_CONFIG names {tmp_path / 'missing.toml'}, which does not exist\n"
    )


def test_the_variable_and_the_flag_name_a_file_from_anywhere(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(project / CONFIG_NAME)
    proc = run_redactor("filter", input=f"{TOKEN}\n", cwd=elsewhere,
                        env=clean_env(REDACTOR_CONFIG=config), text=True)  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "[REDACTED]\n", "")
    proc = run_redactor("filter", "--config", config, input=f"{TOKEN}\n", cwd=elsewhere,
                        env=clean_env(), text=True)  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "[REDACTED]\n", "")


def test_the_command_line_reports_an_unknown_key_naming_the_file(tmp_path: Path) -> None:
    path = own(tmp_path, f'scope = ["{SECRET}"]\n')
    proc = run_redactor("filter", input=b"text\n", cwd=tmp_path, env=clean_env())
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode() == (
        f"redactor: error: {path} has an unknown key 'scope'; did you mean 'scopes'?\n"
    )
    assert SECRET not in proc.stderr.decode()


def test_run_sets_run_env_from_the_file(tmp_path: Path) -> None:
    path = own(
        tmp_path,
        'secret-env = ["APP_TOKEN"]\n\n[run-env]\nMODE = "ci"\nGREETING = "hello"\n',
    )
    code = "import os; print(os.environ['MODE'], os.environ['GREETING'], os.environ['APP_TOKEN'])"
    proc = run_redactor("run", "--", sys.executable, "-c", code, cwd=tmp_path,
                        env=clean_env(APP_TOKEN=SECRET), text=True)  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ci hello [REDACTED]\n", "")
    # a reference that cannot be resolved names the key and the file it was written in
    path.write_text('[run-env]\nDB = "{{secrets/no-such-scope/k}}"\n', encoding="utf-8")
    proc = run_redactor("run", "--", "true", cwd=tmp_path,
                        env=clean_env(APP_TOKEN=SECRET), text=True)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"redactor: error: variable DB (run-env in {path}): ")


def test_detectors_lists_yours_from_the_file(tmp_path: Path) -> None:
    path = own(
        tmp_path,
        '[[detectors]]\nkind = "acme-key"\nanchors = ["acme_"]\npattern = "acme_[0-9a-f]{32}"\n'
        "max-length = 37\n",
    )
    proc = run_redactor("detectors", cwd=tmp_path, env=clean_env(), text=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    row = next(line for line in proc.stdout.splitlines() if line.startswith("acme-key "))
    assert row.split() == ["acme-key", "default", "(yours)", "on", "37", str(path)]


# -- the git clean filter: git runs it at the top of the repository -------------------------------


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_add_scrubs_with_the_repository_file(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in clean_env().items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), **GIT_IDENTITY)
    git(project, env, "init", "-q", "-b", "main")
    (project / ".gitignore").write_text("secrets.env\n")
    proc = run_redactor("install-git-filter", cwd=project, env=env, text=True, script=True)
    assert proc.returncode == 0, proc.stderr
    (project / "notebooks").mkdir()
    shutil.copyfile(LEAKY, project / "notebooks" / "nb.ipynb")
    git(project, env, "add", ".")
    staged = git(project, env, "show", ":notebooks/nb.ipynb").stdout
    assert TOKEN not in staged and "Tr0ub4dor" not in staged
    assert '"connecting [REDACTED]\\n",' in staged
    assert git(project, env, "diff", "--cached", "--name-only").stdout.splitlines() == [
        ".gitattributes",
        ".gitignore",
        CONFIG_NAME,
        "notebooks/nb.ipynb",
    ]
    # a broken file stops `git add` (the filter is required), naming the file
    (project / CONFIG_NAME).write_text('secrets-files = ["secrets.env"]\n', encoding="utf-8")
    shutil.copyfile(LEAKY, project / "notebooks" / "other.ipynb")
    proc = git(project, env, "add", "notebooks/other.ipynb", check=False)
    assert proc.returncode != 0
    assert (
        f"redactor: error: {project / CONFIG_NAME} has an unknown key 'secrets-files'; "
        "did you mean 'secrets-file'?"
    ) in proc.stderr
    assert git(project, env, "ls-files", "notebooks").stdout.splitlines() == ["notebooks/nb.ipynb"]


# -- nbconvert and the Jupyter save hook ----------------------------------------------------------


def test_nbconvert_reads_the_file_next_to_the_notebook(project: Path) -> None:
    pytest.importorskip("nbconvert")
    import nbformat
    from nbconvert import MarkdownExporter

    from redactor.nbconvert import RedactPreprocessor

    exporter = MarkdownExporter(preprocessors=[RedactPreprocessor(use_process_redactor=False)])
    nb = nbformat.read(LEAKY, as_version=4)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"path": str(project)}})
    assert TOKEN not in body and "Tr0ub4dor" not in body
    assert "connecting [REDACTED]" in body


def test_the_save_hook_reads_the_file_above_the_notebook(project: Path) -> None:
    pytest.importorskip("jupyter_server")
    from jupyter_server.services.contents.filemanager import FileContentsManager

    from redactor.sinks.jupyter import clear_cache

    clear_cache()
    (project / "a").mkdir()
    cm = FileContentsManager(root_dir=str(project), pre_save_hook="redactor.jupyter.pre_save_hook")
    content = json.loads(LEAKY.read_text(encoding="utf-8"))
    cm.save({"type": "notebook", "format": "json", "content": content}, "a/nb.ipynb")
    clear_cache()
    on_disk = json.loads((project / "a" / "nb.ipynb").read_text(encoding="utf-8"))
    assert on_disk["cells"][1]["outputs"][0]["text"] == ["connecting [REDACTED]\n", "connected\n"]
    assert TOKEN not in json.dumps(on_disk)


def test_the_configuration_table_names_the_file_and_the_variable() -> None:
    from redactor.config import option_table

    rows = option_table().splitlines()
    assert rows[0].startswith("| key (`[tool.redactor]` or `.redactor.toml`) | command line |")
    assert rows[2].startswith(
        "| - | `--config PATH`, `--no-config` | `REDACTOR_CONFIG` | `config`, `use_config` | "
        "`use_pyproject` | the nearest config file | the config file the keys below are read from"
    )
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert "\n## The config file\n" in page and rows[2] in page
