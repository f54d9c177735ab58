"""The sales report: plain, synchronous computation over orders' sales summary (no I/O).

Orders aggregates the window's orders in Postgres (`workers.sales_summary`); this turns that
summary into the report, at a cost that follows the summary (days, products, distinct
totals), not the number of orders. Money is handled in integer cents (exact), grouped by
currency (orders in different currencies are never added together), and rendered as strings
with two decimals. Days are UTC calendar days of `created_at`. Percentiles use linear
interpolation between the closest ranks, the definition of Postgres' `percentile_cont`,
taken exactly from the histogram of order totals.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from reports.result import CSV_COLUMNS
from workers.histogram import Histogram
from workers.money import money
from workers.sales_summary import CurrencySales, PairCount, SalesSummary

PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
TOP_CUSTOMERS = 10
TOP_PRODUCTS = 20
TOP_PAIRS = 20
MIN_PAIR_ORDERS = 2  # orders answers pairs of at least two orders; fewer is noise


@dataclass(slots=True)
class _Cell:
    orders: int = 0
    quantity: int = 0
    revenue_cents: int = 0


def _currency_summary(sales: CurrencySales) -> dict[str, Any]:
    totals = Histogram([(row.total, row.orders) for row in sales.totals])
    # Biggest spenders first; ties broken by user id so the ranking is deterministic.
    ranked = sorted(sales.top_customers, key=lambda c: (-c.spend, c.user_id))
    low, high = totals.mean_confidence_interval()
    return {
        "orders": totals.size,
        "revenue": money(totals.total),
        "order_value": {
            "mean": money(totals.total / totals.size),
            "mean_ci95": [money(low), money(high)],
            **{name: money(totals.percentile_cont(p)) for name, p in PERCENTILES},
        },
        "top_customers": [
            {"user_id": c.user_id, "orders": c.orders, "spend": money(c.spend)}
            for c in ranked[:TOP_CUSTOMERS]
        ],
    }


def _product_days(summary: SalesSummary) -> dict[tuple[date, int, str], _Cell]:
    return {
        (row.day, row.product_id, row.currency): _Cell(row.orders, row.quantity, row.revenue)
        for row in summary.product_days
    }


def _per_day(summary: SalesSummary) -> list[dict[str, Any]]:
    return [
        {
            "day": row.day.isoformat(),
            "currency": row.currency,
            "orders": row.orders,
            "revenue": money(row.revenue),
        }
        for row in sorted(summary.days, key=lambda row: (row.day, row.currency))
    ]


def _top_products(cells: dict[tuple[date, int, str], _Cell]) -> list[dict[str, Any]]:
    totals: dict[tuple[int, str], _Cell] = defaultdict(_Cell)
    for (_, product_id, currency), cell in cells.items():
        total = totals[(product_id, currency)]
        total.orders += cell.orders
        total.quantity += cell.quantity
        total.revenue_cents += cell.revenue_cents
    ranked = sorted(totals.items(), key=lambda item: (-item[1].quantity, item[0]))
    return [
        {
            "product_id": product_id,
            "currency": currency,
            "orders": cell.orders,
            "quantity": cell.quantity,
            "revenue": money(cell.revenue_cents),
        }
        for (product_id, currency), cell in ranked[:TOP_PRODUCTS]
    ]


def bought_together(
    pairs: Sequence[PairCount], cells: dict[tuple[date, int, str], _Cell], total: int
) -> list[dict[str, Any]]:
    """Product pairs found in the same order most often, with their lift.

    Lift = P(a and b) / (P(a) P(b)) over orders: above 1 means bought together more often
    than chance would have it. Pairs seen in fewer than `MIN_PAIR_ORDERS` orders are noise.
    An order has one day and one currency, so the orders holding a product add up over its
    cells.
    """
    product_orders: Counter[int] = Counter()
    for (_, product_id, _), cell in cells.items():
        product_orders[product_id] += cell.orders
    scored: list[tuple[int, float, tuple[int, int]]] = []
    for pair in pairs:
        if pair.orders >= MIN_PAIR_ORDERS:
            a, b = pair.products
            lift = pair.orders * total / (product_orders[a] * product_orders[b])
            scored.append((pair.orders, lift, (a, b)))
    scored.sort(key=lambda item: (-item[0], -item[1], item[2]))
    return [
        {"products": list(pair), "orders": count, "lift": round(lift, 3)}
        for count, lift, pair in scored[:TOP_PAIRS]
    ]


def compute(summary: SalesSummary, *, kind: str, start: date, end: date) -> dict[str, Any]:
    """The whole report as a JSON-ready dict; `end` is exclusive."""
    cells = _product_days(summary)
    orders = sum(row.orders for row in summary.days)
    return {
        "kind": kind,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "orders": orders,
        "currencies": {
            sales.currency: _currency_summary(sales)
            for sales in sorted(summary.currencies, key=lambda sales: sales.currency)
        },
        "per_day": _per_day(summary),
        "top_products": _top_products(cells),
        "bought_together": bought_together(summary.pairs, cells, orders),
        "per_product_day": [
            {
                "day": day.isoformat(),
                "product_id": product_id,
                "currency": currency,
                "orders": cell.orders,
                "quantity": cell.quantity,
                "revenue": money(cell.revenue_cents),
            }
            for (day, product_id, currency), cell in sorted(cells.items())
        ],
    }


def render_csv(report: dict[str, Any]) -> str:
    """The per product per day table as CSV (the summary sections live in the JSON)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report["per_product_day"])
    return buffer.getvalue()
