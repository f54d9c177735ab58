"""Reports' suite: its app on the `it_reports` database and its own Redis database."""

from __future__ import annotations

import pytest

from mercato_shared.testing.suite import ServiceSuite
from reports.config import ReportsSettings
from reports.main import create_app
from reports.migrate import MIGRATIONS


@pytest.fixture(scope="session")
def suite() -> ServiceSuite[ReportsSettings]:
    return ServiceSuite(ReportsSettings, create_app, MIGRATIONS, tables=("report_jobs",))
