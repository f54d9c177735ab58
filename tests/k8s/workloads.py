"""How the workloads run: hardened and sized, probed on served paths, drained on termination,
single writers kept single, migrations before their users, and prod's scale-out."""

from __future__ import annotations

import re
import shlex
from typing import Any

from mercato_shared.serve import GRACEFUL_SHUTDOWN_SECONDS
from native.render import PLACEHOLDER
from tests.k8s.environment import environment, role
from tests.k8s.manifests import PROBES, ROOT, Container, Rendered, where
from topology import Stack

# The users the images run as: docker/python-service.Dockerfile and gateway/Dockerfile.
IMAGE_USERS = {"python": 10001, "gateway": 101}
GATEWAY = ROOT / "gateway"
COMPONENT = "app.kubernetes.io/component"
# An HTTP service's startup, liveness and readiness probes (mercato_shared's health routes).
HTTP_PROBE_PATHS = ["/healthz", "/healthz", "/readyz"]


def hardening_problems(rendered: Rendered) -> list[str]:
    problems = []
    for c in rendered.containers():
        own = c.spec.get("securityContext", {})
        context = c.pod.get("securityContext", {}) | own
        requests, limits = (c.spec.get("resources", {}).get(k, {}) for k in ("requests", "limits"))
        user = IMAGE_USERS["gateway" if c.image_name == "mercato-gateway" else "python"]
        found = {
            "runs as root": context.get("runAsNonRoot") is True,
            "may escalate privileges": own.get("allowPrivilegeEscalation") is False,
            "has a writable root filesystem": own.get("readOnlyRootFilesystem") is True,
            "keeps capabilities": own.get("capabilities") == {"drop": ["ALL"]},
            "has no RuntimeDefault seccomp": context.get("seccompProfile")
            == {"type": "RuntimeDefault"},
            "mounts a service-account token": c.pod.get("automountServiceAccountToken") is False,
            "lacks cpu and memory requests": {"cpu", "memory"} <= set(requests),
            "lacks a memory limit": "memory" in limits,
            "is not its image's user": not c.image_name.startswith("mercato-")
            or context.get("runAsUser") == user,
        }
        problems += [f"{c.where}: {problem}" for problem, ok in found.items() if not ok]
    return problems


def gateway_config(rendered: Rendered) -> str:
    """The gateway's nginx configuration as its image renders it: envsubst of the variables
    its image sets (ENV, continuation lines joined) and its container gets."""
    env: dict[str, str] = {}
    for line in re.sub(r"\\\n", " ", (GATEWAY / "Dockerfile").read_text()).splitlines():
        if line.startswith("ENV "):
            env |= dict(item.partition("=")[::2] for item in shlex.split(line[4:]))
    env |= environment(rendered, rendered.container("gateway"))[0]
    template = (GATEWAY / "templates" / "mercato.conf.template").read_text()
    return PLACEHOLDER.sub(lambda m: env.get(m.group(1), m.group(0)), template)


def probe_problems(rendered: Rendered, stack: Stack, facts: dict[str, Any]) -> list[str]:
    """Every HTTP probe asks a path the process serves (GET), on one of its ports; an HTTP
    service is started on /healthz, alive on /healthz and ready on /readyz."""
    problems = []
    config = gateway_config(rendered)
    gateway_paths = set(re.findall(r"^\s*location\s+=\s+(\S+)\s*\{", config, re.M))
    for c in rendered.containers():
        served = facts.get(c.name, {}).get("status")
        asked = {k: c.spec[k]["httpGet"] for k in PROBES if "httpGet" in c.spec.get(k, {})}
        for kind, probe in asked.items():
            at = f"{c.where}: {kind} {probe['path']}"
            if c.port(probe["port"]) is None:
                problems.append(f"{at}: port {probe['port']} is not a container port")
            if served is not None and served.get(probe["path"], 404) in (404, 405):
                problems.append(f"{at}: not a GET route of the app")
            if c.image_name == "mercato-gateway" and probe["path"] not in gateway_paths:
                problems.append(f"{at}: no location of the gateway")
        paths = [asked.get(kind, {}).get("path") for kind in PROBES]
        if role(stack, c.name).app is not None and paths != HTTP_PROBE_PATHS:
            problems.append(f"{c.where}: its probes ask {paths}, not {HTTP_PROBE_PATHS}")
    return problems


def scaled_targets(rendered: Rendered) -> dict[str, tuple[int, int]]:
    """Deployment name -> (minimum, maximum) replicas of whatever autoscales it."""
    hpa = ("HorizontalPodAutoscaler", "minReplicas", "maxReplicas")
    keda = ("ScaledObject", "minReplicaCount", "maxReplicaCount")
    specs = [(o["spec"], low, high) for kind, low, high in (hpa, keda) for o in rendered.kind(kind)]
    return {s["scaleTargetRef"]["name"]: (s[low], s[high]) for s, low, high in specs}


