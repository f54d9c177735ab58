"""docker-compose.yml keeps the rules of tests/static/compose_rules.py, and each rule fails on
the content it was written against (the file as it was before, or a broken copy).

No engine and no network: the images' facts come from tests/static/docker_images.py, the
rotation script runs here under the machine's sh on a temporary directory.
"""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.static import compose_rules as rules
from tests.static.docker_images import IMAGES

ROOT = rules.ROOT
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
COLLECTOR: dict[str, Any] = yaml.safe_load(
    (ROOT / "observability" / "otel-collector.yaml").read_text("utf-8")
)
ENV_EXAMPLE = (ROOT / ".env.example").read_text("utf-8")
DOCKER_DOC = (ROOT / "docs" / "docker.md").read_text("utf-8")
ROTATE = ROOT / "docker" / "rotate-gateway-log.sh"


def mutated(**services: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of the compose file with the given services replaced (None: removed)."""
    compose = copy.deepcopy(COMPOSE)
    for name, service in services.items():
        if service is None:
            del compose["services"][name]
        else:
            compose["services"][name] = service
    return compose


def service(name: str) -> dict[str, Any]:
    return copy.deepcopy(COMPOSE["services"][name])


# --- every image is known -----------------------------------------------------------------------


def test_every_image_has_an_entry_with_sources() -> None:
    for name, svc in COMPOSE["services"].items():
        image = rules.image_of(svc)
        assert image in IMAGES, f"{name}: add {image} to tests/static/docker_images.py"
    for facts in IMAGES.values():
        assert facts.executables_source.startswith("https://")
        assert "https://" in facts.memory_source
        assert facts.http_probe is None or facts.http_probe in facts.executables


def test_an_unknown_image_is_a_problem() -> None:
    loki = service("loki") | {"image": "grafana/loki:3.8.0"}
    problems = rules.healthcheck_problems(mutated(loki=loki))
    assert any("grafana/loki:3.8.0" in problem for problem in problems)


# --- point 2: memory limits ---------------------------------------------------------------------


def test_memory_limits_are_at_or_above_the_documented_minimums() -> None:
    assert rules.memory_problems(COMPOSE) == []


def test_grafana_at_256m_is_below_its_minimum() -> None:
    grafana = service("grafana") | {"mem_limit": "256m"}
    assert rules.memory_problems(mutated(grafana=grafana)) == [
        "grafana: mem_limit 256m is below the documented minimum of 512 MB "
        f"({IMAGES['grafana/grafana:12.1.0'].memory_source})"
    ]


def test_memory_values_are_read_as_compose_reads_them() -> None:
    assert rules.memory_bytes("512m") == 512 * 1024**2
    assert rules.memory_bytes("1g") == 1024**3
    assert rules.memory_bytes(1000) == 1000


# --- point 3: the gateway's access log is bounded --------------------------------------------


def test_the_gateway_access_log_is_rotated_and_the_collector_reads_both_files() -> None:
    assert rules.gateway_log_problems(COMPOSE, COLLECTOR) == []


def test_without_the_rotation_the_access_log_is_unbounded() -> None:
    problems = rules.gateway_log_problems(mutated(**{"gateway-log-rotate": None}), COLLECTOR)
    assert len(problems) == 1
    assert problems[0].startswith("nothing bounds /var/log/gateway/access.log")


def test_a_collector_that_misses_the_rotated_copy_is_a_problem() -> None:
    collector = copy.deepcopy(COLLECTOR)
    collector["receivers"]["filelog/gateway"]["include"] = ["/var/log/gateway/access.log"]
    problems = rules.gateway_log_problems(COMPOSE, collector)
    assert problems == [
        "the collector's include ['/var/log/gateway/access.log'] misses "
        "/var/log/gateway/access.1.log"
    ]


def rotate(tmp_path: Path, *args: str, max_bytes: int = 100) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "ROTATE_LOG": str(tmp_path / "access.log"),
        "ROTATE_MAX_BYTES": str(max_bytes),
    }
    return subprocess.run(
        ["sh", str(ROTATE), *args], env=env, capture_output=True, text=True, check=False, timeout=10
    )


def test_rotation_copies_and_truncates_a_log_past_its_bound(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    before = b"x" * 150 + b"\n"
    # Opened for appending, as nginx opens its logs, and kept open across the rotation.
    with log.open("ab", buffering=0) as writer:
        writer.write(before)
        assert rotate(tmp_path, "--once").returncode == 0
        writer.write(b"after\n")
    assert (tmp_path / rules.rotated_name("access.log")).read_bytes() == before
    # The writer's next line starts the truncated file: no hole where the old content was.
    assert log.read_bytes() == b"after\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["access.1.log", "access.log"]


def test_rotation_leaves_a_log_below_its_bound_alone(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"y" * 99)
    assert rotate(tmp_path, "--once").returncode == 0
    assert log.read_bytes() == b"y" * 99
    assert not (tmp_path / "access.1.log").exists()
    assert rotate(tmp_path / "missing", "--once").returncode == 0


def test_the_rotation_healthcheck_fails_past_twice_the_bound(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"z" * 199)
    assert rotate(tmp_path, "--check").returncode == 0
    log.write_bytes(b"z" * 200)
    assert rotate(tmp_path, "--check").returncode == 1
    assert rotate(tmp_path, "--bogus").returncode == 2


# --- point 4: start_interval and the versions it needs ---------------------------------------


def test_start_interval_comes_with_the_minimum_versions_in_the_docs() -> None:
    assert any(
        "start_interval" in svc.get("healthcheck", {}) for svc in COMPOSE["services"].values()
    ), "no start_interval left: drop MIN_ENGINE / MIN_COMPOSE from the docs and the rules"
    assert rules.start_interval_problems(COMPOSE, DOCKER_DOC) == []


def test_start_interval_without_the_versions_in_the_docs_is_a_problem() -> None:
    problems = rules.start_interval_problems(COMPOSE, "# Docker\nRun `make up`.\n")
    assert len(problems) == 2
    assert "Docker Engine 25.0" in problems[0]
    assert "Docker Compose 2.24.0" in problems[1]


# --- point 5: every host variable of .env.example is set for the containers ---------------


def test_host_variables_are_found_in_the_env_example() -> None:
    variables = rules.host_variables(ENV_EXAMPLE)
    assert {"POSTGRES_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"} <= set(
        variables
    )
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in variables
    assert "LOG_LEVEL" not in variables


def test_every_container_that_reads_env_gets_in_network_hosts() -> None:
    assert rules.host_environment_problems(COMPOSE, ENV_EXAMPLE) == []


@pytest.mark.parametrize("variable", ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"])
def test_the_old_shared_environment_let_env_send_celery_to_loopback(variable: str) -> None:
    worker = service("worker")
    del worker["environment"][variable]
    assert f"worker: {variable} is not set, so .env's value (a host) wins" in (
        rules.host_environment_problems(mutated(worker=worker), ENV_EXAMPLE)
    )


def test_a_loopback_value_is_a_problem() -> None:
    beat = service("beat")
    beat["environment"]["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    assert rules.host_environment_problems(mutated(beat=beat), ENV_EXAMPLE) == [
        "beat: REDIS_URL=redis://127.0.0.1:6379/0 names no service of the file"
    ]


# --- point 6: healthchecks the images can run, waits for healthy -----------------------------


def test_every_healthcheck_runs_a_binary_its_image_ships() -> None:
    assert rules.healthcheck_problems(COMPOSE) == []


def test_wget_in_loki_3_6_and_later_is_a_problem() -> None:
    """The upgrade trap: Loki's images lost busybox (wget) in 3.5.8."""
    loki = service("loki")
    loki["healthcheck"]["test"] = ["CMD", "wget", "-q", "-O", "/dev/null", "http://x/ready"]
    problems = rules.healthcheck_problems(mutated(loki=loki))
    assert len(problems) == 1
    assert problems[0].startswith("loki: the healthcheck runs 'wget', which grafana/loki:3.7.6")


def test_shell_healthchecks_are_read_command_by_command() -> None:
    assert rules.healthcheck_commands(["CMD-SHELL", "redis-cli ping | grep -q PONG"]) == [
        "sh",
        "redis-cli",
        "grep",
    ]
    assert rules.healthcheck_commands(["CMD", "sh", "-c", "wget -q x || exit 1"]) == ["sh", "wget"]
    assert rules.healthcheck_commands(["NONE"]) == []
    # The worker's own check needs celery, which only the workers' locked dependencies bring.
    assert "celery" in rules.executables_of(service("worker"))
    assert "celery" not in rules.executables_of(service("catalog"))


def test_services_without_a_healthcheck_have_images_that_cannot_probe() -> None:
    assert rules.unchecked_service_problems(COMPOSE) == []


def test_the_old_tempo_without_a_healthcheck_is_a_problem() -> None:
    tempo = service("tempo")
    del tempo["healthcheck"]
    assert rules.unchecked_service_problems(mutated(tempo=tempo)) == [
        "tempo: no healthcheck, but grafana/tempo:2.9.2 ships /busybox/wget"
    ]


def test_dependencies_wait_for_healthy_where_they_can() -> None:
    assert rules.wait_problems(COMPOSE) == []


def test_the_old_wait_for_tempo_started_is_a_problem() -> None:
    grafana = service("grafana")
    grafana["depends_on"]["tempo"] = {"condition": "service_started"}
    assert rules.wait_problems(mutated(grafana=grafana)) == [
        "grafana waits for tempo to start; it can wait for healthy"
    ]


# --- docs/docker.md states what the file says -------------------------------------------------


def test_the_docs_state_the_memory_limits_of_the_long_running_containers() -> None:
    total = sum(
        rules.memory_bytes(str(rules.memory_limit(svc))) for _, svc in rules.long_running(COMPOSE)
    )
    assert f"{total >> 20} MiB of limits for the long-running containers" in DOCKER_DOC


def test_no_container_name_stands_in_the_way_of_scale() -> None:
    """`--scale` needs Compose to name the containers (and only the edge publishes ports)."""
    named = [name for name, svc in COMPOSE["services"].items() if "container_name" in svc]
    assert named == []
