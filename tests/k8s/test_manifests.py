"""The Kubernetes manifests (deploy/k8s), rendered offline, against the Kubernetes schemas
and against stack.toml: images, variables, ports, probes, network policies, hardening,
termination, single writers, migrations, and prod's scale-out. No cluster, no network.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest

from tests.k8s import checks, env_example, environment, gateway, schemas, workloads
from tests.k8s.manifests import Rendered, kubectl
from tests.k8s.network import network_problems, reachable_from_outside
from topology import Stack

OVERLAYS = ("dev", "prod", "prod+keda")


def test_kubectl_renders_with_kustomize() -> None:
    assert kubectl()


def test_schemas_of_the_stated_version_are_installed() -> None:
    """kubernetes-validate ships the OpenAPI schemas: validation needs no network."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}]},
    }
    kubernetes_validate.validate(service, schemas.KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates(overlays: dict[str, Rendered], overlay: str) -> None:
    rendered = overlays[overlay]
    assert rendered.objects
    assert schemas.schema_problems(rendered.all()) == []


def test_keda_objects_are_checked_against_keda_schemas(prod_keda: Rendered) -> None:
    kinds = {obj["kind"] for obj in prod_keda.objects if obj["apiVersion"].startswith("keda.sh/")}
    assert kinds == {"ScaledObject", "TriggerAuthentication"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_image_is_built_here_or_pinned_like_compose(
    overlays: dict[str, Rendered], overlay: str
) -> None:
    assert checks.image_problems(overlays[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ports_and_commands_are_stack_toml_s(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert checks.port_problems(overlays[overlay], stack) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_the_settings_read_is_provided(
    overlays: dict[str, Rendered], overlay: str, stack: Stack, facts: dict[str, Any]
) -> None:
    assert environment.variable_problems(overlays[overlay], stack, facts[overlay]) == []


def test_configuration_is_the_variable_list_of_env_example(
    overlays: dict[str, Rendered],
) -> None:
    assert env_example.env_example_problems(overlays.values()) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_probe_asks_a_served_path(
    overlays: dict[str, Rendered], overlay: str, stack: Stack, facts: dict[str, Any]
) -> None:
    assert checks.probe_problems(overlays[overlay], stack, facts[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_renders_the_shared_template_onto_the_services(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert gateway.gateway_problems(overlays[overlay], stack) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_calls_of_stack_toml(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert network_problems(overlays[overlay], stack) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_is_reachable_from_outside(
    overlays: dict[str, Rendered], overlay: str
) -> None:
    assert reachable_from_outside(overlays[overlay]) == {"gateway"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_hardened_and_sized(overlays: dict[str, Rendered], overlay: str) -> None:
    assert workloads.hardening_problems(overlays[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_termination_single_writers_and_disruption_budgets(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert workloads.lifecycle_problems(overlays[overlay], stack) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_are_jobs_before_the_schema_s_users(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert workloads.job_problems(overlays[overlay], stack) == []


@pytest.mark.parametrize("overlay", ["prod", "prod+keda"])
def test_prod_scales_out_behind_tls_with_external_data(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert workloads.prod_problems(overlays[overlay], stack) == []


def test_dev_runs_everything_once_in_the_cluster(dev: Rendered) -> None:
    names = {w["metadata"]["name"] for w in dev.workloads()}
    assert {"postgres", "redis", "partners", "tempo", "loki", "prometheus", "grafana"} <= names
    for kind in ("StatefulSet",):
        for obj in dev.kind(kind):
            assert obj["spec"]["volumeClaimTemplates"], obj["metadata"]["name"]
    assert not dev.kind("HorizontalPodAutoscaler")
    assert all(d["spec"].get("replicas") == 1 for d in dev.kind("Deployment"))
    # Small CPU requests, to fit a laptop's cluster.
    assert {c.spec["resources"]["requests"]["cpu"] for c in dev.containers()} == {"10m"}


def test_keda_scales_the_worker_on_its_celery_queues(prod_keda: Rendered, stack: Stack) -> None:
    worker = next(w for w in stack.workers if w.name == "worker")
    queues = set(worker.command[worker.command.index("-Q") + 1].split(","))
    scaled = prod_keda.get("ScaledObject", "worker")
    assert scaled is not None
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == "worker"
    assert spec["minReplicaCount"] >= 1, "a minimum of 0 would leave reports waiting for a pod"
    assert {t["metadata"]["listName"] for t in spec["triggers"] if t["type"] == "redis"} == queues
    deployment = prod_keda.get("Deployment", "worker")
    assert deployment is not None
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
    assert not [
        h
        for h in prod_keda.kind("HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] == "worker"
    ]
    keys = {k for secret in prod_keda.secrets for k in secret.get("data", {})}
    auth = prod_keda.get("TriggerAuthentication", "worker-redis")
    assert auth is not None
    assert {ref["key"] for ref in auth["spec"]["secretTargetRef"]} <= keys
    assert all(ref["name"] == "mercato-secrets" for ref in auth["spec"]["secretTargetRef"])


def test_keda_watches_the_broker_s_database(prod_keda: Rendered) -> None:
    """The lists are in the Redis database of the broker URL (CELERY_BROKER_URL is unset, so
    it is REDIS_URL)."""
    worker = prod_keda.container("worker")
    assert worker is not None
    env, _ = environment.environment(prod_keda, worker)
    assert "CELERY_BROKER_URL" not in env
    database = urlsplit(env["REDIS_URL"]).path.lstrip("/") or "0"
    scaled = prod_keda.get("ScaledObject", "worker")
    assert scaled is not None
    assert {t["metadata"]["databaseIndex"] for t in scaled["spec"]["triggers"]} == {database}
