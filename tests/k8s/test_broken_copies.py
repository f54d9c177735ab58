"""Each check fails on a copy of the manifests broken in the way it guards against.

A copy of deploy/k8s is edited in a temporary directory (never the repository), rendered,
and checked; the check must report the break, naming what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.k8s import checks, env_example, environment, gateway, schemas, workloads
from tests.k8s.budget import budget
from tests.k8s.manifests import K8S, Rendered, add_component, copy_tree, render
from tests.k8s.network import network_problems
from topology import Stack


def broken(tmp_path: Path, file: str, old: str, new: str, overlay: str = "prod") -> Rendered:
    """Render `overlay` of a copy in which `old` (which must be there) became `new`."""
    root = copy_tree(tmp_path)
    path = root / K8S / file
    text = path.read_text()
    assert old in text, f"{file} no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))
    return render(root, overlay)


def facts_of(rendered: Rendered, stack: Stack, tmp_path: Path, *workloads: str) -> dict[str, Any]:
    """What the processes of `workloads` read and serve (only those: it takes a child process)."""
    requests = environment.introspection_requests(rendered, stack)
    return environment.introspect([r for r in requests if r["key"] in workloads], tmp_path)


def mentions(problems: list[str], *words: str) -> bool:
    return any(all(word in problem for word in words) for problem in problems)


def test_a_bad_type_fails_the_schema(tmp_path: Path) -> None:
    rendered = broken(tmp_path, "base/beat.yaml", "  replicas: 1\n", "  replicas: one\n")
    assert mentions(
        schemas.schema_problems(rendered.all()), "Deployment/beat", "'one' is not of type"
    )


def test_an_unknown_field_fails_the_schema(tmp_path: Path) -> None:
    rendered = broken(
        tmp_path, "base/catalog.yaml", "revisionHistoryLimit: 5", "revisionHistoryLimits: 5"
    )
    assert mentions(
        schemas.schema_problems(rendered.all()), "Deployment/catalog", "revisionHistoryLimits"
    )


def test_an_unknown_keda_field_fails_the_keda_schema(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    add_component(root, "prod", "keda")
    path = root / K8S / "components" / "keda" / "scaledobject.yaml"
    path.write_text(path.read_text().replace("maxReplicaCount: 4", "maxReplicas: 4", 1))
    problems = schemas.schema_problems(render(root, "prod").all())
    assert mentions(problems, "ScaledObject/worker", "unknown field .spec.maxReplicas")


@pytest.mark.parametrize(
    ("overlay", "who"), [("prod", "Deployment/orders"), ("dev", "Deployment/checkout")]
)
def test_a_missing_variable_fails(tmp_path: Path, stack: Stack, overlay: str, who: str) -> None:
    rendered = broken(tmp_path, "base/config.env", "CATALOG_URL=http://catalog:8002\n", "", overlay)
    facts = facts_of(rendered, stack, tmp_path, who.split("/")[1])
    problems = environment.variable_problems(rendered, stack, facts)
    assert mentions(problems, who, "CATALOG_URL (read by its settings) is not set")


def test_a_missing_secret_key_fails(tmp_path: Path, stack: Stack) -> None:
    rendered = broken(
        tmp_path,
        "overlays/dev/secrets/secrets.env",
        "ORDERS_CLIENT_SECRET=",
        "ORDERS_SECRET=",
        "dev",
    )
    problems = environment.variable_problems(
        rendered, stack, facts_of(rendered, stack, tmp_path, "orders")
    )
    assert mentions(problems, "Deployment/orders", "key ORDERS_CLIENT_SECRET, which does not exist")


def test_a_value_the_settings_refuse_fails(tmp_path: Path, stack: Stack) -> None:
    rendered = broken(tmp_path, "base/config.env", "WORKER_CONCURRENCY=2", "WORKER_CONCURRENCY=0")
    facts = facts_of(rendered, stack, tmp_path, "worker")
    problems = environment.variable_problems(rendered, stack, facts)
    assert mentions(problems, "Deployment/worker", "settings refuse", "worker_concurrency")


def test_a_variable_env_example_does_not_list_fails(tmp_path: Path) -> None:
    rendered = broken(
        tmp_path, "base/config.env", "LOG_LEVEL=INFO", "LOG_LEVEL=INFO\nLOGLEVEL=INFO"
    )
    assert mentions(env_example.env_example_problems([rendered]), "LOGLEVEL")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "base/catalog.yaml",
            "port: 8002, targetPort: http",
            "port: 8012, targetPort: http",
            "Service/catalog",
        ),
        (
            "base/catalog.yaml",
            "containerPort: 8002",
            "containerPort: 8012",
            "container port http is 8012",
        ),
        ("base/catalog.yaml", '--port, "8002"', '--port, "8012"', "--port 8012"),
        (
            "base/config.env",
            "CATALOG_URL=http://catalog:8002",
            "CATALOG_URL=http://catalog:8020",
            "CATALOG_URL",
        ),
    ],
)
def test_a_wrong_port_fails(
    tmp_path: Path, stack: Stack, file: str, old: str, new: str, expected: str
) -> None:
    rendered = broken(tmp_path, file, old, new)
    assert mentions(checks.port_problems(rendered, stack), expected)


def test_a_dangling_probe_path_fails(tmp_path: Path, stack: Stack) -> None:
    rendered = broken(
        tmp_path, "components/pod-defaults/http-service.yaml", "path: /readyz", "path: /ready"
    )
    problems = checks.probe_problems(
        rendered, stack, facts_of(rendered, stack, tmp_path, "catalog")
    )
    assert mentions(problems, "Deployment/catalog", "readinessProbe /ready is not a GET route")


def test_a_gateway_probe_path_the_gateway_does_not_serve_fails(
    tmp_path: Path, stack: Stack
) -> None:
    rendered = broken(
        tmp_path,
        "base/gateway.yaml",
        "path: /healthz, port: http}\n            periodSeconds: 5",
        "path: /readyz, port: http}\n            periodSeconds: 5",
    )
    problems = checks.probe_problems(rendered, stack, {})
    assert mentions(problems, "Deployment/gateway", "/readyz is no location of the gateway")


def test_an_upstream_off_its_service_s_port_fails(tmp_path: Path, stack: Stack) -> None:
    """The Service moved: the gateway's upstream (server catalog:8002) no longer reaches it."""
    old, new = "port: 8002, targetPort: http", "port: 8020, targetPort: http"
    rendered = broken(tmp_path, "base/catalog.yaml", old, new)
    assert mentions(
        gateway.gateway_problems(rendered, stack), "upstream catalog", "Service/catalog"
    )


