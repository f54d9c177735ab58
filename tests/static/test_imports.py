"""Code that is not a test never imports the test suites (`tests`, the root `conftest`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Everything that runs outside pytest: the libraries, services, workers and the tooling.
NON_TEST_ROOTS = (
    "shared/src",
    "services/*/src",
    "workers/src",
    "native",
    "topology",
    "bench",
    "devtools",
)
TEST_PACKAGES = {"tests", "conftest"}


def _non_test_modules() -> Iterator[Path]:
    for pattern in NON_TEST_ROOTS:
        for root in ROOT.glob(pattern):
            yield from (path for path in root.rglob("*.py") if "tests" not in path.parts)


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _strings_naming_tests(path: Path) -> bool:
    """`python -m tests....` in a subprocess argv is an import too."""
    return any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("tests.")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    )


def test_no_non_test_module_imports_the_tests() -> None:
    modules = list(_non_test_modules())
    assert len(modules) > 50, "the walk found too few modules: are the roots right?"
    offenders = {
        str(path.relative_to(ROOT))
        for path in modules
        if _imported(path) & TEST_PACKAGES or _strings_naming_tests(path)
    }

    assert offenders == set()
