"""How the workloads run: hardened and sized, drained on termination, single writers kept
single, migrations before their users, and prod's scale-out."""

from __future__ import annotations

import re

from tests.k8s.environment import environment
from tests.k8s.manifests import Container, Rendered, flag, where
from tests.k8s.roles import role
from topology import Stack

# The users the images run as: docker/python-service.Dockerfile and gateway/Dockerfile.
IMAGE_USERS = {"python": 10001, "gateway": 101}


def hardening_problems(rendered: Rendered) -> list[str]:
    problems = []
    for container in rendered.containers():
        pod_context = container.pod.get("securityContext", {})
        context = container.spec.get("securityContext", {})
        where = container.where
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            problems.append(f"{where}: runAsNonRoot is not set")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: the root filesystem is writable")
        if "ALL" not in context.get("capabilities", {}).get("drop", []):
            problems.append(f"{where}: capabilities are not all dropped")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") != "RuntimeDefault":
            problems.append(f"{where}: no RuntimeDefault seccomp profile")
        if container.pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: mounts a service-account token it does not use")
        resources = container.spec.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        if not {"cpu", "memory"} <= set(requests) or "memory" not in limits:
            problems.append(f"{where}: needs cpu and memory requests and a memory limit")
        kind = "gateway" if container.image_name == "mercato-gateway" else "python"
        if container.image_name.startswith("mercato-"):
            user = context.get("runAsUser", pod_context.get("runAsUser"))
            if user != IMAGE_USERS[kind]:
                problems.append(
                    f"{where}: runs as uid {user}, the image's user is {IMAGE_USERS[kind]}"
                )
    return problems


def _prestop_seconds(container: Container) -> int | None:
    pre_stop = container.spec.get("lifecycle", {}).get("preStop", {})
    if "sleep" in pre_stop:
        return int(pre_stop["sleep"]["seconds"])
    command = pre_stop.get("exec", {}).get("command", [])
    return int(command[1]) if command[:1] == ["sleep"] and len(command) > 1 else None


def scaled_targets(rendered: Rendered) -> dict[str, tuple[int, int]]:
    """Deployment name -> (minimum, maximum) replicas of whatever autoscales it."""
    targets = {}
    for hpa in rendered.kind("HorizontalPodAutoscaler"):
        spec = hpa["spec"]
        targets[spec["scaleTargetRef"]["name"]] = (spec.get("minReplicas", 1), spec["maxReplicas"])
    for scaled in rendered.kind("ScaledObject"):
        spec = scaled["spec"]
        targets[spec["scaleTargetRef"]["name"]] = (
            spec.get("minReplicaCount", 0),
            spec.get("maxReplicaCount", 100),
        )
    return targets


