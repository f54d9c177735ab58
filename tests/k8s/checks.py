"""Images, ports and probes of a rendered overlay against the repository and stack.toml.

Each check in tests/k8s returns the problems it found, one sentence each (an empty list: it
holds), so that a test shows all of them at once and a deliberately broken copy proves that
the check sees what it must.
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.k8s.environment import environment, expanded
from tests.k8s.gateway import GATEWAY_DOCKERFILE, gateway_paths, gateway_rendering
from tests.k8s.manifests import PROBES, ROOT, Container, Rendered, flag, where
from tests.k8s.roles import PACKAGES, package, role
from topology import Stack

PYTHON_DOCKERFILE = ROOT / "docker" / "python-service.Dockerfile"


COMPOSE_FILE = ROOT / "docker-compose.yml"


def _compose_images() -> set[str]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    return {str(s["image"]) for s in compose["services"].values() if "image" in s}


def _command_package(command: list[str]) -> str | None:
    """The top-level package a Python command runs: uvicorn's app, `-m X`, celery's `-A X`."""
    for option in ("-m", "-A"):
        if option in command[:-1]:
            return command[command.index(option) + 1].split(".")[0]
    if command and command[0] == "uvicorn" and len(command) > 1:
        return command[1].split(":")[0].split(".")[0]
    return None


def image_problems(rendered: Rendered) -> list[str]:
    """Every image is built by a Dockerfile of the repository, or pinned as compose pins it."""
    problems = []
    pinned = _compose_images()
    python_recipe = PYTHON_DOCKERFILE.read_text()
    for container in rendered.containers():
        image = container.image_name
        if image == "mercato-gateway":
            if not GATEWAY_DOCKERFILE.exists():
                problems.append(f"{container.where}: gateway/Dockerfile is missing")
            continue
        if image.startswith("mercato-"):
            member = package(container)
            if member is None or "ARG PACKAGE" not in python_recipe:
                problems.append(
                    f"{container.where}: no Dockerfile builds {image} (the PACKAGE of "
                    f"docker/python-service.Dockerfile is one of {sorted(PACKAGES)})"
                )
                continue
            runs = _command_package(list(container.spec.get("command", [])))
            if runs != member:
                problems.append(f"{container.where}: runs {runs!r}, but its image is {image}")
            continue
        if container.spec["image"] not in pinned:
            problems.append(
                f"{container.where}: image {container.spec['image']} is neither built here "
                "nor the version docker-compose.yml pins"
            )
    return problems


def _selected(rendered: Rendered, selector: dict[str, str]) -> list[Container]:
    return [
        c
        for c in rendered.containers(init=False)
        if selector
        and all(
            c.workload["spec"]["template"]["metadata"].get("labels", {}).get(k) == v
            for k, v in selector.items()
        )
    ]


def port_problems(rendered: Rendered, stack: Stack) -> list[str]:
    """Every process of stack.toml runs on its port, behind a Service of that port."""
    problems = []
    in_cluster = [s for s in stack.services if rendered.overlay == "dev" or s.routed]
    for service in stack.services:
        if service not in in_cluster and rendered.get("Deployment", service.name) is not None:
            problems.append(f"{service.name} runs in {rendered.overlay}, where it is outside")
    for service in in_cluster:
        container = rendered.container(service.name)
        if container is None:
            problems.append(f"Deployment/{service.name} is missing")
            continue
        env, _ = environment(rendered, container)
        command = expanded(list(container.spec.get("command", [])), env)
        if command[:3] != ["uvicorn", service.app, "--factory"]:
            problems.append(f"{container.where}: does not run uvicorn {service.app} --factory")
        port = flag(command, "--port")
        if port != str(service.port):
            problems.append(f"{container.where}: --port {port}, stack.toml says {service.port}")
        if flag(command, "--root-path") != service.root_path:
            problems.append(f"{container.where}: --root-path is not {service.root_path}")
        if (http := container.port("http")) != service.port:
            problems.append(f"{container.where}: container port http is {http}, not {service.port}")
        problems.extend(_service_port_problems(rendered, service.name, service.port))
        url = rendered.configmap_named("mercato-config").get(f"{service.name.upper()}_URL")
        if url is not None and url != f"http://{service.name}:{service.port}":
            problems.append(
                f"mercato-config: {service.name.upper()}_URL is {url}, not http://{service.name}:{service.port}"
            )
    gateway = rendered.container("gateway")
    if gateway is None:
        problems.append("Deployment/gateway is missing")
    else:
        if gateway.port("http") != stack.gateway.port:
            problems.append(f"{gateway.where}: container port is not {stack.gateway.port}")
        env, _ = environment(rendered, gateway)
        if env.get("GATEWAY_PORT") != str(stack.gateway.port):
            problems.append(f"{gateway.where}: GATEWAY_PORT is {env.get('GATEWAY_PORT')}")
        problems.extend(_service_port_problems(rendered, "gateway", stack.gateway.port))
    for svc in rendered.kind("Service"):
        selected = _selected(rendered, svc["spec"].get("selector", {}))
        if not selected:
            problems.append(f"{where(svc)}: selects no pod")
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if selected and all(c.port(target) is None for c in selected):
                problems.append(
                    f"{where(svc)}: targetPort {target} is no container port of its pods"
                )
    for worker in stack.workers:
        container = rendered.container(worker.name)
        if container is None:
            problems.append(f"Deployment/{worker.name} is missing")
        elif list(container.spec.get("command", [])) != list(worker.command):
            problems.append(
                f"{container.where}: its command is not stack.toml's {list(worker.command)}"
            )
    return problems


def _service_port_problems(rendered: Rendered, name: str, port: int) -> list[str]:
    svc = rendered.get("Service", name)
    container = rendered.container(name)
    if svc is None:
        return [f"Service/{name} is missing"]
    ports = svc["spec"]["ports"]
    if [p["port"] for p in ports] != [port]:
        return [f"Service/{name}: ports {[p['port'] for p in ports]}, stack.toml says {port}"]
    target = ports[0].get("targetPort", port)
    if container is not None and container.port(target) != port:
        return [f"Service/{name}: targetPort {target} is not the container's port {port}"]
    return []


def probe_problems(rendered: Rendered, stack: Stack, facts: dict[str, Any]) -> list[str]:
    """Every HTTP probe asks a path the process serves (GET), on one of its ports."""
    problems = []
    served_by_gateway = gateway_paths(gateway_rendering(rendered))
    for container in rendered.containers():
        served = facts.get(container.name, {}).get("status")
        for kind in PROBES:
            probe = container.spec.get(kind)
            if probe is None or "httpGet" not in probe:
                continue
            path, port = probe["httpGet"]["path"], probe["httpGet"]["port"]
            if container.port(port) is None:
                problems.append(f"{container.where}: {kind} port {port} is not a container port")
            if served is not None and served.get(path, 404) in (404, 405):
                problems.append(f"{container.where}: {kind} {path} is not a GET route of the app")
            if container.image_name == "mercato-gateway" and path not in served_by_gateway:
                problems.append(f"{container.where}: {kind} {path} is no location of the gateway")
        what = role(stack, container.name)
        if what is not None and what.service is not None and what.job is None:
            expected = {
                "startupProbe": "/healthz",
                "livenessProbe": "/healthz",
                "readinessProbe": "/readyz",
            }
            for kind, path in expected.items():
                if container.spec.get(kind, {}).get("httpGet", {}).get("path") != path:
                    problems.append(f"{container.where}: {kind} must ask {path}")
    return problems
