"""One native stack as configured: its run directory, its ports and its processes.

Everything is configured by environment variables (and `.env`, see `native.env`), the same
ones the Docker stack uses. `MERCATO_PORT_OFFSET` shifts every default port so that a second
stack (the end-to-end tests', the bench's) can run beside the developer's; `MERCATO_REPLICAS`
runs that many processes of each service `stack.toml` marks `replicas = true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import topology
from native.env import ROOT, read_env
from topology import Service

#: Replica i of a service listens on its port + REPLICA_PORT_STEP * (i - 1).
REPLICA_PORT_STEP = 100


class StackConfigError(ValueError):
    """The settings do not describe a stack that can run."""


#: Where the native stack listens unless told otherwise: nothing is open to the network.
LOOPBACK: Final = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Replica:
    """One process of an HTTP service: its supervisord program and its port."""

    service: Service
    program: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True, slots=True)
class Stack:
    env: dict[str, str]
    run_dir: Path
    description: topology.Stack = field(default_factory=topology.load)

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def conf(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "supervisord.pid"

    @property
    def nginx_dir(self) -> Path:
        return self.run_dir / "nginx"

    def port(self, name: str, default: int) -> int:
        offset = int(self.env.get("MERCATO_PORT_OFFSET", "0"))
        return int(self.env.get(f"{name.upper()}_PORT", default + offset))

    @property
    def gateway_port(self) -> int:
        return self.port("gateway", self.description.gateway.port)

    @property
    def gateway_listen(self) -> str:
        """The address the gateway listens on: the loopback unless GATEWAY_LISTEN says
        otherwise (`0.0.0.0`, `[::]`, or one interface's address)."""
        return self.env.get("GATEWAY_LISTEN") or LOOPBACK

    def gateway_url(self) -> str:
        """The gateway as this machine reaches it (the loopback when it listens on all)."""
        listen = self.gateway_listen
        host = LOOPBACK if listen in {"0.0.0.0", "[::]", "*"} else listen  # noqa: S104
        return f"http://{host}:{self.gateway_port}"

    def service_port(self, service: Service) -> int:
        """The port of the service's first (or only) process."""
        return self.port(service.name, service.port)

    @property
    def replica_count(self) -> int:
        value = self.env.get("MERCATO_REPLICAS", "1")
        if not value.isdigit() or int(value) < 1:
            raise StackConfigError(f"MERCATO_REPLICAS must be a positive integer, not {value!r}")
        return int(value)

    def replicas(self, service: Service) -> tuple[Replica, ...]:
        """Every process of the service: NAME-1..NAME-N when it has replicas, else NAME."""
        if not service.replicas:
            return (Replica(service, service.name, self.service_port(service)),)
        base = self.service_port(service)
        return tuple(
            Replica(service, f"{service.name}-{i}", base + REPLICA_PORT_STEP * (i - 1))
            for i in range(1, self.replica_count + 1)
        )

    def first_replica(self, name: str) -> Replica:
        """The service's first (or only) process: the program NAME, or NAME-1 with replicas."""
        return self.replicas(self.description.service(name))[0]

    def internal_url(self, service: Service) -> str:
        """Where the other processes call the service (NAME_URL, unless set explicitly).

        Its port while it runs as one process; with replicas, its route through the gateway,
        the native stack's load balancer, so that a caller is never stuck on a replica that
        is stopping (see docs/native-stack.md).
        """
        if len(self.replicas(service)) > 1:
            return f"{self.gateway_url()}{service.root_path}"
        return f"http://127.0.0.1:{self.service_port(service)}"

    @property
    def processes(self) -> tuple[Replica, ...]:
        """Every HTTP process of the stack, in stack.toml's order."""
        return tuple(r for service in self.description.services for r in self.replicas(service))

    def check_ports(self) -> None:
        """Raise StackConfigError when two processes of this stack would share a port."""
        ports = [self.gateway_port, *(replica.port for replica in self.processes)]
        if len(set(ports)) != len(ports):
            raise StackConfigError(f"two processes share a port: {sorted(ports)}")


def load_stack(environ: Mapping[str, str] | None = None) -> Stack:
    """The stack described by `.env` overridden by `environ` (the process environment)."""
    env = read_env(environ)
    run_dir = Path(env.get("MERCATO_RUN_DIR", str(ROOT / ".run" / "dev"))).resolve()
    stack = Stack(env=env, run_dir=run_dir)
    for service in stack.description.services:
        env.setdefault(f"{service.name.upper()}_URL", stack.internal_url(service))
    return stack
