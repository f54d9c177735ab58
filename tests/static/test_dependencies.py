"""What a process uses is what `stack.toml` declares: no use undeclared, no declaration unused.

A service's source (its own package, the rendered `stack.py` aside) uses Postgres when it
imports SQLAlchemy or takes the engine, sessions or autocommit view; Redis when it takes the
Redis client or reads `redis_url` (Celery's broker); another service when it reads that
service's URL setting (`<name>_url`), which is how every internal client finds its target.
The workers' package runs as every `[workers.*]` entry, so it is held to their union.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import topology

REPO = Path(__file__).resolve().parents[2]
STACK = topology.load()
NAMES = {service.name for service in STACK.services}

DATABASE = {"sqlalchemy", "engine", "sessions", "writes", "SessionDep", "SessionsDep", "WritesDep"}
REDIS = {"redis", "Redis", "RedisDep", "require_redis", "redis_url"}


@dataclass(frozen=True, slots=True)
class Uses:
    database: bool
    redis: bool
    calls: frozenset[str]


def words(tree: ast.AST) -> set[str]:
    """Every name, attribute, parameter and imported module (first part) in `tree`."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
            found.update(alias.name for alias in node.names)
    return found


def uses(package: Path) -> Uses:
    found: set[str] = set()
    for source in package.rglob("*.py"):
        if source.name != "stack.py":
            found |= words(ast.parse(source.read_text(), str(source)))
    return Uses(
        database=bool(found & DATABASE),
        redis=bool(found & REDIS),
        calls=frozenset(name for name in NAMES if f"{name}_url" in found),
    )


# Each package and what it declares; the workers' package is held to its entries' union.
DECLARED = {
    f"services/{s.name}/src/{s.name}": Uses(s.database, s.redis, frozenset(s.calls))
    for s in STACK.services
} | {
    "workers/src/workers": Uses(
        database=any(worker.database for worker in STACK.workers),
        redis=any(worker.redis for worker in STACK.workers),
        calls=frozenset(name for worker in STACK.workers for name in worker.calls),
    )
}


@pytest.mark.parametrize("package", DECLARED)
def test_a_package_uses_what_it_declares(package: str) -> None:
    assert uses(REPO / package) == DECLARED[package]


@pytest.mark.parametrize("service", STACK.services, ids=lambda service: service.name)
def test_a_service_factory_opens_what_it_declares(service: topology.Service) -> None:
    """`create_app` requires a declaration; each service passes its rendered one."""
    main = (REPO / "services" / service.name / "src" / service.name / "main.py").read_text()
    assert f"from {service.name}.stack import DEPENDENCIES" in main
    assert "dependencies=DEPENDENCIES," in main


def test_the_scan_sees_each_kind_of_use(tmp_path: Path) -> None:
    (tmp_path / "repository.py").write_text("from sqlalchemy import select\n")
    (tmp_path / "cache.py").write_text("def f(resources):\n    return resources.require_redis()\n")
    (tmp_path / "config.py").write_text("class S:\n    catalog_url: str = ''\n")
    assert uses(tmp_path) == Uses(database=True, redis=True, calls=frozenset({"catalog"}))
    assert uses(tmp_path / "empty") == Uses(database=False, redis=False, calls=frozenset())
