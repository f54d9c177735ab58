"""Each service's Kubernetes objects (deploy/k8s), rendered from `stack.toml`.

What stack.toml says of a service becomes, in `base/rendered/`, its Deployment (the image's
command reads PORT; no `command`), Service, PodDisruptionBudget, NetworkPolicies and
migration Job; of a worker, its Deployment (its `command`; base/WORKER.yaml patches in what is
particular to it), budget and NetworkPolicies; of the gateway, its NetworkPolicy; and the
services' URLs (`NAME_URL` of each service something calls) and the gateway's upstreams.
A service that is not routed stands for the outside world: it runs in the dev overlay only
(`overlays/dev/rendered/`), with the seed Jobs. The prod overlay's autoscalers and the
spreading of each routed service over nodes are `overlays/prod/rendered/` (a Component).
Each directory has a rendered kustomization that the hand-written one includes.

Everything of a workload that is the same for every service is written once, here, as a
default; the hand-written components/pod-defaults adds the security context, probes and
termination to every pod.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import yaml

from topology.description import DEFAULT_MEMORY, Service, Stack, Worker
from topology.render import notice

HEADER = notice()
BASE = "deploy/k8s/base/rendered"
DEV = "deploy/k8s/overlays/dev/rendered"
PROD = "deploy/k8s/overlays/prod/rendered"

Object = dict[str, Any]

# The Secret every process reads its credentials from (the overlays' secrets/ make it).
CREDENTIALS = "mercato-secrets"
# The image of the workspace member `workers` (docker/python-service.Dockerfile, PACKAGE).
WORKERS_IMAGE = "mercato-workers"
GATEWAY_IMAGE = "mercato-gateway"
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
# What components/pod-defaults hardens (every Mercato Python pod).
RUNTIME = "mercato.io/runtime"
# Applied only after the migration Jobs have completed (deploy/k8s/README.md, "Deploy").
AFTER = "mercato.io/after"
# Pod labels the hand-written NetworkPolicies postgres-clients and redis-clients select.
POSTGRES = "mercato.io/postgres"
REDIS = "mercato.io/redis"

# The CPU each Python container requests (what the autoscalers measure against); no CPU
# limit: it would throttle a request in the middle even when the node has idle CPU.
CPU = "100m"
# A migration's memory: it runs Alembic, not the app.
MIGRATION_MEMORY = ("128Mi", "192Mi")
# prod's autoscaling: at least two pods (one per node), scaled on CPU utilisation of the
# request, and slow to scale down.
MIN_PODS = 2
CPU_UTILISATION = 70
SCALE_DOWN_WINDOW_SECONDS = 300
# A failed migration or seed pod (Postgres not ready yet) is retried with a growing delay.
JOB_RETRIES = 6
MIGRATION_DEADLINE_SECONDS = 600
SEED_DEADLINE_SECONDS = 900


# A mapping or list of a few scalars is written on one line ({name: http, port: 8080}).
FLOW_WIDTH = 64


class _Dumper(yaml.SafeDumper):
    """A list indented under its key, as kubectl and kustomize write it."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _short(items: list[Any]) -> bool:
    scalars = all(not isinstance(item, dict | list) for item in items)
    return scalars and len(", ".join(map(str, items))) <= FLOW_WIDTH


def _mapping(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = _short([f"{key}: {value}" for key, value in data.items()]) and all(
        not isinstance(value, dict | list) for value in data.values()
    )
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


def _sequence(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_short(data))


_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(list, _sequence)


def _document(obj: Object, comment: str = "") -> str:
    lines = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    body = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=100)
    return lines + body


def _file(documents: Iterable[str], comment: str = "") -> str:
    """A YAML file of several documents, after the generated-file header and a comment."""
    intro = "".join(f"# {line}\n" for line in comment.splitlines())
    return HEADER + intro + "".join(f"---\n{document}" for document in documents)


def _secret(key: str) -> Object:
    return {"name": key, "valueFrom": {"secretKeyRef": {"name": CREDENTIALS, "key": key}}}


def _credentials(*, postgres: bool, redis: bool, extra: Iterable[str]) -> list[Object]:
    """The Secret's keys a process reads, each as one variable: JWT_PUBLIC_KEY for every
    process (each verifies tokens), the URLs of what it uses, and its own keys."""
    keys = [
        *(["POSTGRES_URL"] if postgres else []),
        *(["REDIS_URL"] if redis else []),
        "JWT_PUBLIC_KEY",
        *extra,
    ]
    return [_secret(key) for key in keys]


