"""A real local store in a test's own home, filled with the given secrets: the starting point of
the tests that resolve ``{{secrets/scope/key}}`` references (in Python, in ``redactor run``, in
Spark properties)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from redactor.sources.scopes import LocalStore


def filled_store(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets: Mapping[str, str | bytes],
    scope: str = "kv-scope",
) -> LocalStore:
    """A store at ``tmp_path/home`` (made the default through ``REDACTOR_HOME``) holding
    ``secrets`` in ``scope``, with every other ``REDACTOR_`` setting of the outer environment
    cleared (``REDACTOR_DISCOVER`` stays: conftest turns discovery off for the suite)."""
    for name in list(os.environ):
        if name.startswith("REDACTOR_") and name != "REDACTOR_DISCOVER":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("REDACTOR_HOME", str(home))
    store = LocalStore(home)
    store.create_scope(scope)
    for key, value in secrets.items():
        store.put_secret(scope, key, value)
    return store
