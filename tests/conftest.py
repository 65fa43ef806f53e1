"""Fixtures shared across test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import redactor
from redactor import Redactor


@pytest.fixture
def fresh_redactor() -> Iterator[Redactor]:
    """An empty process-wide redactor for one test; the previous one comes back afterwards."""
    r = Redactor()
    previous = redactor.set_redactor(r)
    try:
        yield r
    finally:
        redactor.set_redactor(previous)  # type: ignore[arg-type]