def _resources(memory: tuple[str, str]) -> Object:
    request, limit = memory
    return {"requests": {"cpu": CPU, "memory": request}, "limits": {"memory": limit}}


def _pod_labels(name: str, component: str, *, postgres: bool, redis: bool) -> dict[str, str]:
    labels = {NAME: name, COMPONENT: component}
    if postgres:
        labels[POSTGRES] = "true"
    if redis:
        labels[REDIS] = "true"
    return labels


def _workload_labels(name: str, component: str, *, after: bool) -> dict[str, str]:
    """A Mercato Python workload's labels; `after`: applied once the migrations are done."""
    labels = {NAME: name, COMPONENT: component, RUNTIME: "python"}
    return labels | {AFTER: "migrations"} if after else labels


def _deployment(
    name: str, component: str, container: Object, *, postgres: bool, redis: bool, after: bool
) -> Object:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": _workload_labels(name, component, after=after)},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {NAME: name}},
            "template": {
                "metadata": {
                    "labels": _pod_labels(name, component, postgres=postgres, redis=redis)
                },
                "spec": {"containers": [{"name": name, **container}]},
            },
        },
    }


def deployment(service: Service) -> Object:
    """The service's pods: the image's command (`python -m mercato_shared.serve`) serves the
    app its image was built for on PORT, with SERVICE_WORKERS processes (mercato-config).
    Mercato's own services are released after the migrations; a service that stands for the
    outside world (not routed) is not part of the release."""
    env = [
        {"name": "PORT", "value": str(service.port)},
        {"name": "OTEL_SERVICE_NAME", "value": service.name},
        *_credentials(postgres=service.database, redis=service.redis, extra=service.secrets),
    ]
    container = {
        "image": f"mercato-{service.name}",
        "ports": [{"name": "http", "containerPort": service.port}],
        "env": env,
        "resources": _resources(service.memory),
    }
    return _deployment(
        service.name,
        "http-service",
        container,
        postgres=service.database,
        redis=service.redis,
        after=service.routed,
    )


def worker_deployment(worker: Worker) -> Object:
    """A worker's pods: the workers image running stack.toml's command. What is particular
    to one in the cluster (its grace period, probes, resources) is a hand-written patch."""
    postgres = worker.database is not None
    env = [
        {"name": "OTEL_SERVICE_NAME", "value": worker.name},
        *_credentials(postgres=postgres, redis=worker.redis, extra=worker.secrets),
    ]
    container = {
        "image": WORKERS_IMAGE,
        "command": list(worker.command),
        "env": env,
        "resources": _resources(DEFAULT_MEMORY),
    }
    return _deployment(
        worker.name, "worker", container, postgres=postgres, redis=worker.redis, after=True
    )


def kubernetes_service(service: Service) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service.name,
            "labels": {NAME: service.name, COMPONENT: "http-service"},
        },
        "spec": {
            "selector": {NAME: service.name},
            "ports": [{"name": "http", "port": service.port, "targetPort": "http"}],
        },
    }


def disruption_budget(name: str) -> Object:
    """At most one pod evicted at a time: maxUnavailable, so that a single replica (dev) can
    still be moved by a node drain."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {NAME: name}}},
    }


def job(service: Service, kind: Literal["migrate", "seed"]) -> Object:
    """`migrate-NAME` (stack.toml's `migrate`) or `seed-NAME` (its `seed`, dev only)."""
    name = f"{kind}-{service.name}"
    seed = kind == "seed"
    argv = list(service.seed) if seed else [str(service.migrate)]
    component = "seed" if seed else "migration"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": _workload_labels(name, component, after=seed)},
        "spec": {
            "backoffLimit": JOB_RETRIES,
            "activeDeadlineSeconds": SEED_DEADLINE_SECONDS if seed else MIGRATION_DEADLINE_SECONDS,
            "template": {
                "metadata": {
                    "labels": _pod_labels(name, component, postgres=service.database, redis=False)
                },
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": kind,
                            "image": f"mercato-{service.name}",
                            "command": ["python", "-m", *argv],
                            "env": [
                                {"name": "OTEL_SERVICE_NAME", "value": name},
                                *_credentials(
                                    postgres=service.database, redis=False, extra=service.secrets
                                ),
                            ],
                            "resources": _resources(service.memory if seed else MIGRATION_MEMORY),
                        }
                    ],
                },
            },
        },
    }


