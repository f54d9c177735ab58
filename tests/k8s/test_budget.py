"""The Postgres connection budget: every pool of every replica at its autoscaling maximum
fits in the connection limit the overlay declares (tests.k8s.budget says how it is summed).
The broken copy (a raised maximum) is in test_broken_copies.py."""

from __future__ import annotations

import pytest

from tests.k8s.budget import budget
from tests.k8s.manifests import Rendered


@pytest.mark.parametrize("overlay", ["dev", "prod", "prod+keda"])
def test_connections_fit_the_declared_limit(overlays: dict[str, Rendered], overlay: str) -> None:
    result = budget(overlays[overlay])
    print(f"\n{overlay}:\n{result.table()}")
    assert {line.workload for line in result.lines} >= {
        "identity",
        "catalog",
        "orders",
        "reports",
        "worker",
    }
    assert result.total <= result.available, result.table()


def test_prod_counts_the_autoscaling_maxima(prod: Rendered, prod_keda: Rendered) -> None:
    lines = {line.workload: line for line in budget(prod).lines}
    assert lines["catalog"].pods == 8  # hpa.yaml's maxReplicas, not the minimum
    assert lines["worker"].per_process == 4  # the worker's own pool (2 + 2), not the shared 5 + 5
    assert {line.workload: line for line in budget(prod_keda).lines}["worker"].pods == 4
