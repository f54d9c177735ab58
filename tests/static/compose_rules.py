"""Rules docker-compose.yml must keep on a real Docker host, checked without an engine.

Each rule takes the parsed compose file (and whatever else it compares it with) and returns
its problems, one sentence each, so that the tests run it on the real file (no problem) and on
copies with the old or a broken content (a problem): a rule that cannot fail checks nothing.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.static.docker_images import IMAGES, Image

ROOT = Path(__file__).resolve().parents[2]
Compose = dict[str, Any]

# A ${VAR:-default} / ${VAR-default} as compose interpolates it when VAR is unset.
DEFAULT_VALUE = re.compile(r"(?<!\$)\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}")
SHELLS = {"sh", "/bin/sh", "bash", "/bin/bash", "/busybox/sh"}
SHELL_BUILTINS = {"exit", "test", "[", "true", "false", "echo", ":", "cd", "exec"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# healthcheck.start_interval: Compose sends it from 2.24.0 on (docker/compose fb3868ffa, also
# the release that reads env_file's `required`) and refuses it on an Engine API older than 1.44,
# Docker Engine 25.0 (pkg/compose/convert.go, ToMobyHealthCheck).
MIN_ENGINE = "25.0"
MIN_COMPOSE = "2.24.0"

# The gateway's access log rotation (docker/rotate-gateway-log.sh, mounted at this path).
ROTATE_SCRIPT = "/usr/local/bin/rotate-gateway-log.sh"


def interpolated(value: str) -> str:
    """The value as compose would interpolate it with no variable set (defaults applied)."""
    return DEFAULT_VALUE.sub(lambda match: match.group(1), value)


def long_running(compose: Compose) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in compose["services"].items():
        if str(service.get("restart", "no")) != "no":
            yield name, service


# --- images ---------------------------------------------------------------------------------


def _final_base(dockerfile: Path) -> str:
    """The image the final stage of a Dockerfile starts from, its ARG defaults applied."""
    defaults: dict[str, str] = {}
    base = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"ARG (\w+)=(\S+)", line):
            defaults.setdefault(match.group(1), match.group(2))
        elif match := re.match(r"FROM (\S+)", line):
            base = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], match.group(1))
    return base


def _dockerfile(service: dict[str, Any]) -> Path:
    build = service["build"]
    if isinstance(build, str):
        build = {"context": build}
    return ROOT / str(build["context"]) / str(build.get("dockerfile", "Dockerfile"))


def image_of(service: dict[str, Any]) -> str:
    """The pinned image a service runs, or for a built one the base of its final stage."""
    return str(service["image"]) if "image" in service else _final_base(_dockerfile(service))


def _locked_closure(package: str) -> set[str]:
    """The distributions `uv sync --no-dev --package PACKAGE` installs, read from uv.lock."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    packages = {entry["name"]: entry for entry in lock["package"]}
    seen: set[tuple[str, str | None]] = set()
    todo: list[tuple[str, str | None]] = [(package, None)]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        entry = packages[name]
        if extra is None:
            deps = entry.get("dependencies", [])
        else:
            deps = entry.get("optional-dependencies", {}).get(extra, [])
        for dep in deps:
            todo.append((dep["name"], None))
            todo += [(dep["name"], dep_extra) for dep_extra in dep.get("extra", [])]
    return {name for name, _ in seen}


def _console_scripts(distributions: set[str]) -> set[str]:
    """What those distributions put on PATH, read from the installed copies in this venv."""
    scripts = set()
    for name in distributions:
        try:
            entry_points = metadata.distribution(name).entry_points
        except metadata.PackageNotFoundError:
            continue  # another platform's wheel (e.g. a Windows-only dependency)
        scripts |= {ep.name for ep in entry_points if ep.group == "console_scripts"}
    return scripts


def executables_of(service: dict[str, Any]) -> frozenset[str]:
    """What a healthcheck can run in the service's container."""
    image = IMAGES[image_of(service)]
    build = service.get("build")
    package = build.get("args", {}).get("PACKAGE") if isinstance(build, dict) else None
    if package is None:
        return image.executables
    return image.executables | _console_scripts(_locked_closure(package))


