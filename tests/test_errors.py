"""One root for the project's errors, and one place (the CLI's handler) that reports them.

Every area's error, raised by a real command on real input that holds a secret, becomes
``redactor: error: <message>`` and exit 2, and the secret is nowhere in what the tool printed.
"""

from __future__ import annotations

import importlib
import inspect
import io
import os
import pkgutil
import zipfile
from pathlib import Path

import pytest
from helpers.cli import py, run_redactor

import redactor
import redactor.errors as errors
from redactor import EngineUnavailable, RedactorError
from redactor.cli.commands.scrub import ChangedMeanwhile
from redactor.sinks.logfiles import Unsupported
from redactor.sinks.notebook import NotebookError
from redactor.sources.channel import ChannelError
from redactor.sources.load import ConfigError, NoSecretsConfigured, NoSecretValues
from redactor.sources.scopes import InvalidNameError, ScopeNotFoundError, SecretsError

SECRET = "sk-live-9d2Fq7Zt-Never-Print-Me"


def project_modules() -> list[str]:
    names = ["redactor"]
    for info in pkgutil.walk_packages(redactor.__path__, "redactor."):
        names.append(info.name)
    return names


def test_every_public_exception_of_the_project_derives_from_the_root() -> None:
    found = []
    for name in project_modules():
        if name in {"redactor.__main__"}:
            continue
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and not issubclass(obj, Warning)
                and obj.__module__ == name
                and not attr.startswith("_")
            ):
                found.append(obj)
                assert issubclass(obj, RedactorError), f"{name}.{attr}"
    assert len(found) >= 25  # every area has some: a walk that found nothing proves nothing


def test_the_root_is_public_and_each_area_has_its_class() -> None:
    assert redactor.RedactorError is errors.RedactorError
    assert "RedactorError" in redactor.__all__
    areas = [
        errors.ConfigError,
        errors.SourceError,
        errors.EngineError,
        errors.SinkError,
        errors.CommandError,
    ]
    assert all(issubclass(a, RedactorError) for a in areas)
    assert issubclass(ConfigError, errors.ConfigError)
    assert ConfigError is errors.ConfigError


@pytest.mark.parametrize(
    ("error", "area", "also"),
    [
        (ConfigError, errors.ConfigError, ()),
        (NoSecretsConfigured, errors.ConfigError, ()),
        (NoSecretValues, errors.ConfigError, ()),
        (SecretsError, errors.SourceError, ()),
        (InvalidNameError, errors.SourceError, (ValueError,)),
        (ScopeNotFoundError, errors.SourceError, (LookupError,)),
        (ChannelError, errors.SourceError, (RuntimeError,)),
        (EngineUnavailable, errors.EngineError, (ImportError,)),
        (NotebookError, errors.NotebookSinkError, (ValueError,)),
        (ChangedMeanwhile, errors.NotebookSinkError, (OSError,)),
        (Unsupported, errors.LogFilesError, (ValueError,)),
    ],
)
def test_existing_exceptions_keep_what_callers_catch(error, area, also) -> None:
    """Re-parented, not replaced: ``except ValueError`` (or ImportError...) still catches them."""
    assert issubclass(error, area)
    for base in also:
        assert issubclass(error, base)


def test_engine_unavailable_is_still_an_import_error() -> None:
    with pytest.raises(ImportError):
        raise EngineUnavailable("hyperscan is not installed")


# -- the one handler ------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("REDACTOR_", "AZURE_"))}
    e["REDACTOR_HOME"] = str(tmp_path / "home")
    e["APP_TOKEN"] = SECRET
    return e


def check(proc, code: int = 2) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert err.startswith("redactor: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert SECRET not in err and SECRET not in proc.stdout.decode()
    return err


def test_config_error(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.redactor]\nmin-length = "{SECRET}"\n')
    err = check(run_redactor("scrub", "x.ipynb", cwd=tmp_path, env=env))
    assert err.endswith("[tool.redactor] min-length must be a positive integer\n")


def test_source_error_from_a_dotenv_file(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text(f"TOKEN='{SECRET}\n", encoding="utf-8")  # an unclosed quote
    err = check(run_redactor("filter", "--no-config", "--secrets-file", bad, input=b"x", env=env))
    assert f"cannot parse secrets file {bad} at line 1" in err


def test_scope_error(tmp_path: Path, env: dict[str, str]) -> None:
    err = check(
        run_redactor(
            "scrub-logs", "--no-config", "--scope", "nope", tmp_path, tmp_path / "o", env=env
        )
    )
    assert "nope" in err


def test_engine_error_when_hyperscan_is_missing(tmp_path: Path, env: dict[str, str]) -> None:
    # A process where `import hyperscan` fails, as it does without redactor[fast].
    code = """
    import sys
    sys.modules["hyperscan"] = None
    from redactor.cli.main import main
    sys.exit(main(sys.argv[1:]))
    """
    import subprocess

    proc = subprocess.run(
        [*py(code), "filter", "--no-config", "--env-pattern", "APP_*", "--engine", "hyperscan"],
        input=SECRET.encode(),
        env=env,
        capture_output=True,
        timeout=60,
    )
    err = check(proc)
    assert "hyperscan" in err


def test_notebook_error(tmp_path: Path, env: dict[str, str]) -> None:
    err = check(
        run_redactor(
            "scrub",
            "--no-config",
            "--secret-env",
            "APP_TOKEN",
            "--stdin",
            input=f'{{"cells": "{SECRET}'.encode(),
            env=env,
        )
    )
    assert err.startswith("redactor: error: <stdin>: ")


def test_log_file_error(tmp_path: Path, env: dict[str, str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.log", f"password={SECRET}\n")
    (src / "logs.zip").write_bytes(buf.getvalue()[:-30])  # truncated: cannot be read
    err = check(
        run_redactor(
            "scrub-logs", "--no-config", "--env-pattern", "APP_*", src, tmp_path / "out", env=env
        )
    )
    assert "logs.zip" in err


def test_command_error_keeps_its_own_status(tmp_path: Path, env: dict[str, str]) -> None:
    # `run` exits 127 when the command is not found; its name is redacted in the message.
    err = check(
        run_redactor("run", "--no-config", "--env-pattern", "APP_*", "--", SECRET, env=env),
        code=127,
    )
    assert err == "redactor: error: command not found: [REDACTED]\n"
    err = check(run_redactor("scrub", env=env))
    assert err == "redactor: error: no notebook given: pass one or more PATHs (or --stdin)\n"
