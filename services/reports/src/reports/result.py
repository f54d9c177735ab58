"""The result of a report job, as `GET /reports/{id}/result` serves it.

The worker computes it (`workers.sales_report.compute`) and stores it as JSON text; the API
serves that text as it is. These models are its schema, for the OpenAPI document and for
clients generated from it; the worker's tests hold its output to them. Money is a decimal
string with two decimals (never a float); days are UTC dates.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from reports.schemas import Kind, Period

Money = Annotated[
    str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", description="A decimal amount, two decimals.")
]
Currency = Annotated[str, Field(description="ISO 4217 code of the amounts beside it.")]

#: The columns of the CSV result, in order (one row per `per_product_day` item).
CSV_COLUMNS = ("day", "product_id", "currency", "orders", "quantity", "revenue")


class OrderValue(BaseModel):
    """The value of one order: mean, its 95% bootstrap interval, percentiles."""

    mean: Money
    mean_ci95: Annotated[list[Money], Field(min_length=2, max_length=2)]
    p50: Money
    p90: Money
    p99: Money


class TopCustomer(BaseModel):
    user_id: str
    orders: int
    spend: Money


class CurrencySummary(BaseModel):
    orders: int
    revenue: Money
    order_value: OrderValue
    top_customers: list[TopCustomer] = Field(description="The biggest spenders first.")


class DaySales(BaseModel):
    day: date
    currency: Currency
    orders: int
    revenue: Money


class ProductSales(BaseModel):
    product_id: int
    currency: Currency
    orders: int = Field(description="Orders with the product.")
    quantity: int
    revenue: Money


class ProductPair(BaseModel):
    products: Annotated[list[int], Field(min_length=2, max_length=2)]
    orders: int = Field(description="Orders with both products.")
    lift: float = Field(description="Above 1: bought together more often than by chance.")


class ProductDaySales(ProductSales):
    day: date


class ReportResult(BaseModel):
    """A report: totals per currency, per day, best products, pairs, per product per day."""

    kind: Kind
    period: Period
    orders: int = Field(description="Orders in the period (all of them, or yours).")
    currencies: dict[str, CurrencySummary] = Field(description="Keyed by currency code.")
    per_day: list[DaySales]
    top_products: list[ProductSales] = Field(description="By quantity sold, most first.")
    bought_together: list[ProductPair]
    per_product_day: list[ProductDaySales] = Field(description="The table the CSV holds.")
