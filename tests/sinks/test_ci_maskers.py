"""What `redactor ci-mask` hands a CI's masker, checked against the runners' own rules.

The oracles in tests/helpers/ci_runners.py are ports of the GitHub runner's and the Azure agent's
C# (command parsing, unescaping, value encoders, the IndexOf-and-merge masker), so these tests
check :mod:`redactor.sinks.ci.maskers` against the runners, not against itself.
"""

from __future__ import annotations

import re

import pytest
from helpers.ci_runners import (
    AzureAgent,
    GitHubRunner,
    SecretMasker,
    _github_encoders,
    _newtonsoft_json,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.sinks.ci.maskers import (
    azure_commands,
    azure_derived,
    buildkite_derived,
    detect_ci,
    escape_azure_data,
    github_commands,
    github_derived,
    masker_values,
)

# Any text a secret may hold: line breaks, the escape characters themselves (% ; ]), quotes,
# ampersands, the runners' escape sequences as literal text, non-ASCII.
VALUE_CHARS = st.sampled_from(
    [*list("aZ09 _-%;]\"'&<>\\:#\r\n\t"), "%25", "%0A", "%0D", "%AZP25", "%3B", "é", "€", "😀"]
)
ANY_VALUE = st.lists(VALUE_CHARS, min_size=1, max_size=30).map("".join)
SECRETS = st.lists(st.sampled_from(list("aZ09_-%;]\"'&<>\\:é€ ")), min_size=6, max_size=24).map(
    "".join
)


# -- escaping: what the runner parses back is the value --------------------------------------


def test_github_escapes_exactly_as_the_runner_unescapes() -> None:
    assert github_commands(["a%b\r\nc", "%0A"]) == (
        b"::add-mask::a%25b%0D%0Ac\n::add-mask::%250A\n"
    )


def test_azure_escapes_exactly_as_the_agent_unescapes() -> None:
    assert escape_azure_data("a%b;c]d\r\n") == "a%AZP25b%3Bc%5Dd%0D%0A"
    assert azure_commands(["%3B"]) == b"##vso[task.setsecret]%AZP253B\n"


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_VALUE.filter(str.strip), min_size=1, max_size=4))
def test_property_github_registers_exactly_each_value(values: list[str]) -> None:
    runner = GitHubRunner()
    assert runner.step(github_commands(values)) == []  # every line was a command, none logged
    assert runner.registered == values


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_VALUE.filter(str.strip), min_size=1, max_size=4), st.booleans())
def test_property_azure_registers_each_value_with_either_percent_setting(
    values: list[str], decode_percents: bool
) -> None:
    agent = AzureAgent(decode_percents=decode_percents)
    assert agent.step(azure_commands(values)) == []
    if decode_percents:  # the default since 2021
        assert agent.registered == values
    else:  # the data keeps %AZP25, and AddSecret also registers it undone
        assert all(v in agent.masker.values for v in values)


# -- skipping what the runner derives itself is safe -------------------------------------------


@settings(max_examples=500, deadline=None)
@given(ANY_VALUE)
def test_property_every_form_taken_as_derived_the_github_runner_derives(value: str) -> None:
    masker = SecretMasker(_github_encoders())
    masker.add_value(value)
    assert github_derived(value) <= masker.values


@settings(max_examples=500, deadline=None)
@given(ANY_VALUE)
def test_property_every_form_taken_as_derived_the_azure_agent_derives(value: str) -> None:
    from urllib.parse import quote

    agent = {_newtonsoft_json(value), quote(value.encode("utf-8"), safe="")}
    assert azure_derived(value) <= agent


@settings(max_examples=300, deadline=None)
@given(ANY_VALUE)
def test_property_buildkite_derived_is_go_quote(value: str) -> None:
    # Go's strconv.Quote keeps printable ASCII but " and \ (strconv/quote.go appendEscapedRune).
    derived = buildkite_derived(value)
    if derived:
        assert re.fullmatch(r"[\x20-\x7e]*", value)
        assert derived == {value.replace("\\", "\\\\").replace('"', '\\"')}


# -- every form hidden by a masker that knows only the registered values -----------------------


def _expected_line(line: str, min_length: int) -> str:
    core = line.strip()
    if len(core) < min_length:
        return line
    return line.replace(core, "***", 1)


def _check_every_form_hidden(value: str, runner_cls, commands, derived) -> None:
    redactor = Redactor()
    forms = redactor.forms(value, "s")
    values = masker_values([forms], derived, min_length=redactor.min_length, by_line=True)
    runner = runner_cls()
    runner.step(commands(values))
    for form in sorted(forms):
        if "\n" not in form and "\r" not in form:
            # (a form's own blanks, of a value with blanks around it, may go with it)
            logged = runner.step(f"step: {form} end".encode())
            assert _blankless(logged) == ["step:***end"], form
            continue
        # A form with line breaks reaches the masker line by line: each line long enough is
        # hidden whole; shorter ones (a lone "}") are left, as redactor's min_length says.
        text = f"step:\n{form}\nend"
        expected = [
            _expected_line(line, redactor.min_length) for line in re.split(r"\r\n|\r|\n", text)
        ]
        assert _blankless(runner.step(text.encode("utf-8"))) == _blankless(expected), form


