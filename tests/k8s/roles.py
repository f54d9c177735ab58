"""What each workload of the manifests is in stack.toml, and which image package it runs."""

from __future__ import annotations

from dataclasses import dataclass

from tests.k8s.manifests import ROOT, Container
from topology import Service, Stack, Worker

# The workspace members an image can be built for (docker/python-service.Dockerfile PACKAGE).
PACKAGES = frozenset(
    {path.parent.name for path in ROOT.glob("services/*/pyproject.toml")} | {"workers"}
)


# Components of the pods that run Mercato's Python code (and export telemetry).
PYTHON_COMPONENTS = frozenset({"http-service", "worker", "scheduler", "migration", "seed"})


@dataclass(frozen=True)
class Role:
    """What stack.toml says a workload of the manifests is."""

    service: Service | None = None
    worker: Worker | None = None
    job: str | None = None  # "migrate" or "seed", of `service`

    @property
    def database(self) -> bool:
        if self.job is not None:
            return True
        if self.worker is not None:
            return self.worker.database is not None
        return self.service is not None and self.service.database

    @property
    def redis(self) -> bool:
        if self.job is not None:
            return False
        if self.worker is not None:
            return self.worker.redis
        return self.service is not None and self.service.redis

    @property
    def calls(self) -> tuple[str, ...]:
        if self.job is not None:
            return ()
        if self.worker is not None:
            return self.worker.calls
        return () if self.service is None else self.service.calls


def role(stack: Stack, workload: str) -> Role | None:
    names = {service.name: service for service in stack.services}
    workers = {worker.name: worker for worker in stack.workers}
    if workload in names:
        return Role(service=names[workload])
    if workload in workers:
        return Role(worker=workers[workload])
    job, _, name = workload.partition("-")
    if job in ("migrate", "seed") and name in names:
        return Role(service=names[name], job=job)
    return None


def package(container: Container) -> str | None:
    """The workspace member a Mercato Python image was built for, from its name."""
    name = container.image_name.removeprefix("mercato-")
    return name if container.image_name.startswith("mercato-") and name in PACKAGES else None