def lifecycle_problems(rendered: Rendered, stack: Stack) -> list[str]:
    problems = []
    for container in rendered.containers(init=False):
        what = role(stack, container.name)
        is_http = what is not None and what.service is not None and what.job is None
        if not is_http and container.name != "gateway":
            continue
        pause = _prestop_seconds(container)
        period = container.spec.get("readinessProbe", {}).get("periodSeconds", 10)
        grace = container.pod.get("terminationGracePeriodSeconds", 30)
        graceful = int(
            flag(list(container.spec.get("command", [])), "--timeout-graceful-shutdown") or 0
        )
        if pause is None or pause <= period:
            problems.append(
                f"{container.where}: preStop pause {pause} s is not longer than the readiness "
                f"period ({period} s)"
            )
        elif grace <= pause + graceful:
            problems.append(
                f"{container.where}: terminationGracePeriodSeconds {grace} leaves no time "
                f"after the preStop pause ({pause} s) and the graceful shutdown ({graceful} s)"
            )
    worker = rendered.container("worker")
    if worker is not None:
        env, _ = environment(rendered, worker)
        hard = float(env.get("REPORT_HARD_TIME_LIMIT", "300"))
        if worker.pod.get("terminationGracePeriodSeconds", 30) <= hard:
            problems.append(
                f"{worker.where}: a scale-down would kill a report before its hard limit ({hard} s)"
            )
    beat = rendered.get("Deployment", "beat")
    if beat is None:
        problems.append("Deployment/beat is missing")
    else:
        if beat["spec"].get("replicas") != 1:
            problems.append(
                "Deployment/beat: exactly one replica (two would run every periodic job twice)"
            )
        if beat["spec"].get("strategy", {}).get("type") != "Recreate":
            problems.append(
                "Deployment/beat: strategy must be Recreate (a rolling update runs two)"
            )
        if "beat" in scaled_targets(rendered):
            problems.append("Deployment/beat: must not be autoscaled")
    for deployment in rendered.kind("Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budgets = [
            pdb
            for pdb in rendered.kind("PodDisruptionBudget")
            if pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        # The dev-only Grafana stack is disposable; everything of Mercato has a budget.
        component = deployment["metadata"]["labels"].get("app.kubernetes.io/component")
        if component != "observability" and not budgets:
            problems.append(f"{where(deployment)}: no PodDisruptionBudget")
    return problems


def job_problems(rendered: Rendered, stack: Stack) -> list[str]:
    """Migrations as Jobs before the schema's users; seeds in dev only, after the migrations."""
    problems = []
    for service in stack.services:
        jobs = [("migrate", [service.migrate] if service.migrate else [])]
        jobs.append(("seed", list(service.seed) if rendered.overlay == "dev" else []))
        for job, argv in jobs:
            found = rendered.container(f"{job}-{service.name}")
            if not argv:
                if found is not None:
                    problems.append(
                        f"Job/{job}-{service.name} should not exist in {rendered.overlay}"
                    )
                continue
            if found is None or found.kind != "Job":
                problems.append(f"Job/{job}-{service.name} is missing")
            elif list(found.spec.get("command", [])) != ["python", "-m", *argv]:
                problems.append(
                    f"{found.where}: runs {found.spec.get('command')}, stack.toml says {argv}"
                )
    for workload in rendered.workloads():
        labels = workload["metadata"].get("labels", {})
        pod_labels = workload["spec"]["template"]["metadata"].get("labels", {})
        uses_schema = pod_labels.get("mercato.io/postgres") == "true"
        migration = labels.get("app.kubernetes.io/component") == "migration"
        if uses_schema and not migration and labels.get("mercato.io/after") != "migrations":
            problems.append(
                f"{where(workload)}: uses the schema but is not applied after the migrations"
            )
        if migration and labels.get("mercato.io/after"):
            problems.append(f"{where(workload)}: a migration cannot wait for the migrations")
    return problems


def prod_problems(rendered: Rendered, stack: Stack) -> list[str]:
    """prod: two replicas or more on separate nodes, external data, TLS in front."""
    problems = []
    scaled = scaled_targets(rendered)
    for name in [*(s.name for s in stack.routed), "gateway"]:
        deployment = rendered.get("Deployment", name)
        if deployment is None:
            continue
        minimum = scaled.get(name, (deployment["spec"].get("replicas", 1), 0))[0]
        if minimum < 2:
            problems.append(f"Deployment/{name}: at least 2 replicas in prod, has {minimum}")
        if name not in scaled:
            problems.append(f"Deployment/{name}: no CPU autoscaler")
        affinity = deployment["spec"]["template"]["spec"].get("affinity", {})
        if "podAntiAffinity" not in affinity:
            problems.append(f"Deployment/{name}: no pod anti-affinity")
    for hpa in rendered.kind("HorizontalPodAutoscaler"):
        if [m.get("resource", {}).get("name") for m in hpa["spec"].get("metrics", [])] != ["cpu"]:
            problems.append(f"{where(hpa)}: must scale on CPU")
    for kind in ("StatefulSet",):
        for obj in rendered.kind(kind):
            problems.append(f"{where(obj)}: prod's Postgres and Redis are external")
    ingresses = rendered.kind("Ingress")
    if not ingresses or not all(ingress["spec"].get("tls") for ingress in ingresses):
        problems.append("prod needs an Ingress with TLS")
    for ingress in ingresses:
        for rule in ingress["spec"].get("rules", []):
            for path in rule["http"]["paths"]:
                if path["backend"]["service"]["name"] != "gateway":
                    problems.append(f"{where(ingress)}: routes past the gateway")
    collector = rendered.container("otel-collector")
    config = rendered.configmap_named("otel-collector-config").get("config.yaml", "")
    endpoints = re.findall(r"endpoint:\s*\$\{env:([A-Z_]+)\}", config)
    if collector is None or not endpoints:
        problems.append("prod: the collector must export to an endpoint given by configuration")
    else:
        env, _ = environment(rendered, collector)
        for name in endpoints:
            if not env.get(name, "").startswith("https://"):
                problems.append(f"prod: the collector's {name} is not an https endpoint")
    return problems
