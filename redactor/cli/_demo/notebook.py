"""Demo step (placeholder until its issue lands)."""

from __future__ import annotations

from . import DemoContext, DemoFailure

TITLE = "Notebooks: a leaky notebook scrubbed"


def run(ctx: DemoContext) -> None:
    raise DemoFailure("not built yet")
