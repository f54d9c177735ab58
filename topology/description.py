"""Load `stack.toml` into typed, validated records.

The file is the single source of every service's name, port, gateway route, commands and
dependencies; everything else (the native stack, the bench, the Docker and Kubernetes checks)
reads it through :func:`load`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STACK_FILE = ROOT / "stack.toml"

#: A container's memory request and limit in Kubernetes unless its `memory` says otherwise.
DEFAULT_MEMORY = ("128Mi", "256Mi")
#: The prod autoscaler's maximum for a routed service unless its `max_pods` says otherwise.
DEFAULT_MAX_PODS = 4
_QUANTITY = re.compile(r"[1-9][0-9]*(Mi|Gi)")
_SECRET_KEY = re.compile(r"[A-Z][A-Z0-9_]*")
# The keys every process gets from its `database`, `redis` and token verification.
_GIVEN_SECRETS = frozenset({"POSTGRES_URL", "REDIS_URL", "JWT_PUBLIC_KEY"})


@dataclass(frozen=True, slots=True)
class Service:
    """An HTTP service under uvicorn."""

    name: str
    port: int
    routed: bool
    database: bool
    redis: bool
    calls: tuple[str, ...]
    migrate: str | None = None
    seed: tuple[str, ...] = ()
    #: The native stack may run several processes of it (MERCATO_REPLICAS): it keeps no
    #: state of its own in memory that another process would need.
    replicas: bool = False
    #: Requests one process of it works on at once behind the gateway; the gateway answers
    #: more at once with a fast 503 (nginx's `max_conns` on each upstream server). None for
    #: a service that is not routed.
    max_in_flight: int | None = None
    #: Keys of the Secret `mercato-secrets` it reads besides POSTGRES_URL and REDIS_URL
    #: (given by `database` and `redis`) and JWT_PUBLIC_KEY (every process verifies tokens);
    #: its migration and seed read them too.
    secrets: tuple[str, ...] = ()
    #: Kubernetes: its container's memory request and limit.
    memory: tuple[str, str] = DEFAULT_MEMORY
    #: Kubernetes (routed services): the most pods the prod overlay's autoscaler runs; the
    #: Postgres connection budget is summed from it. None for a service that is not routed.
    max_pods: int | None = None

    @property
    def app(self) -> str:
        """Its ASGI application factory: every service's package has `main.create_app`."""
        return f"{self.name}.main:create_app"

    @property
    def route(self) -> str | None:
        """The gateway's path prefix for it, or None when it is never behind the gateway."""
        return f"/api/{self.name}/" if self.routed else None

    @property
    def root_path(self) -> str:
        return f"/api/{self.name}"


@dataclass(frozen=True, slots=True)
class Worker:
    """A non-HTTP program (a Celery worker, the beat scheduler)."""

    name: str
    command: tuple[str, ...]
    redis: bool
    calls: tuple[str, ...]
    database: str | None = None
    #: Keys of the Secret it reads besides POSTGRES_URL, REDIS_URL and JWT_PUBLIC_KEY.
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gateway:
    port: int


@dataclass(frozen=True, slots=True)
class Images:
    """Where production pulls the stack's images (`mercato-<name>`) from, and at which tag."""

    registry: str = "registry.example.com"
    tag: str = "0.1.0"


@dataclass(frozen=True, slots=True)
class Stack:
    gateway: Gateway
    services: tuple[Service, ...]
    workers: tuple[Worker, ...]
    images: Images = Images()

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    @property
    def routed(self) -> tuple[Service, ...]:
        return tuple(service for service in self.services if service.routed)

    @property
    def replicated(self) -> tuple[Service, ...]:
        """The services the native stack runs MERCATO_REPLICAS processes of."""
        return tuple(service for service in self.services if service.replicas)


class StackFileError(ValueError):
    """`stack.toml` does not describe a consistent stack."""


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise StackFileError(f"{where} must be a list of strings")
    return tuple(value)


def _memory(value: Any, where: str) -> tuple[str, str]:
    if value is None:
        return DEFAULT_MEMORY
    quantities = _strings(value, where)
    if len(quantities) != 2 or not all(_QUANTITY.fullmatch(q) for q in quantities):
        raise StackFileError(f'{where} must be [request, limit], such as ["128Mi", "256Mi"]')
    return quantities[0], quantities[1]


def _secrets(value: Any, where: str) -> tuple[str, ...]:
    keys = _strings(value, where)
    if bad := [key for key in keys if not _SECRET_KEY.fullmatch(key) or key in _GIVEN_SECRETS]:
        raise StackFileError(f"{where}: {bad} are not extra keys of the Secret (NAME_IN_CAPITALS)")
    return keys


