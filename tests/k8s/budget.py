"""The Postgres connection budget of a rendered overlay.

Every pod that is given POSTGRES_URL opens, at worst, (DB_POOL_SIZE + DB_MAX_OVERFLOW)
connections per process (one SQLAlchemy pool per process: mercato_shared/db.py), with
SERVICE_WORKERS uvicorn processes per HTTP pod or WORKER_CONCURRENCY prefork children per
worker pod (the Celery parent opens none: workers/runtime.py), and as many pods as its
autoscaler's maximum (or its fixed replica count). A migration Job holds one connection
(NullPool: mercato_shared/migrations.py). The sum must stay within the server's
max_connections less the connections kept for superusers and operators: for dev the
in-cluster server's `-c max_connections` (and Postgres' 3 superuser connections), for prod
what external-dependencies declares.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.k8s.environment import environment
from tests.k8s.manifests import Rendered
from tests.k8s.workloads import scaled_targets

SUPERUSER_RESERVED_CONNECTIONS = 3  # Postgres' default superuser_reserved_connections


@dataclass(frozen=True)
class Line:
    workload: str
    pods: int
    processes: int
    per_process: int

    @property
    def connections(self) -> int:
        return self.pods * self.processes * self.per_process


@dataclass(frozen=True)
class Budget:
    limit: int
    reserved: int
    lines: tuple[Line, ...]

    @property
    def total(self) -> int:
        return sum(line.connections for line in self.lines)

    @property
    def available(self) -> int:
        return self.limit - self.reserved

    def table(self) -> str:
        rows = [f"{'workload':<18}{'pods':>5}{'procs':>6}{'pool':>6}{'conns':>7}"]
        rows += [
            f"{x.workload:<18}{x.pods:>5}{x.processes:>6}{x.per_process:>6}{x.connections:>7}"
            for x in self.lines
        ]
        rows.append(f"total {self.total} of {self.available} ({self.limit} - {self.reserved})")
        return "\n".join(rows)


def _limit(rendered: Rendered) -> tuple[int, int]:
    external = rendered.configmap("external-dependencies")
    if "POSTGRES_MAX_CONNECTIONS" in external:
        reserved = int(external["POSTGRES_RESERVED_CONNECTIONS"])
        return int(external["POSTGRES_MAX_CONNECTIONS"]), reserved
    server = rendered.container("postgres")
    arguments = [] if server is None else list(server.spec.get("args", []))
    limits = [int(a.partition("=")[2]) for a in arguments if a.startswith("max_connections=")]
    return (limits or [100])[0], SUPERUSER_RESERVED_CONNECTIONS  # 100: Postgres' default


def budget(rendered: Rendered) -> Budget:
    scaled = scaled_targets(rendered)
    lines = []
    for container in rendered.containers():
        env, _ = environment(rendered, container)
        if "POSTGRES_URL" not in env:
            continue
        spec, command = container.workload["spec"], list(container.spec.get("command", []))
        replicas = scaled.get(container.name, (0, int(spec.get("replicas", 1))))[1]
        pods = int(spec.get("parallelism", 1)) if container.workload["kind"] == "Job" else replicas
        per_process = int(env["DB_POOL_SIZE"]) + int(env["DB_MAX_OVERFLOW"])
        if command[:1] == ["celery"] and "worker" in command:
            processes = int(env["WORKER_CONCURRENCY"])
        elif command[2:3] and command[2].endswith(".migrate"):
            processes, per_process = 1, 1
        else:  # an HTTP service's pod (`python -m mercato_shared.serve`), or a seed
            processes = int(env.get("SERVICE_WORKERS", "1"))
        lines.append(Line(container.name, pods, processes, per_process))
    limit, reserved = _limit(rendered)
    return Budget(limit, reserved, tuple(lines))
