"""Orders' logic: one module per aggregate (orders, Idempotency-Key claims)."""

from orders.service.claims import Claims, run_cleanup
from orders.service.orders import OrderService, order_attributes, page_json

__all__ = ["Claims", "OrderService", "order_attributes", "page_json", "run_cleanup"]
