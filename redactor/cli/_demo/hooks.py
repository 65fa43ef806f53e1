"""Demo step (placeholder until its issue lands)."""

from __future__ import annotations

from . import DemoContext, DemoFailure

TITLE = "Live hooks: print, logging and structlog after redactor.install()"


def run(ctx: DemoContext) -> None:
    raise DemoFailure("not built yet")
