"""`stack.toml` loads into a consistent description, and inconsistent ones are refused."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

import topology
from topology.description import STACK_FILE, StackFileError, parse


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
