"""Catalog's domain errors."""

from __future__ import annotations

from mercato_shared.errors import ConflictError, NotFoundError


class ProductNotFoundError(NotFoundError):
    def __init__(self, product_id: int) -> None:
        super().__init__(f"Product {product_id} does not exist.")


class DuplicateSkuError(ConflictError):
    code = "duplicate_sku"

    def __init__(self, sku: str) -> None:
        super().__init__(f"A product with SKU {sku} already exists.")


class OutOfStockError(ConflictError):
    code = "out_of_stock"

    def __init__(self, product_ids: list[int]) -> None:
        names = ", ".join(str(product_id) for product_id in product_ids)
        super().__init__(f"Not enough stock for product(s) {names}.")
        self.product_ids = product_ids


class UnknownProductError(ConflictError):
    code = "unknown_product"

    def __init__(self, product_ids: list[int]) -> None:
        names = ", ".join(str(product_id) for product_id in product_ids)
        super().__init__(f"Unknown product(s) {names}.")
        self.product_ids = product_ids


class ReservationConflictError(ConflictError):
    code = "reservation_conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
