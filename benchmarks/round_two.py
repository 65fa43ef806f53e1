"""The chart of issue 20's goals, before and after: every row of its table as a share of its goal.

    python benchmarks/round_two.py      # draws docs/img/round-two.svg from benchmarks/round_two.json

The rows mix units (a time ratio, seconds, MB/s ratios, MB), so each figure is drawn as the share
of its goal it reaches: ``goal / measured`` where lower is better (overheads, seconds, memory) and
``measured / goal`` where higher is better (rates). 1.0 is the goal; past it, met. The figures
themselves come from the benchmark scripts named in ``round_two.json`` (each row says which, and
the load it ran under); they are copied there by hand from those runs, not measured here, so that
the chart can be redrawn without re-running an hour of benchmarks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from chart import write_bars  # noqa: E402

DATA = HERE / "round_two.json"
# The series: the start (a843e2d), the end of its first part (e902c8f), the plan
# (fd165cd), the kernel's leaf check with the filter re-measured on another day, a large file
# waiting for Hyperscan, a file read ahead with smaller databases for a batch (parts four and
# five), main before part seven re-measured as its baseline (part six) and a file written behind
# the pump (part seven): from part four on, the filter's rows only; a row without a figure has
# no bar.
_NAMES = {
    "before": "before",
    "part_one": "part one",
    "after": "after",
    "part_three": "part three",
    "part_four": "part four",
    "part_five": "part five",
    "part_six": "part six",
    "part_seven": "part seven",
}
CHART = HERE.parent / "docs" / "img" / "round-two.svg"


def share(row: dict, when: str) -> float | None:
    """How much of its goal a row's figure reaches (1.0: met), or None when it was not measured."""
    value = row.get(when)
    if value is None or value <= 0:
        return None
    goal = float(row["goal"])
    return goal / value if row["better"] == "lower" else value / goal


def main() -> int:
    rows = json.loads(DATA.read_text(encoding="utf-8"))["rows"]
    bars = [(row["label"], {_NAMES[w]: share(row, w) for w in _NAMES}) for row in rows]
    write_bars(
        CHART,
        bars,
        title="Performance, round two: each goal of issue 20, before, after parts one to seven",
        x_label="share of the goal reached (1 = met; log scale)",
    )
    for row, (_, values) in zip(rows, bars):
        figures = "  ".join(f"{w} {v:.2f}" if v else f"{w} -" for w, v in values.items())
        print(f"{row['label']:<48} {figures}")
    print(f"wrote {CHART}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
