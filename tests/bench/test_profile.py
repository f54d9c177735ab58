"""`make profile` (and the bench's side servers) find a service's first process under the name
the native stack gives it."""

from __future__ import annotations

from bench.profile import LOADS
from bench.wrk import SCRIPTS
from native.stack import load_stack


def test_a_service_with_replicas_is_profiled_in_its_first_replica() -> None:
    stack = load_stack({"MERCATO_REPLICAS": "2"})
    assert stack.first_replica("catalog").program == "catalog-1"


def test_a_service_without_replicas_is_its_own_program() -> None:
    stack = load_stack({"MERCATO_REPLICAS": "2"})
    assert stack.first_replica("checkout").program == "checkout"


def test_every_service_of_the_stack_has_a_profile_load() -> None:
    stack = load_stack({})
    assert {name.split("-")[0] for name in LOADS} == {s.name for s in stack.description.services}
    for load in LOADS.values():
        assert (SCRIPTS / load.script).is_file(), load.script
