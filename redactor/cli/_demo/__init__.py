"""The steps of ``redactor demo``, one module each, run in order on the embedded default.

A step is a module with ``TITLE`` and ``run(ctx: DemoContext) -> None``; it prints what it shows
through ``ctx`` and raises ``DemoFailure`` if what it demonstrates did not happen, so that the demo
doubles as a smoke test on a fresh machine.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TextIO

from redactor.errors import CommandError

# Module names under redactor.cli._demo, in the order they run.
STEPS = ["engine", "scopes", "references", "hooks", "notebook", "ci", "discovery", "detection"]


class DemoFailure(CommandError):
    """What a step demonstrates did not happen."""


@dataclass
class DemoContext:
    workdir: Path
    out: TextIO = field(default_factory=lambda: sys.stdout)

    def fixture(self, name: str) -> Path:
        """Path of a file shipped in ``fixtures/`` (``redactor.fixtures`` when installed)."""
        return Path(str(resources.files("redactor.fixtures").joinpath(name)))

    def heading(self, text: str) -> None:
        print(f"\n== {text} ==", file=self.out)

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise DemoFailure(what)
        print(f"  ok: {what}", file=self.out)


def run_all(out: TextIO | None = None, steps: list[str] | None = None) -> int:
    failures = 0
    with tempfile.TemporaryDirectory(prefix="redactor-demo-") as tmp:
        ctx = DemoContext(Path(tmp), out or sys.stdout)
        for name in steps or STEPS:
            module = importlib.import_module(f"redactor.cli._demo.{name}")
            ctx.heading(module.TITLE)
            try:
                module.run(ctx)
            except DemoFailure as exc:
                failures += 1
                print(f"  FAILED: {exc}", file=ctx.out)
    ctx.say()
    ctx.say(
        "demo finished: " + ("all steps passed" if not failures else f"{failures} step(s) failed")
    )
    return 1 if failures else 0
