"""The report's numbers on small hand-made orders whose answers are known, from their
sales summary (summed as orders sums it)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from reports.result import ReportResult
from workers.histogram import Histogram, percentile_cont
from workers.money import money, to_cents
from workers.sales_report import compute as compute_summary
from workers.sales_report import render_csv
from workers.sales_summary import SalesSummary

from ..integration.upstream import summarize


def order(
    oid: str, user: str, day: int, lines: list[tuple[int, int, int]], currency: str = "EUR"
) -> dict[str, Any]:
    """An order in the export's shape; lines are (product, quantity, unit price in cents)."""
    return {
        "id": oid,
        "user_id": user,
        "currency": currency,
        "total": str(Decimal(sum(q * c for _, q, c in lines)) / 100),
        "created_at": datetime(2026, 3, day, 12, tzinfo=UTC).isoformat(),
        "items": [
            {"product_id": p, "quantity": q, "unit_price": str(Decimal(c) / 100)}
            for p, q, c in lines
        ],
    }


def compute(orders: list[dict[str, Any]], *, kind: str, start: date, end: date) -> dict[str, Any]:
    summary = SalesSummary.model_validate(summarize(orders))
    return compute_summary(summary, kind=kind, start=start, end=end)


ORDERS = [
    order("1", "alice", 1, [(10, 2, 500), (20, 1, 1000)]),  # 20.00
    order("2", "bob", 1, [(10, 1, 500)]),  # 5.00
    order("3", "alice", 2, [(10, 1, 500), (20, 1, 1000), (30, 1, 250)]),  # 17.50
    order("4", "carol", 2, [(30, 4, 250)]),  # 10.00
    order("5", "dave", 2, [(40, 1, 9999)], currency="USD"),  # 99.99 USD
]


def test_percentile_cont_interpolates_like_postgres() -> None:
    assert percentile_cont([100], 0.9) == 100
    assert percentile_cont([100, 200], 0.5) == 150
    assert percentile_cont([500, 1000, 1750, 2000], 0.5) == 1375
    assert percentile_cont([500, 1000, 1750, 2000], 0.9) == pytest.approx(1925)
    with pytest.raises(ValueError, match="no values"):
        percentile_cont([], 0.5)


def test_money_is_exact_cents() -> None:
    assert to_cents("19.99") == 1999
    assert to_cents(5) == 500
    assert money(1375) == "13.75"
    assert money(1924.5) == "19.24"  # half-even on the cent
    assert money(0) == "0.00"


def test_currencies_are_never_mixed_and_customers_are_ranked() -> None:
    report = compute(ORDERS, kind="sales", start=date(2026, 3, 1), end=date(2026, 3, 3))
    eur, usd = report["currencies"]["EUR"], report["currencies"]["USD"]
    assert report["orders"] == 5
    assert (eur["orders"], eur["revenue"]) == (4, "52.50")
    assert (usd["orders"], usd["revenue"]) == (1, "99.99")
    # EUR order values sorted: 500, 1000, 1750, 2000
    assert eur["order_value"]["p50"] == "13.75"
    assert eur["order_value"]["p90"] == "19.25"
    assert eur["order_value"]["mean"] == "13.12"  # 52.50 / 4 = 13.125, half-even
    low, high = (float(x) for x in eur["order_value"]["mean_ci95"])
    assert 5.0 <= low <= 13.125 <= high <= 20.0
    assert eur["top_customers"][0] == {"user_id": "alice", "orders": 2, "spend": "37.50"}
    assert [c["user_id"] for c in eur["top_customers"]] == ["alice", "carol", "bob"]


def test_per_day_and_per_product_day_totals() -> None:
    report = compute(ORDERS, kind="sales", start=date(2026, 3, 1), end=date(2026, 3, 3))
    assert report["per_day"] == [
        {"day": "2026-03-01", "currency": "EUR", "orders": 2, "revenue": "25.00"},
        {"day": "2026-03-02", "currency": "EUR", "orders": 2, "revenue": "27.50"},
        {"day": "2026-03-02", "currency": "USD", "orders": 1, "revenue": "99.99"},
    ]
    cells = {(r["day"], r["product_id"]): r for r in report["per_product_day"]}
    assert cells[("2026-03-01", 10)] | {} == {
        "day": "2026-03-01",
        "product_id": 10,
        "currency": "EUR",
        "orders": 2,
        "quantity": 3,
        "revenue": "15.00",
    }
    assert cells[("2026-03-02", 30)]["quantity"] == 5
    assert cells[("2026-03-02", 30)]["revenue"] == "12.50"
    assert report["top_products"][0]["product_id"] == 30  # 5 units
    assert report["top_products"][0]["quantity"] == 5


def test_bought_together_counts_pairs_and_lift() -> None:
    pairs = compute(ORDERS, kind="sales", start=date(2026, 3, 1), end=date(2026, 3, 3))[
        "bought_together"
    ]
    # (10, 20) appear together in orders 1 and 3; 10 is in 3 orders, 20 in 2, of 5 in all.
    assert pairs == [{"products": [10, 20], "orders": 2, "lift": round(2 * 5 / (3 * 2), 3)}]


def test_csv_is_the_per_product_day_table() -> None:
    report = compute(ORDERS, kind="sales", start=date(2026, 3, 1), end=date(2026, 3, 3))
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert len(rows) == len(report["per_product_day"]) == 6
    assert rows[0] == {
        "day": "2026-03-01",
        "product_id": "10",
        "currency": "EUR",
        "orders": "2",
        "quantity": "3",
        "revenue": "15.00",
    }


def test_no_orders_is_an_empty_report_and_reruns_are_identical() -> None:
    empty = compute([], kind="purchases", start=date(2026, 3, 1), end=date(2026, 3, 2))
    assert empty["orders"] == 0
    assert empty["currencies"] == {}
    assert render_csv(empty).strip() == "day,product_id,currency,orders,quantity,revenue"
    first = compute(ORDERS, kind="sales", start=date(2026, 3, 1), end=date(2026, 3, 3))
    assert compute(ORDERS, kind="sales", start=date(2026, 3, 1), end=date(2026, 3, 3)) == first
    pair = Histogram([(500, 1), (1000, 1)])
    assert pair.mean_confidence_interval() == pair.mean_confidence_interval()
    low, high = pair.mean_confidence_interval()
    assert 500 <= low <= 750 <= high <= 1000


@pytest.mark.parametrize("orders", [ORDERS, []], ids=["orders", "none"])
def test_the_report_is_exactly_its_documented_schema(orders: list[dict[str, Any]]) -> None:
    """What the API documents as the result (reports.result) is what the worker writes:
    every field present and valid, none left out of the schema."""
    report = compute(orders, kind="sales", start=date(2026, 3, 1), end=date(2026, 3, 3))
    stored = json.dumps(report)
    assert ReportResult.model_validate_json(stored).model_dump(mode="json") == report
