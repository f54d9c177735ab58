"""Catalog's settings: its machine secret, and the bounds of its periodic jobs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from catalog.config import CatalogSettings


def test_the_development_client_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="CATALOG_CLIENT_SECRET"):
        CatalogSettings(environment="production", jwt_public_key="a production key")
    accepted = CatalogSettings(
        environment="production", jwt_public_key="a production key", catalog_client_secret="s" * 32
    )
    assert accepted.catalog_client_secret == "s" * 32


def test_the_reservation_ttl_has_a_documented_default_and_a_floor() -> None:
    assert CatalogSettings().reservation_ttl_seconds == 900
    with pytest.raises(ValidationError, match="reservation_ttl_seconds"):
        CatalogSettings(reservation_ttl_seconds=59)
