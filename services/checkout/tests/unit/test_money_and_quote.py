"""Checkout's money rules, quote assembly and input limits (no I/O)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from checkout.clients import CarrierQuote, Parcel, Product, TaxRate
from checkout.money import from_base, round_money, to_base
from checkout.schemas import QuoteRequest, SourceOut
from checkout.service import build_quote
from checkout.weights import parcel_weight

RATES = {"USD": Decimal("1.0850"), "GBP": Decimal("0.8560"), "JPY": Decimal("162.40")}


def test_rounding_is_half_up_to_the_minor_unit() -> None:
    assert round_money(Decimal("2.345"), "EUR") == Decimal("2.35")
    assert round_money(Decimal("2.344"), "EUR") == Decimal("2.34")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")
    assert from_base(Decimal("10"), "JPY", RATES) == Decimal("1624")
    assert from_base(Decimal("10.00"), "USD", RATES) == Decimal("10.85")
    assert to_base(Decimal("8.56"), "GBP", RATES) == Decimal("10")


def request(**overrides: Any) -> dict[str, Any]:
    return {
        "items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}],
        "destination": {"country": "DE", "postal_code": "10115"},
        "currency": "USD",
    } | overrides


def test_quote_converts_sums_taxes_and_picks_the_cheapest_option() -> None:
    products = [
        Product(id=1, name="Teapot", price=Decimal("10.00"), currency="EUR", category="kitchen"),
        Product(id=2, name="Atlas", price=Decimal("8.56"), currency="GBP", category="books"),
    ]
    options = [
        CarrierQuote(
            carrier="swift", service_level="express", price=Decimal("12"), currency="EUR",
            estimated_days=1,
        ),
        CarrierQuote(
            carrier="parcelpost", service_level="economy", price=Decimal("5.49"), currency="EUR",
            estimated_days=4,
        ),
    ]  # fmt: skip
    ok = SourceOut(status="ok", latency_ms=1)
    sources = {"carrier-swift": ok, "carrier-parcelpost": ok, "tax": ok, "fx": ok}
    sources["carrier-freightline"] = SourceOut(status="timeout", latency_ms=300)
    quote = build_quote(
        QuoteRequest.model_validate(request()),
        products=products,
        carrier_quotes=options,
        tax_rate=TaxRate(country="DE", rate=Decimal("0.19")),
        rates=RATES,
        sources=sources,
    )
    assert quote.subtotal == Decimal("30.00")  # 2 x 10 EUR + 8.56 GBP (= 10 EUR)
    assert quote.tax.amount == Decimal("5.70")
    assert [o.carrier for o in quote.shipping_options] == ["parcelpost", "swift"]
    assert quote.total.amount == round_money(Decimal("41.19") * Decimal("1.0850"), "USD")
    assert quote.total.shipping_carrier == "parcelpost"
    assert quote.partial is True


def test_lines_of_one_product_are_one_line() -> None:
    body = request(items=[{"product_id": 1, "quantity": 2}, {"product_id": 1, "quantity": 3.0}])
    lines = QuoteRequest.model_validate(body).items
    assert [(line.product_id, line.quantity) for line in lines] == [(1, 5)]


@pytest.mark.parametrize(
    "overrides",
    [
        {"items": []},
        {"items": [{"product_id": 1, "quantity": 0}]},
        {"items": [{"product_id": 1, "quantity": 10**9}]},
        {"items": [{"product_id": 1, "quantity": "1"}]},
        {"items": [{"product_id": True, "quantity": 1}]},
        {"items": [{"product_id": i, "quantity": 1} for i in range(1, 52)]},
        {"currency": "eur"},
        {"destination": {"country": "ZZ", "postal_code": "1"}},
        {"destination": {"country": "DE", "postal_code": "<script>"}},
        {"extra": True},
    ],
)
def test_bad_carts_are_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        QuoteRequest.model_validate(request(**overrides))


def test_parcel_weight_and_cache_key() -> None:
    assert parcel_weight([("kitchen", 2), ("unknown", 1)]) == 2 * 1200 + 1000 + 150
    parcel = Parcel(country="DE", postal_code="ab 12", weight_grams=500, items=2)
    assert parcel.cache_key("swift") == "shipping:swift:DE:AB12:500:2"
