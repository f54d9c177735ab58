"""Orders' SQL: one module per aggregate (orders with their items, Idempotency-Key claims)."""

from orders.repository.claims import ClaimRepository, Stored
from orders.repository.orders import OrderRepository, PricedLine

__all__ = ["ClaimRepository", "OrderRepository", "PricedLine", "Stored"]
