"""One configuration: the layers, one spelling per option on every surface, and its errors."""

from __future__ import annotations

import argparse
import inspect
import warnings
from pathlib import Path

import pytest
from helpers.cli import run_redactor
from helpers.options import OWN, OWN_TABLE, TOML

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
from redactor.engine.tokens import detector_names, resolve_detectors
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
        "detect": "github-token",
        "detectors": [OWN_TABLE],
        "env": {"DB_URL": "jdbc:x;password={{secrets/s/k}}"},
    }[option.kind]
    toml = TOML[option.kind]
    expected = {
        "names": ("abc",),
        "paths": (Path("abc.env"),),
        "int": 7,
        "bool": True,
        "engine": "ahocorasick",
        "encodings": ("plain",),
        "discover": ("env",),
        "replacement": "<{name}>",
        "detect": ("github-token",),
        "detectors": (OWN,),
        "env": (("DB_URL", "jdbc:x;password={{secrets/s/k}}"),),
    }[option.kind]
    # pyproject key
    write(tmp_path, f"{option.key} = {toml}")
    from_file = getattr(resolve(cwd=tmp_path, environ={}), keyword)
    if option.kind == "paths":
        assert from_file == (tmp_path / "abc.env",)
    else:
        assert from_file == expected
    # command-line flag (user detectors are tables: none)
    argv = [option.flag] if option.kind == "bool" else [option.flag, str(toml.strip('[]"'))]
    if option.cli:
        assert getattr(settings_from_args(parse("--no-config", *argv)), keyword) == expected
    else:
        with pytest.raises(SystemExit):
            parse("--no-config", *argv)
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
            "replacement, allow, allow-names, detect, detectors, run-env",
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
        assert f"`{option.key}`" in shown and (f"`{option.flag}" in shown or not option.cli)


# -- token detection ------------------------------------------------------------------------------


def kinds(settings: Settings) -> list[str]:
    return [d.kind for d in settings.enabled_detectors()]


def test_detect_is_on_with_the_default_set_and_every_layer_can_change_it(tmp_path: Path) -> None:
    default = detector_names(default_only=True)
    assert resolve(use_config=False, environ={}).detect is True
    assert kinds(resolve(use_config=False, environ={})) == default
    write(tmp_path, "detect = false")
    assert kinds(resolve(cwd=tmp_path, environ={})) == []
    # the environment over the file, as REDACTOR_DISCOVER
    s = resolve(cwd=tmp_path, environ={"REDACTOR_DETECT": "github-token"})
    assert s.detect == ("github-token",) and kinds(s) == ["github-token"]
    assert resolve(use_config=False, environ={"REDACTOR_DETECT": "off"}).detect is False
    assert resolve(use_config=False, environ={"REDACTOR_DETECT": "1"}).detect is True
    # flags over both; a comma-separated flag is several kinds; --no-detect is false
    s = settings_from_args(parse("--detect", "github-token,default"), cwd=tmp_path)
    assert s.detect == ("github-token", "default")
    assert settings_from_args(parse("--no-detect", "--no-config")).detect is False
    assert resolve({"detect": ["all"]}, use_config=False, environ={}).enabled_detectors() == (
        tuple(resolve_detectors(["all"]))
    )


