"""Catalog's domain errors."""

from __future__ import annotations

from mercato_shared.errors import ConflictError, NotFoundError, UnprocessableError


class ProductNotFoundError(NotFoundError):
    def __init__(self, product_id: int) -> None:
        super().__init__(f"Product {product_id} does not exist.")


class DuplicateSkuError(ConflictError):
    code = "duplicate_sku"

    def __init__(self, sku: str) -> None:
        super().__init__(f"A product with SKU {sku} already exists.")


class InvalidCursorError(UnprocessableError):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__("The cursor is not one this API returned.")
