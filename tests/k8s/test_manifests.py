"""The Kubernetes manifests (deploy/k8s), rendered offline (no cluster, no network): valid
objects, processes that start with what they read, probes on served paths, network policies
of exactly stack.toml's edges, hardening, termination, single writers, migrations first,
prod's scale-out, dev's Grafana stack. Each check returns the problems it finds."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda import v1alpha1
from pydantic import ValidationError

from native.render import PLACEHOLDER
from tests.k8s import environment, workloads
from tests.k8s.manifests import ROOT, Object, Rendered, where
from tests.k8s.network import network_problems
from topology import Stack

# The Kubernetes version validated against: the preStop `sleep` action needs 1.30 or later.
KUBERNETES_VERSION = "1.32.0"


def keda_problems(obj: Object) -> list[str]:
    """A KEDA object against the model cloudcoil-models-keda generates from KEDA's CRD, with
    no field the schema does not have."""
    model_class = getattr(v1alpha1, str(obj["kind"]), None)
    if model_class is None or obj["apiVersion"] != "keda.sh/v1alpha1":
        return [f"{where(obj)}: no published KEDA schema for {obj['apiVersion']}"]
    try:
        model_class.model_validate(obj, extra="forbid")
    except ValidationError as exc:
        return [f"{where(obj)}: {error['loc']}: {error['msg']}" for error in exc.errors()]
    return []


def schema_problems(objects: Iterable[Object]) -> list[str]:
    """Every object against the OpenAPI schema of its kind (kubernetes-validate, strict)."""
    problems = []
    for obj in objects:
        if str(obj["apiVersion"]).startswith("keda.sh/"):
            problems.extend(keda_problems(obj))
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            location = ".".join(str(part) for part in exc.path) or "top level"
            problems.append(f"{where(obj)}: {exc.message} (at {location})")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{where(obj)}: no schema for {obj['apiVersion']}")
    return problems


def service_port_problems(rendered: Rendered) -> list[str]:
    """Every Service selects pods and sends to a port they listen on (PORT, for Mercato's)."""
    problems = []
    for svc in rendered.kind("Service"):
        selector = svc["spec"]["selector"].items()
        pods = [c for c in rendered.containers() if selector <= c.labels.items()]
        problems += [f"Service/{svc['metadata']['name']} selects no pod"] if not pods else []
        for port, pod in [(p["targetPort"], c) for p in svc["spec"]["ports"] for c in pods]:
            env, listens = (
                {v["name"]: v.get("value") for v in pod.spec.get("env", [])},
                pod.port(port),
            )
            if listens is None or env.get("PORT", str(listens)) != str(listens):
                problems.append(f"{pod.where}: does not listen on the Service's {port}")
    return problems


def gateway_problems(rendered: Rendered) -> list[str]:
    config = workloads.gateway_config(rendered)
    problems = [f"gateway: ${{{name}}} is not rendered" for name in PLACEHOLDER.findall(config)]
    if re.search(r"^\s*resolver\s+127\.0\.0\.11", config, re.M):
        problems.append("gateway: Docker's resolver does not exist in a cluster")
    return problems


Check = Callable[[Rendered, Stack, dict[str, Any]], list[str]]
CHECKS: dict[str, Check] = {
    "objects validate": lambda r, s, f: schema_problems([*r.objects, *r.secrets]),
    "settings get what they read": environment.variable_problems,
    "services reach their pods": lambda r, s, f: service_port_problems(r),
    "probes ask served paths": workloads.probe_problems,
    "gateway template renders": lambda r, s, f: gateway_problems(r),
    # Only the gateway is reachable from outside: another would be an edge off stack.toml.
    "policies allow stack.toml's edges": lambda r, s, f: network_problems(r, s),
    "containers are hardened and sized": lambda r, s, f: workloads.hardening_problems(r),
    "pods drain, beat is single, budgets": lambda r, s, f: workloads.lifecycle_problems(r, s),
    "migrations run first": lambda r, s, f: workloads.job_problems(r),
}


@pytest.mark.parametrize("overlay", ["dev", "prod", "prod+keda"])
@pytest.mark.parametrize("check", CHECKS)
def test_the_overlay_passes(
    overlays: dict[str, Rendered], facts: dict[str, Any], stack: Stack, check: str, overlay: str
) -> None:
    assert CHECKS[check](overlays[overlay], stack, facts[overlay]) == []


@pytest.mark.parametrize("overlay", ["prod", "prod+keda"])
def test_prod_scales_out_behind_tls_with_external_data(
    overlays: dict[str, Rendered], overlay: str, stack: Stack
) -> None:
    assert workloads.prod_problems(overlays[overlay], stack) == []


def test_schemas_refuse_a_bad_type_and_an_unknown_field(prod_keda: Rendered) -> None:
    beat, scaled = copy.deepcopy(
        [prod_keda.kind("Deployment")[0], prod_keda.kind("ScaledObject")[0]]
    )
    beat["spec"]["replicas"] = "one"
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")
    problems = schema_problems([beat, scaled])
    assert any(f"{where(beat)}: 'one' is not of type" in p for p in problems)
    unknown = "ScaledObject/worker: ('spec', 'maxReplicas'): Extra inputs are not permitted"
    assert unknown in problems


def test_a_policy_off_stack_toml_is_seen(prod: Rendered, stack: Stack) -> None:
    """orders' own policy removed, and Postgres' opened to pods without a database."""
    policy = prod.get("NetworkPolicy", "orders")
    objects = [copy.deepcopy(o) for o in prod.objects if o is not policy]
    for obj in objects:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == "postgres-clients":
            obj["spec"]["podSelector"] = {}
    problems = network_problems(Rendered("prod", objects, prod.secrets), stack)
    assert "needed but blocked: orders -> identity:8001/TCP" in problems
    assert "allowed but not in stack.toml: checkout -> postgres:5432/TCP" in problems


def test_dev_runs_everything_once_in_the_cluster(dev: Rendered) -> None:
    assert all(s["spec"]["volumeClaimTemplates"] for s in dev.kind("StatefulSet"))
    assert not dev.kind("HorizontalPodAutoscaler")
    assert all(d["spec"].get("replicas") == 1 for d in dev.kind("Deployment"))
    # Small CPU requests, to fit a laptop's cluster.
    assert {c.spec["resources"]["requests"]["cpu"] for c in dev.containers()} == {"10m"}


def test_keda_scales_the_worker_on_its_celery_queues(prod_keda: Rendered, stack: Stack) -> None:
    command = next(w for w in stack.workers if w.name == "worker").command
    spec, worker = prod_keda.get("ScaledObject", "worker")["spec"], prod_keda.container("worker")
    assert spec["scaleTargetRef"]["name"] == "worker"
    assert spec["minReplicaCount"] >= 1, "a minimum of 0 would leave reports waiting for a pod"
    queues = {t["metadata"]["listName"] for t in spec["triggers"]}
    assert queues == set(command[command.index("-Q") + 1].split(","))
    assert "replicas" not in worker.workload["spec"], "KEDA owns the replica count"
    auth = prod_keda.get("TriggerAuthentication", "worker-redis")
    assert {ref["key"] for ref in auth["spec"]["secretTargetRef"]} <= set(prod_keda.secret_data())
    # The lists are in the Redis database of the broker (CELERY_BROKER_URL unset: REDIS_URL).
    env, _ = environment.environment(prod_keda, worker)
    assert "CELERY_BROKER_URL" not in env
    database = urlsplit(env["REDIS_URL"]).path.lstrip("/") or "0"
    assert {t["metadata"]["databaseIndex"] for t in spec["triggers"]} == {database}


COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_dev_runs_compose_s_grafana_stack_with_every_file_it_mounts(dev: Rendered) -> None:
    packaged = {value for cm in dev.kind("ConfigMap") for value in cm.get("data", {}).values()}
    sources = [str(v).split(":", 1)[0] for s in COMPOSE.values() for v in s.get("volumes", [])]
    paths = [ROOT / source for source in sources if source.startswith("./observability/")]
    files = [f for p in paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p]) if f.is_file()]
    assert len(files) >= 9  # the collector, Tempo, Loki, Prometheus, Grafana and 5 dashboards
    missing = [str(f.relative_to(ROOT)) for f in files if f.read_text() not in packaged]
    assert missing == [], "add them to observability/kustomization.yaml"
    for name in ("tempo", "loki", "prometheus", "grafana", "otel-collector"):
        assert dev.container(name).spec["image"] == COMPOSE[name]["image"], name
