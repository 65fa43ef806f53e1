"""The import graph keeps the data path's layers: sources -> engine -> sinks -> CLI.

Every module of ``redactor/`` and ``ipython_extension/`` (installed as
``redactor.ipython_extension``) is parsed with :mod:`ast`, never imported, and checked for:

(a) no import cycle among project modules, imports inside functions included;
(b) the engine (``redactor/engine/``) imports nothing above it;
(c) no module imports another area's underscore names (or private modules);
(d) no import of a project module inside a function;
(e) no module that ``redactor``'s CLI or core API loads imports an optional library (the Jupyter
    stack, structlog, Spark, Arrow, Hyperscan, zstandard, the Azure SDK, hvac) at module level.

Imports under ``if TYPE_CHECKING:`` never run, so they count only for (b). Imports made with
``importlib`` (the CLI's verb table, ``redactor.__getattr__``) are not seen.

The ``KNOWN`` lists are empty and should stay so: they exist for a change that cannot fix every
violation at once (a listed violation that no longer occurs fails the test too, so they only
shrink). ``LAZY_BY_DESIGN`` names the imports kept inside functions on purpose, each with the
start-up time it saves; they still count for cycles.
"""

from __future__ import annotations

import ast
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# package name -> folder (as pyproject's package-dir maps them)
PACKAGES = {"redactor": ROOT / "redactor", "redactor.ipython_extension": ROOT / "ipython_extension"}

AREAS = ("engine", "sources", "sinks", "cli", "ipython_extension")
# The top-level modules that re-export an area's names under a documented path.
SHIMS = {
    "redactor.logging": "sinks",
    "redactor.structlog": "sinks",
    "redactor.nbconvert": "sinks",
    "redactor.jupyter": "sinks",
    "redactor.spark": "sinks",
    "redactor.secrets": "sources",
    "redactor.__main__": "cli",
}
# What the engine may not import: every area above it, and the package root (which wires them).
ABOVE_ENGINE = ("sources", "sinks", "cli", "ipython_extension", "root", "config")

OPTIONAL = (
    "IPython",
    "ipykernel",
    "nbformat",
    "nbconvert",
    "traitlets",
    "jupyter_server",
    "jupyter_client",
    "structlog",
    "pyspark",
    "pyarrow",
    "hyperscan",
    "zstandard",
    "azure",
    "hvac",
    "databricks",
)
# What a plain `pip install redactor` must be able to load without any optional library: the
# CLI (its main module loads every verb's module to build the parser) and the core Python API.
CORE_ROOTS = (
    "redactor",
    "redactor.__main__",
    "redactor.cli.main",
    "redactor.cli.commands.*",
    "redactor.sinks.stdio",
    "redactor.sinks.logging",
    "redactor.logging",
    "redactor.sources.scopes",
    "redactor.secrets",
)

# -- known violations, outside the scopes/channel/default files (exact; empty after the merge) --

# Each entry is (importing module, imported module) or, for private names, (importing module,
# "module.name"); grouped by the part of issue 13 that changes the file.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()
KNOWN_ENGINE_IMPORTS: set[tuple[str, str]] = set()
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str]] = set()
KNOWN_FUNCTION_LEVEL: set[tuple[str, str]] = set()
# Imports inside functions on purpose, each with what it saves (they still count for cycles).
LAZY_BY_DESIGN: dict[tuple[str, str], str] = {
    ("redactor.sources.load", "redactor.sources.scopes"): (
        "the local store's cryptography and SQLite: 25 ms of every command's start-up, "
        "needed only when a scope is configured"
    ),
    ("redactor.sources.references", "redactor.sources.scopes"): (
        "the same 25 ms for `redactor run`, needed only when its environment holds a "
        "{{secrets/...}} reference"
    ),
}
KNOWN_OPTIONAL_AT_MODULE_LEVEL: set[tuple[str, str]] = set()


# -- the graph ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the project module imported (a submodule when `from pkg import submodule`)
    name: str | None  # the name taken from it (`from target import name`), None for the module
    line: int
    in_function: bool
    type_only: bool  # under `if TYPE_CHECKING:`

    @property
    def where(self) -> str:
        return f"{self.module}:{self.line}"


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([package, *parts])] = path
    return out


MODULES = _modules()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    node: ast.AST, in_function: bool = False, type_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement under ``node``, with whether it runs inside a function and
    whether it sits under ``if TYPE_CHECKING:`` (never run)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node, in_function, type_only
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        in_function = True
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            yield from _imports(child, in_function, True)
        for child in node.orelse:
            yield from _imports(child, in_function, type_only)
        return
    for child in ast.iter_child_nodes(node):
        yield from _imports(child, in_function, type_only)


