"""One customer's flood of report jobs: most are refused, and another user's report is run.

A customer submits 40 purchases reports over a whole year in a row. The quota admits three
at once (queued or running) and thirty an hour, and answers the rest 429
`too_many_reports` with Retry-After;
an admin's one-day sales report submitted right after is taken before the customer's
backlog (the lane in front) and finishes; the customer's own purchases report contains only
the customer's orders (orders' sales summary is filtered by the server). No assertion is on a
timing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.e2e.test_gateway_catalog import assert_error_shape
from tests.e2e.test_identity_orders import admin, new_customer
from tests.e2e.test_reports import reports_db, submit, wait_done

pytestmark = pytest.mark.e2e

__all__ = ["reports_db"]  # the fixture, used below by name

TODAY = datetime.now(UTC).date()
YEAR = {"kind": "purchases", "start": (TODAY - timedelta(days=365)).isoformat(), "days": 366}


async def test_a_customers_flood_is_capped_and_another_users_report_runs(
    gateway: httpx.AsyncClient, reports_db: asyncpg.Connection
) -> None:
    customer, administrator = await new_customer(gateway), await admin(gateway)
    owner = str((await gateway.get("/api/identity/me", headers=customer)).json()["id"])
    answers = [
        await gateway.post("/api/reports/reports", json=YEAR, headers=customer) for _ in range(40)
    ]
    statuses = [answer.status_code for answer in answers]

    # Three in flight at once: the first three are taken, the fourth is refused unless one
    # of them has finished already; thirty an hour: ten at least are refused whatever the pace.
    assert statuses[:3] == [202, 202, 202]
    assert statuses.count(429) >= 10
    assert set(statuses) == {202, 429}
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert_error_shape(refused, 429, "too_many_reports")
    assert int(refused.headers["retry-after"]) >= 1

    day = {"kind": "sales", "start": TODAY.isoformat(), "days": 1}
    job = await submit(gateway, administrator, day)
    done = await wait_done(gateway, administrator, job["id"])
    assert done["status"] == "succeeded", done

    mine = [answer.json()["id"] for answer in answers if answer.status_code == 202]
    for job_id in mine:
        finished = await wait_done(gateway, customer, job_id)
        assert finished["status"] == "succeeded", finished
    # A new customer has no orders: the sales summary, filtered by the server, holds none.
    result = await gateway.get(f"/api/reports/reports/{mine[0]}/result", headers=customer)
    assert result.status_code == 200
    assert result.json()["orders"] == 0
    # The refused submissions wrote nothing.
    stored = await reports_db.fetchval("SELECT count(*) FROM report_jobs WHERE owner = $1", owner)
    assert stored == len(mine)
