"""`python -m catalog.migrate`: create and migrate the catalog database (`--help`)."""

from __future__ import annotations

from catalog.config import CatalogSettings
from catalog.models import Base
from mercato_shared.migrations import Migrations, main

MIGRATIONS = Migrations.of_service(__file__, Base.metadata)

if __name__ == "__main__":
    main(CatalogSettings, MIGRATIONS)
