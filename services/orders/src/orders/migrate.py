"""`python -m orders.migrate`: create the orders database if needed and migrate it."""

from __future__ import annotations

from pathlib import Path

from mercato_shared.migrations import migrate
from orders.config import OrdersSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    migrate(OrdersSettings(), MIGRATIONS)


if __name__ == "__main__":
    main()
