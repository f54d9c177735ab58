"""What stack.toml says of each workload of the manifests, and which image package it runs."""

from __future__ import annotations

from dataclasses import dataclass

from tests.k8s.manifests import ROOT, Container
from topology import Stack

# The workspace members an image can be built for (docker/python-service.Dockerfile PACKAGE).
PACKAGES = frozenset(
    {path.parent.name for path in ROOT.glob("services/*/pyproject.toml")} | {"workers"}
)


@dataclass(frozen=True)
class Role:
    database: bool
    redis: bool
    calls: tuple[str, ...] = ()
    app: str | None = None  # the app factory an HTTP service's pods serve


def role(stack: Stack, workload: str) -> Role | None:
    """A service's pods, its migration or seed Job, or a worker's pods; None otherwise."""
    for service in stack.services:
        if workload == service.name:
            return Role(service.database, service.redis, service.calls, service.app)
        if workload in (f"migrate-{service.name}", f"seed-{service.name}"):
            return Role(service.database, redis=False)
    for worker in stack.workers:
        if workload == worker.name:
            return Role(worker.database is not None, worker.redis, worker.calls)
    return None


def package(container: Container) -> str | None:
    """The workspace member a Mercato Python image was built for, from its name."""
    name = container.image_name.removeprefix("mercato-")
    return name if container.image_name.startswith("mercato-") and name in PACKAGES else None
