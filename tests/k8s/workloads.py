"""How the workloads run: hardened and sized, probed on served paths, drained on termination,
single writers kept single, migrations before their users, and prod's scale-out."""

from __future__ import annotations

import re
import shlex
from typing import Any

from native.render import PLACEHOLDER
from tests.k8s.environment import environment
from tests.k8s.manifests import PROBES, ROOT, Container, Rendered, where
from tests.k8s.roles import role
from topology import Stack

# The users the images run as: docker/python-service.Dockerfile and gateway/Dockerfile.
IMAGE_USERS = {"python": 10001, "gateway": 101}
# uvicorn's graceful shutdown under `python -m mercato_shared.serve` (--timeout-graceful-shutdown).
GRACEFUL_SHUTDOWN_SECONDS = 10
GATEWAY_DOCKERFILE = ROOT / "gateway" / "Dockerfile"
GATEWAY_TEMPLATE = ROOT / "gateway" / "templates" / "mercato.conf.template"


def hardening_problems(rendered: Rendered) -> list[str]:
    problems = []
    for container in rendered.containers():
        pod, context = (
            container.pod.get("securityContext", {}),
            container.spec.get("securityContext", {}),
        )
        seccomp = context.get("seccompProfile", pod.get("seccompProfile", {}))
        found = {
            "runAsNonRoot is not set": context.get("runAsNonRoot", pod.get("runAsNonRoot")),
            "privilege escalation is allowed": context.get("allowPrivilegeEscalation") is False,
            "the root filesystem is writable": context.get("readOnlyRootFilesystem") is True,
            "capabilities are not all dropped": context.get("capabilities") == {"drop": ["ALL"]},
            "no RuntimeDefault seccomp profile": seccomp.get("type") == "RuntimeDefault",
            "mounts a service-account token": container.pod.get("automountServiceAccountToken")
            is False,
        }
        problems += [f"{container.where}: {problem}" for problem, ok in found.items() if not ok]
        resources = container.spec.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        if not {"cpu", "memory"} <= set(requests) or "memory" not in limits:
            problems.append(f"{container.where}: needs cpu and memory requests and a memory limit")
        if container.image_name.startswith("mercato-"):
            user = IMAGE_USERS["gateway" if container.image_name == "mercato-gateway" else "python"]
            if context.get("runAsUser", pod.get("runAsUser")) != user:
                problems.append(f"{container.where}: does not run as the image's user {user}")
    return problems


def _dockerfile_env() -> dict[str, str]:
    """The gateway image's ENV defaults (continuation lines joined)."""
    env: dict[str, str] = {}
    for line in re.sub(r"\\\n", " ", GATEWAY_DOCKERFILE.read_text()).splitlines():
        if line.strip().startswith("ENV "):
            env |= dict(item.partition("=")[::2] for item in shlex.split(line.strip()[4:]))
    return env


def gateway_config(rendered: Rendered) -> str:
    """The gateway's nginx configuration as its image renders it (envsubst of its variables)."""
    gateway = rendered.container("gateway")
    env = _dockerfile_env() | ({} if gateway is None else environment(rendered, gateway)[0])
    return PLACEHOLDER.sub(lambda m: env.get(m.group(1), m.group(0)), GATEWAY_TEMPLATE.read_text())


def gateway_problems(rendered: Rendered, stack: Stack) -> list[str]:
    """The template renders completely, and every upstream reaches its service's Service."""
    config = gateway_config(rendered)
    problems = [f"gateway: ${{{name}}} is unrendered" for name in PLACEHOLDER.findall(config)]
    for service in stack.routed:
        block = re.search(rf"upstream\s+{service.name}\s*\{{(.*?)\}}", config, re.DOTALL)
        servers = re.findall(r"^\s*server\s+([^\s;]+)", block.group(1) if block else "", re.M)
        svc = rendered.get("Service", service.name)
        ports = [] if svc is None else [p["port"] for p in svc["spec"]["ports"]]
        if servers != [f"{service.name}:{service.port}"] or ports != [service.port]:
            problems.append(f"gateway: upstream {service.name} {servers} misses Service {ports}")
    return problems


def probe_problems(rendered: Rendered, stack: Stack, facts: dict[str, Any]) -> list[str]:
    """Every HTTP probe asks a path the process serves (GET), on one of its ports."""
    problems = []
    gateway_paths = set(
        re.findall(r"^\s*location\s+=\s+(\S+)\s*\{", gateway_config(rendered), re.M)
    )
    for container in rendered.containers():
        served = facts.get(container.name, {}).get("status")
        for kind in PROBES:
            probe = container.spec.get(kind, {}).get("httpGet")
            if probe is None:
                continue
            path, at = probe["path"], f"{container.where}: {kind} {probe['path']}"
            if container.port(probe["port"]) is None:
                problems.append(f"{at}: port {probe['port']} is not a container port")
            if served is not None and served.get(path, 404) in (404, 405):
                problems.append(f"{at}: not a GET route of the app")
            if container.image_name == "mercato-gateway" and path not in gateway_paths:
                problems.append(f"{at}: no location of the gateway")
        what = role(stack, container.name)
        if what is not None and what.app is not None:
            expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz"}
            for kind, path in (expected | {"readinessProbe": "/readyz"}).items():
                if container.spec.get(kind, {}).get("httpGet", {}).get("path") != path:
                    problems.append(f"{container.where}: {kind} must ask {path}")
    return problems


