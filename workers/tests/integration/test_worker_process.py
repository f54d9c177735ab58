"""Real Celery processes (prefork worker + beat) against the real Postgres and Redis.

No accepted job is lost: not when the worker child running it is killed with SIGKILL, and not
when Redis loses every queued message (FLUSHDB on this suite's database only).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import topology
from conftest import OwnPostgres, free_port, wait_for_port
from mercato_shared.db import create_engine, create_session_factory
from mercato_shared.migrations import migrate
from reports.migrate import MIGRATIONS
from reports.queue import SWEEP_TASK, JobQueue, producer_app
from reports.repository import JobRepository
from workers.config import WorkerSettings

from .conftest import IT_REDIS_URL, worker_settings

Sessions = async_sessionmaker[AsyncSession]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Stop this process group (it is ours: started with its own session)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start(argv: list[str], env: dict[str, str], log: Path) -> Proc:
    handle = log.open("wb")
    process = subprocess.Popen(
        argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Proc(process, log)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Token and sales-summary stand-in: 800 orders, 2 s per summary (a job to kill)."""
    port = free_port()
    env = os.environ | {"UPSTREAM_ORDERS": "800", "UPSTREAM_DELAY": "2"}
    proc = start(
        [
            str(BIN / "uvicorn"),
            "--app-dir",
            str(HERE),
            "upstream:create_app",
            "--factory",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env,
        tmp_path_factory.mktemp("upstream") / "upstream.log",
    )
    wait_for_port(port, timeout=20)
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.fixture
def celery_env(upstream: str, tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "DATABASE_PREFIX": "it_",
        "REDIS_URL": IT_REDIS_URL,
        "IDENTITY_URL": upstream,
        "ORDERS_URL": upstream,
        "WORKER_CONCURRENCY": "1",
        "REPORT_LEASE_SECONDS": "3",
        "SWEEP_INTERVAL_SECONDS": "1",
        "SWEEP_QUEUED_AFTER_SECONDS": "3",
        "MERCATO_RUN_DIR": str(tmp_path),
        "OTEL_SDK_DISABLED": "true",
    }


@pytest.fixture
def celery(celery_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Proc]]:
    """A prefork worker (one child) and the beat, each in its own process group."""
    # The very command lines the native stack runs (and compose mirrors).
    procs = {
        worker.name: start(
            [str(BIN / worker.command[0]), *worker.command[1:]],
            celery_env,
            tmp_path / f"{worker.name}.log",
        )
        for worker in topology.load().workers
    }
    yield procs
    for proc in procs.values():
        proc.stop()


async def submit(sessions: Sessions, settings: WorkerSettings, count: int) -> list[uuid.UUID]:
    """What POST /reports does: commit the job as queued, then publish it."""
    queue = JobQueue(producer_app(settings), timeout=5)
    ids = []
    for _ in range(count):
        async with sessions() as session:
            job = await JobRepository(session).create(
                owner="1", kind="sales", start=date(2026, 1, 1), end=date(2026, 1, 31)
            )
        assert await queue.enqueue(job.id)
        ids.append(job.id)
    queue.close()
    return ids


async def jobs(sessions: Sessions, ids: list[uuid.UUID]) -> list[dict[str, object]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT j.id, j.status, j.attempts, j.worker, j.error, "
                "(SELECT count(*) FROM report_results r WHERE r.job_id = j.id) AS results "
                "FROM report_jobs j WHERE j.id = ANY(:ids)"
            ),
            {"ids": ids},
        )
        return [dict(row._mapping) for row in rows]


async def wait_for(
    sessions: Sessions, ids: list[uuid.UUID], status: str, within: float
) -> list[dict[str, object]]:
    deadline = time.monotonic() + within
    while True:
        rows = await jobs(sessions, ids)
        if all(row["status"] == status for row in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.25)


def children(pid: int) -> set[int]:
    raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(child) for child in raw.split()}


