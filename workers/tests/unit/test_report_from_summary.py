"""The report from orders' sales summary is the report over the raw orders.

Seeded random orders (several currencies, days and users, multi-line orders, products that
come back in a later line of one order): the worker's report from their summary equals the
raw-order definition (`reference_report`) in every field but the bootstrap interval of the
mean, which now resamples the histogram of totals (same meaning, other draws).
"""

from __future__ import annotations

import copy
import random
from datetime import date
from typing import Any

import pytest

from workers.histogram import Histogram, percentile_cont
from workers.sales_report import compute, render_csv
from workers.sales_summary import SalesSummary

from ..integration.upstream import generate_orders, summarize
from .reference_report import compute as compute_raw
from .reference_report import from_export

START, END = date(2026, 1, 1), date(2026, 1, 31)


def without_ci(report: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(report)
    for currency in stripped["currencies"].values():
        del currency["order_value"]["mean_ci95"]
    return stripped


@pytest.mark.parametrize(("count", "seed"), [(1, 1), (40, 2), (1500, 3), (4000, 4)])
def test_the_summary_gives_the_raw_orders_report(count: int, seed: int) -> None:
    orders = generate_orders(count, days=30, seed=seed)
    raw = compute_raw([from_export(o) for o in orders], kind="sales", start=START, end=END)
    summary = SalesSummary.model_validate(summarize(orders))
    report = compute(summary, kind="sales", start=START, end=END)

    assert without_ci(report) == without_ci(raw)
    assert render_csv(report) == render_csv(raw)
    assert set(report["currencies"]) == set(raw["currencies"])
    if count > 1:  # something to check: several currencies, pairs, a top list cut short
        assert len(report["currencies"]) == 3
        assert report["bought_together"]
    for currency, figures in report["currencies"].items():
        low, high = (float(x) for x in figures["order_value"]["mean_ci95"])
        mean = float(figures["order_value"]["mean"])
        assert low <= mean <= high
        raw_low, raw_high = (
            float(x) for x in raw["currencies"][currency]["order_value"]["mean_ci95"]
        )
        # Two bootstraps of the same values: intervals of the same mean, of similar width.
        assert low <= raw_high
        assert raw_low <= high


def test_top_customers_are_cut_after_the_tie_break() -> None:
    orders = [
        {
            "id": n,
            "user_id": user,
            "currency": "EUR",
            "total": "10.00",
            "created_at": "2026-01-02T10:00:00+00:00",
            "items": [{"product_id": 1, "quantity": 1, "unit_price": "10.00"}],
        }
        for n, user in enumerate([9, 10, 100, 11, 2, 3, 4, 5, 6, 7, 8, 12], start=1)
    ]
    raw = compute_raw([from_export(o) for o in orders], kind="sales", start=START, end=END)
    report = compute(
        SalesSummary.model_validate(summarize(orders)), kind="sales", start=START, end=END
    )
    ranked = [c["user_id"] for c in report["currencies"]["EUR"]["top_customers"]]
    assert ranked == ["10", "100", "11", "12", "2", "3", "4", "5", "6", "7"]
    assert without_ci(report) == without_ci(raw)


def test_histogram_percentiles_are_the_sorted_lists() -> None:
    rng = random.Random(5)
    for _ in range(200):
        values = [rng.choice((100, 250, 999, 1000, 4321)) for _ in range(rng.randint(1, 60))]
        histogram = Histogram([(v, values.count(v)) for v in set(values)])
        for fraction in (0.0, 0.025, 0.5, 0.9, 0.99, 1.0):
            assert histogram.percentile_cont(fraction) == percentile_cont(sorted(values), fraction)
        assert (histogram.size, histogram.total) == (len(values), sum(values))
