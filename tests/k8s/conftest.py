"""The overlays rendered once per session, and what their processes read and serve."""

from __future__ import annotations

from typing import Any

import pytest

import topology
from tests.k8s.environment import introspect
from tests.k8s.manifests import Rendered, copy_tree, render
from topology import Stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    return topology.load()


@pytest.fixture(scope="session")
def overlays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """dev, prod, and prod with the optional KEDA component (as the README adds it)."""
    tree = copy_tree(tmp_path_factory.mktemp("k8s"))
    keda = copy_tree(tmp_path_factory.mktemp("k8s-keda"), "keda")
    return {
        "dev": render(tree, "dev"),
        "prod": render(tree, "prod"),
        "prod+keda": render(keda, "prod"),
    }


@pytest.fixture(scope="session")
def dev(overlays: dict[str, Rendered]) -> Rendered:
    return overlays["dev"]


@pytest.fixture(scope="session")
def prod(overlays: dict[str, Rendered]) -> Rendered:
    return overlays["prod"]


@pytest.fixture(scope="session")
def prod_keda(overlays: dict[str, Rendered]) -> Rendered:
    return overlays["prod+keda"]


@pytest.fixture(scope="session")
def facts(
    overlays: dict[str, Rendered], stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    cwd = tmp_path_factory.mktemp("introspect")
    return {name: introspect(rendered, stack, cwd) for name, rendered in overlays.items()}
