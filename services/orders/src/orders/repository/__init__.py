"""Orders' SQL: one module per aggregate (orders with their items, Idempotency-Key claims)."""

from orders.repository.claims import ClaimRepository, Stored
from orders.repository.orders import OrderRepository, OrderWrites, PricedLine
from orders.repository.sales import SalesRepository

__all__ = [
    "ClaimRepository",
    "OrderRepository",
    "OrderWrites",
    "PricedLine",
    "SalesRepository",
    "Stored",
]
