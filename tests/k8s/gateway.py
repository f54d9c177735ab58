"""The gateway in the cluster: the shared template rendered as its image renders it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from native.render import PLACEHOLDER
from tests.k8s.environment import environment
from tests.k8s.manifests import ROOT, Rendered
from topology import Stack

GATEWAY_DOCKERFILE = ROOT / "gateway" / "Dockerfile"


GATEWAY_TEMPLATE = ROOT / "gateway" / "templates" / "mercato.conf.template"


def dockerfile_env(path: Path) -> dict[str, str]:
    """The ENV defaults of a Dockerfile (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    env = {}
    for line in text.splitlines():
        if line.strip().startswith("ENV "):
            for item in shlex.split(line.strip()[4:]):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def gateway_variables() -> set[str]:
    """The gateway's own variables: the template's placeholders and the image's defaults,
    plus the names agreed for the upstream lists (NAME_SERVERS, GATEWAY_RESOLVER)."""
    agreed = {
        f"{s.upper()}_SERVERS" for s in ("identity", "catalog", "orders", "checkout", "reports")
    }
    return (
        set(PLACEHOLDER.findall(GATEWAY_TEMPLATE.read_text()))
        | set(dockerfile_env(GATEWAY_DOCKERFILE))
        | agreed
        | {"GATEWAY_RESOLVER"}
    )


def gateway_rendering(rendered: Rendered) -> str:
    """The gateway's configuration as the image renders it: envsubst of the defined variables."""
    env = dockerfile_env(GATEWAY_DOCKERFILE)
    container = rendered.container("gateway")
    if container is not None:
        env |= environment(rendered, container)[0]
    return PLACEHOLDER.sub(lambda m: env.get(m.group(1), m.group(0)), GATEWAY_TEMPLATE.read_text())


def gateway_paths(config: str) -> set[str]:
    return set(re.findall(r"^\s*location\s+=\s+(\S+)\s*\{", config, re.MULTILINE))


def gateway_problems(rendered: Rendered, stack: Stack) -> list[str]:
    """The template renders completely, and every upstream is the Service of its name."""
    config = gateway_rendering(rendered)
    problems = [
        f"gateway: ${{{name}}} is left unrendered"
        for name in sorted(set(PLACEHOLDER.findall(config)))
    ]
    if re.search(r"^\s*resolver\s+127\.0\.0\.11", config, re.MULTILINE):
        problems.append("gateway: Docker's resolver (127.0.0.11) does not exist in a cluster")
    for service in stack.routed:
        block = re.search(rf"upstream\s+{service.name}\s*\{{(.*?)\}}", config, re.DOTALL)
        if block is None:
            problems.append(f"gateway: no upstream {service.name}")
            continue
        servers = re.findall(r"^\s*server\s+([^\s;]+)", block.group(1), re.MULTILINE)
        if not servers:
            problems.append(f"gateway: upstream {service.name} has no server")
        for server in servers:
            host, _, port = server.partition(":")
            svc = rendered.get("Service", host.split(".")[0])
            if svc is None or host.split(".")[0] != service.name:
                problems.append(
                    f"gateway: upstream {service.name} points at {server}, not its Service"
                )
                continue
            service_ports = [str(p["port"]) for p in svc["spec"]["ports"]]
            if port != str(service.port) or port not in service_ports:
                problems.append(
                    f"gateway: upstream {service.name} uses port {port}; stack.toml says "
                    f"{service.port}, Service/{service.name} serves {service_ports}"
                )
    return problems
