"""Secret sources shared by scrub, filter and run: the command line and [tool.redactor]."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from redactor.cli.options import add_source_arguments
from redactor.config import Settings, find_pyproject
from redactor.config import settings_from_args as config_from_args
from redactor.sources.load import (
    HOW_TO_CONFIGURE,
    ConfigError,
    NoSecretsConfigured,
    build_redactor,
    iter_secrets,
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_source_arguments(parser)
    return parser.parse_args(argv)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_pyproject_settings_merge_with_the_command_line(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.redactor]\nscopes = "kv-scope"\nsecret-env = ["DB_URL"]\n'
        'env-pattern = ["*_TOKEN"]\nsecrets-file = ["conf/.env"]\nmin-length = 8\n'
        'encodings = ["plain", "json"]\n',
    )
    sub = tmp_path / "notebooks" / "deep"
    sub.mkdir(parents=True)
    cfg = config_from_args(parse("--secret-env", "EXTRA", "--env-pattern", "*_KEY"), cwd=sub)
    assert cfg.pyproject == tmp_path / "pyproject.toml"
    assert cfg.scopes == ("kv-scope",)
    assert cfg.secret_env == ("DB_URL", "EXTRA")
    assert cfg.env_pattern == ("*_TOKEN", "*_KEY")
    # Relative to the pyproject.toml, not to the working directory.
    assert cfg.secrets_file == (tmp_path / "conf/.env",)
    assert (cfg.min_length, cfg.encodings) == (8, ("plain", "json"))


def test_no_config_ignores_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.redactor]\nscopes = ["kv-scope"]\n')
    cfg = config_from_args(parse("--no-config", "--secret-env", "A"), cwd=tmp_path)
    assert cfg.scopes == () and cfg.secret_env == ("A",) and cfg.pyproject is None


def test_find_pyproject_walks_up_and_may_find_none(tmp_path: Path) -> None:
    write(tmp_path / "a" / "pyproject.toml", "")
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    assert find_pyproject(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "pyproject.toml"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("scopes = 3", "[tool.redactor] scopes must be a string or a list of strings"),
        ('env-pattern = ["ok", 1]', "[tool.redactor] env-pattern must be a string or a list"),
        ("min-length = 0", "[tool.redactor] min-length must be a positive integer"),
        (
            'engine = "turbo"',
            "[tool.redactor] engine must be one of 'auto', 'ahocorasick', 'hyperscan'",
        ),
    ],
)
def test_bad_pyproject_values_name_the_file(tmp_path: Path, table: str, message: str) -> None:
    path = write(tmp_path / "pyproject.toml", f"[tool.redactor]\n{table}\n")
    with pytest.raises(ConfigError) as info:
        config_from_args(parse(), cwd=tmp_path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_engine_from_the_command_line_then_the_environment_then_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "pyproject.toml", '[tool.redactor]\nengine = "ahocorasick"\n')
    monkeypatch.delenv("REDACTOR_ENGINE", raising=False)
    assert config_from_args(parse(), cwd=tmp_path).engine == "ahocorasick"
    assert config_from_args(parse("--no-config"), cwd=tmp_path).engine is None
    monkeypatch.setenv("REDACTOR_ENGINE", "auto")
    assert config_from_args(parse(), cwd=tmp_path).engine == "auto"
    assert config_from_args(parse("--engine", "hyperscan"), cwd=tmp_path).engine == "hyperscan"
    cfg = config_from_args(parse("--engine", "ahocorasick", "--secret-env", "X"), cwd=tmp_path)
    r = build_redactor(cfg, {"X": "hunter2-password"})
    assert r.engine == "ahocorasick" and r.redact("hunter2-password") == "[REDACTED]"
    with pytest.raises(SystemExit):
        parse("--engine", "turbo")


def test_unreadable_toml_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.redactor\n")
    with pytest.raises(ConfigError, match=r"^cannot read .*pyproject\.toml: "):
        config_from_args(parse(), cwd=tmp_path)


def test_env_names_patterns_and_dotenv_without_interpolation(tmp_path: Path) -> None:
    dotenv = write(
        tmp_path / ".env",
        "export API_TOKEN='tok-${HOME}-literal'\nEMPTY=\nMULTI=\"line one\nline two\"\n",
    )
    environ = {"HOME": "/root", "B_TOKEN": "b-token-value", "A_TOKEN": "a-token-value", "X": "y"}
    cfg = Settings(secret_env=("X",), env_pattern=("*_TOKEN",), secrets_file=(dotenv,))
    assert list(iter_secrets(cfg, environ)) == [
        ("env/X", "y"),
        ("env/A_TOKEN", "a-token-value"),
        ("env/B_TOKEN", "b-token-value"),
        (".env/API_TOKEN", "tok-${HOME}-literal"),
        (".env/MULTI", "line one\nline two"),
    ]


def test_errors_name_the_source_never_a_value(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"^environment variable NOPE \(--secret-env\) is not set$"
    ):
        list(iter_secrets(Settings(secret_env=("NOPE",)), {}))
    missing = tmp_path / "missing.env"
    with pytest.raises(ConfigError, match=r"^secrets file .*missing\.env does not exist$"):
        list(iter_secrets(Settings(secrets_file=(missing,)), {}))


def test_build_redactor(tmp_path: Path) -> None:
    with pytest.raises(NoSecretsConfigured) as info:
        build_redactor(Settings())
    assert str(info.value) == HOW_TO_CONFIGURE
    cfg = Settings(env_pattern=("*_PW",), min_length=10, encodings=("plain",))
    with pytest.warns(UserWarning, match="'env/SHORT_PW' is too short"):
        r = build_redactor(cfg, {"LONG_PW": "long-password-1", "SHORT_PW": "short-pw"})
    assert r.secret_names == ["env/LONG_PW"]
    assert r.encodings == ["plain"]
    assert r.redact("x long-password-1 short-pw") == "x [REDACTED] short-pw"
    assert len(build_redactor(Settings(), require=False)) == 0
