"""Worker settings and the Celery configuration they produce (no broker, no I/O)."""

from __future__ import annotations

import aiohttp
import pytest
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import IntegrityError, InterfaceError

from mercato_shared.resilience import StatusError
from reports.queue import GENERATE_TASK, PERIODIC_QUEUE, REPORTS_QUEUE, SWEEP_TASK
from workers.celery_app import celery_config
from workers.config import WorkerSettings
from workers.errors import TransientError, as_transient, is_transient


def test_broker_and_backend_follow_redis_url_unless_overridden() -> None:
    settings = WorkerSettings(redis_url="redis://127.0.0.1:6379/8")
    assert settings.broker_url == settings.result_backend == "redis://127.0.0.1:6379/8"
    other = WorkerSettings(celery_broker_url="redis://broker:6379/1")
    assert other.broker_url == "redis://broker:6379/1"


def test_reliability_options() -> None:
    settings = WorkerSettings(
        worker_concurrency=3, report_hard_time_limit=100.0, report_soft_time_limit=60.0
    )
    config = celery_config(settings)
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["worker_concurrency"] == 3
    assert config["task_soft_time_limit"] < config["task_time_limit"]
    # Redis must not hand a message to a second worker while the first may still run it.
    assert config["broker_transport_options"]["visibility_timeout"] > config["task_time_limit"]
    assert config["task_routes"][GENERATE_TASK] == {"queue": REPORTS_QUEUE}
    assert config["task_routes"][SWEEP_TASK] == {"queue": PERIODIC_QUEUE}
    sweep = config["beat_schedule"]["sweep-report-jobs"]
    assert sweep["schedule"] == settings.sweep_interval_seconds


def test_the_development_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="REPORTS_CLIENT_SECRET"):
        WorkerSettings(environment="production", jwt_public_key="a production key")
    accepted = WorkerSettings(
        environment="production", jwt_public_key="a production key", reports_client_secret="s" * 32
    )
    assert accepted.reports_client_secret == "s" * 32


def test_the_hard_limit_must_exceed_the_soft_one() -> None:
    with pytest.raises(ValidationError, match="HARD_TIME_LIMIT"):
        WorkerSettings(report_soft_time_limit=300.0, report_hard_time_limit=200.0)


def test_dead_connections_and_a_restarted_redis_are_retried() -> None:
    closed = InterfaceError("SELECT 1", None, Exception("connection is closed"))
    closed.connection_invalidated = True
    assert is_transient(closed)
    assert isinstance(as_transient(closed), TransientError)  # Celery's autoretry catches it
    assert is_transient(RedisConnectionError("Connection refused"))
    assert as_transient(RedisConnectionError("Connection refused")) is None  # already caught
    duplicate = IntegrityError("INSERT", None, Exception("duplicate key"))
    assert not is_transient(duplicate)
    assert as_transient(duplicate) is None


def test_orders_unreachable_is_retried_and_a_refusal_is_not() -> None:
    for fault in (
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientConnectionResetError("reset"),
        aiohttp.SocketTimeoutError("slow"),
        TimeoutError(),
    ):
        assert is_transient(fault), fault
    assert not is_transient(StatusError(403, "http://orders/orders/export"))