def _service(name: str, table: dict[str, Any]) -> Service:
    known = {
        "port",
        "routed",
        "database",
        "redis",
        "calls",
        "migrate",
        "seed",
        "replicas",
        "max_in_flight",
        "secrets",
        "memory",
        "max_pods",
    }
    if unknown := set(table) - known:
        raise StackFileError(f"services.{name}: unknown keys {sorted(unknown)}")
    port = table.get("port")
    if not isinstance(port, int) or not 1024 <= port <= 65535:
        raise StackFileError(f"services.{name}.port must be an unprivileged port number")
    migrate = table.get("migrate")
    if migrate is not None and not isinstance(migrate, str):
        raise StackFileError(f"services.{name}.migrate must be a module name")
    for flag in ("routed", "database", "redis"):
        if not isinstance(table.get(flag), bool):
            raise StackFileError(f"services.{name}.{flag} must be true or false")
    replicas = table.get("replicas", False)
    if not isinstance(replicas, bool):
        raise StackFileError(f"services.{name}.replicas must be true or false")
    if replicas and not table["routed"]:
        raise StackFileError(f"services.{name}: only a routed service has replicas")
    max_in_flight = table.get("max_in_flight")
    if table["routed"] != (max_in_flight is not None):
        raise StackFileError(f"services.{name}: a routed service, and only one, has max_in_flight")
    if max_in_flight is not None and (
        not isinstance(max_in_flight, int) or isinstance(max_in_flight, bool) or max_in_flight < 1
    ):
        raise StackFileError(f"services.{name}.max_in_flight must be a positive integer")
    if "max_pods" in table and not table["routed"]:
        raise StackFileError(f"services.{name}: only a routed service has max_pods")
    max_pods = table.get("max_pods", DEFAULT_MAX_PODS if table["routed"] else None)
    if max_pods is not None and (
        not isinstance(max_pods, int) or isinstance(max_pods, bool) or max_pods < 2
    ):
        raise StackFileError(f"services.{name}.max_pods must be an integer of 2 or more")
    return Service(
        name=name,
        port=port,
        routed=table["routed"],
        database=table["database"],
        redis=table["redis"],
        calls=_strings(table.get("calls", []), f"services.{name}.calls"),
        migrate=migrate,
        seed=_strings(table.get("seed", []), f"services.{name}.seed"),
        replicas=replicas,
        max_in_flight=max_in_flight,
        secrets=_secrets(table.get("secrets", []), f"services.{name}.secrets"),
        memory=_memory(table.get("memory"), f"services.{name}.memory"),
        max_pods=max_pods,
    )


def _worker(name: str, table: dict[str, Any]) -> Worker:
    known = {"command", "database", "redis", "calls", "secrets"}
    if unknown := set(table) - known:
        raise StackFileError(f"workers.{name}: unknown keys {sorted(unknown)}")
    database = table.get("database")
    if database is not None and not isinstance(database, str):
        raise StackFileError(f"workers.{name}.database names the service whose database it uses")
    return Worker(
        name=name,
        command=_strings(table.get("command"), f"workers.{name}.command"),
        redis=bool(table.get("redis", False)),
        calls=_strings(table.get("calls", []), f"workers.{name}.calls"),
        database=database,
        secrets=_secrets(table.get("secrets", []), f"workers.{name}.secrets"),
    )


def parse(document: dict[str, Any]) -> Stack:
    """Validate a parsed `stack.toml` document and return the stack it describes."""
    gateway = document.get("gateway", {})
    if not isinstance(gateway.get("port"), int):
        raise StackFileError("gateway.port must be a port number")
    services = tuple(_service(n, t) for n, t in document.get("services", {}).items())
    workers = tuple(_worker(n, t) for n, t in document.get("workers", {}).items())
    names = {service.name for service in services}
    ports = [gateway["port"], *(service.port for service in services)]
    if len(set(ports)) != len(ports):
        raise StackFileError(f"two processes share a port: {sorted(ports)}")
    callers: list[Service | Worker] = [*services, *workers]
    for caller in callers:
        if missing := set(caller.calls) - names:
            raise StackFileError(f"{caller.name} calls unknown services {sorted(missing)}")
    for worker in workers:
        if worker.database is not None and worker.database not in names:
            raise StackFileError(f"workers.{worker.name}.database: no service {worker.database}")
    images = document.get("images", {})
    if not isinstance(images, dict) or set(images) - {"registry", "tag"}:
        raise StackFileError("images has the keys registry and tag")
    if not all(isinstance(value, str) and value for value in images.values()):
        raise StackFileError("images.registry and images.tag must be non-empty strings")
    return Stack(
        gateway=Gateway(port=gateway["port"]),
        services=services,
        workers=workers,
        images=Images(**images),
    )


def load(path: Path = STACK_FILE) -> Stack:
    """The stack described by `path` (the repository's `stack.toml` by default)."""
    with path.open("rb") as file:
        return parse(tomllib.load(file))
