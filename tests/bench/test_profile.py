"""`make profile` finds a service's process under the name the native stack gives it."""

from __future__ import annotations

from bench.profile import first_process
from native.stack import load_stack


def test_a_service_with_replicas_is_profiled_in_its_first_replica() -> None:
    stack = load_stack({"MERCATO_REPLICAS": "2"})
    assert first_process(stack, "catalog").program == "catalog-1"


def test_a_service_without_replicas_is_its_own_program() -> None:
    stack = load_stack({"MERCATO_REPLICAS": "2"})
    assert first_process(stack, "checkout").program == "checkout"
