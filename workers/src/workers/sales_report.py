"""The sales report: plain, synchronous, CPU-bound computation over orders (no I/O, no Celery).

Money is handled in integer cents (exact), grouped by currency (orders in different
currencies are never added together), and rendered as strings with two decimals. Days are
UTC calendar days of `created_at`. Percentiles use linear interpolation between the closest
ranks, the definition of Postgres' `percentile_cont`, so the report can be checked in SQL.

What costs CPU on real data: the per product per day table, the sort behind the
percentiles, and "frequently bought together" (every pair of distinct products of every
order counted, then scored by lift).
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import combinations
from typing import Any

from reports.result import CSV_COLUMNS

PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
TOP_CUSTOMERS = 10
TOP_PRODUCTS = 20
TOP_PAIRS = 20
MIN_PAIR_ORDERS = 2
BOOTSTRAP_RESAMPLES = 400
BOOTSTRAP_SEED = 20_240_601


@dataclass(frozen=True, slots=True)
class OrderLine:
    product_id: int
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    created_at: datetime
    total_cents: int
    currency: str
    lines: tuple[OrderLine, ...]


def to_cents(amount: Decimal | str | int | float) -> int:
    """Exact cents of a money amount with at most two decimals (rounded half-even if more)."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return int(value * 100)


def money(cents: float) -> str:
    """Cents (possibly fractional, from a percentile) as a string with two decimals."""
    exact = (Decimal(repr(cents)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return f"{exact:.2f}"


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float:
    """Postgres' `percentile_cont`: interpolate linearly between the two nearest ranks."""
    if not sorted_values:
        msg = "percentile of no values"
        raise ValueError(msg)
    position = fraction * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    weight = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * weight


@dataclass(slots=True)
class _Cell:
    orders: int = 0
    quantity: int = 0
    revenue_cents: int = 0


def mean_confidence_interval(values: Sequence[int]) -> tuple[float, float]:
    """95% bootstrap confidence interval of the mean (percentile method), in cents.

    Order values are skewed, so the textbook normal interval is off; resampling the orders
    is the honest answer to "how sure are we of the average basket?". The generator is
    seeded so that running the same job twice gives the same report.
    """
    rng = random.Random(BOOTSTRAP_SEED)  # noqa: S311 - statistics, not security
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(BOOTSTRAP_RESAMPLES))
    return percentile_cont(means, 0.025), percentile_cont(means, 0.975)


def _currency_summaries(orders: Sequence[Order]) -> dict[str, dict[str, Any]]:
    values: dict[str, list[int]] = defaultdict(list)
    spend: dict[str, Counter[str]] = defaultdict(Counter)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for order in orders:
        values[order.currency].append(order.total_cents)
        spend[order.currency][order.user_id] += order.total_cents
        counts[order.currency][order.user_id] += 1
    summaries: dict[str, dict[str, Any]] = {}
    for currency in sorted(values):
        totals = sorted(values[currency])
        # Biggest spenders first; ties broken by user id so the ranking is deterministic.
        ranked = sorted(spend[currency].items(), key=lambda item: (-item[1], item[0]))
        low, high = mean_confidence_interval(totals)
        summaries[currency] = {
            "orders": len(totals),
            "revenue": money(sum(totals)),
            "order_value": {
                "mean": money(sum(totals) / len(totals)),
                "mean_ci95": [money(low), money(high)],
                **{name: money(percentile_cont(totals, p)) for name, p in PERCENTILES},
            },
            "top_customers": [
                {"user_id": user, "orders": counts[currency][user], "spend": money(cents)}
                for user, cents in ranked[:TOP_CUSTOMERS]
            ],
        }
    return summaries


def _product_days(orders: Sequence[Order]) -> dict[tuple[date, int, str], _Cell]:
    cells: dict[tuple[date, int, str], _Cell] = defaultdict(_Cell)
    for order in orders:
        day = order.created_at.date()
        seen: set[int] = set()
        for line in order.lines:
            cell = cells[(day, line.product_id, order.currency)]
            cell.quantity += line.quantity
            cell.revenue_cents += line.quantity * line.unit_price_cents
            if line.product_id not in seen:
                cell.orders += 1
                seen.add(line.product_id)
    return cells


def _per_day(orders: Sequence[Order]) -> list[dict[str, Any]]:
    days: dict[tuple[date, str], _Cell] = defaultdict(_Cell)
    for order in orders:
        cell = days[(order.created_at.date(), order.currency)]
        cell.orders += 1
        cell.revenue_cents += order.total_cents
    return [
        {
            "day": day.isoformat(),
            "currency": currency,
            "orders": c.orders,
            "revenue": money(c.revenue_cents),
        }
        for (day, currency), c in sorted(days.items())
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


def bought_together(orders: Iterable[Order]) -> list[dict[str, Any]]:
    """Product pairs found in the same order most often, with their lift.

    Lift = P(a and b) / (P(a) P(b)) over orders: above 1 means bought together more often
    than chance would have it. Pairs seen in fewer than `MIN_PAIR_ORDERS` orders are noise.
    """
    pair_orders: Counter[tuple[int, int]] = Counter()
    product_orders: Counter[int] = Counter()
    total = 0
    for order in orders:
        total += 1
        products = sorted({line.product_id for line in order.lines})
        product_orders.update(products)
        pair_orders.update(combinations(products, 2))
    scored = [
        (count, count * total / (product_orders[a] * product_orders[b]), (a, b))
        for (a, b), count in pair_orders.items()
        if count >= MIN_PAIR_ORDERS
    ]
    scored.sort(key=lambda item: (-item[0], -item[1], item[2]))
    return [
        {"products": list(pair), "orders": count, "lift": round(lift, 3)}
        for count, lift, pair in scored[:TOP_PAIRS]
    ]


def compute(orders: Sequence[Order], *, kind: str, start: date, end: date) -> dict[str, Any]:
    """The whole report as a JSON-ready dict; `end` is exclusive."""
    cells = _product_days(orders)
    return {
        "kind": kind,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "orders": len(orders),
        "currencies": _currency_summaries(orders),
        "per_day": _per_day(orders),
        "top_products": _top_products(cells),
        "bought_together": bought_together(orders),
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
