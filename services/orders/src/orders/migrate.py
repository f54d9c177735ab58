"""`python -m orders.migrate`: create and migrate the orders database (`--help`)."""

from __future__ import annotations

from mercato_shared.migrations import Migrations, main
from orders.config import OrdersSettings
from orders.models import Base

MIGRATIONS = Migrations.of_service(__file__, Base.metadata)

if __name__ == "__main__":
    main(OrdersSettings, MIGRATIONS)
