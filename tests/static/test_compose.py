"""docker-compose.yml as a real Docker host would run it, checked without an engine.

The file is rendered from stack.toml (tests/static/test_rendered.py), so what it says about
the processes is stack.toml's. Checked here: Compose accepts it; it is safe and bounded
(hardening, memory, published ports, the gateway's access log rotated); each healthcheck runs
a binary its pinned image ships (tests/static/docker_images.py). Each rule returns its
problems, so that a few tests run it on a broken copy: a rule that cannot fail checks nothing.
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
import shlex
import subprocess
import sys
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.static.docker_images import IMAGES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text("utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
COLLECTOR = yaml.safe_load((ROOT / "observability" / "otel-collector.yaml").read_text("utf-8"))
ENV_EXAMPLE = (ROOT / ".env.example").read_text("utf-8")
DOCKER_DOC = (ROOT / "docs" / "docker.md").read_text("utf-8")
BIN = Path(sys.executable).parent
# A ${VAR:-default} / ${VAR-default} as compose interpolates it when VAR is unset.
DEFAULT_VALUE = re.compile(r"(?<!\$)\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}")
SHELL_BUILTINS = {"exit", "test", "[", "true", "false", "echo", ":", "cd", "exec"}
#: Long-running services whose image can run no healthcheck (see docker_images.py).
NO_HEALTHCHECK = {"otel-collector"}


def interpolated(value: object) -> str:
    return DEFAULT_VALUE.sub(lambda match: match.group(1), str(value))


def is_job(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "no")) == "no"


def mutated(name: str, change: dict[str, Any]) -> dict[str, Any]:
    """A copy of the compose file with one service's keys replaced (None: deleted)."""
    compose = copy.deepcopy(COMPOSE)
    for key, value in change.items():
        if value is None:
            compose["services"][name].pop(key, None)
        else:
            compose["services"][name][key] = value
    return compose


# --- Compose accepts it --------------------------------------------------------------------