async def test_a_worker_child_killed_mid_job_loses_nothing(
    sessions: Sessions, migrated: WorkerSettings, celery: dict[str, Proc]
) -> None:
    [job_id] = await submit(sessions, migrated, 1)
    [row] = await wait_for(sessions, [job_id], "running", within=60)
    assert row["status"] == "running", celery["worker"].log.read_text()[-3000:]
    pid = int(str(row["worker"]).rsplit(":", 1)[1])
    assert pid in children(celery["worker"].process.pid)  # a prefork child of our worker
    # The child runs the report at the lowest CPU priority (WORKER_CPU_POLICY's default);
    # the parent, which only hands out jobs, keeps the normal one.
    assert os.sched_getscheduler(pid) == os.SCHED_IDLE
    assert os.sched_getscheduler(celery["worker"].process.pid) == os.SCHED_OTHER
    await asyncio.sleep(0.5)
    os.kill(pid, signal.SIGKILL)

    [row] = await wait_for(sessions, [job_id], "succeeded", within=90)
    assert row["status"] == "succeeded", celery["worker"].log.read_text()[-3000:]
    assert row["results"] == 1
    assert int(str(row["attempts"])) >= 2
    assert int(str(row["worker"] or "x:0").rsplit(":", 1)[1]) != pid


async def test_a_flushed_broker_loses_no_accepted_job(
    sessions: Sessions, migrated: WorkerSettings, celery_env: dict[str, str], tmp_path: Path
) -> None:
    ids = await submit(sessions, migrated, 3)
    redis = Redis.from_url(IT_REDIS_URL)
    assert await redis.llen("reports") == 3
    await redis.flushdb()  # this suite's Redis database only
    await redis.aclose()
    common = [str(BIN / "celery"), "-A", "workers.main"]
    procs = [
        start(
            [
                *common,
                "worker",
                "-Q",
                "reports,periodic",
                "--pool",
                "prefork",
                "-c",
                "2",
                "--without-mingle",
                "--without-gossip",
            ],
            celery_env,
            tmp_path / "worker.log",
        ),
        start([*common, "beat"], celery_env, tmp_path / "beat.log"),
    ]
    try:
        rows = await wait_for(sessions, ids, "succeeded", within=120)
    finally:
        for proc in procs:
            proc.stop()
    assert [row["status"] for row in rows] == ["succeeded"] * 3, (
        tmp_path / "worker.log"
    ).read_text()[-3000:]
    assert [row["results"] for row in rows] == [1, 1, 1]


async def test_the_first_job_after_a_postgres_restart_runs_at_once(
    own_postgres: OwnPostgres, celery_env: dict[str, str], tmp_path: Path
) -> None:
    """The child's pooled connections die with the server; pre-ping replaces them, so the
    next job runs on its first attempt instead of failing and waiting for the sweeper."""
    settings = worker_settings(postgres_url=own_postgres.url)
    await asyncio.to_thread(migrate, settings, MIGRATIONS)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    env = celery_env | {
        "POSTGRES_URL": own_postgres.url,
        "SWEEP_QUEUED_AFTER_SECONDS": "600",  # no rescue by the sweeper within this test
        "REPORT_LEASE_SECONDS": "60",
    }
    procs = [
        start(
            [str(BIN / worker.command[0]), *worker.command[1:]],
            env,
            tmp_path / f"{worker.name}.log",
        )
        for worker in topology.load().workers
    ]
    try:
        first = await submit(sessions, settings, 1)
        rows = await wait_for(sessions, first, "succeeded", within=90)
        assert rows[0]["status"] == "succeeded", (tmp_path / "worker.log").read_text()[-3000:]
        await asyncio.to_thread(own_postgres.restart)
        second = await submit(sessions, settings, 1)
        rows = await wait_for(sessions, second, "succeeded", within=90)
    finally:
        for proc in procs:
            proc.stop()
        await engine.dispose()
    log = (tmp_path / "worker.log").read_text()
    assert rows[0]["status"] == "succeeded", log[-3000:]
    assert rows[0]["attempts"] == 1, log[-3000:]
    # No job met a dead connection. The sweep runs every second here, and one in flight at
    # the restart may fail on its own connection; the next sweep runs on a fresh one.
    closed = [line for line in log.splitlines() if "connection was closed" in line]
    assert [line for line in closed if SWEEP_TASK not in line] == [], log[-3000:]
