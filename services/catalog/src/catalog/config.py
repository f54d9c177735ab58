"""Catalog settings."""

from __future__ import annotations

from typing import ClassVar

from mercato_shared.settings import BaseServiceSettings


class CatalogSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "catalog"
    database_name: ClassVar[str | None] = "catalog"
