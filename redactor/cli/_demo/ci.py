"""Demo step (placeholder until its issue lands)."""

from __future__ import annotations

from . import DemoContext, DemoFailure

TITLE = "CI: a log piped through redactor filter"


def run(ctx: DemoContext) -> None:
    raise DemoFailure("not built yet")
