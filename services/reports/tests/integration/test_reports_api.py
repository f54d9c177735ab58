"""The reports API against the real Postgres and Redis: accept, show, protect, refuse."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from mercato_shared.testing.redis_databases import redis_url_of
from reports.config import ReportsSettings
from reports.queue import REPORTS_QUEUE, producer_app

Auth = Callable[..., dict[str, str]]
Settings = Callable[..., ReportsSettings]
ClientFor = Callable[[ReportsSettings], AbstractAsyncContextManager[httpx.AsyncClient]]
SALES = {"kind": "sales", "start": "2026-01-01", "days": 31}


async def count_jobs(settings: ReportsSettings) -> int:
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM report_jobs"))).scalar_one()
    await engine.dispose()
    return int(count)


async def queued_messages() -> list[dict[str, Any]]:
    redis = Redis.from_url(redis_url_of("reports"))
    raw = await redis.lrange("reports", 0, -1)
    await redis.aclose()
    return [json.loads(item) for item in raw]


async def test_submit_stores_a_queued_job_and_publishes_it(
    client: httpx.AsyncClient, auth: Auth, migrated: ReportsSettings
) -> None:
    response = await client.post("/reports", json=SALES, headers=auth("1", "admin"))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert job["period"] == {"start": "2026-01-01", "end": "2026-02-01"}
    assert response.headers["location"].endswith(f"/reports/{job['id']}")
    messages = await queued_messages()
    assert [m["headers"]["task"] for m in messages] == ["reports.generate"]
    args, _kwargs, _embed = json.loads(base64.b64decode(messages[0]["body"]))
    assert args == [job["id"]]
    assert await count_jobs(migrated) == 1

    shown = await client.get(f"/reports/{job['id']}", headers=auth("1", "admin"))
    assert shown.status_code == 200
    assert shown.json()["status"] == "queued"


async def test_location_never_comes_from_the_host_header(
    client_for: ClientFor, settings_for: Settings, auth: Auth
) -> None:
    forged = auth("1", "admin") | {"host": "evil.example"}
    async with client_for(settings_for()) as client:
        path = (await client.post("/reports", json=SALES, headers=forged)).headers["location"]
    settings = settings_for(public_base_url="https://shop.example.com/")
    async with client_for(settings) as client:
        response = await client.post("/reports", json=SALES, headers=forged)
    job = response.json()
    assert path.startswith("/reports/")
    assert response.headers["location"] == f"https://shop.example.com/reports/{job['id']}"


async def test_only_the_owner_or_an_admin_sees_a_job(client: httpx.AsyncClient, auth: Auth) -> None:
    body = {"kind": "purchases", "start": "2026-01-01", "days": 7}
    job = (await client.post("/reports", json=body, headers=auth("42"))).json()
    assert (await client.get(f"/reports/{job['id']}", headers=auth("42"))).status_code == 200
    assert (
        await client.get(f"/reports/{job['id']}", headers=auth("7", "admin"))
    ).status_code == 200
    for path in (
        f"/reports/{job['id']}",
        f"/reports/{job['id']}/result",
        f"/reports/{job['id']}/result.csv",
    ):
        other = await client.get(path, headers=auth("43"))
        assert other.status_code == 404
        assert other.json()["error"]["code"] == "not_found"


async def test_a_result_before_success_is_409(client: httpx.AsyncClient, auth: Auth) -> None:
    job = (await client.post("/reports", json=SALES, headers=auth("1", "admin"))).json()
    response = await client.get(f"/reports/{job['id']}/result", headers=auth("1", "admin"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "report_not_ready"
    csv = await client.get(f"/reports/{job['id']}/result.csv", headers=auth("1", "admin"))
    assert csv.status_code == 409
    assert csv.json()["error"]["code"] == "report_not_ready"
    xml = await client.get(
        f"/reports/{job['id']}/result", headers=auth("1", "admin") | {"accept": "application/xml"}
    )
    assert xml.status_code == 406
    assert xml.json()["error"]["code"] == "not_acceptable"


async def test_bad_requests_are_4xx_and_write_nothing(
    client: httpx.AsyncClient, auth: Auth, migrated: ReportsSettings
) -> None:
    admin = auth("1", "admin")
    cases: list[tuple[dict[str, Any], dict[str, str], int, str]] = [
        (
            {"kind": "weather", "start": "2026-01-01", "days": 31},
            admin,
            422,
            "validation_error",
        ),
        (
            {"kind": "sales", "start": "2026-02-01", "days": 0},
            admin,
            422,
            "validation_error",
        ),
        (
            {"kind": "sales", "start": "2020-01-01", "days": 367},
            admin,
            422,
            "validation_error",
        ),
        (
            {"kind": "sales", "start": "2026-01-01", "end": "2026-02-01"},
            admin,
            422,
            "validation_error",
        ),
        (SALES, auth("5"), 403, "forbidden"),
        (SALES, {}, 401, "unauthorized"),
        (SALES, {"Authorization": "Bearer not-a-token"}, 401, "invalid_token"),
    ]
    for body, headers, status, code in cases:
        response = await client.post("/reports", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code
    assert (await client.get("/reports/not-a-uuid", headers=admin)).status_code == 422
    missing = await client.get("/reports/00000000-0000-4000-8000-000000000000", headers=admin)
    assert missing.status_code == 404
    assert await count_jobs(migrated) == 0
    assert await queued_messages() == []


async def test_a_broker_outage_still_accepts_the_job(
    client_for: ClientFor, settings_for: Settings, auth: Auth, migrated: ReportsSettings
) -> None:
    """Redis down: the job is committed as queued (the sweeper publishes it later)."""
    settings = settings_for(celery_broker_url="redis://127.0.0.1:1/0", celery_publish_timeout=0.5)
    async with client_for(settings) as client:
        response = await client.post("/reports", json=SALES, headers=auth("1", "admin"))
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert await count_jobs(migrated) == 1


# --- the customer's quota ----------------------------------------------------------------

PURCHASES = {"kind": "purchases", "start": "2026-01-01", "days": 366}


async def test_a_customer_may_have_only_so_many_reports_in_flight(
    client: httpx.AsyncClient, auth: Auth, migrated: ReportsSettings
) -> None:
    statuses = [
        (await client.post("/reports", json=PURCHASES, headers=auth("42"))).status_code
        for _ in range(40)
    ]
    # The default: three queued or running at once; the other 37 wrote nothing.
    assert statuses == [202] * 3 + [429] * 37
    assert await count_jobs(migrated) == 3
    refused = await client.post("/reports", json=PURCHASES, headers=auth("42"))
    assert refused.json()["error"]["code"] == "too_many_reports"
    assert refused.headers["retry-after"] == "5"
    # Another customer, and an admin, are not held by the first one's quota.
    assert (await client.post("/reports", json=PURCHASES, headers=auth("43"))).status_code == 202
    for _ in range(5):
        admin = await client.post("/reports", json=SALES, headers=auth("1", "admin"))
        assert admin.status_code == 202


async def test_finished_jobs_free_the_in_flight_quota_but_count_for_the_hour(
    migrated: ReportsSettings, auth: Auth, client_for: ClientFor, settings_for: Settings
) -> None:
    settings = settings_for(report_max_in_flight_per_user=1, report_max_per_hour_per_user=3)
    engine = create_async_engine(migrated.database_url)
    async with client_for(settings) as client:
        for _ in range(3):
            accepted = await client.post("/reports", json=PURCHASES, headers=auth("42"))
            assert accepted.status_code == 202
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE report_jobs SET status = 'succeeded'"))
        refused = await client.post("/reports", json=PURCHASES, headers=auth("42"))
    await engine.dispose()
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_reports"
    # The oldest of the hour's three leaves the hour in just under an hour.
    assert 3500 < int(refused.headers["retry-after"]) <= 3600


async def test_an_admins_job_is_taken_before_the_customers_backlog(
    client: httpx.AsyncClient, auth: Auth, migrated: ReportsSettings
) -> None:
    """A customer's jobs wait in the lane behind: a worker, which pops the lanes in order
    (kombu's Redis channel, as its consumer does), takes the admin's job first although
    it was published last."""
    customers = [
        (await client.post("/reports", json=PURCHASES, headers=auth(str(n)))).json()["id"]
        for n in (40, 41, 41, 42)
    ]
    admin = (await client.post("/reports", json=SALES, headers=auth("1", "admin"))).json()["id"]
    worker = producer_app(migrated)
    taken: list[str] = []
    with worker.connection_for_read() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(REPORTS_QUEUE, no_ack=True)) is not None:
            taken.append(message.headers["argsrepr"].strip("[]'"))
    worker.close()
    assert taken == [admin, *customers]
