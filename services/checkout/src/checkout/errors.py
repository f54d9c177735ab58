"""Checkout's domain errors."""

from __future__ import annotations

from mercato_shared.errors import ConflictError, DependencyUnavailableError, UnprocessableError


class UnsupportedCurrencyError(UnprocessableError):
    code = "unsupported_currency"

    def __init__(self, currency: str, supported: list[str]) -> None:
        super().__init__(
            f"Currency {currency} is not supported; use one of {', '.join(supported)}."
        )


class UnknownProductError(ConflictError):
    code = "unknown_product"

    def __init__(self, product_ids: list[int]) -> None:
        ids = ", ".join(str(i) for i in product_ids)
        super().__init__(f"Unknown product id(s): {ids}.")


class SourceUnavailableError(DependencyUnavailableError):
    """A source without which no total can be given (catalog, tax, FX) did not answer."""

    def __init__(self, source: str, status: str) -> None:
        super().__init__(f"The {source} service is unavailable ({status}); no quote can be given.")
