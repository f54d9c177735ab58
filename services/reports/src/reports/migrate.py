"""`python -m reports.migrate`: create and migrate the reports database (`--help`)."""

from __future__ import annotations

from mercato_shared.migrations import Migrations, main
from reports.config import ReportsSettings
from reports.models import Base

MIGRATIONS = Migrations.of_service(__file__, Base.metadata)

if __name__ == "__main__":
    main(ReportsSettings, MIGRATIONS)
