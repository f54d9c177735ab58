"""`python -m identity.migrate`: create the identity database if needed and migrate it."""

from __future__ import annotations

from pathlib import Path

from identity.config import IdentitySettings
from mercato_shared.migrations import migrate

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    migrate(IdentitySettings(), MIGRATIONS)


if __name__ == "__main__":
    main()