def compose_config(compose_file: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`docker-compose config --quiet` with only the defaults written in the file (the
    pinned binary `make deps` installs, else the local Docker's Compose v2)."""
    installed = BIN / "docker-compose"
    argv = [str(installed)] if installed.exists() else ["docker", "compose"]
    (home / "empty.env").write_text("", encoding="utf-8")
    return subprocess.run(
        [*argv, "-f", str(compose_file), "--env-file", str(home / "empty.env"), "config", "-q"],
        cwd=compose_file.parent,
        # A developer's .env or shell must not decide the check.
        env={"PATH": os.environ["PATH"], "HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_compose_accepts_the_file_and_refuses_a_broken_copy(tmp_path: Path) -> None:
    accepted = compose_config(COMPOSE_FILE, tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    # Without a .env every variable has its default: Compose warns of none "not set".
    assert "is not set" not in accepted.stderr, accepted.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text("utf-8").replace("redis: {condition", "rediss: {condition"),
        encoding="utf-8",
    )
    result = compose_config(broken, tmp_path)
    assert result.returncode != 0
    assert "rediss" in result.stderr


# --- safe and bounded ----------------------------------------------------------------------------


def test_every_built_python_container_is_hardened() -> None:
    for name, service in SERVICES.items():
        if "python-service.Dockerfile" in str(service.get("build", {})):
            assert service["cap_drop"] == ["ALL"], name
            assert "no-new-privileges:true" in service["security_opt"], name
            assert service["read_only"] is True, name
            assert "/tmp" in service["tmpfs"], name
    assert [name for name, svc in SERVICES.items() if "container_name" in svc] == []


def test_only_the_edge_is_published_and_otlp_on_the_loopback() -> None:
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"gateway", "grafana", "otel-collector"}
    assert all(str(p).startswith("127.0.0.1:") for p in SERVICES["otel-collector"]["ports"])


def test_dependencies_wait_for_healthy_or_done_and_every_job_is_awaited() -> None:
    awaited = set()
    for name, service in SERVICES.items():
        for target, spec in dict(service.get("depends_on", {})).items():
            other = SERVICES[target]
            probed = "healthcheck" in other or "build" in other
            if spec["condition"] == "service_completed_successfully":
                assert is_job(other), f"{name} waits for {target} to finish; it never does"
                awaited |= set() if is_job(service) else {target}
            else:
                assert spec["condition"] == "service_healthy", (name, target)
                assert probed, (name, target)
                assert not other.get("healthcheck", {}).get("disable", False), (name, target)
    # `up --wait` accepts a job's exit only when a running service waits for its success.
    assert {name for name, service in SERVICES.items() if is_job(service)} <= awaited


def memory_bytes(limit: str | int) -> int:
    """A compose memory value ("512m", "1g", bytes) in bytes."""
    match = re.fullmatch(r"(\d+)([bkmg]?)b?", str(limit).strip().lower())
    assert match, f"unreadable memory limit {limit!r}"
    return int(match.group(1)) << (10 * "bkmg".index(match.group(2) or "b"))


def test_every_container_is_bounded_and_the_docs_give_the_total() -> None:
    total = 0
    for name, service in SERVICES.items():
        assert service.get("mem_limit"), f"{name} has no memory limit"
        minimum = IMAGES[image_of(service)].memory_minimum_mb
        assert memory_bytes(service["mem_limit"]) >= (minimum or 0) * 1_000_000, name
        if not is_job(service):
            assert service["restart"] == "unless-stopped", name
            total += memory_bytes(service["mem_limit"])
    promised = re.search(r"at most (\d+) GiB of limits for the long-running containers", DOCKER_DOC)
    assert promised, "docs/docker.md gives the bound of the containers' memory"
    assert total <= int(promised.group(1)) << 30


def test_start_interval_comes_with_the_minimum_versions_in_the_docs() -> None:
    # Compose sends healthcheck.start_interval from 2.24.0 on and an Engine older than API
    # 1.44 (Docker 25.0) refuses it: docs/docker.md must say so.
    assert any("start_interval" in svc.get("healthcheck", {}) for svc in SERVICES.values())
    assert "Docker Engine 25.0" in DOCKER_DOC
    assert "Docker Compose 2.24.0" in DOCKER_DOC


def test_bind_mounts_exist() -> None:
    # Compose refuses an undefined named volume, but makes a missing bind source a directory.
    sources = [str(v).split(":", 1)[0] for s in SERVICES.values() for v in s.get("volumes", [])]
    assert [s for s in sources if s.startswith(".") and not (ROOT / s).exists()] == []


def host_environment_problems(compose: dict[str, Any]) -> list[str]:
    """Each container that reads .env gets an in-network value for every variable of
    .env.example that names a host (PUBLIC_BASE_URL is the clients' URL, not a host)."""
    variables = {
        name
        for name, value in re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE, re.M)
        if re.match(r"^[a-z][a-z0-9+.-]*://", value.strip()) and name != "PUBLIC_BASE_URL"
    }
    problems = []
    for name, service in compose["services"].items():
        environment: dict[str, str] = service.get("environment", {})
        for variable in sorted(variables) if "env_file" in service else []:
            host = urlsplit(interpolated(environment.get(variable, ""))).hostname
            if host not in compose["services"]:
                problems.append(f"{name}: {variable} names no service of the file")
    return problems


def test_every_container_that_reads_env_gets_in_network_hosts() -> None:
    assert host_environment_problems(COMPOSE) == []
    worker = {**SERVICES["worker"]["environment"], "REDIS_URL": "redis://127.0.0.1:6379/0"}
    worker.pop("CELERY_BROKER_URL")
    assert host_environment_problems(mutated("worker", {"environment": worker})) == [
        "worker: CELERY_BROKER_URL names no service of the file",
        "worker: REDIS_URL names no service of the file",
    ]


# --- the gateway's access log is bounded ---------------------------------------------------------


def gateway_log_problems(compose: dict[str, Any]) -> list[str]:
    """The access log file the collector tails is rotated by a long-running service, and the
    collector reads the rotated copy too (docker/rotate-gateway-log.sh)."""
    log = interpolated(compose["services"]["gateway"]["environment"]["GATEWAY_ACCESS_LOG"])
    directory = posixpath.dirname(log)
    rotators = [
        name
        for name, service in compose["services"].items()
        if not is_job(service)
        and any(str(v).endswith(f":{directory}") for v in service.get("volumes", []))
        and service.get("environment", {}).get("ROTATE_LOG") == log
        and int(service["environment"].get("ROTATE_MAX_BYTES", "0")) > 0
    ]
    problems = [] if rotators else [f"nothing rotates {log}"]
    include = COLLECTOR["receivers"]["filelog/gateway"]["include"]
    for path in (log, f"{log.removesuffix('.log')}.1.log"):
        if not any(fnmatch(path, pattern) for pattern in include):
            problems.append(f"the collector misses {path}")
    return problems


def test_the_gateway_access_log_is_rotated_and_read_whole() -> None:
    assert gateway_log_problems(COMPOSE) == []
    unrotated = mutated("gateway-log-rotate", {"environment": {}})
    assert gateway_log_problems(unrotated) == ["nothing rotates /var/log/gateway/access.log"]


# --- healthchecks the pinned images can run ------------------------------------------------------


def build_of(service: dict[str, Any]) -> dict[str, Any]:
    build = service.get("build", {})
    return {"context": build} if isinstance(build, str) else dict(build)


def image_of(service: dict[str, Any]) -> str:
    """The pinned image a service runs, or for a built one the base of its final stage."""
    if "image" in service:
        return str(service["image"])
    build = build_of(service)
    dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
    defaults: dict[str, str] = {}
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"ARG (\w+)=(\S+)", line):
            defaults.setdefault(match.group(1), match.group(2))
        elif match := re.match(r"FROM (\S+)", line):
            base = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], match.group(1))
    return base


