"""Cutting an input into chunks at hypothesis-drawn points, for the any-chunking properties."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

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
