"""Partners' price models and fault profiles, deterministic (no I/O, seeded randomness)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from mercato_shop.countries import COUNTRIES
from partners.faults import FaultBoard, FaultProfile, PartnerFailureError, PartnerOutageError
from partners.pricing import VAT_RATES, ZONES, freightline_quote, parcelpost_quote, swift_quote


def test_every_country_has_a_zone_and_a_vat_rate() -> None:
    assert set(ZONES) == COUNTRIES
    assert set(VAT_RATES) == COUNTRIES


def test_swift_charges_a_zone_base_and_per_started_kilo() -> None:
    assert swift_quote("DE", 1, 1).price == Decimal("11.70")  # 9.90 + 1 kg x 1.80
    assert swift_quote("DE", 1001, 1).price == Decimal("13.50")  # 2 started kilos
    quote = swift_quote("US", 2500, 3)
    assert quote.price == Decimal("28.80")  # 9.90 + 3 x 4.50 + 3 x 1.80
    assert (quote.service_level, quote.estimated_days) == ("express", 3)


def test_parcelpost_is_flat_per_zone_plus_handling_per_item() -> None:
    assert parcelpost_quote("DE", 2000, 4).price == Decimal("5.49")
    assert parcelpost_quote("FR", 2000, 1).price == Decimal("7.74")
    assert parcelpost_quote("DE", 40_000, 1).price == Decimal("9.23")  # two parcels
    assert parcelpost_quote("JP", 100, 1).estimated_days == 10


def test_freightline_uses_weight_tiers_and_a_zone_surcharge() -> None:
    assert freightline_quote("DE", 5000, 1).price == Decimal("14.00")
    assert freightline_quote("DE", 5001, 1).price == Decimal("19.00")
    assert freightline_quote("IT", 150_000, 1).price == Decimal("63.70")  # 49 x 1.30
    assert freightline_quote("DE", 60_000, 10).price < swift_quote("DE", 60_000, 10).price


async def test_fault_board_counts_applies_and_resets() -> None:
    board = FaultBoard({"tax": FaultProfile(outage=True)}, random.Random(1))
    with pytest.raises(PartnerOutageError):
        await board.apply("tax")
    board.set("fx", FaultProfile(error_rate=1.0))
    with pytest.raises(PartnerFailureError):
        await board.apply("fx")
    await board.apply("carrier-swift")
    assert board.requests == {"tax": 1, "fx": 1, "carrier-swift": 1}
    board.reset()
    assert board.profile("fx") == FaultProfile()
    assert board.profile("tax").outage, "reset returns to the start profiles"


def test_latency_jitter_is_seeded_and_bounded() -> None:
    profile = FaultProfile(latency_ms=50, jitter_ms=10)
    first = [FaultBoard({}, random.Random(3)).latency_seconds(profile) for _ in range(2)]
    assert first[0] == first[1]
    board = FaultBoard({}, random.Random(3))
    draws = [board.latency_seconds(profile) for _ in range(200)]
    assert all(0.04 <= d <= 0.06 for d in draws)
    assert (
        FaultBoard({}, random.Random(3)).latency_seconds(FaultProfile(latency_ms=5, jitter_ms=50))
        >= 0
    )


def test_profiles_reject_nonsense() -> None:
    for bad in ({"error_rate": 1.5}, {"latency_ms": -1}, {"unknown": 1}):
        with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError
            FaultProfile.model_validate(bad)
