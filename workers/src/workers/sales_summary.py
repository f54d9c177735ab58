"""The sales summary orders answers (`GET /orders/sales-summary`), as a report reads it.

Orders aggregates in Postgres what the report needs of a window's orders: per currency the
histogram of order totals and the top customers, per UTC day and currency, per UTC day,
product and currency, and the orders holding each pair of products (pairs of at least two
orders). Nothing per order: its size follows the report's data (days, products, distinct
totals), not the number of orders. Money comes as decimal strings and is kept in exact
cents here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from workers.money import to_cents


def _cents(value: object) -> object:
    return to_cents(value) if isinstance(value, str | int | float) else value


def _text(value: object) -> object:
    return str(value) if isinstance(value, int) else value


Cents = Annotated[int, BeforeValidator(_cents)]
UserId = Annotated[str, BeforeValidator(_text)]


class TotalCount(BaseModel):
    total: Cents
    orders: int


class CustomerSpend(BaseModel):
    user_id: UserId
    orders: int
    spend: Cents


class CurrencySales(BaseModel):
    currency: str
    totals: list[TotalCount] = Field(min_length=1)
    top_customers: list[CustomerSpend]


class DaySales(BaseModel):
    day: date
    currency: str
    orders: int
    revenue: Cents


class ProductDaySales(BaseModel):
    day: date
    product_id: int
    currency: str
    orders: int
    quantity: int
    revenue: Cents


class PairCount(BaseModel):
    products: tuple[int, int]
    orders: int


class SalesSummary(BaseModel):
    currencies: list[CurrencySales] = []
    days: list[DaySales] = []
    product_days: list[ProductDaySales] = []
    pairs: list[PairCount] = []
