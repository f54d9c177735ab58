"""`.env.example` documents every port of the stack, with stack.toml's defaults."""

from __future__ import annotations

import re
from pathlib import Path

import topology

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
PORT_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)_PORT=(\d+)\s*$")
#: Ports of the Docker stack only (docker-compose.yml), not processes of stack.toml.
DOCKER_ONLY = {"GRAFANA"}


def documented_ports(text: str) -> dict[str, int]:
    ports: dict[str, int] = {}
    for line in text.splitlines():
        match = PORT_LINE.match(line.strip())
        if match and match.group(1) not in DOCKER_ONLY:
            ports[match.group(1).lower()] = int(match.group(2))
    return ports


def test_every_port_of_the_stack_is_documented_with_its_default() -> None:
    stack = topology.load()
    expected = {"gateway": stack.gateway.port} | {s.name: s.port for s in stack.services}

    assert documented_ports(ENV_EXAMPLE.read_text(encoding="utf-8")) == expected
