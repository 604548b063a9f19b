"""The product's shape: imports go one way (no cycles between modules), and modules stay small."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = (
    "schemas",
    "features",
    "models",
    "policy",
    "store",
    "pipeline",
    "streams",
    "agents",
    "web",
)
MAX_MODULE_LINES = 450


def product_modules() -> dict[str, Path]:
    """Every module of the product packages, by dotted name (a package's ``__init__`` by its own)."""
    modules: dict[str, Path] = {}
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imported(tree: ast.AST, modules: Mapping[str, Path]) -> Iterator[str]:
    """The product modules a module imports, at module level or inside functions.

    ``from package import name`` counts as importing ``package.name`` when that is a module.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in modules:
                yield node.module
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in modules:
                    yield submodule


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    return {
        name: set(imported(ast.parse(path.read_text(encoding="utf-8")), modules)) - {name}
        for name, path in modules.items()
    }


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted.

    >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    >>> cycles({"a": {"b"}, "b": set()})
    []
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


class TestImports:
    def test_the_graph_sees_the_packages_imports(self) -> None:
        """The graph is not empty by mistake: the conductor imports the stores and the adapters."""
        graph = import_graph()
        assert {"store.commit", "streams.records"} <= graph["pipeline.coordinator"]

    def test_no_two_product_modules_import_each_other_even_indirectly(self) -> None:
        """Every import cycle among product modules, module-level or inside a function, is listed."""
        assert cycles(import_graph()) == []


class TestModuleSize:
    def test_no_product_module_is_over_the_line_limit(self) -> None:
        """A module over 450 lines holds more than one concept: split it."""
        modules = product_modules()
        sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules.items()}
        assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}
