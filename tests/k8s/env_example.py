"""The cluster's configuration is `.env.example`'s variable list, in both directions.

`.env.example` lists every variable of Mercato (commented lines too: `# NAME=default`). Every
one is set by some overlay's ConfigMaps or Secret, or named below with the reason it is not;
and the cluster sets no variable `.env.example` does not list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tests.k8s.gateway import gateway_variables
from tests.k8s.manifests import ROOT, Rendered
from tests.k8s.roles import PACKAGES

ENV_EXAMPLE = ROOT / ".env.example"
ENV_LINE = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=", re.MULTILINE)


# Variables of .env.example that a cluster does not set, and why.
NOT_IN_CLUSTER = {
    "MERCATO_PORT_OFFSET": "native stack only: in the cluster ports are the Services'",
    "GRAFANA_PORT": "Docker only: Grafana is reached with kubectl port-forward",
    "CELERY_BROKER_URL": "unset: the broker is REDIS_URL (a Secret)",
    "CELERY_RESULT_BACKEND": "unset: the result backend is REDIS_URL (a Secret)",
    "PARTNERS_RANDOM_SEED": "unset: the partners' draws are unpredictable",
    "OTEL_SERVICE_NAME": "set per container (env), not shared",
    "GATEWAY_PORT": "the gateway's ConfigMap (gateway-config) has it",
    "GATEWAY_LISTEN": "the image listens on every interface; the Service decides who reaches it",
    "MERCATO_OTEL_ACCELERATOR": "unset (off): the images do not contain packages/otel-accelerator",
    "MERCATO_REPLICAS": "native stack only: the cluster scales pods (HPA)",
    "MERCATO_DRAIN_SECONDS": "native stack only: given to its replicas as SHUTDOWN_DRAIN_SECONDS",
    "GATEWAY_MAX_FAILS": "native stack only: the server lines of its upstreams",
    "GATEWAY_FAIL_TIMEOUT": "native stack only: the server lines of its upstreams",
    "PUBLIC_BASE_URL": "unset: a job's Location is a path; a deployment with a host sets it",
} | {f"{name.upper()}_PORT": "native stack only" for name in PACKAGES | {"gateway"}}


# Keys of the Secret that are not Mercato's settings: components/keda's trigger reads them.
KEDA_SECRET_KEYS = frozenset({"REDIS_ADDRESS", "REDIS_PASSWORD"})


def env_example_variables() -> set[str]:
    return set(ENV_LINE.findall(ENV_EXAMPLE.read_text()))


def env_example_problems(renders: Iterable[Rendered]) -> list[str]:
    """The cluster's configuration is .env.example's variable list, in both directions."""
    listed = env_example_variables()
    provided: set[str] = set()
    problems = []
    for rendered in renders:
        config = rendered.configmap_named("mercato-config")
        gateway = rendered.configmap_named("gateway-config")
        keys = {k for secret in rendered.secrets for k in secret.get("data", {})}
        provided |= set(config) | set(gateway) | keys
        for name in sorted(set(config) - listed):
            problems.append(
                f"{rendered.overlay}: mercato-config sets {name}, which .env.example does not list"
            )
        for name in sorted(keys - listed - KEDA_SECRET_KEYS):
            problems.append(
                f"{rendered.overlay}: the Secret has {name}, which .env.example does not list"
            )
        for name in sorted(set(gateway) - gateway_variables()):
            problems.append(
                f"{rendered.overlay}: gateway-config sets {name}, not a gateway variable"
            )
    for name in sorted(listed - provided - set(NOT_IN_CLUSTER)):
        problems.append(f".env.example lists {name}, which no overlay's configuration sets")
    return problems