def scaled_targets(rendered: Rendered) -> dict[str, tuple[int, int]]:
    """Deployment name -> (minimum, maximum) replicas of whatever autoscales it."""
    targets = {}
    for hpa in rendered.kind("HorizontalPodAutoscaler"):
        spec = hpa["spec"]
        targets[spec["scaleTargetRef"]["name"]] = (spec.get("minReplicas", 1), spec["maxReplicas"])
    for scaled in rendered.kind("ScaledObject"):
        spec = scaled["spec"]
        bounds = (spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100))
        targets[spec["scaleTargetRef"]["name"]] = bounds
    return targets


def _drains(container: Container) -> str | None:
    pause = container.spec.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
    period = container.spec.get("readinessProbe", {}).get("periodSeconds", 10)
    grace = container.pod.get("terminationGracePeriodSeconds", 30)
    graceful = GRACEFUL_SHUTDOWN_SECONDS if container.name != "gateway" else 0
    if pause is None or pause <= period:
        return f"preStop pause {pause} s is not longer than the readiness period ({period} s)"
    if grace <= pause + graceful:
        return f"terminationGracePeriodSeconds {grace} ends the pause ({pause} s) + shutdown"
    return None


def lifecycle_problems(rendered: Rendered, stack: Stack) -> list[str]:
    problems = []
    for container in rendered.containers():
        what = role(stack, container.name)
        serves = (what is not None and what.app is not None) or container.name == "gateway"
        if serves and (problem := _drains(container)):
            problems.append(f"{container.where}: {problem}")
    worker = rendered.container("worker")
    if worker is not None:
        hard = float(environment(rendered, worker)[0]["REPORT_HARD_TIME_LIMIT"])
        if worker.pod.get("terminationGracePeriodSeconds", 30) <= hard:
            problems.append(f"{worker.where}: a scale-down would cut a report ({hard} s) short")
    beat = rendered.get("Deployment", "beat")
    if beat is None or beat["spec"].get("replicas") != 1 or "beat" in scaled_targets(rendered):
        problems.append("Deployment/beat: exactly one replica (two would run each job twice)")
    elif beat["spec"].get("strategy", {}).get("type") != "Recreate":
        problems.append("Deployment/beat: strategy must be Recreate (a rolling update runs two)")
    budgets = [
        pdb["spec"]["selector"]["matchLabels"] for pdb in rendered.kind("PodDisruptionBudget")
    ]
    for deployment in rendered.kind("Deployment"):
        labels = Container(deployment).labels
        # The dev-only Grafana stack is disposable; everything of Mercato has a budget.
        if labels.get("app.kubernetes.io/component") != "observability" and not any(
            selector.items() <= labels.items() for selector in budgets
        ):
            problems.append(f"{where(deployment)}: no PodDisruptionBudget")
    return problems


def job_problems(rendered: Rendered) -> list[str]:
    """What uses a schema is applied after the migrations (README, "Deploy"); they are not."""
    problems = []
    for container in rendered.containers():
        labels = container.workload["metadata"].get("labels", {})
        migration = labels.get("app.kubernetes.io/component") == "migration"
        after = labels.get("mercato.io/after") == "migrations"
        if container.labels.get("mercato.io/postgres") == "true" and migration == after:
            problems.append(f"{container.where}: a migration runs first, its users after it")
    return problems


def prod_problems(rendered: Rendered, stack: Stack) -> list[str]:
    """prod: two replicas or more on separate nodes, external data, no seeds, TLS in front."""
    problems = []
    scaled = scaled_targets(rendered)
    for name in [*(s.name for s in stack.routed), "gateway"]:
        deployment = rendered.get("Deployment", name)
        if deployment is None or scaled.get(name, (0, 0))[0] < 2:
            problems.append(f"Deployment/{name}: needs an autoscaler from 2 replicas")
        elif "podAntiAffinity" not in deployment["spec"]["template"]["spec"].get("affinity", {}):
            problems.append(f"Deployment/{name}: no pod anti-affinity")
    for hpa in rendered.kind("HorizontalPodAutoscaler"):
        if [m["resource"]["name"] for m in hpa["spec"]["metrics"]] != ["cpu"]:
            problems.append(f"{where(hpa)}: must scale on CPU")
    for obj in rendered.kind("StatefulSet"):
        problems.append(f"{where(obj)}: prod's Postgres and Redis are external")
    for container in rendered.containers():
        if container.labels.get("app.kubernetes.io/component") == "seed":
            problems.append(f"{container.where}: no development data in prod")
    ingresses = rendered.kind("Ingress")
    backends = {
        path["backend"]["service"]["name"]
        for ingress in ingresses
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    if not ingresses or not all(i["spec"].get("tls") for i in ingresses) or backends != {"gateway"}:
        problems.append("prod needs an Ingress with TLS in front of the gateway")
    collector = rendered.container("otel-collector")
    config = rendered.configmap("otel-collector-config").get("config.yaml", "")
    endpoints = re.findall(r"endpoint:\s*\$\{env:([A-Z_]+)\}", config)
    env = {} if collector is None else environment(rendered, collector)[0]
    if not endpoints or not all(env.get(name, "").startswith("https://") for name in endpoints):
        problems.append("prod: the collector must export to an https endpoint it is given")
    return problems
