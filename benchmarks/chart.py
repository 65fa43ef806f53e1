"""A line chart written as SVG by hand, for the benchmark page (docs/benchmarks.md).

Hand-written so that the benchmarks and their test need no plotting library: the chart is a few
dozen elements (axes, decade ticks, one ``<polyline>`` per series, a legend). Both axes are
logarithmic, since the figures span decades: secrets from 10 to 10,000, throughput from a regex
alternation's 0.004 MB/s to a raw Hyperscan scan's 4,000 MB/s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

__all__ = ["svg_bars", "svg_chart", "write_bars", "write_chart"]

# Colour-blind-safe palette (Okabe-Ito), then dashes so that a printed copy still tells lines apart.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("", "6 3", "2 3", "8 3 2 3")


def _decades(lo: float, hi: float) -> tuple[int, int]:
    """The powers of ten that enclose [lo, hi]."""
    low, high = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    return low, high if high > low else low + 1


def _label(exponent: int) -> str:
    value = 10.0**exponent
    if exponent >= 0:
        return f"{int(value):,}"
    return f"{value:.{-exponent}f}"


def _head(width: int, height: int, title: str, centre: float) -> list[str]:
    """The opening of a chart: the svg element, its title, a white ground, the title centred."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{centre:.1f}" y="22" text-anchor="middle" font-size="14" '
        f'font-weight="bold">{escape(title)}</text>',
    ]


def _x_decades(px, lo: int, hi: int, top: float, bottom: float) -> tuple[list[str], list[str]]:
    """Vertical grid lines and labels at each power of ten of a logarithmic x axis."""
    grid = ['<g class="grid" stroke="#dddddd" stroke-width="1">']
    ticks = ['<g class="ticks" fill="#333333">']
    for e in range(lo, hi + 1):
        x = px(10.0**e)
        grid.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}"/>')
        ticks.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{_label(e)}</text>')
    return grid, ticks


