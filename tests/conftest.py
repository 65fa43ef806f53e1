"""Fixtures shared across test modules."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import redactor
from redactor import Redactor, hyperscan_available

# Every engine the suite runs against; the fast one only where it is installed (`redactor[fast]`).
ENGINE_PARAMS = [
    pytest.param("ahocorasick", id="ahocorasick"),
    pytest.param(
        "hyperscan",
        id="hyperscan",
        marks=pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed"),
    ),
]


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def each_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a whole module once per engine: ``Redactor()`` reads REDACTOR_ENGINE when built.

    Module-scoped (not monkeypatch) so that hypothesis tests may use it."""
    previous = os.environ.get("REDACTOR_ENGINE")
    os.environ["REDACTOR_ENGINE"] = request.param
    try:
        yield request.param
    finally:
        if previous is None:
            os.environ.pop("REDACTOR_ENGINE", None)
        else:
            os.environ["REDACTOR_ENGINE"] = previous


@pytest.fixture
def fresh_redactor() -> Iterator[Redactor]:
    """An empty process-wide redactor for one test; the previous one comes back afterwards."""
    r = Redactor()
    previous = redactor.set_redactor(r)
    try:
        yield r
    finally:
        redactor.set_redactor(previous)  # type: ignore[arg-type]
