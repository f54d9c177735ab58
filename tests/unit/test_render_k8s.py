"""The Kubernetes objects rendered from stack.toml follow its facts (topology/render/k8s.py)."""

from __future__ import annotations

from typing import Any

import yaml

from topology.description import parse
from topology.render import k8s

BASE, DEV, PROD = k8s.BASE, k8s.DEV, k8s.PROD

# A small stack: shop (routed, database, Redis) calls cache-less ledger (routed, nothing
# else) and bank (outside the cluster in prod); a worker calls shop.
STACK = parse(
    {
        "gateway": {"port": 8080},
        "services": {
            "shop": {
                "port": 9001,
                "routed": True,
                "max_in_flight": 8,
                "max_pods": 5,
                "migrate": "shop.migrate",
                "seed": ["shop.seed", "--count", "3"],
                "database": True,
                "redis": True,
                "calls": ["ledger", "bank"],
                "secrets": ["SHOP_CLIENT_SECRET"],
                "memory": ["200Mi", "300Mi"],
            },
            "ledger": {
                "port": 9002,
                "routed": True,
                "max_in_flight": 8,
                "max_pods": 3,
                "database": False,
                "redis": False,
                "calls": [],
            },
            "bank": {
                "port": 9003,
                "routed": False,
                "database": False,
                "redis": False,
                "calls": [],
            },
        },
        "workers": {"clerk": {"command": ["clerk"], "redis": True, "calls": ["shop"]}},
    }
)
FILES = k8s.files(STACK)


def objects(path: str) -> dict[tuple[str, str], Any]:
    documents = yaml.safe_load_all(FILES[path])
    return {(d["kind"], d["metadata"]["name"]): d for d in documents if d and "kind" in d}


def container(obj: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return first


def variables(obj: dict[str, Any]) -> list[str]:
    return [variable["name"] for variable in container(obj)["env"]]


def test_every_file_says_it_is_generated() -> None:
    assert all(text.startswith(k8s.HEADER) for text in FILES.values())


def test_a_service_runs_the_image_s_command_on_its_port_with_what_it_uses() -> None:
    shop, ledger = objects(f"{BASE}/shop.yaml"), objects(f"{BASE}/ledger.yaml")
    deployment = shop["Deployment", "shop"]
    assert "command" not in container(deployment)
    assert {"name": "PORT", "value": "9001"} in container(deployment)["env"]
    assert container(deployment)["ports"] == [{"name": "http", "containerPort": 9001}]
    assert shop["Service", "shop"]["spec"]["ports"][0]["port"] == 9001
    assert variables(deployment)[2:] == [
        "POSTGRES_URL",
        "REDIS_URL",
        "JWT_PUBLIC_KEY",
        "SHOP_CLIENT_SECRET",
    ]
    assert container(deployment)["resources"]["limits"] == {"memory": "300Mi"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels[k8s.POSTGRES] == labels[k8s.REDIS] == "true"
    # Neither a database nor Redis: neither their credentials nor the labels their policies select.
    assert variables(ledger["Deployment", "ledger"]) == [
        "PORT",
        "OTEL_SERVICE_NAME",
        "JWT_PUBLIC_KEY",
    ]
    assert not {k8s.POSTGRES, k8s.REDIS} & set(
        ledger["Deployment", "ledger"]["spec"]["template"]["metadata"]["labels"]
    )
    assert ("Job", "migrate-ledger") not in ledger


def test_a_migration_runs_its_module_with_the_database_and_not_redis() -> None:
    job = objects(f"{BASE}/shop.yaml")["Job", "migrate-shop"]
    assert container(job)["command"] == ["python", "-m", "shop.migrate"]
    assert "REDIS_URL" not in variables(job)
    assert "mercato.io/after" not in job["metadata"]["labels"]


def test_policies_allow_the_callers_in_and_the_calls_out() -> None:
    shop, ledger = objects(f"{BASE}/shop.yaml"), objects(f"{BASE}/ledger.yaml")
    sources = ledger["NetworkPolicy", "ledger"]["spec"]["ingress"][0]["from"]
    assert [s["podSelector"]["matchLabels"][k8s.NAME] for s in sources] == ["gateway", "shop"]
    assert "egress" not in ledger["NetworkPolicy", "ledger"]["spec"]
    egress = shop["NetworkPolicy", "shop"]["spec"]["egress"]
    assert [rule["ports"][0]["port"] for rule in egress] == [9002]
    # The call to a service outside the cluster has a policy of its own (prod: addresses).
    outside = shop["NetworkPolicy", "shop-bank"]["spec"]
    assert outside["policyTypes"] == ["Egress"]
    assert outside["egress"][0]["ports"] == [{"protocol": "TCP", "port": 9003}]
    worker = objects(f"{BASE}/clerk.yaml")["NetworkPolicy", "clerk"]["spec"]
    assert worker["policyTypes"] == ["Egress"]


def test_overlays_get_the_outside_services_seeds_and_autoscalers() -> None:
    assert f"{BASE}/bank.yaml" not in FILES
    assert ("Deployment", "bank") in objects(f"{DEV}/bank.yaml")
    seed = objects(f"{DEV}/seeds.yaml")["Job", "seed-shop"]
    assert container(seed)["command"] == ["python", "-m", "shop.seed", "--count", "3"]
    assert seed["metadata"]["labels"]["mercato.io/after"] == "migrations"
    hpa = objects(f"{PROD}/hpa.yaml")
    assert [h["spec"]["maxReplicas"] for h in hpa.values()] == [5, 3]
    assert yaml.safe_load(FILES[f"{PROD}/kustomization.yaml"])["kind"] == "Component"


def test_urls_and_upstreams_are_the_services() -> None:
    urls = FILES[f"{BASE}/services.env"].splitlines()[2:]
    assert urls == [
        "SHOP_URL=http://shop:9001",
        "LEDGER_URL=http://ledger:9002",
        "BANK_URL=http://bank:9003",
    ]
    upstreams = FILES[f"{BASE}/gateway.env"]
    assert "SHOP_SERVERS=server shop:9001;" in upstreams
    assert "BANK_SERVERS" not in upstreams
