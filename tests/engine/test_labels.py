"""Labelled replacements ({name}, {hash}) and the allow list, on every engine and output path."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import warnings
from collections import Counter

import pytest
from helpers.chunks import split_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.config import ConfigError, resolve
from redactor.engine.redactor import RedactorWarning
from redactor.engine.stream import Stream

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

KEY = b"test-key"
PW = "hunter2-password"
TOKEN = "sk-abcdefghijkl"


def mac(value: str, key: bytes = KEY) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:8]


def labelled(template: str = "[{name}:{hash}]", **kw) -> Redactor:
    r = Redactor(replacement=template, hash_key=KEY, **kw)
    r.add(PW, "db/password")
    r.add(TOKEN, "env:API_TOKEN")
    return r


TEXT = f"login {PW} then {TOKEN}, again {PW}."
EXPECTED = (
    f"login [db/password:{mac(PW)}] then [env:API_TOKEN:{mac(TOKEN)}], "
    f"again [db/password:{mac(PW)}]."
)


def test_every_path_gives_the_same_labels() -> None:
    r = labelled()
    assert r.redact(TEXT) == EXPECTED
    assert r.redact_bytes(TEXT.encode()) == EXPECTED.encode()
    text, counts = r.redact_with_counts(TEXT)
    assert text == EXPECTED
    assert counts == {"db/password": 2, "env:API_TOKEN": 1}
    for binary in (False, True):
        data = TEXT.encode() if binary else TEXT
        s = Stream(r, binary=binary)
        out = data[:0].join(s.feed(data[i : i + 1]) for i in range(len(data))) + s.flush()
        assert out == (EXPECTED.encode() if binary else EXPECTED)
    # splice, with the regions' ids and without (a sink that did not ask for them)
    assert r.splice(TEXT, r.spans(TEXT, with_ids=True)) == EXPECTED
    assert r.splice(TEXT, [(a, b, None) for a, b, _ in r.spans(TEXT)]) == EXPECTED
    raw = TEXT.encode()
    assert r.splice(raw, r.spans(raw, with_ids=True)) == EXPECTED.encode()


def test_name_only_and_hash_only_and_literal_braces() -> None:
    assert labelled("<{name}>").redact(PW) == "<db/password>"
    assert labelled("REDACTED({hash})").redact(PW) == f"REDACTED({mac(PW)})"
    assert labelled("{{{name}}}").redact(PW) == "{db/password}"
    # braces only, no field: one fixed literal, as a plain replacement
    r = Redactor(replacement="{{x}}")
    r.add(PW)
    assert r.redact(PW) == "{x}"
    assert not r.labelled


def test_plain_replacement_unchanged() -> None:
    r = Redactor()
    r.add(PW, "n")
    assert r.redact(TEXT.replace(TOKEN, "t")) == "login [REDACTED] then t, again [REDACTED]."
    r = Redactor(replacement="***")
    r.add(PW)
    assert r.redact(PW) == "***"
    assert not r.labelled


@pytest.mark.parametrize("bad", ["{value}", "{name!r}", "{hash:>10}", "{", "}", "{0}", "{}"])
def test_unknown_fields_fail_at_construction(bad: str) -> None:
    with pytest.raises(ValueError, match="replacement"):
        Redactor(replacement=bad)


def test_hash_is_keyed_per_configuration() -> None:
    r = labelled("{hash}")
    assert r.redact(PW) == mac(PW)
    # never a bare SHA-256 prefix, which a dictionary of short passwords reverses
    assert r.redact(PW) != hashlib.sha256(PW.encode()).hexdigest()[:8]
    # another key, another hash; the same key, the same hash (across redactors and runs)
    other = Redactor(replacement="{hash}", hash_key=b"other")
    other.add(PW)
    assert other.redact(PW) == mac(PW, b"other") != mac(PW)
    assert labelled("{hash}").redact(PW) == mac(PW)
    assert r.secret_hash(PW) == mac(PW)


def test_hash_key_from_environment_else_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDACTOR_HASH_KEY", "env-key")
    r = Redactor(replacement="{hash}")
    r.add(PW)
    assert r.redact(PW) == mac(PW, b"env-key")
    monkeypatch.delenv("REDACTOR_HASH_KEY")
    a, b = Redactor(replacement="{hash}"), Redactor(replacement="{hash}")
    a.add(PW)
    b.add(PW)
    assert a.redact(PW) == b.redact(PW)  # one random key for the process
    assert a.redact(PW) not in (mac(PW), mac(PW, b"env-key"))


def test_overlapping_secrets_take_the_first_registered() -> None:
    r = Redactor(replacement="[{name}:{hash}]", hash_key=KEY, fragment_length=None)
    r.add("abcdefgh", "first")
    r.add("efghijkl", "second")
    # overlapping and adjacent copies merge into one region, labelled by the lowest id
    assert r.redact("x abcdefghijkl y") == f"x [first:{mac('abcdefgh')}] y"
    assert r.redact("x efghijklabcdefgh y") == f"x [first:{mac('abcdefgh')}] y"
    assert r.redact("x efghijkl y") == f"x [second:{mac('efghijkl')}] y"
    # in a stream the region waits until it closes: a later match may join the first secret
    s = r.stream()
    out = s.feed("x efghijkl") + s.feed("abcdefgh y") + s.flush()
    assert out == f"x [first:{mac('abcdefgh')}] y"


def test_pickled_redactor_keeps_its_labels() -> None:
    r = pickle.loads(pickle.dumps(labelled()))
    assert r.redact(TEXT) == EXPECTED


def test_colours_across_a_label() -> None:
    r = labelled("<{name}>")
    text = f"a {PW[:5]}\x1b[31m{PW[5:]} b"
    assert r.redact(text) == "a <db/password> b"
    s = r.stream()
    assert "".join(s.feed(c) for c in text) + s.flush() == r.redact(text)


# -- properties ---------------------------------------------------------------------------------

alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=6, max_size=12)
filler = st.text("abcdefghij xyz.-_\n", max_size=12)


def oracle(secrets: list[str], text: str, template: str) -> str:
    """Brute force: every occurrence of every value; overlapping or touching ones merge into one
    region labelled by the first secret registered among them."""
    first: dict[str, int] = {}
    for i, s in enumerate(secrets):
        first.setdefault(s, i)
    hits = []
    for value, i in first.items():
        start = text.find(value)
        while start >= 0:
            hits.append((start, start + len(value), i))
            start = text.find(value, start + 1)
    hits.sort()
    regions: list[list] = []
    for a, b, i in hits:
        if regions and a <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], b)
            regions[-1][2] = min(regions[-1][2], i)
        else:
            regions.append([a, b, i])
    out, pos = [], 0
    for a, b, i in regions:
        value = secrets[i]
        label = template.replace("{name}", f"s{i}").replace("{hash}", mac(value))
        out += [text[pos:a], label]
        pos = b
    out.append(text[pos:])
    return "".join(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(alnum, min_size=1, max_size=3),
    st.lists(st.one_of(filler, st.integers(0, 2)), max_size=8),
    st.lists(st.integers(0, 10_000), max_size=8),
    st.sampled_from(["[{name}:{hash}]", "<{name}>", "{hash}", "{{{name}}}"]),
)
def test_any_chunking_equals_one_shot_and_the_oracle(secrets, parts, cuts, template) -> None:
    r = Redactor(replacement=template, hash_key=KEY, encodings=[], fragment_length=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, s in enumerate(secrets):
            r.add(s, f"s{i}")
    text = "".join(p if isinstance(p, str) else secrets[p % len(secrets)] for p in parts)
    want = oracle(secrets, text, template.replace("{{", "{").replace("}}", "}"))
    assert r.redact(text) == want
    assert r.redact_bytes(text.encode()) == want.encode()
    assert r.redact_with_counts(text)[0] == want
    for binary in (False, True):
        data = text.encode() if binary else text
        s = Stream(r, binary=binary, counts=None if binary else Counter())
        out = data[:0].join(s.feed(p) for p in split_at(data, cuts)) + s.flush()
        assert out == (want.encode() if binary else want)


@settings(max_examples=100, deadline=None)
@given(st.lists(alnum, min_size=2, max_size=4, unique=True))
def test_one_secret_one_hash_two_secrets_two(secrets) -> None:
    r = Redactor(replacement="{hash}", hash_key=KEY, encodings=[], fragment_length=None)
    for s in secrets:
        r.add(s)
    hashes = [r.redact(s) for s in secrets]
    assert hashes == [mac(s) for s in secrets]
    assert len(set(hashes)) == len(secrets)  # 8 hex digits: a collision is 1 in 4 billion
    assert all(h != hashlib.sha256(s.encode()).hexdigest()[:8] for s, h in zip(secrets, hashes))


# -- the allow list -------------------------------------------------------------------------------


def test_allow_by_value_refuses_with_a_warning_naming_the_secret() -> None:
    r = Redactor(allow=["password1"])
    with pytest.warns(RedactorWarning, match=r"'careless/word' is on the allow list") as got:
        assert r.add("password1", "careless/word") is False
    assert all("password1" not in str(w.message) for w in got)
    assert r.redact("my password1 here") == "my password1 here"
    assert r.secret_names == []


def test_allow_by_name() -> None:
    r = Redactor(allow_names=["env:NOT_SECRET_TOKEN"])
    with pytest.warns(RedactorWarning, match="NOT_SECRET_TOKEN"):
        assert r.add("value-is-public", "env:NOT_SECRET_TOKEN") is False
    assert r.add("value-is-secret", "env:REAL_TOKEN") is True
    assert r.redact("value-is-public value-is-secret") == "value-is-public [REDACTED]"


def test_allowed_value_padded_or_as_bytes_is_refused_too() -> None:
    r = Redactor(allow=["changeme"])
    with pytest.warns(RedactorWarning, match="'padded'"):
        assert r.add(" changeme\n", "padded") is False
    with pytest.warns(RedactorWarning, match="'raw'"):
        assert r.add(b"changeme", "raw") is False
    assert r.redact("changeme") == "changeme"


# -- configuration ----------------------------------------------------------------------------------


def test_config_options(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.redactor]\nreplacement = "[{name}]"\nallow = ["changeme"]\n'
        'allow-names = ["env:PUBLIC_TOKEN"]\n',
        encoding="utf-8",
    )
    cfg = resolve(cwd=tmp_path, environ={})
    assert cfg.replacement == "[{name}]"
    assert cfg.allow == ("changeme",)
    assert cfg.allow_names == ("env:PUBLIC_TOKEN",)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.redactor]\nreplacement = "[{value}]"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="unknown field"):
        resolve(cwd=tmp_path, environ={})


def test_with_replacement_copies_the_secrets_and_streams_follow(fresh_redactor) -> None:
    import redactor as api  # the process-wide redactor

    fresh_redactor.add(PW, "db/password")
    s = Stream(api.get_redactor)
    assert s.feed(f"a {PW} b") == "a [REDACTED] b"
    new = fresh_redactor.with_replacement("<{name}>")
    assert new is not fresh_redactor and fresh_redactor.replacement == "[REDACTED]"
    api.set_redactor(new)
    assert s.feed(f"c {PW[:4]}") + s.feed(f"{PW[4:]} d") + s.flush() == "c <db/password> d"
    with pytest.raises(ValueError, match="unknown field"):
        new.with_replacement("{value}")


def test_magic_sets_the_replacement(fresh_redactor, capsys) -> None:
    import redactor as api
    from ipython_extension.magics import redactor_magic

    fresh_redactor.add(PW, "db/password")
    redactor_magic("replacement '[REDACTED:{name}]'")
    assert capsys.readouterr().out == "replacement: [REDACTED:{name}]\n"
    assert api.redact(f"x {PW}") == "x [REDACTED:db/password]"
    redactor_magic("replacement '{value}'")
    err = capsys.readouterr().err
    assert err.startswith("%redactor replacement: replacement '{value}' has an unknown field")
    assert api.get_redactor().replacement == "[REDACTED:{name}]"


def test_cli_filter_takes_replacement_and_allow(tmp_path) -> None:
    import os

    from helpers.cli import run_redactor

    env = {**os.environ, "S": PW, "REDACTOR_HASH_KEY": KEY.decode()}
    got = run_redactor(
        "filter", "--no-config", "--secret-env", "S", "--replacement", "<{name}:{hash}>",
        input=f"x {PW} y\n", env=env, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert (got.returncode, got.stdout) == (0, f"x <env/S:{mac(PW)}> y\n")
    bad = run_redactor(
        "filter", "--no-config", "--secret-env", "S", "--replacement", "{value}",
        input="x\n", env=env, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert (
        bad.returncode == 2 and "--replacement: replacement '{value}' has an unknown" in bad.stderr
    )
    allowed = run_redactor(
        "filter", "--no-config", "--secret-env", "S", "--allow", PW,
        input="x\n", env=env, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert allowed.returncode == 2
    assert "env/S is on the allow list" in allowed.stderr
    assert allowed.stderr.count(PW) == 0
