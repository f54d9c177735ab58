"""docker-compose.yml: docker/compose.template.yml with stack.toml's processes rendered in.

Rendered: the in-network URL of each called service, a migrate-<svc> and seed-<svc> job per
service that has them, each HTTP service (its image runs `python -m mercato_shared.serve`;
only PORT is set here), each worker with its command, and the gateway's wait for the routed
services. depends_on follows stack.toml (`_data`, `_call_graph`); a process's own settings
(memory, healthcheck...) are the template's anchor `x-extra-<name>`, merged into its block.
"""

from __future__ import annotations

import json
import re

from topology.description import ROOT, Service, Stack, Worker
from topology.render import called, from_template

TEMPLATE = "docker/compose.template.yml"
TARGET = "docker-compose.yml"

HEALTHY = "{condition: service_healthy}"
COMPLETED = "{condition: service_completed_successfully}"
_PLAIN = re.compile(r"[A-Za-z_./-][A-Za-z0-9_./:-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _scalar(value: str) -> str:
    """`value` as a YAML flow scalar that stays a string."""
    if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value)


def _flow(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_scalar(value) for value in values) + "]"


def _call_graph(stack: Stack) -> dict[str, list[str]]:
    """The services each service waits for: every service it calls, except that a call to a
    service declared later in stack.toml is left out when that service already waits
    (directly or not) for the caller: compose refuses a cycle, and the caller must then start
    without it (catalog's periodic jobs call orders, which calls catalog)."""
    order = {service.name: index for index, service in enumerate(stack.services)}
    waits: dict[str, list[str]] = {service.name: [] for service in stack.services}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo.extend(waits[name])
        return False

    edges = [(s.name, callee) for s in stack.services for callee in s.calls]
    for caller, callee in sorted(edges, key=lambda edge: order[edge[1]] > order[edge[0]]):
        if not reaches(callee, caller):
            waits[caller].append(callee)
    return {name: sorted(callees, key=order.__getitem__) for name, callees in waits.items()}


def _data(stack: Stack, owner: str | None, redis: bool) -> list[tuple[str, str]]:
    """What a process waits for to use the database of service `owner` and Redis."""
    waits: list[tuple[str, str]] = []
    if owner is not None:
        service = stack.service(owner)
        waits.append(("postgres", HEALTHY))
        if service.migrate:
            waits.append((f"migrate-{owner}", COMPLETED))
        if service.seed:
            waits.append((f"seed-{owner}", COMPLETED))
    if redis:
        waits.append(("redis", HEALTHY))
    return waits


def _block(
    name: str,
    bases: list[str],
    package: str,
    environment: dict[str, str],
    depends_on: list[tuple[str, str]],
    *,
    command: tuple[str, ...] | list[str] | None = None,
) -> str:
    merge = bases[0] if len(bases) == 1 else "[" + ", ".join(bases) + "]"
    env = ", ".join(["<<: *python-env", *(f"{k}: {_scalar(v)}" for k, v in environment.items())])
    build = f"{{<<: *build, args: {{PACKAGE: {package}}}}}"
    lines = [f"  {name}:", f"    <<: {merge}", f"    build: {build}"]
    if command is not None:
        lines.append(f"    command: {_flow(command)}")
    lines.append(f"    environment: {{{env}}}")
    if depends_on:
        lines.append("    depends_on:")
        lines += [f"      {target}: {condition}" for target, condition in depends_on]
    return "\n".join(lines) + "\n"


def _bases(template: str, name: str, base: str) -> list[str]:
    extra = f"extra-{name}"
    return [f"*{extra}", base] if f"&{extra}\n" in template else [base]


def _jobs(service: Service) -> list[str]:
    blocks = []
    otel = "OTEL_SERVICE_NAME"
    if service.migrate:
        blocks.append(
            _block(
                f"migrate-{service.name}",
                ["*python-job"],
                service.name,
                {otel: f"migrate-{service.name}"},
                [("postgres", HEALTHY)],
                command=["python", "-m", service.migrate],
            )
        )
    if service.seed:
        after = f"migrate-{service.name}" if service.migrate else "postgres"
        blocks.append(
            _block(
                f"seed-{service.name}",
                ["*python-job"],
                service.name,
                {otel: f"seed-{service.name}"},
                [(after, COMPLETED if service.migrate else HEALTHY)],
                command=["python", "-m", *service.seed],
            )
        )
    return blocks


def _service(stack: Stack, template: str, service: Service, waits: list[str]) -> str:
    return _block(
        service.name,
        _bases(template, service.name, "*python-service"),
        service.name,
        {"OTEL_SERVICE_NAME": service.name, "PORT": str(service.port)},
        _data(stack, service.name if service.database else None, service.redis)
        + [(callee, HEALTHY) for callee in waits],
    )


def _worker(stack: Stack, template: str, worker: Worker) -> str:
    return _block(
        worker.name,
        _bases(template, worker.name, "*python-service"),
        "workers",
        {"OTEL_SERVICE_NAME": worker.name},
        _data(stack, worker.database, worker.redis) + [(c, HEALTHY) for c in worker.calls],
        command=worker.command,
    )


def processes(stack: Stack, template: str) -> str:
    graph = _call_graph(stack)
    jobs = [block for service in stack.services for block in _jobs(service)]
    services = [_service(stack, template, s, graph[s.name]) for s in stack.services]
    workers = [_worker(stack, template, worker) for worker in stack.workers]
    return "\n".join(
        f"  # --- {title} {'-' * (84 - len(title))}\n" + "\n".join(blocks)
        for title, blocks in (
            ("one-shot jobs: migrations, then seeds", jobs),
            ("services: `python -m mercato_shared.serve` on PORT", services),
            ("workers", workers),
        )
    )


def files(stack: Stack) -> dict[str, str]:
    template = (ROOT / TEMPLATE).read_text(encoding="utf-8")
    sections = {
        "service-urls": "".join(
            f"  {s.name.upper()}_URL: http://{s.name}:{s.port}\n"
            for s in stack.services
            if s.name in called(stack)
        ),
        "processes": processes(stack, template),
        "gateway-depends-on": "".join(f"      {s.name}: {HEALTHY}\n" for s in stack.routed),
    }
    return {TARGET: from_template(TEMPLATE, sections)}
