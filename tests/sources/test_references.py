"""``{{secrets/scope/key}}`` references resolved from a real local store: :func:`redactor.resolve`,
the environment resolver ``redactor run`` uses, errors that name without showing, and a property
test that any value holding references resolves exactly."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from helpers.store import filled_store
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import redactor
from redactor import Redactor, UnresolvedReferenceError
from redactor.errors import ConfigError, SourceError
from redactor.sources.references import (
    OPENING,
    Resolver,
    find_references,
    resolve_environment,
)
from redactor.sources.scopes import LocalStore

PASSWORD = "Pa55w0rd!-refs-9f3c"
USER = "etl_user_4411"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    secrets = {"sql-db-password": PASSWORD, "sql-db-user": USER, "binary": b"\xff\xfe-not-text"}
    return filled_store(tmp_path, monkeypatch, secrets)


def test_a_whole_reference_and_a_partial_one(store: LocalStore, fresh_redactor: Redactor) -> None:
    assert redactor.resolve("{{secrets/kv-scope/sql-db-password}}") == PASSWORD
    assert fresh_redactor.secret_names == ["kv-scope/sql-db-password"]
    url = "jdbc:sqlserver://db;user={{secrets/kv-scope/sql-db-user}};password={{secrets/kv-scope/sql-db-password}}"
    got = redactor.resolve(url, name="jdbc-url")
    assert got == f"jdbc:sqlserver://db;user={USER};password={PASSWORD}"
    # Both parts (each once) and the whole, which is what a program prints.
    # (the engine adds the parts it finds in a connection string itself, as name#label)
    names = [n for n in fresh_redactor.secret_names if "#" not in n]
    assert names == ["kv-scope/sql-db-password", "kv-scope/sql-db-user", "jdbc-url"]
    assert redactor.redact(f"connecting to {got}") == "connecting to [REDACTED]"
    assert redactor.redact(f"user {USER}") == "user [REDACTED]"


def test_a_mapping_nested_and_its_other_values_kept(
    store: LocalStore, fresh_redactor: Redactor
) -> None:
    conf = {
        "spark.app.name": "etl",
        "spark.executor.instances": 2,
        "db": {"url": "jdbc:x;password={{secrets/kv-scope/sql-db-password}}", "pool": [1, "a"]},
        "users": ("{{secrets/kv-scope/sql-db-user}}", None),
    }
    assert redactor.resolve(conf) == {
        "spark.app.name": "etl",
        "spark.executor.instances": 2,
        "db": {"url": f"jdbc:x;password={PASSWORD}", "pool": [1, "a"]},
        "users": (USER, None),
    }
    assert [n for n in fresh_redactor.secret_names if "#" not in n] == [
        "kv-scope/sql-db-password",
        "db.url",
        "kv-scope/sql-db-user",
    ]


def test_a_given_redactor_gets_the_values_and_the_default_does_not(
    store: LocalStore, fresh_redactor: Redactor
) -> None:
    mine = Redactor()
    assert redactor.resolve("{{secrets/KV-SCOPE/sql-db-user}}", redactor=mine) == USER
    assert mine.secret_names == ["KV-SCOPE/sql-db-user"]
    assert fresh_redactor.secret_names == []


def test_every_failure_is_listed_with_variable_scope_and_key_never_a_value(
    store: LocalStore, fresh_redactor: Redactor
) -> None:
    value = (
        f"{PASSWORD} {{{{secrets/kv-scope/nope}}}} {{{{secrets/no-scope/k}}}} "
        "{{secrets/kv-scope/binary}} {{secrets/kv scope/k}} {{secrets/kv-scope/sql-db-user}}"
    )
    with pytest.raises(UnresolvedReferenceError) as info:
        redactor.resolve({"DB": value})
    assert str(info.value) == (
        "4 secret references cannot be resolved:\n"
        "  DB: cannot resolve {{secrets/kv-scope/nope}}: secret 'nope' does not exist in scope "
        "'kv-scope'\n"
        "  DB: cannot resolve {{secrets/no-scope/k}}: secret scope 'no-scope' does not exist\n"
        "  DB: cannot resolve {{secrets/kv-scope/binary}}: it holds bytes that are not UTF-8 text\n"
        f"  DB: malformed secret reference at character {value.index('{{secrets/kv ')}: write "
        "{{secrets/SCOPE/KEY}}, each name 1 to 128 letters, digits, '-', '_', '.' or '@', no "
        "spaces"
    )
    assert [(f.scope, f.key) for f in info.value.failures] == [
        ("kv-scope", "nope"),
        ("no-scope", "k"),
        ("kv-scope", "binary"),
        (None, None),
    ]
    assert isinstance(info.value, SourceError) and isinstance(info.value, LookupError)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert PASSWORD not in str(info.value) and USER not in str(info.value)
    # Nothing was registered: the caller got no value.
    assert fresh_redactor.secret_names == []


def test_a_store_that_cannot_be_opened_is_reported_by_reference(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDACTOR_MASTER_KEY", "11" * 32)  # not the store's key
    with pytest.raises(UnresolvedReferenceError) as info:
        redactor.resolve("{{secrets/kv-scope/sql-db-user}}", redactor=Redactor())
    message = str(info.value)
    assert message.startswith("the value: cannot resolve {{secrets/kv-scope/sql-db-user}}: ")
    assert "master key" in message and "11" * 32 not in message


def test_values_without_references_come_back_as_they_are(fresh_redactor: Redactor) -> None:
    # No store is opened for them (none exists here), and nothing is registered.
    for value in ("", "plain", "{{secret/a/b}}", "{{ secrets/a/b }}", "{secrets/a/b}"):
        assert redactor.resolve(value) is value
    assert fresh_redactor.secret_names == []


def test_find_references_tells_malformed_openings() -> None:
    refs, bad = find_references("a{{secrets/s/k}}b{{secrets/s/k/x}}{{{secrets/s.1/@k}}")
    assert [(r.scope, r.key, r.start, r.end, r.text) for r in refs] == [
        ("s", "k", 1, 16, "{{secrets/s/k}}"),
        ("s.1", "@k", 35, 53, "{{secrets/s.1/@k}}"),
    ]
    assert bad == [17]


def test_the_environment_and_env_files(store: LocalStore, tmp_path: Path) -> None:
    first = tmp_path / "first.env"
    first.write_text(
        "export DB_URL='jdbc:x;password={{secrets/kv-scope/sql-db-password}}'\nKEEP=1\nEMPTY=\n"
    )
    second = tmp_path / "second.env"
    second.write_text("KEEP=2\nUSER_NAME={{secrets/kv-scope/sql-db-user}}\n")
    environ = {"HOME": "/h", "KEEP": "0", "TOKEN": "{{secrets/kv-scope/sql-db-password}}"}
    env, resolver = resolve_environment(environ, [first, second])
    assert env == {
        "HOME": "/h",
        "KEEP": "2",
        "TOKEN": PASSWORD,
        "DB_URL": f"jdbc:x;password={PASSWORD}",
        "EMPTY": "",
        "USER_NAME": USER,
    }
    assert resolver.secrets == [
        ("kv-scope/sql-db-password", PASSWORD),
        ("env/DB_URL", f"jdbc:x;password={PASSWORD}"),
        ("kv-scope/sql-db-user", USER),
    ]


def test_environment_failures_name_the_variable_and_its_file(
    store: LocalStore, tmp_path: Path
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("A={{secrets/kv-scope/missing}}\n")
    with pytest.raises(UnresolvedReferenceError) as info:
        resolve_environment({"B": "x{{secrets/gone/k}}"}, [env_file])
    assert str(info.value) == (
        "2 secret references cannot be resolved:\n"
        "  variable B: cannot resolve {{secrets/gone/k}}: secret scope 'gone' does not exist\n"
        f"  variable A (env file {env_file}): cannot resolve {{{{secrets/kv-scope/missing}}}}: "
        "secret 'missing' does not exist in scope 'kv-scope'"
    )
    bad = tmp_path / "bad.env"
    bad.write_text("OK=1\nnot a binding\n")
    with pytest.raises(ConfigError, match=r"cannot parse env file .*bad\.env at line 2"):
        resolve_environment({}, [bad])
    with pytest.raises(ConfigError, match=r"env file .*nowhere\.env does not exist"):
        resolve_environment({}, [tmp_path / "nowhere.env"])


def test_a_nul_character_cannot_go_into_a_variable(store: LocalStore) -> None:
    store.put_secret("kv-scope", "with-nul", "abc\0defghij")
    with pytest.raises(UnresolvedReferenceError, match="variable X: a secret it references holds"):
        resolve_environment({"X": "{{secrets/kv-scope/with-nul}}"})


def test_each_scope_and_key_is_fetched_once() -> None:
    calls: list[tuple[str, str]] = []

    def fetch(scope: str, key: str) -> str:
        calls.append((scope, key))
        return f"value-of-{scope}-{key}"

    resolver = Resolver(fetch=fetch)
    for i in range(3):
        resolver.value("{{secrets/s/k}}-{{secrets/S/k}}", f"v{i}")
    assert calls == [("s", "k")]
    assert [n for n, _ in resolver.secrets] == ["s/k", "v0", "v1", "v2"]
    assert repr(resolver) == "Resolver(failures=[])"  # never a value


# -- property: any value with references resolves exactly, from a real local store -------------

KEYS = ("k0", "k1", "k2")
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_SEGMENTS = st.lists(st.one_of(_TEXT, st.sampled_from(KEYS).map(lambda k: ("ref", k))), max_size=6)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30),
        min_size=len(KEYS),
        max_size=len(KEYS),
    ),
    segments=_SEGMENTS,
)
def test_any_value_with_references_resolves_exactly(
    store: LocalStore, values: list[str], segments: list
) -> None:
    for key, value in zip(KEYS, values):
        store.put_secret("kv-scope", key, value)
    given = "".join(
        f"{{{{secrets/kv-scope/{s[1]}}}}}" if isinstance(s, tuple) else s for s in segments
    )
    refs = [s for s in segments if isinstance(s, tuple)]
    # Literal text that itself spells an opening is not a reference to test here.
    assume(given.count(OPENING) == len(refs))
    expected = "".join(values[KEYS.index(s[1])] if isinstance(s, tuple) else s for s in segments)
    mine = Redactor(min_length=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert redactor.resolve(given, redactor=mine, name="v") == expected
    names = [f"kv-scope/{k}" for k in dict.fromkeys(s[1] for s in refs)]
    if refs and given != f"{{{{secrets/kv-scope/{refs[0][1]}}}}}":
        names.append("v")
    # every part and the whole are held (a blank value is refused by the engine, by design)
    assert [n for n in mine.secret_names if "#" not in n] == [
        n for n in names if (values[KEYS.index(n[-2:])] if n != "v" else expected).strip()
    ]