def test_user_detectors_from_the_file_join_the_default_set(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[tool.redactor.detectors]]\nkind = "acme-key"\nanchors = ["acme_"]\n'
        'pattern = "acme_[0-9a-f]{32}"\nmax-length = 37\ndescription = "Acme API keys"\n'
        '[[tool.redactor.detectors]]\nkind = "acme-session"\nanchors = "acmes_"\n'
        'pattern = "acmes_[0-9a-f]{16}"\nmax-length = 22\ndefault = false\n',
    )
    s = resolve(cwd=tmp_path, environ={})
    assert [d.kind for d in s.detectors] == ["acme-key", "acme-session"]
    assert s.detectors[1].anchors == ("acmes_",) and s.detectors[1].default is False
    assert kinds(s) == [*detector_names(default_only=True), "acme-key"]
    assert kinds(resolve({"detect": ["acme-session"]}, cwd=tmp_path, environ={})) == [
        "acme-session"
    ]
    assert kinds(resolve({"detect": ["all"]}, cwd=tmp_path, environ={}))[-2:] == [
        "acme-key",
        "acme-session",
    ]
    assert kinds(resolve({"detect": False}, cwd=tmp_path, environ={})) == []
    # Python adds its own (Detector objects or the same tables) to the file's
    s = resolve({"detectors": [OWN_TABLE | {"kind": "acme-other"}]}, cwd=tmp_path, environ={})
    assert [d.kind for d in s.detectors] == ["acme-key", "acme-session", "acme-other"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            'kind = "acme-key"\nanchors = ["acme_"]\npattern = "acme_[0-9a-f"\nmax-length = 37',
            "detectors: entry 1 (kind 'acme-key'): bad pattern: unterminated character set at "
            "position 5",
        ),
        (
            'kind = "acme-key"\nanchors = ["acme_"]\npattern = "acme_"\nmaxlength = 37',
            "detectors: entry 1 (kind 'acme-key') has an unknown key 'maxlength'; "
            "did you mean 'max-length'?",
        ),
        (
            'kind = "acme-key"\nanchors = ["acme_"]\npattern = "acme_"',
            "detectors: entry 1 (kind 'acme-key'): max-length is missing",
        ),
        ('anchors = ["acme_"]', "detectors: entry 1: give a kind (a name such as 'acme-api-key')"),
        (
            'kind = "Acme Key"\nanchors = ["acme_"]\npattern = "acme_"\nmax-length = 9',
            "detectors: entry 1 (kind 'Acme Key'): use lower-case letters, digits and '-'",
        ),
        (
            'kind = "github-token"\nanchors = ["ghp_"]\npattern = "ghp_"\nmax-length = 9',
            "detectors: entry 1 (kind 'github-token'): 'github-token' is a built-in detector; "
            "give yours another kind",
        ),
        (
            'kind = "acme-key"\nanchors = []\npattern = "acme_"\nmax-length = 9',
            "detectors: entry 1 (kind 'acme-key'): give at least one non-empty anchor",
        ),
    ],
)
def test_a_bad_user_detector_names_the_file_and_the_entry(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = write(tmp_path, f"[[tool.redactor.detectors]]\n{entry}")
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path, environ={})
    assert str(info.value) == f"{path}: [tool.redactor] {message}"
    # no chain: re's own error stays out of what the command prints
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_an_unknown_kind_in_detect_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve({"detect": ["github-tokens"]}, use_config=False, environ={})
    assert str(info.value) == (
        "detect: unknown detector 'github-tokens'; did you mean 'github-token'? "
        "(`redactor detectors` lists them)"
    )
    write(tmp_path, "detect = 3")
    with pytest.raises(ConfigError, match=r"detect must be true, false or a list of detector"):
        resolve(cwd=tmp_path, environ={})
    proc = run_redactor("filter", "--no-config", "--detect", "qqqq", input=b"x\n")
    assert proc.returncode == 2
    assert proc.stderr.decode() == (
        "redactor: error: detect: unknown detector 'qqqq' (`redactor detectors` lists them)\n"
    )


def test_a_reference_is_resolved_only_where_a_value_may_be_secret(tmp_path: Path) -> None:
    write(tmp_path, 'run-env = { URL = "x{{secrets/s/k}}" }\nallow = ["ok"]')
    assert resolve(cwd=tmp_path, environ={}).run_env == (("URL", "x{{secrets/s/k}}"),)
    path = write(tmp_path, 'secret-env = ["{{secrets/s/k}}"]')
    with pytest.raises(ConfigError) as info:
        resolve(cwd=tmp_path, environ={})
    assert str(info.value) == (
        f"{path}: [tool.redactor] secret-env holds a {{{{secrets/...}}}} reference: secret-env "
        "takes names, paths or settings, never a secret, so it would be read literally; "
        "references are resolved in `run-env` values (and by `redactor run`, redactor.resolve)"
    )
    write(tmp_path, 'run-env = { "A=B" = "x" }')
    with pytest.raises(ConfigError, match="run-env: 'A=B' is not a variable name"):
        resolve(cwd=tmp_path, environ={})
    write(tmp_path, "run-env = { A = 1 }")
    with pytest.raises(ConfigError, match="run-env: A must be a string"):
        resolve(cwd=tmp_path, environ={})
