"""Who may import whom: the service boundaries, checked by walking the source's AST.

Rules (docs/decisions/0015-import-boundaries-checked.md):

* a service's `src` imports no other service's package: it reaches other services over
  HTTP. The one exception is the report worker (`workers`), which shares `reports`'
  models and queue names: they are one service in two kinds of process;
* the shared library (the platform) imports no service, no worker and not the shop's
  package (`mercato_shop`, the facts of this shop: a fork for another business replaces it);
* code that is not a test never imports from `tests` (or a `conftest`), whether by an
  `import` statement, `importlib.import_module("...")` or `python -m ...` in an argument list;
* a service's tests (`services/*/tests`) import neither another service nor the repository's
  `tests`: they stand alone on the shared library and its pytest plugin
  (docs/decisions/0025-service-tests-stand-alone.md).

Every Python file under `services/*/src`, `workers/src`, `shared/src`, `native/`, `bench/` and
`topology/` is read; nothing is imported or executed.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# A package that may import another service's package: the importer and what it may import.
ALLOWED: dict[str, frozenset[str]] = {"workers": frozenset({"reports"})}
SHARED = "mercato_shared"
SHOP = "mercato_shop"
TOOL_DIRS = ("native", "bench", "topology", "devtools", "chaos")
TEST_ROOTS = frozenset({"tests", "conftest"})


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    module: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} ({self.rule})"


def service_packages(root: Path) -> dict[Path, str]:
    """Each service's (and the workers') source directory and its package name."""
    packages = {
        package.parent: package.parent.name
        for package in sorted(root.glob("services/*/src/*/__init__.py"))
    }
    packages.update(
        {package.parent: package.parent.name for package in root.glob("workers/src/*/__init__.py")}
    )
    return packages


def scanned_files(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Every checked file with the service package it belongs to (None: shared or a tool)."""
    for directory, package in service_packages(root).items():
        for path in sorted(directory.rglob("*.py")):
            yield path, package
    for directory in [root / "shared" / "src", *(root / name for name in TOOL_DIRS)]:
        for path in sorted(directory.rglob("*.py")):
            if not _is_test_file(path.relative_to(root)):
                yield path, None


def service_test_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every Python file of each service's tests, with the service's package name."""
    for directory, package in service_packages(root).items():
        tests = directory.parent.parent / "tests"
        if directory.parts[-4] == "services" and tests.is_dir():
            for path in sorted(tests.rglob("*.py")):
                yield path, package


def check_service_tests(root: Path) -> list[Violation]:
    services = set(service_packages(root).values())
    violations: list[Violation] = []
    for path, package in service_test_files(root):
        relative = path.relative_to(root).as_posix()
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in TEST_ROOTS:
                rule = f"{package}'s tests import the repository's tests"
                violations.append(Violation(relative, line, module, rule))
            elif top in services - {package}:
                rule = f"{package}'s tests import another service's package"
                violations.append(Violation(relative, line, module, rule))
    return violations


def check(root: Path) -> list[Violation]:
    services = set(service_packages(root).values())
    violations = check_service_tests(root)
    for path, package in scanned_files(root):
        relative = path.relative_to(root).as_posix()
        shared = relative.startswith("shared/")
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in TEST_ROOTS:
                violations.append(Violation(relative, line, module, "non-test code imports tests"))
            elif package is not None and top in services - {package} - ALLOWED.get(package, set()):
                rule = f"{package} imports another service's package"
                violations.append(Violation(relative, line, module, rule))
            elif shared and top in services:
                violations.append(Violation(relative, line, module, "shared imports a service"))
            elif shared and top == SHOP:
                rule = "the platform imports the shop"
                violations.append(Violation(relative, line, module, rule))
    return sorted(violations)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Absolute modules a file imports, with their line: statements, `importlib`, `-m`."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module is not None:  # relative imports stay inside
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and _is_import_call(node) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value
        elif isinstance(node, ast.List | ast.Tuple):
            yield from _module_arguments(node.elts)


def _is_import_call(node: ast.Call) -> bool:
    name = node.func.attr if isinstance(node.func, ast.Attribute) else None
    name = node.func.id if isinstance(node.func, ast.Name) else name
    return name in {"import_module", "__import__", "run_module"}


def _module_arguments(elements: list[ast.expr]) -> Iterator[tuple[int, str]]:
    """`[..., "-m", "package.module", ...]`: a module a subprocess runs."""
    for flag, value in itertools.pairwise(elements):
        if (
            isinstance(flag, ast.Constant)
            and flag.value == "-m"
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            yield value.lineno, value.value


def _is_test_file(relative: Path) -> bool:
    return "tests" in relative.parts or relative.name == "conftest.py"
