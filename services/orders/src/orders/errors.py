"""Orders' domain errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from mercato_shared.errors import ConflictError, UnprocessableError


class OutOfStockError(ConflictError):
    code = "out_of_stock"


class UnknownProductError(ConflictError):
    code = "unknown_product"


class MixedCurrenciesError(UnprocessableError):
    code = "mixed_currencies"

    def __init__(self) -> None:
        super().__init__("All products of one order must be priced in the same currency.")


class IdempotencyKeyReusedError(UnprocessableError):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request body.")


class IdempotencyKeyInProgressError(ConflictError):
    """The first request with this key has not finished: retry once it has (in about a second)."""

    code = "idempotency_key_in_progress"
    default_headers: ClassVar[Mapping[str, str]] = {"Retry-After": "1"}

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still being processed; retry.")
