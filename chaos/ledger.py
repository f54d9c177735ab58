"""What the chaos client was told, and every answer it got, for the checks after the run."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Answer:
    at: float  # monotonic seconds
    op: str
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    code: str | None  # the error shape's code, or None
    shaped: bool  # a 4xx/5xx carried the one error shape


@dataclass
class Ledger:
    answers: list[Answer] = field(default_factory=list)
    # Idempotency-Key -> (lines, every order id a success of that key returned)
    orders: dict[str, tuple[dict[int, int], list[int]]] = field(default_factory=dict)
    retried_keys: set[str] = field(default_factory=set)
    unfinished_keys: set[str] = field(default_factory=set)
    reports: list[str] = field(default_factory=list)  # job ids accepted with 202

    def record(self, op: str, status: int, code: str | None = None, *, shaped: bool) -> None:
        self.answers.append(Answer(time.monotonic(), op, status, code, shaped))

    def told(self, key: str, lines: dict[int, int], order_id: int) -> None:
        self.orders.setdefault(key, (lines, []))[1].append(order_id)

    def ordered_quantities(self) -> dict[int, int]:
        """Units of each product in the orders the client was told about (once per key)."""
        totals: dict[int, int] = defaultdict(int)
        for lines, _ in self.orders.values():
            for product, quantity in lines.items():
                totals[product] += quantity
        return dict(totals)

    def replays_that_differ(self) -> list[str]:
        return [key for key, (_, ids) in self.orders.items() if len(set(ids)) != 1]
