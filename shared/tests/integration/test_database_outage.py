"""Postgres unreachable is a 503 `dependency_unavailable` with Retry-After, never a 500.

Against a Postgres cluster of the test's own (`own_postgres`), which it restarts, stops and
whose backends it terminates; integrity and programming errors stay 500s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text

from chaos.servers import OwnPostgres
from mercato_shared.app import create_app
from mercato_shared.dependencies import ServiceDependencies
from mercato_shared.deps import SessionDep
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.testing.app_client import app_client


class OutageSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "outage-test"
    database_name: ClassVar[str | None] = "postgres"


router = APIRouter()


@router.get("/one")
async def one(session: SessionDep) -> dict[str, int]:
    return {"one": int((await session.execute(text("SELECT 1"))).scalar_one())}


@router.get("/slow")
async def slow(session: SessionDep) -> dict[str, str]:
    await session.execute(text("SELECT pg_sleep(30)"))
    return {"slept": "yes"}


@router.post("/duplicate")
async def duplicate(session: SessionDep) -> dict[str, str]:
    await session.execute(text("INSERT INTO outage_keys VALUES (1)"))
    await session.commit()
    return {"inserted": "twice?"}


@router.get("/missing-table")
async def missing_table(session: SessionDep) -> dict[str, str]:
    await session.execute(text("SELECT * FROM no_such_table"))
    return {}


@pytest.fixture
async def client(own_postgres: OwnPostgres) -> AsyncIterator[httpx.AsyncClient]:
    conn = await asyncpg.connect(own_postgres.dsn)
    await conn.execute("CREATE TABLE outage_keys (id int PRIMARY KEY)")
    await conn.execute("INSERT INTO outage_keys VALUES (1)")
    await conn.close()
    settings = OutageSettings(
        postgres_url=own_postgres.url,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout=0.5,
        db_statement_timeout_ms=60_000,
    )
    app = create_app(
        settings,
        title="outage",
        routers=[router],
        dependencies=ServiceDependencies(database=True),
    )
    async with app_client(app, "http://outage") as http:
        yield http


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "dependency_unavailable"
    assert set(error) == {"code", "message", "request_id", "trace_id"}
    assert int(response.headers["retry-after"]) >= 1
    assert "127.0.0.1" not in response.text  # nothing internal reaches the client


async def test_a_restart_between_requests_costs_no_request(
    client: httpx.AsyncClient, own_postgres: OwnPostgres
) -> None:
    assert (await client.get("/one")).status_code == 200  # the pool now holds a connection
    await asyncio.to_thread(own_postgres.restart)
    # The pooled connection died with the old server; pre-ping replaces it before use.
    response = await client.get("/one")
    assert response.status_code == 200, response.text


async def test_a_stopped_database_is_503_then_serves_again(
    client: httpx.AsyncClient, own_postgres: OwnPostgres
) -> None:
    assert (await client.get("/one")).status_code == 200
    await asyncio.to_thread(own_postgres.stop)
    assert_unavailable(await client.get("/one"))  # the pooled connection is dead
    assert_unavailable(await client.get("/one"))  # and a new one is refused
    await asyncio.to_thread(own_postgres.start)
    assert (await client.get("/one")).status_code == 200


async def wait_for_query(dsn: str, fragment: str) -> int:
    """The pid of the backend running a query containing `fragment` (polled; bounded)."""
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(200):
            pid = await conn.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()",
                f"%{fragment}%",
            )
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    msg = f"no backend ran {fragment!r}"
    raise AssertionError(msg)


async def test_a_connection_closed_mid_query_is_503(
    client: httpx.AsyncClient, own_postgres: OwnPostgres
) -> None:
    slow = asyncio.create_task(client.get("/slow"))
    pid = await wait_for_query(own_postgres.dsn, "pg_sleep(30)")
    conn = await asyncpg.connect(own_postgres.dsn)
    await conn.execute("SELECT pg_terminate_backend($1)", pid)
    await conn.close()
    assert_unavailable(await slow)
    assert (await client.get("/one")).status_code == 200


async def test_no_connection_free_in_time_is_503(
    client: httpx.AsyncClient, own_postgres: OwnPostgres
) -> None:
    slow = asyncio.create_task(client.get("/slow"))  # holds the pool's only connection
    pid = await wait_for_query(own_postgres.dsn, "pg_sleep(30)")
    assert_unavailable(await client.get("/one"))
    conn = await asyncpg.connect(own_postgres.dsn)
    await conn.execute("SELECT pg_cancel_backend($1)", pid)
    await conn.close()
    await slow


async def test_integrity_and_programming_errors_stay_500(client: httpx.AsyncClient) -> None:
    for response in (await client.post("/duplicate"), await client.get("/missing-table")):
        assert response.status_code == 500, response.text
        assert response.json()["error"]["code"] == "internal_error"
        assert "retry-after" not in response.headers
