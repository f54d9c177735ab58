"""The Kubernetes manifests (deploy/k8s), rendered offline: valid objects, processes that
start with what they read, probes on served paths, network policies that allow exactly
stack.toml's edges, hardening, termination, single writers, migrations first, and prod's
scale-out. No cluster, no network."""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from native.render import PLACEHOLDER
from tests.k8s import environment, schemas, workloads
from tests.k8s.manifests import ROOT, Rendered
from tests.k8s.network import network_problems, reachable_from_outside
from topology import Stack

OVERLAYS = ("dev", "prod", "prod+keda")
ENV_LINE = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# Keys of the Secret that are not Mercato's settings: components/keda's trigger reads them.
KEDA_SECRET_KEYS = frozenset({"REDIS_ADDRESS", "REDIS_PASSWORD"})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates(overlays: dict[str, Rendered], overlay: str) -> None:
    assert schemas.schema_problems(overlays[overlay].all()) == []


def test_schemas_refuse_a_bad_type_and_an_unknown_field(prod_keda: Rendered) -> None:
    beat = copy.deepcopy(prod_keda.get("Deployment", "beat"))
    scaled = copy.deepcopy(prod_keda.get("ScaledObject", "worker"))
    assert beat is not None
    assert scaled is not None
    beat["spec"]["replicas"] = "one"
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")
    problems = schemas.schema_problems([beat, scaled])
    assert any("Deployment/beat" in p and "'one' is not of type" in p for p in problems)
    assert any("ScaledObject/worker: unknown field .spec.maxReplicas" in p for p in problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_the_settings_read_is_provided(
    overlays: dict[str, Rendered], overlay: str, stack: Stack, facts: dict[str, Any]
) -> None:
    assert environment.variable_problems(overlays[overlay], stack, facts[overlay]) == []


def test_the_cluster_sets_only_variables_env_example_lists(
    overlays: dict[str, Rendered],
) -> None:
    listed = set(ENV_LINE.findall((ROOT / ".env.example").read_text()))
    for rendered in overlays.values():
        keys = set(rendered.configmap("mercato-config")) | set(rendered.secret_data())
        assert keys - listed - KEDA_SECRET_KEYS == set(), rendered.overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_reaches_the_port_its_pods_listen_on(
    overlays: dict[str, Rendered], overlay: str
) -> None:
    rendered = overlays[overlay]
    for svc in rendered.kind("Service"):
        selector = svc["spec"]["selector"].items()
        pods = [c for c in rendered.containers() if selector <= c.labels.items()]
        assert pods, f"Service/{svc['metadata']['name']} selects no pod"
        for port in svc["spec"]["ports"]:
            for pod in pods:
                listens = pod.port(port["targetPort"])
                env = {v["name"]: v.get("value") for v in pod.spec.get("env", [])}
                assert listens is not None, pod.where
                assert env.get("PORT", str(listens)) == str(listens), pod.where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_probe_asks_a_served_path(
    overlays: dict[str, Rendered], overlay: str, stack: Stack, facts: dict[str, Any]
) -> None:
    assert workloads.probe_problems(overlays[overlay], stack, facts[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_renders_its_whole_template(
    overlays: dict[str, Rendered], overlay: str
) -> None:
    config = workloads.gateway_config(overlays[overlay])
    assert PLACEHOLDER.findall(config) == []
    assert not re.search(r"^\s*resolver\s+127\.0\.0\.11", config, re.M), "Docker's resolver"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_edges_of_stack_toml(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert network_problems(overlays[overlay], stack) == []
    assert reachable_from_outside(overlays[overlay]) == {"gateway"}


def test_a_policy_off_stack_toml_is_seen(prod: Rendered, stack: Stack) -> None:
    """Without orders' own policy its calls are blocked; Postgres opened to every pod lets
    checkout, which has no database, reach it."""
    policy = prod.get("NetworkPolicy", "orders")
    objects = [copy.deepcopy(o) for o in prod.objects if o is not policy]
    for obj in objects:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == "postgres-clients":
            obj["spec"]["podSelector"] = {}
    problems = network_problems(Rendered("prod", objects, prod.secrets), stack)
    assert "needed but blocked: orders -> identity:8001/TCP" in problems
    assert "allowed but not in stack.toml: checkout -> postgres:5432/TCP" in problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_hardened_and_sized(overlays: dict[str, Rendered], overlay: str) -> None:
    assert workloads.hardening_problems(overlays[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_termination_single_writers_and_disruption_budgets(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert workloads.lifecycle_problems(overlays[overlay], stack) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_before_the_schema_s_users(
    overlays: dict[str, Rendered], overlay: str
) -> None:
    assert workloads.job_problems(overlays[overlay]) == []


@pytest.mark.parametrize("overlay", ["prod", "prod+keda"])
def test_prod_scales_out_behind_tls_with_external_data(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert workloads.prod_problems(overlays[overlay], stack) == []


def test_dev_runs_everything_once_in_the_cluster(dev: Rendered, stack: Stack) -> None:
    names = {c.name for c in dev.containers()}
    assert {"postgres", "redis", "tempo", "loki", "prometheus", "grafana"} <= names
    assert {s.name for s in stack.services} | {
        f"seed-{s.name}" for s in stack.services if s.seed
    } <= names
    assert all(s["spec"]["volumeClaimTemplates"] for s in dev.kind("StatefulSet"))
    assert not dev.kind("HorizontalPodAutoscaler")
    assert all(d["spec"].get("replicas") == 1 for d in dev.kind("Deployment"))
    # Small CPU requests, to fit a laptop's cluster.
    assert {c.spec["resources"]["requests"]["cpu"] for c in dev.containers()} == {"10m"}


def test_keda_scales_the_worker_on_its_celery_queues(prod_keda: Rendered, stack: Stack) -> None:
    command = next(w for w in stack.workers if w.name == "worker").command
    scaled, worker = prod_keda.get("ScaledObject", "worker"), prod_keda.container("worker")
    assert scaled is not None
    assert worker is not None
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == "worker"
    assert spec["minReplicaCount"] >= 1, "a minimum of 0 would leave reports waiting for a pod"
    queues = {t["metadata"]["listName"] for t in spec["triggers"]}
    assert queues == set(command[command.index("-Q") + 1].split(","))
    assert "replicas" not in worker.workload["spec"], "KEDA owns the replica count"
    auth = prod_keda.get("TriggerAuthentication", "worker-redis")
    assert auth is not None
    assert {ref["key"] for ref in auth["spec"]["secretTargetRef"]} <= set(prod_keda.secret_data())
    # The lists are in the Redis database of the broker (CELERY_BROKER_URL unset: REDIS_URL).
    env, _ = environment.environment(prod_keda, worker)
    assert "CELERY_BROKER_URL" not in env
    database = urlsplit(env["REDIS_URL"]).path.lstrip("/") or "0"
    assert {t["metadata"]["databaseIndex"] for t in spec["triggers"]} == {database}
