"""The README's Quick start is exactly two commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Quick start has one code block"
    return [line for line in blocks[0].splitlines() if line.strip() and not line.startswith("#")]


def test_quick_start_has_exactly_two_commands() -> None:
    demo, tests = quick_start_commands()
    assert demo.endswith("redactor demo")
    assert "pip install" in demo and "[test]" not in demo
    assert "'.[test]'" in tests and tests.endswith("-m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    _, tests = quick_start_commands()
    assert tests in ci.splitlines()