def _project_module(name: str) -> str | None:
    """The longest prefix of ``name`` that is a project module."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _parse(
    module: str, source: str | None = None
) -> tuple[list[Import], list[tuple[str, int, bool, bool]]]:
    """The project imports of ``module`` and its third-party ones (top name, line, flags)."""
    if source is None:
        source = MODULES[module].read_text(encoding="utf-8")
    tree = ast.parse(source, str(MODULES[module]))
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: list[Import] = []
    external: list[tuple[str, int, bool, bool]] = []
    for node, in_function, type_only in _imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _project_module(alias.name)
                if target is None:
                    external.append((alias.name.split(".")[0], node.lineno, in_function, type_only))
                else:
                    found.append(Import(module, target, None, node.lineno, in_function, type_only))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            target = _project_module(source)
            if target is None:
                top = source.split(".")[0]
                if top != "__future__":
                    external.append((top, node.lineno, in_function, type_only))
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if source == target and sub in MODULES:
                    found.append(Import(module, sub, None, node.lineno, in_function, type_only))
                else:
                    found.append(
                        Import(module, target, alias.name, node.lineno, in_function, type_only)
                    )
    return found, external


PARSED = {module: _parse(module) for module in MODULES}
IMPORTS = [imp for found, _ in PARSED.values() for imp in found]


def area(module: str) -> str:
    if module in SHIMS or any(module.startswith(s + ".") for s in SHIMS):
        return next(a for s, a in SHIMS.items() if module == s or module.startswith(s + "."))
    if module == "redactor":
        return "root"
    if module.startswith("redactor.ipython_extension"):
        return "ipython_extension"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in AREAS else parts[-1]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


# -- the checks ---------------------------------------------------------------------------------


def _groups(edges: set[tuple[str, str]]) -> list[set[str]]:
    """The strongly connected groups of modules that hold a cycle (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # the graph has ~80 nodes: recursion depth is no concern
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def _cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    cycles = []
    for group in _groups(edges):
        start = min(group)
        # breadth-first from start back to start, inside the group
        paths = {start: [start]}
        queue = [start]
        found = None
        while queue and found is None:
            v = queue.pop(0)
            for w in sorted(graph.get(v, ())):
                if w == start:
                    found = paths[v] + [start]
                    break
                if w in group and w not in paths:
                    paths[w] = paths[v] + [w]
                    queue.append(w)
        cycles.append(found or [start, start])
    return cycles


def _edge_lines(a: str, b: str) -> str:
    lines = [
        f"{imp.line}{' (in a function)' if imp.in_function else ''}"
        for imp in IMPORTS
        if imp.module == a and imp.target == b and not imp.type_only
    ]
    return f"{a} -> {b} (line {', '.join(lines)})"


def import_edges() -> set[tuple[str, str]]:
    return {(i.module, i.target) for i in IMPORTS if not i.type_only and i.module != i.target}


def cycle_edges() -> set[tuple[str, str]]:
    """The edges that lie on some cycle."""
    edges = import_edges()
    groups = _groups(edges)
    return {(a, b) for a, b in edges if any(a in g and b in g for g in groups)}


def engine_violations() -> set[tuple[str, str]]:
    return {
        (imp.module, imp.target)
        for imp in IMPORTS
        if area(imp.module) == "engine" and area(imp.target) in ABOVE_ENGINE
    }


def private_violations() -> set[tuple[str, str]]:
    """(importing module, 'target' or 'target.name') for another area's private names."""
    out = set()
    for imp in IMPORTS:
        if area(imp.module) == area(imp.target) or imp.type_only:
            continue
        private_module = any(_private(p) for p in imp.target.split("."))
        if private_module or (imp.name is not None and _private(imp.name)):
            out.add((imp.module, imp.target if imp.name is None else f"{imp.target}.{imp.name}"))
    return out


def function_level_violations() -> set[tuple[str, str]]:
    return {
        (imp.module, imp.target)
        for imp in IMPORTS
        if imp.in_function and (imp.module, imp.target) not in LAZY_BY_DESIGN
    }


def core_modules() -> set[str]:
    """What the CLI and the core API load: module-level imports from CORE_ROOTS, with the
    parent packages every import runs first."""
    todo = []
    for root in CORE_ROOTS:
        if root.endswith(".*"):
            todo += [m for m in MODULES if m.startswith(root[:-1]) and m != root[:-2]]
        elif root in MODULES:
            todo.append(root)
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [
            ".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in MODULES
        ]
        todo += [
            imp.target for imp in PARSED[module][0] if not imp.in_function and not imp.type_only
        ]
    return seen


def optional_violations() -> set[tuple[str, str]]:
    return {
        (module, top)
        for module in core_modules()
        for top, _line, in_function, type_only in PARSED[module][1]
        if top in OPTIONAL and not in_function and not type_only
    }


def _report(title: str, found: set[tuple[str, str]], known: set[tuple[str, str]], how: str) -> str:
    new = sorted(found - known)
    return f"{title} ({how}):\n" + "\n".join(f"  {a} -> {b}" for a, b in new)


# -- the tests ----------------------------------------------------------------------------------


def test_the_checker_reads_imports_as_python_runs_them() -> None:
    assert {"redactor", "redactor.engine.redactor", "redactor.ipython_extension"} <= set(MODULES)
    source = """
from __future__ import annotations
from typing import TYPE_CHECKING
import os, IPython.display
from . import _kernel
from .. import get_redactor
from ..engine import default, redactor as engine_redactor
from ..sinks.stdio import _FdPump
import redactor.engine.stream as stream
if TYPE_CHECKING:
    from redactor.sources import channel
class Magics:
    def method(self):
        import structlog
        from redactor.sources.scopes import dbutils
"""
    found, external = _parse("redactor.ipython_extension.magics", source)
    rows = [(i.target, i.name, i.line, i.in_function, i.type_only) for i in found]
    m = "redactor.ipython_extension"
    assert rows == [
        (f"{m}._kernel", None, 5, False, False),
        ("redactor", "get_redactor", 6, False, False),
        ("redactor.engine.default", None, 7, False, False),
        ("redactor.engine.redactor", None, 7, False, False),
        ("redactor.sinks.stdio", "_FdPump", 8, False, False),
        ("redactor.engine.stream", None, 9, False, False),
        ("redactor.sources.channel", None, 11, False, True),
        ("redactor.sources.scopes.dbutils", None, 15, True, False),
    ]
    assert [e for e in external if e[0] != "typing"] == [
        ("os", 4, False, False),
        ("IPython", 4, False, False),
        ("structlog", 14, True, False),
    ]
    assert area("redactor.ipython_extension._kernel") == "ipython_extension"
    assert area("redactor.secrets.azure") == "sources"
    assert area("redactor.sinks.stdio") == "sinks"


def test_no_import_cycles() -> None:
    cycles = _cycles(import_edges() - KNOWN_CYCLE_EDGES)
    message = "\n".join(
        "  "
        + " -> ".join(cycle)
        + "\n"
        + "\n".join(f"      {_edge_lines(a, b)}" for a, b in itertools.pairwise(cycle))
        for cycle in cycles
    )
    assert not cycles, (
        "import cycles among project modules (imports inside functions count: they only hide "
        "the cycle until the function runs); break each by moving the shared part down, or by "
        "having the lower module offer a hook the upper one registers:\n" + message
    )


def test_the_engine_imports_nothing_above_it() -> None:
    found = engine_violations()
    assert found <= KNOWN_ENGINE_IMPORTS, _report(
        "redactor/engine/ imports modules above it",
        found,
        KNOWN_ENGINE_IMPORTS,
        f"it may import only the engine, redactor.errors and libraries, not {ABOVE_ENGINE}",
    )


def test_no_area_imports_another_areas_private_names() -> None:
    found = private_violations()
    assert found <= KNOWN_PRIVATE_IMPORTS, _report(
        "imports of another area's underscore names or private modules",
        found,
        KNOWN_PRIVATE_IMPORTS,
        f"areas: {', '.join(AREAS)}; make the name public (no underscore, in __all__)",
    )


def test_no_project_imports_inside_functions() -> None:
    found = function_level_violations()
    assert found <= KNOWN_FUNCTION_LEVEL, _report(
        "imports of project modules inside functions",
        found,
        KNOWN_FUNCTION_LEVEL,
        "move them to the top of the module; if that makes a cycle, fix the cycle",
    )


def test_core_modules_load_no_optional_library() -> None:
    found = optional_violations()
    assert found <= KNOWN_OPTIONAL_AT_MODULE_LEVEL, _report(
        "optional libraries imported at module level by what `redactor filter` and the core "
        "API load",
        found,
        KNOWN_OPTIONAL_AT_MODULE_LEVEL,
        "import them inside the function that needs them, or under TYPE_CHECKING",
    )


def test_every_package_is_installed() -> None:
    """pyproject lists the packages by hand (the folders map to other names): a new subpackage
    missing there imports from the source tree but not from an installed wheel."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    packages = {m for m in MODULES if _is_package(m)}
    assert packages - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.parametrize(
    ("known", "found"),
    [
        pytest.param(lambda: KNOWN_CYCLE_EDGES, cycle_edges, id="cycle edges"),
        pytest.param(lambda: KNOWN_ENGINE_IMPORTS, engine_violations, id="engine"),
        pytest.param(lambda: KNOWN_PRIVATE_IMPORTS, private_violations, id="private names"),
        pytest.param(lambda: KNOWN_FUNCTION_LEVEL, function_level_violations, id="in functions"),
        pytest.param(
            lambda: KNOWN_OPTIONAL_AT_MODULE_LEVEL, optional_violations, id="optional libraries"
        ),
    ],
)
def test_known_violations_still_occur(known, found) -> None:
    gone = sorted(known() - found())
    assert not gone, "fixed: remove these from the KNOWN lists in tests/test_layout.py:\n" + (
        "\n".join(f"  {a} -> {b}" for a, b in gone)
    )
