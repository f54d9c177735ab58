"""`python -m identity.migrate`: create and migrate the identity database (`--help`)."""

from __future__ import annotations

from identity.config import IdentitySettings
from identity.models import Base
from mercato_shared.migrations import Migrations, main

MIGRATIONS = Migrations.of_service(__file__, Base.metadata)

if __name__ == "__main__":
    main(IdentitySettings, MIGRATIONS)