def test_an_image_no_dockerfile_builds_fails(tmp_path: Path) -> None:
    rendered = broken(
        tmp_path, "base/catalog.yaml", "image: mercato-catalog", "image: mercato-shop"
    )
    assert mentions(checks.image_problems(rendered), "no Dockerfile builds mercato-shop")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # orders' call to identity removed: a call of stack.toml is blocked.
        (
            "  egress:\n    - to:\n        - podSelector:\n"
            "            matchLabels: {app.kubernetes.io/name: catalog}\n"
            "      ports:\n        - {protocol: TCP, port: 8002}\n    - to:\n"
            "        - podSelector:\n            matchLabels: {app.kubernetes.io/name: identity}",
            "  egress:\n    - to:\n        - podSelector:\n"
            "            matchLabels: {app.kubernetes.io/name: catalog}\n"
            "      ports:\n        - {protocol: TCP, port: 8002}\n    - to:\n"
            "        - podSelector:\n            matchLabels: {app.kubernetes.io/name: nobody}",
            "needed but blocked: orders -> identity:8001",
        ),
        # Postgres opened to every pod, not only to those of services with a database.
        (
            "  name: postgres-clients\nspec:\n  podSelector:\n"
            '    matchLabels: {mercato.io/postgres: "true"}',
            "  name: postgres-clients\nspec:\n  podSelector: {}",
            "allowed but not in stack.toml: checkout -> postgres:5432",
        ),
    ],
)
def test_a_network_policy_off_stack_toml_fails(
    tmp_path: Path, stack: Stack, old: str, new: str, expected: str
) -> None:
    rendered = broken(tmp_path, "base/networkpolicies.yaml", old, new)
    assert mentions(network_problems(rendered, stack), expected)


def test_a_beat_that_rolls_fails(tmp_path: Path, stack: Stack) -> None:
    rendered = broken(tmp_path, "base/beat.yaml", "type: Recreate", "type: RollingUpdate")
    assert mentions(workloads.lifecycle_problems(rendered, stack), "beat", "Recreate")


def test_a_grace_period_shorter_than_the_drain_fails(tmp_path: Path, stack: Stack) -> None:
    rendered = broken(
        tmp_path, "components/pod-defaults/http-service.yaml", "value: 30", "value: 15"
    )
    assert mentions(
        workloads.lifecycle_problems(rendered, stack), "terminationGracePeriodSeconds 15"
    )


def test_a_writable_root_filesystem_fails(tmp_path: Path) -> None:
    rendered = broken(
        tmp_path,
        "components/pod-defaults/python-pod.yaml",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
    )
    assert mentions(
        workloads.hardening_problems(rendered), "Deployment/catalog", "root filesystem is writable"
    )


def test_a_raised_replica_maximum_breaks_the_budget(tmp_path: Path) -> None:
    rendered = broken(
        tmp_path,
        "overlays/prod/hpa.yaml",
        "name: catalog}\n  minReplicas: 2\n  maxReplicas: 8",
        "name: catalog}\n  minReplicas: 2\n  maxReplicas: 14",
    )
    over = budget(rendered)
    assert over.total > over.available, over.table()