def _drain_problem(c: Container) -> str | None:
    """A terminating pod serves while it leaves the endpoints (a preStop pause longer than the
    readiness period), then shuts down gracefully, within its grace period."""
    pause = c.spec.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    period = c.spec.get("readinessProbe", {}).get("periodSeconds", 10)
    grace = c.pod.get("terminationGracePeriodSeconds", 30)
    shutdown = 0 if c.name == "gateway" else GRACEFUL_SHUTDOWN_SECONDS
    if pause <= period:
        return f"preStop pause {pause} s is not longer than the readiness period ({period} s)"
    if grace <= pause + shutdown:
        return f"terminationGracePeriodSeconds {grace} ends the pause and the shutdown"
    return None


def lifecycle_problems(rendered: Rendered, stack: Stack) -> list[str]:
    problems = []
    for c in rendered.containers():
        serves = role(stack, c.name).app is not None or c.name == "gateway"
        if serves and (problem := _drain_problem(c)):
            problems.append(f"{c.where}: {problem}")
    worker = rendered.container("worker")
    hard = float(environment(rendered, worker)[0]["REPORT_HARD_TIME_LIMIT"])
    if worker.pod.get("terminationGracePeriodSeconds", 30) <= hard:
        problems.append(f"{worker.where}: a scale-down would cut a report ({hard} s) short")
    beat = rendered.get("Deployment", "beat")
    if beat["spec"].get("replicas") != 1 or "beat" in scaled_targets(rendered):
        problems.append("Deployment/beat: exactly one replica (two would run each job twice)")
    elif beat["spec"].get("strategy", {}).get("type") != "Recreate":
        problems.append("Deployment/beat: strategy must be Recreate (a rolling update runs two)")
    budgets = [p["spec"]["selector"]["matchLabels"] for p in rendered.kind("PodDisruptionBudget")]
    for c in rendered.containers():
        # The dev-only Grafana stack is disposable; everything of Mercato has a budget.
        if c.workload["kind"] != "Deployment" or c.labels[COMPONENT] == "observability":
            continue
        if not any(selector.items() <= c.labels.items() for selector in budgets):
            problems.append(f"{c.where}: no PodDisruptionBudget")
    return problems


def job_problems(rendered: Rendered) -> list[str]:
    """What uses a schema is applied after the migrations (README, "Deploy"); they are not."""
    problems = []
    for c in rendered.containers():
        labels = c.workload["metadata"]["labels"]
        migration = labels.get(COMPONENT) == "migration"
        after = labels.get("mercato.io/after") == "migrations"
        if c.labels.get("mercato.io/postgres") == "true" and migration == after:
            problems.append(f"{c.where}: a migration runs first, its users after it")
    return problems


def prod_problems(rendered: Rendered, stack: Stack) -> list[str]:
    """prod: two replicas or more on separate nodes, external data, no seeds, TLS in front."""
    problems = []
    scaled = scaled_targets(rendered)
    for name in [*(s.name for s in stack.routed), "gateway"]:
        if scaled.get(name, (0, 0))[0] < 2:
            problems.append(f"Deployment/{name}: needs an autoscaler from 2 replicas")
        if "podAntiAffinity" not in rendered.container(name).pod.get("affinity", {}):
            problems.append(f"Deployment/{name}: no pod anti-affinity")
    for hpa in rendered.kind("HorizontalPodAutoscaler"):
        if [m["resource"]["name"] for m in hpa["spec"]["metrics"]] != ["cpu"]:
            problems.append(f"{where(hpa)}: must scale on CPU")
    for c in rendered.containers():
        if c.workload["kind"] == "StatefulSet" or c.labels[COMPONENT] == "seed":
            problems.append(f"{c.where}: prod has external data, and no development data")
    ingresses = rendered.kind("Ingress")
    backends = {
        path["backend"]["service"]["name"]
        for ingress in ingresses
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    if not ingresses or not all(i["spec"].get("tls") for i in ingresses) or backends != {"gateway"}:
        problems.append("prod needs an Ingress with TLS in front of the gateway")
    config = rendered.configmap("otel-collector-config").get("config.yaml", "")
    exports = re.findall(r"endpoint:\s*\$\{env:([A-Z_]+)\}", config)
    env = environment(rendered, rendered.container("otel-collector"))[0]
    if not exports or not all(env.get(name, "").startswith("https://") for name in exports):
        problems.append("prod: the collector must export to an https endpoint it is given")
    return problems