def _blankless(lines: list[str]) -> list[str]:
    return [re.sub(r"\s+", "", line) for line in lines]


FIXED = [
    'Tr0ub4dor&3"horse',
    "ghp_demoT0ken1234567890abcdefXYZ",
    "p%0Ass;w]o'rd<&>",
    'line one of it\n  {\n  "k": "v-value"\n}\n',
    "mot-de-passe-é€😀",
]


@pytest.mark.parametrize("value", FIXED)
def test_every_form_is_hidden_by_the_github_runner(value: str) -> None:
    _check_every_form_hidden(value, GitHubRunner, github_commands, github_derived)


@pytest.mark.parametrize("value", FIXED)
def test_every_form_is_hidden_by_the_azure_agent(value: str) -> None:
    _check_every_form_hidden(value, AzureAgent, azure_commands, azure_derived)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SECRETS.filter(lambda s: len(s.strip()) >= 6))
def test_property_no_form_survives_the_github_runner(value: str) -> None:
    _check_every_form_hidden(value, GitHubRunner, github_commands, github_derived)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SECRETS.filter(lambda s: len(s.strip()) >= 6))
def test_property_no_form_survives_the_azure_agent(value: str) -> None:
    _check_every_form_hidden(value, AzureAgent, azure_commands, azure_derived)


def test_text_without_secrets_is_unchanged() -> None:
    redactor = Redactor()
    values = masker_values(
        [redactor.forms('Tr0ub4dor&3"horse')], github_derived, min_length=6, by_line=True
    )
    runner = GitHubRunner()
    runner.step(github_commands(values))
    log = '2026-11-28 INFO loaded 48213 rows; user=etl_service {"ok": true}\n  }\n'
    assert runner.step(log.encode()) == log.splitlines()


# -- which values ---------------------------------------------------------------------------


def test_a_multi_line_value_is_sent_line_by_line_without_short_lines() -> None:
    redactor = Redactor()
    value = '{\n  "user": "etl_service",\n  "password": "Tr0ub4dor&3"\n}\n'
    values = masker_values(
        [redactor.forms(value)], github_derived, min_length=redactor.min_length, by_line=True
    )
    assert not [v for v in values if "\n" in v or "\r" in v]
    assert '"password": "Tr0ub4dor&3"' in values
    assert "{" not in values and "}" not in values  # the runner would mask every brace
    # Buildkite masks the stream, not lines: there the whole value goes as it is.
    whole = masker_values(
        [redactor.forms(value)], buildkite_derived, min_length=redactor.min_length, by_line=False
    )
    assert value in whole


def test_values_are_sent_once_shortest_first_without_what_the_runner_derives() -> None:
    redactor = Redactor()
    token = "ghp_demoT0ken1234567890abcdefXYZ"
    values = masker_values(
        [redactor.forms(token), redactor.forms(token)], github_derived, min_length=6, by_line=True
    )
    assert values[0] == token
    assert len(values) == len(set(values))
    assert "Z2hwX2RlbW9UMGtlbjEyMzQ1Njc4OTBhYmNkZWZYWVo=" not in values  # the runner's base64
    assert "Z2hwX2RlbW9UMGtlbjEyMzQ1Njc4OTBhYmNkZWZYWVo" in values  # unpadded: the engine's
    assert values == sorted(values, key=lambda v: (len(v), v))


def test_forms_registers_nothing_and_follows_the_redactors_refusals() -> None:
    redactor = Redactor(allow=["not-a-secret"], allow_names=["PUBLIC"])
    assert redactor.forms("short") == set()
    assert redactor.forms("not-a-secret") == set()
    assert redactor.forms("a-real-secret", "PUBLIC") == set()
    assert "a-real-secret" in redactor.forms("a-real-secret", "DB")
    # a structured value: its parts' forms too (here the URL's password)
    assert "pa55w0rd-x" in redactor.forms("postgres://app:pa55w0rd-x@db.example.com/prod")
    assert len(redactor) == 0


@pytest.mark.parametrize(
    ("environ", "found"),
    [
        ({}, []),
        ({"GITHUB_ACTIONS": "true"}, ["github"]),
        ({"TF_BUILD": "True"}, ["azure"]),
        ({"BUILDKITE": "true"}, ["buildkite"]),
        ({"GITLAB_CI": "true"}, ["gitlab"]),
        ({"GITHUB_ACTIONS": "false", "CI": "true"}, []),
        ({"GITHUB_ACTIONS": "true", "BUILDKITE": "true"}, ["github", "buildkite"]),
    ],
)
def test_detect_ci_from_the_environment(environ: dict[str, str], found: list[str]) -> None:
    assert detect_ci(environ) == found
