"""One configuration: the layers, one spelling per option on every surface, and its errors."""

from __future__ import annotations

import argparse
import inspect
import warnings
from pathlib import Path

import pytest
from helpers.cli import run_redactor

from redactor.cli.options import add_source_arguments
from redactor.config import (
    OPTIONS,
    ConfigError,
    Settings,
    discover_from_environment,
    option_table,
    resolve,
    settings_from_args,
)
from redactor.errors import RedactorError
from redactor.nbconvert import RedactPreprocessor
from redactor.spark import redact_dataframe

ROOT = Path(__file__).resolve().parents[1]
SECRET = "tok-3f9a-Very-Secret-Value"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_source_arguments(parser)
    return parser.parse_args(argv)


def write(folder: Path, table: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(f"[tool.redactor]\n{table}\n", encoding="utf-8")
    return path


# -- precedence -----------------------------------------------------------------------------------


def test_defaults_alone() -> None:
    assert resolve(use_config=False, environ={}) == Settings()
    s = Settings()
    assert (s.scopes, s.secret_env, s.env_pattern, s.secrets_file) == ((), (), (), ())
    assert (s.min_length, s.encodings, s.engine, s.allow_empty) == (6, None, None, False)
    assert s.empty and s.pyproject is None


def test_settings_defaults_are_the_documented_ones_on_every_surface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Settings() holds each option's declared default (the docs table's column), and every
    surface that is given nothing resolves to it; discovery in particular is on everywhere."""
    s = Settings()
    assert {o.keyword: getattr(s, o.keyword) for o in OPTIONS} == {
        o.keyword: o.default for o in OPTIONS
    }
    assert "| `discover` | `--discover NAME`, `--no-discover` | `REDACTOR_DISCOVER` |" in (
        option_table()
    )
    assert "| `true` |" in next(r for r in option_table().splitlines() if r.startswith("| `disc"))
    monkeypatch.delenv("REDACTOR_DISCOVER", raising=False)  # the suite sets it to 0
    assert settings_from_args(parse("--no-config")).discover is True  # every CLI command
    assert resolve(use_config=False).discover is True  # keyword arguments, nbconvert, Spark
    assert discover_from_environment() is True  # install(), %load_ext


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("  ", None),
        ("1", True),
        ("Yes", True),
        ("0", False),
        (" OFF ", False),
        ("env", ("env",)),
        ("env, aws ,", ("env", "aws")),
    ],
)
def test_redactor_discover_is_read_one_way(raw: str, expected) -> None:
    environ = {"REDACTOR_DISCOVER": raw}
    layered = resolve(use_config=False, environ=environ).discover
    assert layered == (True if expected is None else expected)
    assert discover_from_environment(environ) == layered


def test_each_layer_replaces_the_one_below_for_single_values(tmp_path: Path) -> None:
    write(tmp_path, 'engine = "ahocorasick"\nmin-length = 9\nallow-empty = true')
    from_file = resolve(cwd=tmp_path, environ={})
    assert (from_file.engine, from_file.min_length, from_file.allow_empty) == (
        "ahocorasick",
        9,
        True,
    )
    assert from_file.pyproject == tmp_path / "pyproject.toml"
    # The environment over the file...
    from_env = resolve(cwd=tmp_path, environ={"REDACTOR_ENGINE": "Hyperscan "})
    assert from_env.engine == "hyperscan" and from_env.min_length == 9
    # ...and what the caller gives over both (False included: None alone means "not given").
    given = {"engine": "auto", "min_length": 12, "allow_empty": False}
    top = resolve(given, cwd=tmp_path, environ={"REDACTOR_ENGINE": "hyperscan"})
    assert (top.engine, top.min_length, top.allow_empty) == ("auto", 12, False)


def test_sources_add_up_across_layers(tmp_path: Path) -> None:
    write(tmp_path, 'scopes = "a"\nsecret-env = ["X"]\nsecrets-file = ["conf/.env"]')
    s = resolve({"scopes": ["b"], "secret_env": ["Y"], "secrets_file": ["/abs/.env"]}, cwd=tmp_path)
    assert s.scopes == ("a", "b")
    assert s.secret_env == ("X", "Y")
    # Relative to the pyproject.toml; a given path is taken as it is.
    assert s.secrets_file == (tmp_path / "conf/.env", Path("/abs/.env"))


def test_flags_env_and_file_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, 'engine = "ahocorasick"\nencodings = ["plain"]\nenv-pattern = ["*_TOKEN"]')
    monkeypatch.setenv("REDACTOR_ENGINE", "hyperscan")
    s = settings_from_args(parse("--env-pattern", "*_KEY", "--min-length", "8"), cwd=tmp_path)
    assert (s.engine, s.min_length, s.encodings) == ("hyperscan", 8, ("plain",))
    assert s.env_pattern == ("*_TOKEN", "*_KEY")
    s = settings_from_args(parse("--engine", "auto", "--encodings", "json"), cwd=tmp_path)
    # encodings is a choice, not a source: replaced, not added to
    assert (s.engine, s.encodings) == ("auto", ("json",))


def test_no_config_reads_no_file_not_even_a_broken_one(tmp_path: Path) -> None:
    write(tmp_path, 'scope = ["kv"]\nmin-length = "x"')
    with pytest.raises(ConfigError):
        settings_from_args(parse(), cwd=tmp_path)
    s = settings_from_args(parse("--no-config", "--secret-env", "A"), cwd=tmp_path)
    assert s.secret_env == ("A",) and s.pyproject is None and s.scopes == ()


def test_config_names_the_file_to_read(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    path = write(other, 'secret-env = ["FROM_OTHER"]')
    write(tmp_path, 'secret-env = ["FROM_NEAREST"]')
    s = settings_from_args(parse("--config", str(path)), cwd=tmp_path)
    assert s.secret_env == ("FROM_OTHER",) and s.pyproject == path


# -- one spelling per option ----------------------------------------------------------------------


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.key)
def test_one_name_on_every_surface(tmp_path: Path, option) -> None:
    keyword = option.key.replace("-", "_")
    assert option.keyword == keyword and option.flag == f"--{option.key}"
    value = {
        "names": ["abc"],
        "paths": ["abc.env"],
        "int": 7,
        "bool": True,
        "engine": "ahocorasick",
        "encodings": ["plain"],
        "discover": "env",
        "replacement": "<{name}>",
    }[option.kind]
    toml = {
        "names": '["abc"]',
        "paths": '["abc.env"]',
        "int": "7",
        "bool": "true",
        "engine": '"ahocorasick"',
        "encodings": '["plain"]',
        "discover": '"env"',
        "replacement": '"<{name}>"',
    }[option.kind]
    expected = {
        "names": ("abc",),
        "paths": (Path("abc.env"),),
        "int": 7,
        "bool": True,
        "engine": "ahocorasick",
        "encodings": ("plain",),
        "discover": ("env",),
        "replacement": "<{name}>",
    }[option.kind]
    # pyproject key
    write(tmp_path, f"{option.key} = {toml}")
    from_file = getattr(resolve(cwd=tmp_path, environ={}), keyword)
    if option.kind == "paths":
        assert from_file == (tmp_path / "abc.env",)
    else:
        assert from_file == expected
    # command-line flag
    argv = [option.flag] if option.kind == "bool" else [option.flag, str(toml.strip('[]"'))]
    assert getattr(settings_from_args(parse("--no-config", *argv)), keyword) == expected
    # Python keyword
    assert getattr(resolve({keyword: value}, use_config=False, environ={}), keyword) == expected
    # nbconvert trait
    assert RedactPreprocessor.class_traits(config=True).get(keyword) is not None
    # environment variable, where there is one
    if option.env_var:
        assert option.env_var == "REDACTOR_" + keyword.upper()
        environ = {option.env_var: str(value)}
        assert getattr(resolve(use_config=False, environ=environ), keyword) == expected


def test_spark_keywords_are_the_source_options() -> None:
    params = inspect.signature(redact_dataframe).parameters
    for option in OPTIONS:
        if option.is_source:
            assert option.keyword in params


def test_the_deprecated_trait_spelling_still_works_with_a_warning(tmp_path: Path) -> None:
    dotenv = tmp_path / "s.env"
    dotenv.write_text(f"TOKEN={SECRET}\n", encoding="utf-8")
    with pytest.warns(FutureWarning, match="secrets_files is deprecated: use secrets_file"):
        s = resolve({"secrets_files": [str(dotenv)]}, use_config=False, environ={})
    assert s.secrets_file == (dotenv,)
    # The preprocessor under its old trait name: still redacts.
    pre = RedactPreprocessor(secrets_files=[str(dotenv)], use_process_redactor=False)
    with pytest.warns(FutureWarning):
        redactors = pre._redactors({"metadata": {"path": str(tmp_path)}})
    assert [r.redact(SECRET) for r in redactors] == ["[REDACTED]"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pre = RedactPreprocessor(secrets_file=[str(dotenv)], use_process_redactor=False)
        assert len(pre._redactors({"metadata": {"path": str(tmp_path)}})) == 1


def test_an_unknown_keyword_is_a_type_error_with_a_suggestion() -> None:
    with pytest.raises(TypeError, match=r"^unknown setting 'scope'; did you mean 'scopes'\?$"):
        resolve({"scope": ["x"]}, use_config=False)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('scope = ["kv"]', "has an unknown key 'scope'; did you mean 'scopes'?"),
        (
            'secrets_file = [".env"]',
            "has an unknown key 'secrets_file'; did you mean 'secrets-file'?",
        ),
        ("minlength = 8", "has an unknown key 'minlength'; did you mean 'min-length'?"),
        (
            "colour = true",
            "has an unknown key 'colour'; valid keys: scopes, secret-env, env-pattern, "
            "secrets-file, min-length, encodings, engine, allow-empty, discover, "
            "replacement, allow, allow-names",
        ),
        ('allow-empty = "yes"', "allow-empty must be true or false"),
        ("min-length = true", "min-length must be a positive integer"),
        ("encodings = 3", "encodings must be a string or a list of strings"),
        ("[tool.redactor.scopes]", "scopes must be a string or a list of strings"),
    ],
)
def test_bad_tables_name_the_file(tmp_path: Path, table: str, message: str) -> None:
    path = write(tmp_path, table)
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path)
    assert str(info.value) == f"{path}: [tool.redactor] {message}"
    assert isinstance(info.value, RedactorError)


def test_wrong_types_from_callers_and_the_environment() -> None:
    with pytest.raises(ConfigError, match=r"^min_length must be a positive integer$"):
        resolve({"min_length": 0}, use_config=False)
    with pytest.raises(ConfigError, match=r"^--min-length must be a positive integer$"):
        settings_from_args(parse("--no-config", "--min-length", "0"))
    with pytest.raises(ConfigError, match=r"^engine must be one of 'auto', "):
        resolve({"engine": "turbo"}, use_config=False)
    with pytest.raises(ConfigError, match=r"^unknown engine 'turbo': choose one of auto, "):
        resolve(use_config=False, environ={"REDACTOR_ENGINE": "turbo"})


def test_the_command_line_reports_an_unknown_key_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, f'scope = ["{SECRET}"]')
    proc = run_redactor("filter", input=b"text\n", cwd=tmp_path, text=False)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode() == (
        f"redactor: error: {path}: [tool.redactor] has an unknown key 'scope'; "
        "did you mean 'scopes'?\n"
    )


# -- the documentation ----------------------------------------------------------------------------


def test_the_configuration_page_shows_the_table_the_code_defines() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    start, end = "<!-- options:start -->\n", "<!-- options:end -->"
    shown = page[page.index(start) + len(start) : page.index(end)]
    assert shown == option_table(), (
        "docs/configuration.md is out of date: paste "
        "`python -c 'from redactor.config import option_table; print(option_table())'`"
    )
    for option in OPTIONS:
        assert f"`{option.key}`" in shown and f"`{option.flag}" in shown
