"""`redactor detectors`: the token shapes the other commands hide without being told the value.

One line per detector (the built-in catalog, then the user's own from ``[tool.redactor]``): its
kind, whether it is in the default set or opt-in, whether these settings turn it on, the longest
text it can match and where its format is documented. Never an example of a real value: the
listing is meant to be pasted in a bug report or a review.
"""

from __future__ import annotations

import argparse

from redactor.cli.options import add_detect_arguments
from redactor.config import settings_from_args
from redactor.engine.tokens import detector_names, get_detector

__all__ = ["add_parser", "run"]

HEADER = ("kind", "set", "on", "max length", "source")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "detectors",
        help="list the token shapes hidden without registration (GitHub, AWS, ...)",
        description="List every token detector: its kind, whether it is in the default set or "
        "opt-in, whether these settings turn it on, the longest match and where its format "
        "is documented (never an example value). --detect/--no-detect and [tool.redactor] "
        "detect choose which are on.",
    )
    add_detect_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = settings_from_args(args)
    on = {d.kind for d in cfg.enabled_detectors()}
    rows = []
    for detector in [get_detector(k) for k in detector_names()] + list(cfg.detectors):
        yours = detector in cfg.detectors
        group = ("default" if detector.default else "opt-in") + (" (yours)" if yours else "")
        source = detector.source or (str(cfg.pyproject) if yours and cfg.pyproject else "-")
        yes = "on" if detector.kind in on else "off"
        rows.append((detector.kind, group, yes, str(detector.max_length), source))
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER) - 1)]
    for row in [HEADER, *rows]:
        cells = [c.ljust(w) if i != 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join([*cells, row[-1]]))
    print(f"{len(on)} of {len(rows)} on ({_why(cfg.detect)})")
    return 0


def _why(detect: bool | tuple[str, ...]) -> str:
    if detect is True:
        return "detect = true: the default set and your own"
    if detect is False:
        return "detect = false"
    return "detect = " + ", ".join(detect)
