"""Rendered overlays, shared by the Kubernetes tests (each rendered once per session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import topology
from tests.k8s.environment import introspect, introspection_requests
from tests.k8s.manifests import Rendered, copy_tree, render
from topology import Stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    return topology.load()


@pytest.fixture(scope="session")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the manifests, with the secrets files a user would write."""
    return copy_tree(tmp_path_factory.mktemp("k8s"))


@pytest.fixture(scope="session")
def dev(tree: Path) -> Rendered:
    return render(tree, "dev")


@pytest.fixture(scope="session")
def prod(tree: Path) -> Rendered:
    return render(tree, "prod")


@pytest.fixture(scope="session")
def prod_keda(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """prod with the optional KEDA component added, as the README says."""
    return render(copy_tree(tmp_path_factory.mktemp("k8s-keda"), "keda"), "prod")


@pytest.fixture(scope="session")
def overlays(dev: Rendered, prod: Rendered, prod_keda: Rendered) -> dict[str, Rendered]:
    return {"dev": dev, "prod": prod, "prod+keda": prod_keda}


@pytest.fixture(scope="session")
def facts(
    overlays: dict[str, Rendered], stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """What each overlay's processes read and serve (tests.k8s.introspect), per overlay."""
    cwd = tmp_path_factory.mktemp("introspect")
    return {
        name: introspect(introspection_requests(rendered, stack), cwd)
        for name, rendered in overlays.items()
    }