def _peer(name: str) -> Object:
    return {"podSelector": {"matchLabels": {NAME: name}}}


def _port(number: int) -> Object:
    return {"protocol": "TCP", "port": number}


def network_policy(
    name: str, pods: str, *, ingress: Object | None = None, egress: Iterable[Service] = ()
) -> Object:
    """A policy of the pods of `pods`: they accept `ingress` (one rule) and reach `egress`;
    the hand-written default-deny denies everything no policy allows."""
    egress_rules = [{"to": [_peer(s.name)], "ports": [_port(s.port)]} for s in egress]
    spec: Object = {
        "podSelector": {"matchLabels": {NAME: pods}},
        "policyTypes": [*(["Ingress"] if ingress else []), *(["Egress"] if egress_rules else [])],
    }
    if ingress:
        spec["ingress"] = [ingress]
    if egress_rules:
        spec["egress"] = egress_rules
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


def callers(stack: Stack, service: Service) -> list[str]:
    """Who may open the service's port: the gateway if it is routed, then every process
    whose `calls` name it."""
    processes: list[Service | Worker] = [*stack.services, *stack.workers]
    found = [p.name for p in processes if service.name in p.calls]
    return ["gateway", *found] if service.routed else found


def policies(stack: Stack, process: Service | Worker) -> list[tuple[Object, str]]:
    """The NetworkPolicies of a process, each with the comment that says what it allows: its
    callers in and its calls to routed services (always pods) out; a call to a service that
    is not routed (outside the cluster in prod) has a policy of its own, NAME-CALLEE, that
    the prod overlay points at addresses."""
    called = [stack.service(name) for name in process.calls]
    inside, outside = [s for s in called if s.routed], [s for s in called if not s.routed]
    sources = callers(stack, process) if isinstance(process, Service) else []
    found = []
    if sources or inside:
        ingress = None
        if isinstance(process, Service) and sources:
            ingress = {"from": [_peer(name) for name in sources], "ports": [_port(process.port)]}
        who, calls = ", ".join(sources) or "nobody", ", ".join(s.name for s in inside) or "nobody"
        own = network_policy(process.name, process.name, ingress=ingress, egress=inside)
        found.append((own, f"{process.name}: called by {who}; calls {calls} in the cluster."))
    for callee in outside:
        policy = network_policy(f"{process.name}-{callee.name}", process.name, egress=[callee])
        found.append((policy, f"{process.name} -> {callee.name}: a pod in dev, addresses in prod."))
    return found


def gateway_policy(stack: Stack) -> Object:
    """The gateway: reachable from anywhere on its port (prod narrows the sources to the
    ingress controller), and reaching the routed services only."""
    ingress = {"ports": [_port(stack.gateway.port)]}
    return network_policy("gateway", "gateway", ingress=ingress, egress=stack.routed)


def autoscaler(service: Service) -> Object:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": service.name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
            "minReplicas": MIN_PODS,
            "maxReplicas": service.max_pods,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": CPU_UTILISATION},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": SCALE_DOWN_WINDOW_SECONDS}},
        },
    }


def spread(service: Service) -> Object:
    """prod's patch of a routed service: no replica count (its autoscaler owns it; `kubectl
    apply` would reset it) and its pods on different nodes where the cluster has them."""
    term = {
        "topologyKey": "kubernetes.io/hostname",
        "labelSelector": {"matchLabels": {NAME: service.name}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service.name},
        "spec": {
            "replicas": None,
            "template": {
                "spec": {
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {"weight": 100, "podAffinityTerm": term}
                            ]
                        }
                    }
                }
            },
        },
    }


def _service_file(stack: Stack, service: Service) -> str:
    what = [
        *(["its own Postgres database"] if service.database else []),
        *(["Redis"] if service.redis else []),
        f"port {service.port}",
    ]
    documents = [
        _document(deployment(service), f"{service.name}: {', '.join(what)}."),
        _document(kubernetes_service(service)),
        _document(disruption_budget(service.name)),
        *(_document(policy, comment) for policy, comment in policies(stack, service)),
    ]
    if service.migrate is not None:
        documents.append(_document(job(service, "migrate"), "Its migration: one pod, run first."))
    return _file(documents)


