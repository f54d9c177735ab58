"""Order and cart lines: lines of the same product are one line, their quantities added.

So every list of lines an OpenAPI schema admits is a request the server takes; no rule
across lines ("each product once") that the schema could not state (docs/decisions/0019).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar


class Line(Protocol):
    @property
    def product_id(self) -> int: ...

    @property
    def quantity(self) -> int: ...


L = TypeVar("L", bound=Line)


def one_line_per_product(lines: list[L], make: Callable[[int, int], L]) -> list[L]:
    """`lines` with each product's lines merged into one (first appearance's place)."""
    merged: dict[int, int] = {}
    for line in lines:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    if len(merged) == len(lines):
        return lines
    return [make(product_id, quantity) for product_id, quantity in merged.items()]
