"""The Postgres connection budget: every pool of every replica at its autoscaling maximum
fits in the connection limit the overlay declares (tests.k8s.budget says how it is summed)."""

from __future__ import annotations

import copy

import pytest

from tests.k8s.budget import budget
from tests.k8s.manifests import Rendered

MERCATO_DATABASE_USERS = {"identity", "catalog", "orders", "reports", "worker"}


@pytest.mark.parametrize("overlay", ["dev", "prod", "prod+keda"])
def test_connections_fit_the_declared_limit(overlays: dict[str, Rendered], overlay: str) -> None:
    result = budget(overlays[overlay])
    print(f"\n{overlay}:\n{result.table()}")
    assert {line.workload for line in result.lines} >= MERCATO_DATABASE_USERS
    assert result.total <= result.available, result.table()


def test_prod_counts_the_autoscaling_maxima(prod: Rendered, prod_keda: Rendered) -> None:
    lines = {line.workload: line for line in budget(prod).lines}
    assert lines["catalog"].pods == 8  # stack.toml's max_pods, not the minimum
    assert lines["worker"].per_process == 4  # the worker's own pool, not the shared 10 + 0
    assert {line.workload: line for line in budget(prod_keda).lines}["worker"].pods == 4


def test_a_raised_maximum_past_the_limit_fails(prod: Rendered) -> None:
    """catalog at 14 pods instead of 8: 60 connections more than prod has room for."""
    objects = copy.deepcopy(prod.objects)
    for obj in objects:
        if obj["kind"] == "HorizontalPodAutoscaler" and obj["metadata"]["name"] == "catalog":
            obj["spec"]["maxReplicas"] = 14
    over = budget(Rendered(prod.overlay, objects, prod.secrets))
    assert over.total > over.available, over.table()
