"""`python -m reports.migrate`: create the reports database if needed and migrate it."""

from __future__ import annotations

from pathlib import Path

from mercato_shared.migrations import migrate
from reports.config import ReportsSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    migrate(ReportsSettings(), MIGRATIONS)


if __name__ == "__main__":
    main()
