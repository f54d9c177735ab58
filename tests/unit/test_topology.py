"""`stack.toml` loads into a consistent description, and inconsistent ones are refused."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

import topology
from topology.description import (
    DEFAULT_MAX_PODS,
    DEFAULT_MEMORY,
    STACK_FILE,
    StackFileError,
    parse,
)


def _document() -> dict[str, Any]:
    return tomllib.loads(STACK_FILE.read_text(encoding="utf-8"))


def test_the_repository_stack_loads() -> None:
    stack = topology.load()

    assert stack.gateway.port == 8080
    routed = {service.name for service in stack.routed}
    assert routed == {"identity", "catalog", "orders", "checkout", "reports"}
    assert stack.service("partners").route is None
    assert stack.service("catalog").route == "/api/catalog/"
    assert {w.name for w in stack.workers} == {"worker", "beat"}


def test_a_shared_port_is_refused() -> None:
    document = _document()
    document["services"]["orders"]["port"] = document["services"]["catalog"]["port"]

    with pytest.raises(StackFileError, match="share a port"):
        parse(document)


def test_a_call_to_an_unknown_service_is_refused() -> None:
    document = _document()
    document["services"]["orders"]["calls"].append("billing")

    with pytest.raises(StackFileError, match="billing"):
        parse(document)


def test_an_unknown_key_is_refused() -> None:
    document = _document()
    document["services"]["orders"]["replica"] = 2

    with pytest.raises(StackFileError, match="unknown keys"):
        parse(document)


@pytest.mark.parametrize(
    ("service", "value", "message"),
    [
        ("orders", None, "only one, has max_in_flight"),
        ("partners", 8, "only one, has max_in_flight"),
        ("orders", 0, "positive integer"),
        ("orders", True, "positive integer"),
    ],
)
def test_every_routed_service_and_only_they_have_an_admission_cap(
    service: str, value: object, message: str
) -> None:
    document = _document()
    table = document["services"][service]
    table.pop("max_in_flight", None)
    if value is not None:
        table["max_in_flight"] = value

    with pytest.raises(StackFileError, match=message):
        parse(document)


@pytest.mark.parametrize(
    ("service", "key", "value", "message"),
    [
        ("partners", "max_pods", 4, "only a routed service has max_pods"),
        ("orders", "max_pods", 1, "2 or more"),
        ("orders", "memory", ["128Mi"], r"\[request, limit\]"),
        ("orders", "memory", ["128MB", "256Mi"], r"\[request, limit\]"),
        ("orders", "secrets", ["REDIS_URL"], "not extra keys"),
        ("orders", "secrets", ["orders_secret"], "not extra keys"),
    ],
)
def test_kubernetes_keys_are_validated(service: str, key: str, value: object, message: str) -> None:
    document = _document()
    table = document["services"][service]
    table.pop(key, None)
    if value is not None:
        table[key] = value

    with pytest.raises(StackFileError, match=message):
        parse(document)


def test_a_service_without_memory_or_max_pods_gets_the_defaults() -> None:
    stack = topology.load()

    assert stack.service("catalog").memory == DEFAULT_MEMORY
    assert stack.service("identity").memory != DEFAULT_MEMORY
    assert stack.service("reports").max_pods == DEFAULT_MAX_PODS
    assert stack.service("partners").max_pods is None


def test_images_name_a_registry_and_a_tag() -> None:
    document = tomllib.loads(STACK_FILE.read_text())
    assert parse(document).images.registry == "registry.example.com"
    with pytest.raises(StackFileError, match="registry and tag"):
        parse(document | {"images": {"registry": "r", "digest": "sha256:0"}})
    with pytest.raises(StackFileError, match="non-empty"):
        parse(document | {"images": {"tag": ""}})
