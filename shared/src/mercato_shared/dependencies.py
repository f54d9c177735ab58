"""`ServiceDependencies`: what a process declares in `stack.toml` that it uses.

Each service's `stack.py` holds its declaration as a constant rendered from `stack.toml`
(`topology.render.dependencies`); `create_app` opens exactly the resources it names, and a
static test holds the service's source to it (no use left undeclared, no declaration unused).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceDependencies:
    """`database`: its own Postgres database; `redis`: the Redis server (cache, broker, rate
    limits, leases); `calls`: the services it calls over HTTP, by name."""

    database: bool = False
    redis: bool = False
    calls: tuple[str, ...] = ()


# A process that uses nothing but the network (a bare app in a test, for one).
NOTHING = ServiceDependencies()
