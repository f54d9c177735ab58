"""No module on the default path imports a library's private module or private name.

Code that reaches into a library's internals belongs in an opt-in package of its own
(`packages/`), pinned and tested against the versions it supports. This check reads every
Python file of the services, the worker and the shared library (`src` only, not tests) and
reports an import of another project's module with a private segment
(`from purgatory.service._async.circuitbreaker import ...`) or of a private name
(`from x import _y`). The only exception is OpenTelemetry's logs signal, which is published
under such names (`test_otel_public_api.ALLOWED_PRIVATE_MODULES`, reviewed there).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.static.test_otel_public_api import ALLOWED_PRIVATE_MODULES, is_private

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = (ROOT / "shared" / "src", *sorted((ROOT / "services").glob("*/src")))
SOURCE_ROOTS += (ROOT / "workers" / "src",)
#: The repository's own top-level packages: their private names are their own business.
FIRST_PARTY = frozenset(
    path.name for root in SOURCE_ROOTS for path in root.iterdir() if (path / "__init__.py").exists()
)


def _private_module(module: str) -> bool:
    return module not in ALLOWED_PRIVATE_MODULES and any(
        is_private(part) for part in module.split(".")
    )


def private_imports(source: str) -> list[str]:
    """Each import in `source` of another project's private module or name."""
    findings = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            if module.split(".")[0] in FIRST_PARTY:
                continue
            if _private_module(module):
                findings.append(f"{node.lineno}: {module}")
            findings += [f"{node.lineno}: {module}.{name}" for name in names if is_private(name)]
    return findings


def python_files() -> Iterator[Path]:
    for root in SOURCE_ROOTS:
        yield from sorted(path for path in root.rglob("*.py") if "__pycache__" not in path.parts)


def test_the_default_path_imports_no_private_part_of_a_library() -> None:
    findings = {
        str(path.relative_to(ROOT)): found
        for path in python_files()
        if (found := private_imports(path.read_text(encoding="utf-8")))
    }
    assert findings == {}


def test_the_checked_sources_include_every_service() -> None:
    assert {"mercato_shared", "catalog", "checkout", "workers"} <= FIRST_PARTY


@pytest.mark.parametrize(
    "added",
    [
        "from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker\n",
        "import sqlalchemy.orm._orm_constructors\n",
        "from redis.asyncio.client import _RedisT\n",
    ],
    ids=["private module", "import of a private module", "private name"],
)
def test_a_copy_with_one_private_import_fails(added: str) -> None:
    path = ROOT / "shared/src/mercato_shared/resilience/breakers.py"
    source = path.read_text(encoding="utf-8")
    assert private_imports(source) == []
    assert private_imports(source + "\n" + added) != []
