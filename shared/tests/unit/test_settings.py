from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ValidationError

from mercato_shared.settings import BaseServiceSettings


class ShopSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "shop"
    database_name: ClassVar[str | None] = "shop"


def test_database_url_joins_server_prefix_and_name() -> None:
    settings = ShopSettings(postgres_url="postgresql+asyncpg://u@db:5432/", database_prefix="e2e_")
    assert settings.database_url == "postgresql+asyncpg://u@db:5432/e2e_shop"


def test_non_asyncpg_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="postgresql\\+asyncpg"):
        ShopSettings(postgres_url="postgresql://u@db:5432")


def test_unsafe_database_prefix_is_refused() -> None:
    with pytest.raises(ValidationError):
        ShopSettings(database_prefix='x"; drop')


def test_a_service_without_a_database_says_so() -> None:
    with pytest.raises(RuntimeError, match="no database"):
        _ = BaseServiceSettings().database_url


class SecretSettings(BaseServiceSettings):
    development_defaults: ClassVar[tuple[str, ...]] = (
        *BaseServiceSettings.development_defaults,
        "shop_client_secret",
    )

    shop_client_secret: str = "shop-dev-secret"


def test_production_refuses_every_declared_development_default() -> None:
    real_key = "a production key"
    with pytest.raises(ValidationError, match="JWT_PUBLIC_KEY is the development key"):
        SecretSettings(environment="production", shop_client_secret="a-real-secret")
    with pytest.raises(ValidationError, match="SHOP_CLIENT_SECRET is the development secret"):
        SecretSettings(environment="production", jwt_public_key=real_key)
    SecretSettings(
        environment="production", shop_client_secret="a-real-secret", jwt_public_key=real_key
    )
    assert SecretSettings().shop_client_secret == "shop-dev-secret"  # fine outside production
