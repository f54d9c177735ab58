"""What stack.toml says each container is, the environment it starts with, and what its
process's settings read: their fields (pydantic-settings), their verdict on the environment
and the app's answers to its probe paths, found in a child process (tests.k8s.introspect).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.k8s.manifests import PROBES, ROOT, Container, Rendered
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


def environment(rendered: Rendered, container: Container) -> tuple[dict[str, str], list[str]]:
    """The environment the container starts with (envFrom, then env), and what is missing."""
    env: dict[str, str] = {}
    missing = []
    secret = rendered.secret_data()
    for source in container.spec.get("envFrom", []):
        name = source["configMapRef"]["name"]
        if rendered.get("ConfigMap", name) is None:
            missing.append(f"{container.where}: ConfigMap {name} does not exist")
        env |= rendered.configmap(name)
    for variable in container.spec.get("env", []):
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
            continue
        source = variable["valueFrom"]
        ref = source.get("secretKeyRef") or source["configMapKeyRef"]
        data = secret if "secretKeyRef" in source else rendered.configmap(ref["name"])
        if ref["key"] in data:
            env[variable["name"]] = data[ref["key"]]
        else:
            missing.append(
                f"{container.where}: {variable['name']} refers to {ref['name']} key "
                f"{ref['key']}, which does not exist"
            )
    return env, missing


def introspect(requests: list[dict[str, Any]], cwd: Path) -> dict[str, Any]:
    """Run tests.k8s.introspect in a child process (see its docstring)."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.k8s.introspect"],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    if result.returncode != 0:
        msg = f"introspection failed:\n{result.stderr}"
        raise RuntimeError(msg)
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def introspection_requests(rendered: Rendered, stack: Stack) -> list[dict[str, Any]]:
    requests = []
    for container in rendered.containers():
        member = package(container)
        if member is None:
            continue
        what = role(stack, container.name)
        probes = [container.spec.get(kind, {}) for kind in PROBES]
        requests.append(
            {
                "key": container.name,
                "package": member,
                "app": None if what is None else what.app,
                "paths": sorted({p["httpGet"]["path"] for p in probes if "httpGet" in p}),
                "env": environment(rendered, container)[0],
            }
        )
    return requests


def variable_problems(rendered: Rendered, stack: Stack, facts: dict[str, Any]) -> list[str]:
    """Every variable a process's settings read is provided, and the settings accept it.

    A variable whose unset value means None (derived from another, or "unpredictable") may
    be left out; so may POSTGRES_URL and REDIS_URL where stack.toml says the process uses
    no database or no Redis: those pods are not given the credentials on purpose.
    """
    problems = []
    for container in rendered.containers():
        if package(container) is None:
            continue
        env, missing = environment(rendered, container)
        problems.extend(missing)
        what, info = role(stack, container.name), facts.get(container.name)
        if what is None or info is None:
            problems.append(f"{container.where}: not a process of stack.toml")
            continue
        withheld = {"POSTGRES_URL"} if not what.database else set()
        if not what.redis:
            withheld.add("REDIS_URL")
        for variable in sorted(set(info["variables"]) - set(env) - set(info["optional"])):
            if variable not in withheld:
                problems.append(f"{container.where}: {variable} (read by its settings) is unset")
        if info["error"]:
            problems.append(f"{container.where}: its settings refuse: {info['error']}")
        if "OTEL_SERVICE_NAME" not in env:
            problems.append(f"{container.where}: OTEL_SERVICE_NAME is not set")
    return problems
