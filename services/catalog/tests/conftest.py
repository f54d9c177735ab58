"""Catalog's suite: its app on the `it_catalog` database and its own Redis database.

The periodic jobs are off; the tests that test them drive them (test_periodic_jobs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from catalog.config import CatalogSettings
from catalog.main import create_app
from catalog.migrate import MIGRATIONS
from mercato_shared.testing.suite import ServiceSuite


@pytest.fixture(scope="session")
def suite() -> ServiceSuite[CatalogSettings]:
    return ServiceSuite(
        CatalogSettings,
        create_app,
        MIGRATIONS,
        tables=("products", "reservations"),
        overrides={"periodic_jobs": False},
    )


@pytest.fixture
def product_selects() -> Iterator[list[str]]:
    """Every SQL statement that reads the products table, in the order sent."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "products" in statement:
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield statements
    event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture
def product() -> Callable[..., dict[str, Any]]:
    """A valid create body; keyword arguments override fields."""
    return product_payload


def product_payload(sku: str = "KIT-TEST-1", **overrides: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": "Enamel teapot",
        "description": "A teapot.",
        "price": "24.90",
        "currency": "EUR",
        "stock": 10,
        "category": "kitchen",
    } | overrides