def executables_of(service: dict[str, Any]) -> frozenset[str]:
    """What a healthcheck can run in the container: the image's binaries, and for a Python
    image the console scripts of what its `uv sync --package` installs (`uv export` lists it)."""
    package = build_of(service).get("args", {}).get("PACKAGE")
    if package is None:
        return IMAGES[image_of(service)].executables
    argv = ["uv", "export", "--frozen", "--no-dev", "--package", package, "--no-hashes"]
    exported = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    scripts: set[str] = set()
    for name in re.findall(r"^([\w.-]+)==", exported, re.M):
        try:
            points = metadata.distribution(name).entry_points
        except metadata.PackageNotFoundError:
            continue  # another platform's wheel
        scripts |= {ep.name for ep in points if ep.group == "console_scripts"}
    return IMAGES[image_of(service)].executables | scripts


def healthcheck_commands(test: list[str]) -> list[str]:
    """The executables a healthcheck's `test` runs, each command of a shell line included."""
    kind, *argv = test
    if kind == "CMD" and not (argv[0].endswith("sh") and argv[1:2] == ["-c"]):
        return argv[:1]
    script = argv[-1] if kind == "CMD" else " ".join(argv)
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    commands, expecting = ["sh"], True
    for token in lexer:
        if token in {"|", "||", "&&", ";", "&"}:
            expecting = True
        elif expecting and not token.startswith((">", "<")):
            commands += [] if token in SHELL_BUILTINS else [token]
            expecting = False
    return commands


def healthcheck_problems(compose: dict[str, Any]) -> list[str]:
    """Every healthcheck (compose's, else the built image's own) runs a binary its image
    ships, and a long-running service goes without one only if its image cannot probe."""
    problems = []
    for name, service in compose["services"].items():
        image = IMAGES.get(image_of(service))
        if image is None:
            problems.append(f"{name}: add {image_of(service)} to tests/static/docker_images.py")
            continue
        # A built image without a healthcheck here has its own (tests/static/test_docker.py).
        test = service.get("healthcheck", {}).get("test")
        unprobed = "build" not in service and not is_job(service) and name not in NO_HEALTHCHECK
        if test is None and unprobed:
            problems.append(
                f"{name}: no healthcheck, but {image_of(service)} ships {image.http_probe}"
            )
        for command in healthcheck_commands(test) if test else []:
            if command not in executables_of(service):
                problems.append(
                    f"{name}: the healthcheck runs {command!r}, not in {image_of(service)}"
                )
    return problems


def test_every_healthcheck_runs_a_binary_its_image_ships() -> None:
    assert healthcheck_problems(COMPOSE) == []
    assert all(
        IMAGES[i].http_probe is None for i in (image_of(SERVICES[n]) for n in NO_HEALTHCHECK)
    )
    assert "celery" in executables_of(SERVICES["worker"])
    assert "celery" not in executables_of(SERVICES["catalog"])


@pytest.mark.parametrize(
    ("name", "change", "problem"),
    [
        # The upgrade trap: Loki's images lost busybox (wget) in 3.5.8.
        (
            "loki",
            {"healthcheck": {"test": ["CMD", "wget", "-q", "http://x/ready"]}},
            "loki: the healthcheck runs 'wget', not in grafana/loki:3.7.6",
        ),
        (
            "tempo",
            {"healthcheck": None},
            "tempo: no healthcheck, but grafana/tempo:2.9.2 ships /busybox/wget",
        ),
        (
            "loki",
            {"image": "grafana/loki:3.8.0"},
            "loki: add grafana/loki:3.8.0 to tests/static/docker_images.py",
        ),
    ],
)
def test_a_healthcheck_its_image_cannot_run_is_a_problem(
    name: str, change: dict[str, Any], problem: str
) -> None:
    assert healthcheck_problems(mutated(name, change)) == [problem]
