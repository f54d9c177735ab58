""".env.example: the hand-edited .env.example.template with stack.toml's ports and URLs.

The template documents every variable; the lines that state a process's port or a called
service's URL are rendered here, so that stack.toml stays their only source.
"""

from __future__ import annotations

from topology.description import Stack
from topology.render import called, from_template

TEMPLATE = ".env.example.template"
TARGET = ".env.example"


def _ports(stack: Stack) -> str:
    lines = [f"# GATEWAY_PORT={stack.gateway.port}"]
    lines += [f"# {service.name.upper()}_PORT={service.port}" for service in stack.services]
    return "\n".join(lines) + "\n"


def service_urls(stack: Stack) -> str:
    return "".join(
        f"# {service.name.upper()}_URL=http://127.0.0.1:{service.port}\n"
        for service in stack.services
        if service.name in called(stack)
    )


def files(stack: Stack) -> dict[str, str]:
    sections = {"ports": _ports(stack), "service-urls": service_urls(stack)}
    return {TARGET: from_template(TEMPLATE, sections)}