def _kustomization(resources: Iterable[str], *, component: bool = False, **rest: Any) -> str:
    document: Object = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1"
        if component
        else "kustomize.config.k8s.io/v1beta1",
        "kind": "Component" if component else "Kustomization",
        "resources": list(resources),
        **rest,
    }
    return HEADER + _document(document)


def _env(values: dict[str, str], comment: str) -> str:
    lines = "".join(f"# {line}\n" for line in comment.splitlines())
    return HEADER + lines + "".join(f"{name}={value}\n" for name, value in values.items())


def _worker_file(stack: Stack, worker: Worker) -> str:
    what = [
        *([f"the Postgres database of {worker.database}"] if worker.database else []),
        *(["Redis"] if worker.redis else []),
    ]
    documents = [
        _document(worker_deployment(worker), f"{worker.name}: {', '.join(what) or 'no data'}."),
        _document(disruption_budget(worker.name)),
        *(_document(policy, comment) for policy, comment in policies(stack, worker)),
    ]
    return _file(documents)


def base_files(stack: Stack) -> dict[str, str]:
    routed = stack.routed
    files = {f"{BASE}/{s.name}.yaml": _service_file(stack, s) for s in routed}
    files |= {f"{BASE}/{w.name}.yaml": _worker_file(stack, w) for w in stack.workers}
    files[f"{BASE}/gateway.yaml"] = _file(
        [_document(gateway_policy(stack), "The gateway: the one workload reachable from outside.")]
    )
    names = [*(s.name for s in routed), *(w.name for w in stack.workers), "gateway"]
    files[f"{BASE}/kustomization.yaml"] = _kustomization(f"{name}.yaml" for name in names)
    processes: list[Service | Worker] = [*stack.services, *stack.workers]
    called = {name for process in processes for name in process.calls}
    files[f"{BASE}/services.env"] = _env(
        {
            f"{s.name.upper()}_URL": f"http://{s.name}:{s.port}"
            for s in stack.services
            if s.name in called
        },
        "Service-to-service calls go to the Services (cluster DNS, same namespace).",
    )
    files[f"{BASE}/gateway.env"] = _env(
        {
            "GATEWAY_PORT": str(stack.gateway.port),
            **{f"{s.name.upper()}_SERVERS": f"server {s.name}:{s.port};" for s in routed},
        },
        "Each upstream of the gateway is the Service of its name: a ClusterIP is stable,\n"
        "so nginx resolves it once at start and needs no resolver.",
    )
    return files


def images(stack: Stack) -> list[str]:
    """Every image the stack builds: one per service, the workers', the gateway's."""
    workers = [WORKERS_IMAGE] if stack.workers else []
    return [*(f"mercato-{s.name}" for s in stack.services), *workers, GATEWAY_IMAGE]


def dev_files(stack: Stack) -> dict[str, str]:
    outside = [s for s in stack.services if not s.routed]
    files = {f"{DEV}/{s.name}.yaml": _service_file(stack, s) for s in outside}
    if seeded := [s for s in stack.services if s.seed]:
        files[f"{DEV}/seeds.yaml"] = _file(
            (_document(job(s, "seed")) for s in seeded),
            "Development data (stack.toml's `seed`), applied with the Deployments after the\n"
            "migrations; each seed adds only what is missing.",
        )
    resources = [path.rsplit("/", 1)[1] for path in files]
    # Built locally and loaded into the cluster (kind load docker-image NAME:dev).
    tagged = [{"name": image, "newTag": "dev"} for image in images(stack)]
    files[f"{DEV}/kustomization.yaml"] = _kustomization(resources, component=True, images=tagged)
    return files


def prod_files(stack: Stack) -> dict[str, str]:
    return {
        f"{PROD}/hpa.yaml": _file(_document(autoscaler(s)) for s in stack.routed),
        f"{PROD}/spread.yaml": _file(_document(spread(s)) for s in stack.routed),
        f"{PROD}/kustomization.yaml": _kustomization(
            ["hpa.yaml"],
            component=True,
            patches=[{"path": "spread.yaml"}],
            images=[
                {
                    "name": image,
                    "newName": f"{stack.images.registry}/{image}",
                    "newTag": stack.images.tag,
                }
                for image in images(stack)
            ],
        ),
    }


def files(stack: Stack) -> dict[str, str]:
    return base_files(stack) | dev_files(stack) | prod_files(stack)
