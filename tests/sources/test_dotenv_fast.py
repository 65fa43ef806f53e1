"""A plain secrets file (NAME=value lines, nothing to unquote or strip) is split without
python-dotenv's line-by-line parser, for start-up at 10,000 secrets; what it binds must be
exactly what python-dotenv binds, for any file (the parser itself is the oracle here)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from dotenv.parser import parse_stream
from hypothesis import given, settings
from hypothesis import strategies as st

from redactor.sources.dotenv import _PLAIN_FILE, dotenv_bindings


def python_dotenv(text: str) -> list[tuple[str, str]] | None:
    """python-dotenv's bindings, or None when a line does not parse (an error either way)."""
    out = []
    for binding in parse_stream(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n"))):
        if binding.error or (binding.key is not None and binding.value is None):
            return None
        if binding.key is not None and binding.value is not None:
            out.append((binding.key, binding.value))
    return out


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
# plain characters, and each that python-dotenv treats specially somewhere in a value
values = st.text(
    st.one_of(
        st.sampled_from("aZ09-_./+=:@%,é€"),
        st.sampled_from(" \t'\"#$\\\x0b\x0c\x1c\x85\u2028"),
        st.characters(codec="utf-8", exclude_characters="\r\n"),
    ),
    max_size=12,
)
lines = st.one_of(
    st.tuples(names, values).map("=".join),
    st.tuples(names, values).map(lambda nv: f"{nv[0]}='{nv[1]}'"),  # quoted: the quotes go
    st.tuples(names, values).map(lambda nv: f'{nv[0]}="{nv[1]}"'),
    st.sampled_from(["", "# note"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=6), st.booleans())
def test_the_fast_split_binds_what_python_dotenv_binds(body, final_newline) -> None:
    text = "\n".join(body) + ("\n" if final_newline and body else "")
    want = python_dotenv(text)
    fast = _PLAIN_FILE.fullmatch(text if not text or text.endswith("\n") else text + "\n")
    if fast:
        assert want is not None
    if want is not None:
        assert _bindings_of(text) == want


def _bindings_of(text: str) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "secrets.env"
        file.write_text(text, encoding="utf-8", newline="")
        return dotenv_bindings(file)


@pytest.mark.parametrize(
    ("line", "first"),
    [
        ("SECRET_{i:04d}=tok-{i}_x.y+z/{i}==\n", ("SECRET_0000", "tok-0_x.y+z/0==")),
        ("S{i:05d}='tok {i}#x$y'\n", ("S00000", "tok 0#x$y")),  # quoted: kept as they are
        ('D{i:05d}="v=$HOME {i}"\n', ("D00000", "v=$HOME 0")),
    ],
    ids=["plain", "single-quoted", "double-quoted"],
)
def test_an_export_takes_the_fast_split(tmp_path: Path, line: str, first) -> None:
    file = tmp_path / "secrets.env"
    text = "".join(line.format(i=i) for i in range(100))
    file.write_text(text)
    assert _PLAIN_FILE.fullmatch(text)
    assert dotenv_bindings(file) == python_dotenv(text)
    assert dotenv_bindings(file)[0] == first
