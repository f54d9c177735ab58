"""What stack.toml says each container is, the environment it starts with, and what its
process's settings read (their fields: pydantic-settings) and its app serves.

`python -m tests.k8s.environment` (a child process: building an app configures process-wide
logging and telemetry) loads each package's settings class with exactly the container's
environment and builds its app (telemetry off) to ask it a GET of each probe path through
ASGI, without its lifespan (nothing connects). It prints {workload: {"variables", "optional"
(unset means None), "error", "status"}}."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from mercato_shared.settings import BaseServiceSettings
from tests.k8s.manifests import PROBES, ROOT, Container, Rendered
from topology import Stack


@dataclass(frozen=True)
class Role:
    database: bool
    redis: bool
    calls: tuple[str, ...] = ()
    app: str | None = None  # the app factory an HTTP service's pods serve


def role(stack: Stack, workload: str) -> Role:
    """A service's pods, its migration or seed Job, a worker's pods, or none of stack.toml's."""
    for service in stack.services:
        if workload == service.name:
            return Role(service.database, service.redis, service.calls, service.app)
        if workload in (f"migrate-{service.name}", f"seed-{service.name}"):
            return Role(service.database, redis=False)
    for worker in stack.workers:
        if workload == worker.name:
            return Role(worker.database is not None, worker.redis, worker.calls)
    return Role(database=False, redis=False)


def package(container: Container) -> str | None:
    """The workspace member a Mercato Python image was built for (its PACKAGE), from its name."""
    name = container.image_name.removeprefix("mercato-")
    return name if name == "workers" or (ROOT / "services" / name / "src").is_dir() else None


def environment(rendered: Rendered, container: Container) -> tuple[dict[str, str], list[str]]:
    """The environment the container starts with (envFrom, then env), and what is missing."""
    env: dict[str, str] = {}
    missing = []
    secret = rendered.secret_data()
    for source in container.spec.get("envFrom", []):
        name = source["configMapRef"]["name"]
        if not rendered.configmap(name):
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
            missing.append(f"{container.where}: {ref['name']} has no key {ref['key']}")
    return env, missing


def introspect(rendered: Rendered, stack: Stack, cwd: Path) -> dict[str, Any]:
    """What each Mercato process of the overlay reads and serves (see the module's docstring)."""
    requests = [
        {
            "key": c.name,
            "package": package(c),
            "app": role(stack, c.name).app,
            "paths": [
                c.spec[k]["httpGet"]["path"] for k in PROBES if "httpGet" in c.spec.get(k, {})
            ],
            "env": environment(rendered, c)[0],
        }
        for c in rendered.containers()
        if package(c) is not None
    ]
    command, env = [sys.executable, "-m", "tests.k8s.environment"], {"PYTHONPATH": str(ROOT)}
    stdin = json.dumps(requests)
    result = subprocess.run(
        command, input=stdin, capture_output=True, text=True, cwd=cwd, env=env, check=False
    )
    assert result.returncode == 0, f"introspection failed:\n{result.stderr}"
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def variable_problems(rendered: Rendered, stack: Stack, facts: dict[str, Any]) -> list[str]:
    """Every variable a process's settings read is provided (but those whose unset value means
    None, and the URLs of a database or Redis it does not use: withheld on purpose), and the
    settings accept them."""
    problems = []
    for container in rendered.containers():
        if package(container) is None:
            if container.image_name.startswith("mercato-") and container.name != "gateway":
                problems.append(f"{container.where}: no workspace member is {container.image_name}")
            continue
        env, missing = environment(rendered, container)
        problems.extend(missing)
        what, info = role(stack, container.name), facts[container.name]
        withheld = {"POSTGRES_URL": not what.database, "REDIS_URL": not what.redis}
        for variable in sorted(set(info["variables"]) - set(env) - set(info["optional"])):
            if not withheld.get(variable):
                problems.append(f"{container.where}: {variable} (read by its settings) is unset")
        if info["error"]:
            problems.append(f"{container.where}: its settings refuse: {info['error']}")
        if "OTEL_SERVICE_NAME" not in env:
            problems.append(f"{container.where}: OTEL_SERVICE_NAME is not set")
    return problems


def settings_class(package: str) -> type[BaseServiceSettings]:
    module = importlib.import_module(f"{package}.config")
    (found,) = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseServiceSettings) and cls.__module__ == module.__name__
    ]
    return found


async def statuses(factory: str, paths: list[str]) -> dict[str, int]:
    module, _, attribute = factory.partition(":")
    app = getattr(importlib.import_module(module), attribute)()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return {path: (await client.get(path)).status_code for path in paths}


def inspect_one(request: dict[str, Any]) -> dict[str, Any]:
    cls = settings_class(request["package"])
    prefix = str(cls.model_config.get("env_prefix", ""))
    fields = {(prefix + (i.alias or n)).upper(): i.default for n, i in cls.model_fields.items()}
    result: dict[str, Any] = {
        "variables": sorted(fields),
        "optional": sorted(name for name, default in fields.items() if default is None),
        "error": None,
    }
    os.environ.clear()
    os.environ.update(request["env"])
    try:
        cls(_env_file=None)
    except ValidationError as exc:
        result["error"] = "; ".join(f"{e['loc']}: {e['msg']}" for e in exc.errors())
    if request["app"] and result["error"] is None:
        os.environ["OTEL_SDK_DISABLED"] = "true"
        result["status"] = asyncio.run(statuses(request["app"], request["paths"]))
    return result


def main() -> int:
    result_stream, sys.stdout = sys.stdout, sys.stderr  # the apps log JSON to stdout
    requests = json.load(sys.stdin)
    for request in requests:  # import everything before the environment is replaced
        settings_class(request["package"])
        if request["app"]:
            importlib.import_module(request["app"].partition(":")[0])
    json.dump({request["key"]: inspect_one(request) for request in requests}, result_stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
