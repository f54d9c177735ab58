"""Identity's suite: its app on the `it_identity` database; the login throttle's counts in
its own Redis database."""

from __future__ import annotations

import pytest

from identity.config import IdentitySettings
from identity.main import create_app
from identity.migrate import MIGRATIONS
from mercato_shared.testing.suite import ServiceSuite


@pytest.fixture(scope="session")
def suite() -> ServiceSuite[IdentitySettings]:
    return ServiceSuite(
        IdentitySettings, create_app, MIGRATIONS, tables=("users", "refresh_tokens")
    )