def svg_chart(
    series: Mapping[str, Sequence[tuple[float, float | None]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 760,
    height: int = 460,
) -> str:
    """The SVG text of a log-log line chart: one ``<polyline>`` per series, in the given order.

    Points whose value is missing or not positive (a baseline that was not run) are left out of
    their line; a series with no point left is left out of the chart and its legend.
    """
    lines = {
        name: [(float(x), float(y)) for x, y in points if y is not None and x > 0 and y > 0]
        for name, points in series.items()
    }
    lines = {name: pts for name, pts in lines.items() if pts}
    if not lines:
        raise ValueError("nothing to draw: no series has a positive point")
    xs = [x for pts in lines.values() for x, _ in pts]
    ys = [y for pts in lines.values() for _, y in pts]
    x_lo, x_hi = _decades(min(xs), max(xs))
    y_lo, y_hi = _decades(min(ys), max(ys))
    # The legend's width follows its longest name (about 6.6 px a character at 12 px sans-serif).
    legend_w = 80 + round(6.6 * max(len(name) for name in lines))
    width = max(width, 560 + legend_w)
    left, right, top, bottom = 80, width - legend_w, 40, height - 60

    def px(x: float) -> float:
        return left + (math.log10(x) - x_lo) / (x_hi - x_lo) * (right - left)

    def py(y: float) -> float:
        return bottom - (math.log10(y) - y_lo) / (y_hi - y_lo) * (bottom - top)

    out = _head(width, height, title, (left + right) / 2)
    grid, ticks = _x_decades(px, x_lo, x_hi, top, bottom)
    for e in range(y_lo, y_hi + 1):
        y = py(10.0**e)
        grid.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>')
        ticks.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{_label(e)}</text>')
    out += [*grid, "</g>", *ticks, "</g>"]
    out += [
        f'<g class="axes" stroke="#333333" stroke-width="1.5">'
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/></g>',
        f'<text x="{(left + right) / 2:.1f}" y="{height - 18}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text x="20" y="{(top + bottom) / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 20 {(top + bottom) / 2:.1f})">{escape(y_label)}</text>',
    ]
    legend = ['<g class="legend">']
    for i, (name, pts) in enumerate(lines.items()):
        colour, dash = COLOURS[i % len(COLOURS)], DASHES[(i // len(COLOURS)) % len(DASHES)]
        if not dash and i >= len(COLOURS):
            dash = "4 2"
        style = f'stroke="{colour}" stroke-width="2" fill="none"'
        if dash:
            style += f' stroke-dasharray="{dash}"'
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts))
        out.append(
            f'<g class="series"><polyline data-series={quoteattr(name)} points="{coords}" {style}/>'
        )
        out += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in pts
        ]
        out.append("</g>")
        ly = top + 10 + i * 20
        legend.append(
            f'<line x1="{right + 20}" y1="{ly}" x2="{right + 50}" y2="{ly}" {style}/>'
            f'<text x="{right + 56}" y="{ly + 4}">{escape(name)}</text>'
        )
    out += [*legend, "</g>", "</svg>"]
    return "\n".join(out) + "\n"


def write_chart(
    path: Path,
    series: Mapping[str, Sequence[tuple[float, float | None]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
) -> Path:
    """Write :func:`svg_chart` to ``path`` (parent folders created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    svg = svg_chart(series, title=title, x_label=x_label, y_label=y_label)
    path.write_text(svg, encoding="utf-8")
    return path


def svg_bars(
    rows: Sequence[tuple[str, Mapping[str, float | None]]],
    *,
    title: str,
    x_label: str,
    reference: float = 1.0,
    width: int = 860,
) -> str:
    """The SVG text of a horizontal grouped bar chart on a logarithmic axis: one group per row,
    one ``<rect>`` per value in the row's order (the same names in every row, e.g. "before" and
    "after"), and a dashed vertical line at ``reference`` (e.g. 1.0: the goal is met).

    For figures that are ratios to a goal, whose distance from it spans decades; a missing or
    non-positive value draws no bar, and its label says "not measured".
    """
    names: list[str] = []
    for _, values in rows:
        names += [n for n in values if n not in names]
    if not rows or not names:
        raise ValueError("nothing to draw: no rows")
    positive = [v for _, values in rows for v in values.values() if v is not None and v > 0]
    if not positive:
        raise ValueError("nothing to draw: no row has a positive value")
    lo, hi = _decades(min([*positive, reference]), max([*positive, reference]))
    label_w = 40 + round(6.6 * max(len(label) for label, _ in rows))
    bar_h, gap = 14, 12
    group_h = bar_h * len(names) + gap
    top = 60
    bottom = top + group_h * len(rows)
    height = bottom + 70
    left, right = label_w, width - 90

    def px(x: float) -> float:
        return left + (math.log10(x) - lo) / (hi - lo) * (right - left)

    out = _head(width, height, title, width / 2)
    grid, ticks = _x_decades(px, lo, hi, top, bottom)
    out += [*grid, "</g>", *ticks, "</g>"]
    base = px(10.0**lo)
    for r, (label, values) in enumerate(rows):
        y0 = top + r * group_h + gap / 2
        out.append(
            f'<text x="{left - 8}" y="{y0 + bar_h * len(names) / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        for i, name in enumerate(names):
            y = y0 + i * bar_h
            value = values.get(name)
            if value is None or value <= 0:
                out.append(
                    f'<text x="{base + 4:.1f}" y="{y + bar_h - 3:.1f}" fill="#777777">'
                    f"{escape(name)}: not measured</text>"
                )
                continue
            colour = COLOURS[i % len(COLOURS)]
            out.append(
                f"<rect data-row={quoteattr(label)} data-series={quoteattr(name)} "
                f'data-value="{value:g}" x="{base:.1f}" y="{y:.1f}" '
                f'width="{max(px(value) - base, 1.0):.1f}" height="{bar_h - 2}" fill="{colour}"/>'
            )
            out.append(
                f'<text x="{max(px(value), base) + 4:.1f}" y="{y + bar_h - 3:.1f}">{value:.2g}</text>'
            )
    ref = px(reference)
    out += [
        f'<line class="reference" x1="{ref:.1f}" y1="{top - 6}" x2="{ref:.1f}" y2="{bottom}" '
        'stroke="#000000" stroke-width="1.5" stroke-dasharray="6 3"/>',
        f'<g class="axes" stroke="#333333" stroke-width="1.5">'
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/></g>',
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 40}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
    ]
    # The legend in a line above the bars, each entry as wide as its name (about 6.6 px a
    # character), from the bars' left edge or as far left as it takes to fit the width.
    steps = [20 + round(6.6 * len(name)) + 18 for name in names]
    lx = max(10, min(left, width - 10 - sum(steps)))
    legend = ['<g class="legend">']
    for i, (name, step) in enumerate(zip(names, steps)):
        legend.append(
            f'<rect x="{lx}" y="36" width="14" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
            f'<text x="{lx + 20}" y="45">{escape(name)}</text>'
        )
        lx += step
    out += [*legend, "</g>", "</svg>"]
    return "\n".join(out) + "\n"


def write_bars(
    path: Path,
    rows: Sequence[tuple[str, Mapping[str, float | None]]],
    *,
    title: str,
    x_label: str,
    reference: float = 1.0,
) -> Path:
    """Write :func:`svg_bars` to ``path`` (parent folders created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        svg_bars(rows, title=title, x_label=x_label, reference=reference), encoding="utf-8"
    )
    return path
