"""CI commands the GitHub runner honours, as `redactor filter` and `redactor run` honour them:
``::add-mask::`` after colour codes, and the legacy ``##[add-mask]`` form anywhere in a line
(``ActionCommand.TryParse``: ``##[`` found with IndexOf, name up to a space or ``]``, its five
escapes undone in the runner's order)."""

from __future__ import annotations

import os
import subprocess

import pytest
from helpers.chunks import split_at as split
from helpers.cli import REDACTOR, TIMEOUT, py, read_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor
from redactor.sinks.ci import MaskingFilter

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

R = b"[REDACTED]"
VALUE = b"runtime-value-77"


def masked(data: bytes, chunks: list[bytes] | None = None) -> bytes:
    filt = MaskingFilter(Redactor())
    return b"".join(filt.feed(c) for c in (chunks or [data])) + filt.flush()


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


CASES = {
    # a colour for the whole line, as some tools print every line
    b"\x1b[36m::add-mask::runtime-value-77\x1b[0m\nsee runtime-value-77\n": (
        b"\x1b[36m::add-mask::[REDACTED]\x1b[0m\nsee [REDACTED]\n"
    ),
    # blanks and several sequences mixed, an OSC title, tput's sgr0
    b" \x1b[1m\t\x1b]0;job\x07\x1b(B\x1b[m ::ADD-MASK k=v::runtime-value-77\nruntime-value-77\n": (
        b" \x1b[1m\t\x1b]0;job\x07\x1b(B\x1b[m ::ADD-MASK k=v::[REDACTED]\n[REDACTED]\n"
    ),
    # the legacy form at the start of a line, and after other text (the runner looks anywhere)
    b"##[add-mask]runtime-value-77\nruntime-value-77\n": b"##[add-mask][REDACTED]\n[REDACTED]\n",
    b"note: ##[add-mask]runtime-value-77\r\nruntime-value-77\n": (
        b"note: ##[add-mask][REDACTED]\r\n[REDACTED]\n"
    ),
    # properties after a space, case-insensitive name, the legacy escapes (%3B ; %5D ])
    b"##[group]Run\n##[Add-Mask issecret=true]val%3Bue-%5D-77\nval;ue-]-77 val%3Bue-%5D-77\n": (
        b"##[group]Run\n##[Add-Mask issecret=true][REDACTED]\n[REDACTED] [REDACTED]\n"
    ),
    # not commands: another name, a colour inside the token, "::add-mask::" mid-line
    b"##[add-masks]runtime-value-77\n\x1b[1m::add\x1b[0m-mask::runtime-value-77\n": (
        b"##[add-masks]runtime-value-77\n\x1b[1m::add\x1b[0m-mask::runtime-value-77\n"
    ),
    b"x ::add-mask::runtime-value-77\nruntime-value-77\n": (
        b"x ::add-mask::runtime-value-77\nruntime-value-77\n"
    ),
}


@pytest.mark.parametrize("data", list(CASES))
def test_exact_outputs_for_any_chunking(data: bytes) -> None:
    expected = CASES[data]
    assert masked(data) == expected
    assert masked(data, bytewise(data)) == expected


def test_legacy_unescape_is_the_runners_order() -> None:
    from redactor.sinks.ci import unescape_legacy_data

    assert unescape_legacy_data(b"a%3Bb%0Dc%0Ad%5De%25f") == b"a;b\rc\nd]e%f"
    # %25 last: an escaped escape stays one
    assert unescape_legacy_data(b"%253B") == b"%3B"


def test_empty_legacy_value_is_ignored_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="empty ::add-mask:: value #1"):
        assert masked(b"##[add-mask]   \nx\n") == b"##[add-mask]   \nx\n"


prefix = st.lists(
    st.sampled_from([" ", "\t", "\x1b[36m", "\x1b[1;31m", "\x1b(B", "\x1b]0;t\x07"]), max_size=4
).map("".join)
values = st.text(
    st.characters(codec="utf-8", categories=("L", "N"), include_characters="-_;]%"),
    min_size=8,
    max_size=30,
)
noise = st.text("ab #[]:\n\x1b;m1\x07\\", max_size=20)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix,
    values,
    noise,
    st.booleans(),
    st.booleans(),
    st.lists(st.integers(0, 10_000), max_size=8),
)
def test_property_value_masked_after_any_prefix_in_any_chunking(
    lead, value, text, legacy, same_line, cuts
) -> None:
    v = value.encode()
    escaped = v.replace(b"%", b"%25").replace(b";", b"%3B").replace(b"]", b"%5D")
    command = b"##[add-mask]" + escaped if legacy else b"::add-mask::" + v.replace(b"%", b"%25")
    # the legacy form may follow other text on its line (the runner looks for "##[" anywhere)
    sep = b"" if legacy and same_line else b"\n"
    data = text.encode() + sep + lead.encode() + command + b"\nafter " + v + b"\n"
    whole = masked(data)
    assert whole == masked(data, split(data, cuts))
    assert whole.endswith(b"\nafter " + R + b"\n")
    shown = b"##[add-mask]" if legacy else b"::add-mask::"
    assert whole.endswith(shown + R + b"\nafter " + R + b"\n")


# -- the real processes -------------------------------------------------------------------------


def test_redactor_filter_process() -> None:
    data = (
        b"\x1b[36m::add-mask::runtime-value-77\x1b[0m\n"
        b"\x1b[32mok runtime-value-77\x1b[0m\n"
        b"step ##[add-mask]second-value-88\n"
        b"second-value-88 and runtime-value-77\n"
    )
    result = subprocess.run(
        [*REDACTOR, "filter", "--no-config", "--add-mask-only"],
        input=data,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        b"\x1b[36m::add-mask::[REDACTED]\x1b[0m\n"
        b"\x1b[32mok [REDACTED]\x1b[0m\n"
        b"step ##[add-mask][REDACTED]\n"
        b"[REDACTED] and [REDACTED]\n"
    )
    assert b"runtime-value" not in result.stderr and b"second-value" not in result.stderr


def test_redactor_run_process_colours_every_line() -> None:
    # A tool that colours every line it prints, on both streams; the value announced on stdout
    # is masked on stderr too (once the test has seen the echo), also when colours split it.
    code = """
        import sys
        def say(line, f=sys.stdout):
            print("\\x1b[36m" + line + "\\x1b[0m", file=f, flush=True)
        say("::add-mask::runtime-value-77")
        say("##[add-mask]second-value-88")
        sys.stdin.readline()
        say("stdout runtime-value-77 second-\\x1b[1mvalue-88")
        say("stderr runtime-\\x1b[31mvalue-77", sys.stderr)
    """
    env = {**os.environ, "APP_TOKEN": "configured-secret-1"}
    proc = subprocess.Popen(
        [*REDACTOR, "run", "--no-config", "--secret-env", "APP_TOKEN", "--", *py(code)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    echo = b"\x1b[36m::add-mask::[REDACTED]\x1b[0m\n\x1b[36m##[add-mask][REDACTED]\x1b[0m\n"
    assert read_until(proc.stdout.fileno(), echo) == echo
    proc.stdin.write(b"go\n")
    proc.stdin.close()
    assert proc.wait(timeout=TIMEOUT) == 0
    assert proc.stdout.read() == b"\x1b[36mstdout [REDACTED] [REDACTED]\x1b[0m\n"
    assert proc.stderr.read() == b"\x1b[36mstderr [REDACTED]\x1b[0m\n"
    proc.stdout.close()
    proc.stderr.close()
