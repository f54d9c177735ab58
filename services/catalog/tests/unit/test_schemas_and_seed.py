from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from catalog.schemas import ProductCreate, ProductUpdate
from mercato_shop.demo_products import generate


def valid(**overrides: object) -> dict[str, object]:
    return {"sku": "KIT-1", "name": "Kettle", "price": "10.50", "category": "kitchen"} | overrides


def test_price_is_an_exact_decimal() -> None:
    assert ProductCreate.model_validate(valid()).price == Decimal("10.50")


@pytest.mark.parametrize(
    "overrides",
    [
        {"price": "0"},
        {"price": "0.001"},
        {"price": "1000000.01"},
        {"stock": -1},
        {"sku": "kit"},
        {"category": "Kitchen"},
        {"currency": "JPY"},
        {"name": ""},
        {"name": "n" * 201},
        {"extra": 1},
    ],
)
def test_out_of_range_input_is_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ProductCreate.model_validate(valid(**overrides))


@pytest.mark.parametrize("body", [{"name": None}, {"price": None, "stock": 3}])
def test_update_refuses_explicit_nulls(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="must not be null"):
        ProductUpdate.model_validate(body)


def test_update_keeps_only_what_was_sent() -> None:
    assert ProductUpdate.model_validate({"stock": 4}).model_dump(exclude_unset=True) == {"stock": 4}


def test_seed_data_is_valid_unique_and_deterministic() -> None:
    rows = generate(1000)
    assert len({row["sku"] for row in rows}) == 1000
    assert len({row["category"] for row in rows}) >= 8
    assert generate(50) == generate(50)
    for row in rows[:100]:
        ProductCreate.model_validate(row)
