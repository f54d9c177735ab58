"""The report's definition over raw orders: the computation the worker ran before orders
answered a summary (every order of the window, then a pass over all of them).

Tests hold the worker's report from orders' summary to it: every field equal but the
bootstrap interval of the mean, whose resampling now draws from the histogram of totals.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import combinations
from typing import Any

from workers.histogram import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, percentile_cont
from workers.money import money, to_cents
from workers.sales_report import (
    MIN_PAIR_ORDERS,
    PERCENTILES,
    TOP_CUSTOMERS,
    TOP_PAIRS,
    TOP_PRODUCTS,
)


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


def from_export(order: dict[str, Any]) -> Order:
    """An order as the export answers it (money as decimal strings)."""
    return Order(
        id=str(order["id"]),
        user_id=str(order["user_id"]),
        created_at=datetime.fromisoformat(order["created_at"]),
        total_cents=to_cents(order["total"]),
        currency=order["currency"],
        lines=tuple(
            OrderLine(item["product_id"], item["quantity"], to_cents(item["unit_price"]))
            for item in order["items"]
        ),
    )


@dataclass(slots=True)
class _Cell:
    orders: int = 0
    quantity: int = 0
    revenue_cents: int = 0


def mean_confidence_interval(values: Sequence[int]) -> tuple[float, float]:
    rng = random.Random(BOOTSTRAP_SEED)
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
