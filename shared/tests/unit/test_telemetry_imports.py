"""The telemetry modules import each other without a circle (read from their source).

Every import counts, at module level or inside a function: a function-level import only
hides a circle until the function runs. The package itself (`__init__`) is a node too, so a
submodule importing from the package would show as the circle it is.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import mercato_shared.telemetry

PACKAGE = "mercato_shared.telemetry"
DIRECTORY = Path(mercato_shared.telemetry.__file__).parent


def module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def imported(tree: ast.Module, modules: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found & modules


def import_graph() -> dict[str, set[str]]:
    paths = sorted(DIRECTORY.glob("*.py"))
    modules = {module_name(path) for path in paths}
    return {
        module_name(path): imported(ast.parse(path.read_text(encoding="utf-8")), modules)
        - {module_name(path)}
        for path in paths
    }


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import circle of `graph` (a path that returns to its start), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def test_the_telemetry_modules_import_without_a_circle() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.setup" in graph[f"{PACKAGE}"]  # the graph sees the imports
    assert f"{PACKAGE}.celery" in graph[f"{PACKAGE}.setup"]  # function-level ones too
    assert find_cycle(graph) is None


def test_a_circle_is_found() -> None:
    graph = {"setup": {"celery"}, "celery": {"server"}, "server": {"setup"}, "spans": set()}
    assert find_cycle(graph) == ["celery", "server", "setup", "celery"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