def _known_image(name: str, service: dict[str, Any]) -> tuple[Image | None, list[str]]:
    image = image_of(service)
    if image not in IMAGES:
        return None, [
            f"{name}: no entry for {image} in tests/static/docker_images.py: read that version's "
            "Dockerfile and documentation (binaries, memory) and add it"
        ]
    return IMAGES[image], []


# --- healthchecks -----------------------------------------------------------------------------


def _shell_commands(script: str) -> list[str]:
    """The command word of each simple command in a shell line (after |, ||, &&, ;)."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    commands, expecting = [], True
    for token in lexer:
        if token in {"|", "||", "&&", ";", "&"}:
            expecting = True
        elif expecting and not token.startswith((">", "<")):
            commands.append(token)
            expecting = False
    return [command for command in commands if command not in SHELL_BUILTINS]


def healthcheck_commands(test: list[str] | str) -> list[str]:
    """The executables a healthcheck's `test` runs (empty for NONE)."""
    if isinstance(test, str):
        return ["sh", *_shell_commands(test)]
    kind, *argv = test
    if kind == "NONE" or not argv:
        return []
    if kind == "CMD-SHELL":
        return ["sh", *_shell_commands(" ".join(argv))]
    if argv[0] in SHELLS and len(argv) > 2 and argv[1] == "-c":
        return [argv[0], *_shell_commands(argv[2])]
    return [argv[0]]


def _dockerfile_healthcheck(dockerfile: Path) -> list[str] | None:
    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, flags=re.MULTILINE)
    if match is None:
        return None
    argv: list[str] = json.loads(match.group(1))
    return ["CMD", *argv]


def healthcheck_problems(compose: Compose) -> list[str]:
    """Every healthcheck (compose's, else the image's own) runs a binary its image ships."""
    problems: list[str] = []
    for name, service in compose["services"].items():
        image, unknown = _known_image(name, service)
        problems += unknown
        if image is None:
            continue
        healthcheck = service.get("healthcheck", {})
        if healthcheck.get("disable"):
            continue
        test = healthcheck.get("test")
        if test is None and "build" in service:
            test = _dockerfile_healthcheck(_dockerfile(service))
        if test is None:
            continue
        available = executables_of(service)
        for command in healthcheck_commands(test):
            if command not in available:
                problems.append(
                    f"{name}: the healthcheck runs {command!r}, which {image_of(service)} does "
                    f"not ship ({image.executables_source})"
                )
    return problems


def unchecked_service_problems(compose: Compose) -> list[str]:
    """A long-running service goes without a healthcheck only if its image cannot probe."""
    problems: list[str] = []
    for name, service in long_running(compose):
        image, unknown = _known_image(name, service)
        problems += unknown
        if image is None or "healthcheck" in service or "build" in service:
            continue
        if image.http_probe is not None:
            problems.append(
                f"{name}: no healthcheck, but {image_of(service)} ships {image.http_probe}"
            )
    return problems


def wait_problems(compose: Compose) -> list[str]:
    """A dependency on a service that has a healthcheck waits for it to be healthy."""
    problems: list[str] = []
    services = compose["services"]
    for name, service in services.items():
        for target, spec in dict(service.get("depends_on", {})).items():
            other = services[target]
            checked = ("healthcheck" in other or "build" in other) and not other.get(
                "healthcheck", {}
            ).get("disable", False)
            if checked and spec["condition"] == "service_started":
                problems.append(f"{name} waits for {target} to start; it can wait for healthy")
    return problems


def start_interval_problems(compose: Compose, docker_doc: str) -> list[str]:
    """start_interval needs Engine 25 and Compose 2.24: docs/docker.md must say so."""
    users = [
        name
        for name, service in compose["services"].items()
        if "start_interval" in service.get("healthcheck", {})
    ]
    if not users:
        return []
    problems = []
    for required in (f"Docker Engine {MIN_ENGINE}", f"Docker Compose {MIN_COMPOSE}"):
        if required not in docker_doc:
            problems.append(
                f"healthcheck.start_interval ({', '.join(sorted(users))}) needs {required} or "
                "later, which docs/docker.md does not name"
            )
    return problems


# --- memory -----------------------------------------------------------------------------------


def memory_bytes(limit: str | int) -> int:
    """A compose memory value ("512m", "1g", bytes) in bytes."""
    match = re.fullmatch(r"(\d+)([bkmg]?)b?", str(limit).strip().lower())
    assert match, f"unreadable memory limit {limit!r}"
    exponent = "bkmg".index(match.group(2) or "b")
    return int(match.group(1)) << (10 * exponent)


