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
