"""Cutting an input into chunks at hypothesis-drawn points, for the any-chunking properties."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from hypothesis import strategies as st

from redactor import Redactor
from redactor.engine.encodings import SecretValue, forms_of

T = TypeVar("T", str, bytes)


def split_at(data: T, cuts: Iterable[int]) -> list[T]:
    """``data`` cut at each point (taken modulo its length + 1); empty pieces included."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


# -- texts made of secrets' forms and noise, for the "same output whatever the engine does" tests --

#: Characters of a secret: any UTF-8 letter, digit, punctuation or symbol, and the ones encodings
#: escape (quotes, backslash, newline, %, &, <).
SECRET_CHARS = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), include_characters="\"'\\\n%&<"
)
#: One to three secrets of 6 to 18 characters (at least 6 once stripped: the engine's minimum).
SECRET_LISTS = st.lists(
    st.text(SECRET_CHARS, min_size=6, max_size=18).filter(lambda s: len(s.strip()) >= 6),
    min_size=1,
    max_size=3,
)
#: A text's parts: noise (quotes, non-ASCII, an ANSI reset) or an index into the secrets' forms.
TEXT_PARTS = st.lists(
    st.one_of(st.text(st.sampled_from("ab =\n\"'é€😀\x1b[0m"), max_size=10), st.integers(0, 99)),
    min_size=1,
    max_size=8,
)
#: Where to cut the text into a stream's pieces (see split_at).
CUTS = st.lists(st.integers(0, 400), min_size=2, max_size=10)


def assemble(parts: Iterable[str | int], forms: list[str]) -> str:
    """The text of TEXT_PARTS: noise as it is, an index as that form (modulo their number)."""
    return "".join(p if isinstance(p, str) else forms[p % len(forms)] for p in parts)


def register(secrets: Iterable[str | bytes], *redactors: Redactor) -> list[str]:
    """Each secret added to every redactor as ``s0``, ``s1``, ...; returns their text forms in
    the first redactor's encodings (each secret's sorted), for :func:`assemble`."""
    forms: list[str] = []
    for i, value in enumerate(secrets):
        for redactor in redactors:
            redactor.add(value, f"s{i}")
        forms += sorted(forms_of(SecretValue.of(value), redactors[0]._encodings))
    return forms
