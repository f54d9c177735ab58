"""The Postgres connection budget: a pod given POSTGRES_URL opens at worst DB_POOL_SIZE +
DB_MAX_OVERFLOW connections per process (mercato_shared/db.py): SERVICE_WORKERS processes per
HTTP pod, WORKER_CONCURRENCY children per worker pod (the Celery parent opens none), one per
migration (NullPool); times its pods at the autoscaler's maximum, the sum must fit the
server's max_connections less those reserved (dev: `-c max_connections`, 3 for superusers;
prod: external-dependencies). `-s` prints it."""

from __future__ import annotations

import copy

import pytest

from tests.k8s.environment import environment
from tests.k8s.manifests import Rendered
from tests.k8s.workloads import scaled_targets
from topology import Stack

Lines = dict[str, tuple[int, int, int]]  # workload: pods, processes per pod, pool per process


def budget(rendered: Rendered) -> tuple[Lines, int]:
    """Each workload's connections, and the server's room for them."""
    lines, scaled = {}, scaled_targets(rendered)
    for container in rendered.containers():
        env, _ = environment(rendered, container)
        if "POSTGRES_URL" not in env:
            continue
        spec, command = container.workload["spec"], container.spec.get("command", [])
        replicas = scaled.get(container.name, (0, spec.get("replicas", 1)))[1]
        pods = spec.get("parallelism", 1) if container.workload["kind"] == "Job" else replicas
        pool = int(env["DB_POOL_SIZE"]) + int(env["DB_MAX_OVERFLOW"])
        if command[:1] == ["celery"] and "worker" in command:
            lines[container.name] = (pods, int(env["WORKER_CONCURRENCY"]), pool)
        elif command[2:3] and command[2].endswith(".migrate"):
            lines[container.name] = (pods, 1, 1)
        else:  # an HTTP service's pod (`python -m mercato_shared.serve`), or a seed
            lines[container.name] = (pods, int(env.get("SERVICE_WORKERS", "1")), pool)
    external = rendered.configmap("external-dependencies")
    if "POSTGRES_MAX_CONNECTIONS" in external:
        room = int(external["POSTGRES_MAX_CONNECTIONS"])
        return lines, room - int(external["POSTGRES_RESERVED_CONNECTIONS"])
    arguments = rendered.container("postgres").spec.get("args", [])
    limits = [int(a.partition("=")[2]) for a in arguments if a.startswith("max_connections=")]
    return lines, (limits or [100])[0] - 3  # Postgres' defaults: 100, 3 for superusers


def total(lines: Lines) -> int:
    return sum(pods * processes * pool for pods, processes, pool in lines.values())


@pytest.mark.parametrize("overlay", ["dev", "prod", "prod+keda"])
def test_connections_fit_the_declared_limit(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    lines, room = budget(overlays[overlay])
    print(f"\n{overlay}: {total(lines)} of {room}", *lines.items(), sep="\n")
    users = [s.name for s in stack.services if s.database]
    assert set(lines) >= {*users, *(w.name for w in stack.workers if w.database)}
    assert total(lines) <= room, lines


def test_prod_counts_the_autoscaling_maxima(prod: Rendered, prod_keda: Rendered) -> None:
    lines = budget(prod)[0]
    assert lines["catalog"][0] == 8  # stack.toml's max_pods, not the minimum
    assert lines["worker"][2] == 4  # the worker's own pool, not the shared 10 + 0
    assert budget(prod_keda)[0]["worker"][0] == 4


def test_a_raised_maximum_past_the_limit_fails(prod: Rendered) -> None:
    """catalog at 14 pods instead of 8: 60 connections more than prod has room for."""
    objects = copy.deepcopy(prod.objects)
    for obj in objects:
        if obj["kind"] == "HorizontalPodAutoscaler" and obj["metadata"]["name"] == "catalog":
            obj["spec"]["maxReplicas"] = 14
    lines, room = budget(Rendered(prod.overlay, objects, prod.secrets))
    assert total(lines) > room, lines
