"""Demo step (placeholder until its issue lands)."""

from __future__ import annotations

from . import DemoContext, DemoFailure

TITLE = "Scopes: a local encrypted scope and dbutils.secrets.get"


def run(ctx: DemoContext) -> None:
    raise DemoFailure("not built yet")
