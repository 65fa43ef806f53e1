"""The manual in docs/: every page is in mkdocs.yml's navigation and every page it names exists,
the README's links into docs/ lead to pages (and headings) that exist, the Quick start is written
once (docs/ includes the README's block), and the benchmark chart's writer draws valid SVG with
one line per series.

No MkDocs here: the `test` extra does not need it (CI builds the manual with `mkdocs build
--strict` from the `docs` extra, which checks the links between pages)."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SVG = "{http://www.w3.org/2000/svg}"


def _chart_module():
    spec = importlib.util.spec_from_file_location("bench_chart", ROOT / "benchmarks" / "chart.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    raise AssertionError(f"unexpected nav entry {node!r}")


def _slug(heading: str) -> str:
    """Python-Markdown's default toc slug: markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]", "", heading).strip().lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[-\s]+", "-", text).strip("-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def test_every_docs_page_is_in_the_nav_and_every_nav_page_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = _nav_pages(config["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    assert config["theme"]["name"] == "material"


def test_readme_links_into_docs_lead_to_pages_and_headings_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]+)(?:#([^)\s]+))?\)", readme)
    assert len(links) >= 15, "the README links to the manual's pages"
    linked = set()
    for target, anchor in links:
        page = ROOT / target
        assert page.is_file(), f"README links to {target}, which does not exist"
        if anchor:
            assert anchor in _anchors(page), f"README links to {target}#{anchor}: no such heading"
        linked.add(page.relative_to(DOCS).as_posix())
    every_page = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert every_page <= linked, f"pages the README does not link: {every_page - linked}"


def test_docs_include_the_readme_quick_start_instead_of_a_copy() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- --8<-- [start:quick-start] -->", "<!-- --8<-- [end:quick-start] -->"
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split(start, 1)[1].split(end, 1)[0]
    assert block.count("```") == 2 and "redactor demo" in block and "-m pytest" in block
    getting_started = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert '--8<-- "README.md:quick-start"' in getting_started
    assert "pip install" not in getting_started.split("## Installing", 1)[0]


def test_benchmark_page_shows_the_committed_chart() -> None:
    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    assert "](img/throughput.svg)" in page
    root = ET.parse(DOCS / "img" / "throughput.svg").getroot()
    assert root.tag == f"{SVG}svg"
    names = [p.get("data-series") for p in root.iter(f"{SVG}polyline")]
    assert "redactor, reference engine (pyahocorasick)" in names
    assert "grep -F -o -f" in names


def test_chart_writer_draws_one_line_per_series(tmp_path: Path) -> None:
    chart = _chart_module()
    series = {
        "reference <engine> & co": [(10, 50.7), (1000, 22.5), (10_000, 20.6)],
        "fast engine": [(10, 900.0), (1000, 650.0), (10_000, 380.0)],
        "regex alternation": [(10, 19.2), (1000, 0.04), (10_000, 0.004)],
        "grep (not run at 10)": [(10, None), (1000, 42.3), (10_000, 14.8)],
    }
    path = chart.write_chart(
        tmp_path / "img" / "chart.svg", series, title="T & t", x_label="secrets", y_label="MB/s"
    )
    root = ET.parse(path).getroot()  # well-formed XML, names with < and & escaped
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "T & t"
    lines = list(root.iter(f"{SVG}polyline"))
    assert [line.get("data-series") for line in lines] == list(series)
    assert [len(line.get("points").split()) for line in lines] == [3, 3, 3, 2]
    legend = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for name in series:
        assert name in legend
    # Log-scale x: 10 -> 1,000 -> 10,000 are two decades then one, so the steps are 2:1.
    xs = [float(p.split(",")[0]) for p in lines[0].get("points").split()]
    assert xs[1] - xs[0] == pytest.approx(2 * (xs[2] - xs[1]), abs=0.2)
    # Log-scale y: the regex line falls 2.7 decades then 1; SVG's y grows downwards.
    ys = [float(p.split(",")[1]) for p in lines[2].get("points").split()]
    assert ys[0] < ys[1] < ys[2]
    decades = (math.log10(19.2) - math.log10(0.04)) / (math.log10(0.04) - math.log10(0.004))
    assert (ys[1] - ys[0]) / (ys[2] - ys[1]) == pytest.approx(decades, rel=0.01)
    # Decade ticks label the axes.
    labels = {t.text for t in root.iter(f"{SVG}text")}
    assert {"10", "100", "1,000", "10,000", "0.001", "1"} <= labels


def test_chart_writer_leaves_out_series_with_nothing_to_draw(tmp_path: Path) -> None:
    chart = _chart_module()
    svg = chart.svg_chart(
        {"measured": [(10, 5.0), (100, 4.0)], "not installed": [(10, None), (100, 0)]},
        title="t",
        x_label="x",
        y_label="y",
    )
    lines = list(ET.fromstring(svg).iter(f"{SVG}polyline"))
    assert [line.get("data-series") for line in lines] == ["measured"]
    with pytest.raises(ValueError, match="nothing to draw"):
        chart.svg_chart({"empty": [(10, None)]}, title="t", x_label="x", y_label="y")


def test_bar_writer_draws_one_bar_per_measured_value(tmp_path: Path) -> None:
    chart = _chart_module()
    rows = [
        ("kernel <html> & co", {"before": 0.77, "after": 1.02}),
        ("first byte", {"before": 0.09, "after": None}),
        ("pipe rate", {"before": 0.95, "after": 1.4}),
    ]
    path = chart.write_bars(tmp_path / "bars.svg", rows, title="Goals", x_label="share of goal")
    root = ET.parse(path).getroot()  # well-formed XML, names with < and & escaped
    bars = [
        (r.get("data-row"), r.get("data-series"), float(r.get("data-value")))
        for r in root.iter(f"{SVG}rect")
        if r.get("data-row")
    ]
    assert bars == [
        ("kernel <html> & co", "before", 0.77),
        ("kernel <html> & co", "after", 1.02),
        ("first byte", "before", 0.09),
        ("pipe rate", "before", 0.95),
        ("pipe rate", "after", 1.4),
    ]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "after: not measured" in texts and "kernel <html> & co" in texts
    # Log-scale: a bar's length from the axis origin (0.01 here) is its decades above it.
    rects = {
        (r.get("data-row"), r.get("data-series")): r
        for r in root.iter(f"{SVG}rect")
        if r.get("data-row")
    }
    width = {key: float(r.get("width")) for key, r in rects.items()}
    ratio = width[("pipe rate", "after")] / width[("first byte", "before")]
    assert ratio == pytest.approx((math.log10(1.4) + 2) / (math.log10(0.09) + 2), rel=0.01)
    # The dashed goal line at 1.0 falls between the pipe's bars, 0.95 and 1.4.
    reference = next(r for r in root.iter(f"{SVG}line") if r.get("class") == "reference")
    ends = {
        name: float(r.get("x")) + w
        for (row, name), r in rects.items()
        if row == "pipe rate"
        for w in [width[(row, name)]]
    }
    assert ends["before"] < float(reference.get("x1")) < ends["after"]


def test_round_two_chart_is_drawn_from_its_figures(tmp_path: Path) -> None:
    """docs/img/round-two.svg is what benchmarks/round_two.py draws from round_two.json, and the
    benchmark page shows it: the chart cannot drift from the recorded figures."""
    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    assert "](img/round-two.svg)" in page
    spec = importlib.util.spec_from_file_location(
        "bench_round_two", ROOT / "benchmarks" / "round_two.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    module.CHART = tmp_path / "round-two.svg"
    assert module.main() == 0
    committed = (DOCS / "img" / "round-two.svg").read_text(encoding="utf-8")
    assert module.CHART.read_text(encoding="utf-8") == committed
    rows = json.loads((ROOT / "benchmarks" / "round_two.json").read_text(encoding="utf-8"))["rows"]
    bars = [r for r in ET.parse(module.CHART).getroot().iter(f"{SVG}rect") if r.get("data-row")]
    # every row of the table measured before and after each of the first three parts;
    # the later parts measured the filter's rows, and part seven added the 1 GB rows (parts six
    # and seven only)
    early = ("before", "part_one", "after", "part_three")
    table = [row for row in rows if not row["label"].startswith("filter 1 GB")]
    assert len(table) == 11 and all(name in row for row in table for name in early)
    assert all(name not in row for row in rows if row not in table for name in early)
    drawn = sum(1 for row in rows for name in module._NAMES if row.get(name))
    later = sum(1 for row in rows for name in module._NAMES if name not in early and name in row)
    assert len(bars) == drawn == 4 * len(table) + later
