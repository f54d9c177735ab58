"""Partner answers are validated like user input: a bad one fails the source, not the quote."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from checkout.clients import CarrierQuote, FxRates

RATES = {"EUR": "1", "USD": "1.085", "GBP": "0.856", "CHF": "0.94", "JPY": "162"}


def test_complete_rates_are_accepted() -> None:
    assert FxRates.model_validate({"base": "EUR", "rates": RATES}).rates["JPY"] == 162


@pytest.mark.parametrize(
    "answer",
    [
        {"base": "EUR", "rates": {k: v for k, v in RATES.items() if k != "JPY"}},
        {"base": "EUR", "rates": RATES | {"USD": "0"}},
        {"base": "USD", "rates": RATES},
    ],
)
def test_incomplete_or_impossible_rates_are_refused(answer: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FxRates.model_validate(answer)


@pytest.mark.parametrize("change", [{"currency": "USD"}, {"price": "-1"}, {"estimated_days": -2}])
def test_a_carrier_quote_we_cannot_add_up_is_refused(change: dict[str, Any]) -> None:
    quote = {
        "carrier": "swift",
        "service_level": "express",
        "price": "13.50",
        "currency": "EUR",
        "estimated_days": 1,
    }
    with pytest.raises(ValidationError):
        CarrierQuote.model_validate(quote | change)
