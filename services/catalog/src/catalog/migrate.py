"""`python -m catalog.migrate`: create the catalog database if needed and migrate it."""

from __future__ import annotations

from pathlib import Path

from catalog.config import CatalogSettings
from mercato_shared.migrations import migrate

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    migrate(CatalogSettings(), MIGRATIONS)


if __name__ == "__main__":
    main()
