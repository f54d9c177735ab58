"""What a service's tests declare once: its settings, app factory, migrations and tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import FastAPI

from mercato_shared.migrations import Migrations
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.testing.database import DATABASE_PREFIX
from mercato_shared.testing.redis_databases import SUITE_DATABASES, redis_url_of

SettingsT = TypeVar("SettingsT", bound=BaseServiceSettings)


@dataclass(frozen=True)
class ServiceSuite(Generic[SettingsT]):
    """One service's test suite, as its `tests/conftest.py` states it:

        @pytest.fixture(scope="session")
        def suite() -> ServiceSuite[CatalogSettings]:
            return ServiceSuite(
                CatalogSettings, create_app, MIGRATIONS, tables=("products", "reservations")
            )

    `settings_for()` gives the service's settings on its test database (`it_<name>`) and
    its own Redis database; `overrides` are what every test of the suite changes.
    """

    settings: type[SettingsT]
    create_app: Callable[[SettingsT], FastAPI] | None = None
    migrations: Migrations | None = None
    tables: Sequence[str] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.settings.service_name

    @property
    def has_redis(self) -> bool:
        """Whether a Redis database is allocated to it (a suite of a service that uses no
        Redis needs none)."""
        return self.name in SUITE_DATABASES

    @property
    def redis_url(self) -> str:
        return redis_url_of(self.name)

    @property
    def base_url(self) -> str:
        return f"http://{self.name}"

    def settings_for(self, **overrides: Any) -> SettingsT:
        values: dict[str, Any] = {"database_prefix": DATABASE_PREFIX}
        if self.has_redis:
            values["redis_url"] = self.redis_url
        return self.settings(**(values | dict(self.overrides) | overrides))

    def app(self, settings: SettingsT) -> FastAPI:
        if self.create_app is None:
            msg = f"the {self.name} suite names no app factory"
            raise RuntimeError(msg)
        return self.create_app(settings)