def memory_limit(service: dict[str, Any]) -> str | int | None:
    limit: str | int | None = service.get("mem_limit") or (
        service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
    )
    return limit


def memory_problems(compose: Compose) -> list[str]:
    """Every memory limit is at or above its image's documented minimum."""
    problems: list[str] = []
    for name, service in compose["services"].items():
        image, unknown = _known_image(name, service)
        problems += unknown
        limit = memory_limit(service)
        if image is None or image.memory_minimum_mb is None or limit is None:
            continue
        if memory_bytes(limit) < image.memory_minimum_mb * 1_000_000:
            problems.append(
                f"{name}: mem_limit {limit} is below the documented minimum of "
                f"{image.memory_minimum_mb} MB ({image.memory_source})"
            )
    return problems


# --- environment ------------------------------------------------------------------------------


#: URLs of the stack as its clients reach it, not addresses a container connects to: the
#: same for the native and the Docker stack of one machine, so .env's value is the right one.
PUBLIC_ADDRESSES = frozenset({"PUBLIC_BASE_URL"})


def host_variables(env_example: str) -> dict[str, str]:
    """The variables .env.example lists (set or commented out) whose value is a URL of a
    host the processes connect to."""
    found = {}
    for line in env_example.splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match and match.group(1) in PUBLIC_ADDRESSES:
            continue
        if match and re.match(r"^[a-z][a-z0-9+.-]*://", match.group(2).strip()):
            found[match.group(1)] = match.group(2).strip()
    return found


def host_environment_problems(compose: Compose, env_example: str) -> list[str]:
    """Each container that reads .env gets an in-network value for every host variable."""
    problems: list[str] = []
    services = compose["services"]
    variables = host_variables(env_example)
    for name, service in services.items():
        if "env_file" not in service:
            continue
        environment = service.get("environment", {})
        for variable in sorted(variables):
            value = environment.get(variable)
            if value is None:
                problems.append(f"{name}: {variable} is not set, so .env's value (a host) wins")
                continue
            host = urlsplit(interpolated(str(value))).hostname
            if host in LOOPBACK or host not in services:
                problems.append(f"{name}: {variable}={value} names no service of the file")
    return problems


# --- the gateway's access log -----------------------------------------------------------------


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Container path -> (volume or host path, writable)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *mode = str(volume).split(":")
        mounts[target] = (source, "ro" not in mode)
    return mounts


def rotated_name(log: str) -> str:
    """What docker/rotate-gateway-log.sh names the copy (`${log%.log}.1.log`)."""
    return f"{log.removesuffix('.log')}.1.log"


def gateway_log_problems(compose: Compose, collector: dict[str, Any]) -> list[str]:
    """The access log file the collector tails is bounded (rotated), or the log is stdout."""
    services = compose["services"]
    gateway = services["gateway"]
    log = interpolated(str(gateway["environment"]["GATEWAY_ACCESS_LOG"]))
    if log in {"/dev/stdout", "/dev/stderr"}:
        options = gateway.get("logging", {}).get("options", {})
        return [] if "max-size" in options else ["gateway: stdout log without json-file max-size"]
    directory = posixpath.dirname(log)
    volume = _mounts(gateway).get(directory, ("", False))[0]
    rotators = [
        name
        for name, service in long_running(compose)
        if _mounts(service).get(directory) == (volume, True)
        and ROTATE_SCRIPT in service.get("command", [])
        and service.get("environment", {}).get("ROTATE_LOG") == log
        and int(service.get("environment", {}).get("ROTATE_MAX_BYTES", "0")) > 0
    ]
    problems = []
    if not rotators:
        problems.append(
            f"nothing bounds {log} (volume {volume or '?'}): no long-running service mounts it "
            f"writable and runs {ROTATE_SCRIPT} with ROTATE_LOG and ROTATE_MAX_BYTES"
        )
    include = collector["receivers"]["filelog/gateway"]["include"]
    copy = rotated_name(log)
    for path, wanted in ((log, True), (copy, True), (f"{copy}.tmp", False)):
        if any(fnmatch(path, pattern) for pattern in include) != wanted:
            verb = "misses" if wanted else "reads"
            problems.append(f"the collector's include {include} {verb} {path}")
    return problems
