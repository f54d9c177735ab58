"""The end-to-end suite starts its own native stack and talks to it only through the gateway.

It runs beside a developer's `make up` stack: its ports are shifted by `E2E_PORT_OFFSET`
(default 10000, so the gateway is on 18080), its databases are prefixed `e2e_` and it uses
Redis database 14; it runs two processes of each replicated service (MERCATO_REPLICAS=2).
`E2E_REUSE_STACK=1` leaves the stack running after the session (for
debugging); otherwise it is stopped, whatever the outcome.

Every process of the stack exports its traces, metrics and logs to a test OTLP receiver
(`otlp` fixture, `devtools/otlp_receiver.py`) at 100% sampling, with short export
delays, so the telemetry tests can assert on what the stack really exported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

import topology
from devtools.otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class E2EStack:
    gateway: str
    env: dict[str, str]
    run_dir: Path


def stack_env() -> dict[str, str]:
    offset = os.environ.get("E2E_PORT_OFFSET", "10000")
    env = {key: value for key, value in os.environ.items() if not key.endswith("_PORT")}
    env.update(
        {
            "MERCATO_PORT_OFFSET": offset,
            "MERCATO_RUN_DIR": str(ROOT / ".run" / f"e2e-{offset}"),
            "DATABASE_PREFIX": os.environ.get("E2E_DATABASE_PREFIX", "e2e_"),
            "REDIS_URL": os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/14"),
            "ENVIRONMENT": "test",
            # Two processes of catalog and orders behind the gateway (test_replicas drains one).
            "MERCATO_REPLICAS": "2",
            "GATEWAY_RATE_LIMIT": "2000",
            "GATEWAY_RATE_BURST": "4000",
            # The suite logs in and registers far more often than a person would, all from
            # one address; test_gateway_abuse checks these limits on a gateway of its own.
            "GATEWAY_AUTH_RATE_PER_MINUTE": "60000",
            "GATEWAY_AUTH_RATE_BURST": "4000",
            "GATEWAY_CONN_LIMIT": "1000",
            "GATEWAY_ADDRESS_CONN_LIMIT": "4000",
            # test_checkout deletes checkout's FX entry in Redis to have FX asked again, and
            # takes FX down to see the 503: no copy kept in the process in between.
            "FX_LOCAL_TTL_SECONDS": "0",
            # Report jobs whose message was lost or whose worker died are recovered within
            # seconds, so test_reports can flush Redis and kill a worker child quickly.
            "SWEEP_INTERVAL_SECONDS": "2",
            "SWEEP_QUEUED_AFTER_SECONDS": "15",
            "REPORT_LEASE_SECONDS": "6",
        }
    )
    return env


def telemetry_env(endpoint: str) -> dict[str, str]:
    """Export everything to the test receiver, sampled at 100%, flushed within ~0.5 s."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_BLRP_SCHEDULE_DELAY": "200",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    }


def native(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "native", *args], cwd=ROOT, env=env, check=True)


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def stack(otlp: OtlpReceiver) -> Iterator[E2EStack]:
    env = {**stack_env(), **telemetry_env(otlp.endpoint)}
    gateway = f"http://127.0.0.1:{8080 + int(env['MERCATO_PORT_OFFSET'])}"
    # A run starts from an empty cache and broker: its own Redis database, never another's.
    redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5).flushdb()
    try:
        # Thirteen processes start at once: on a busy two-core machine that takes minutes.
        native(env, "up", "--timeout", "300")
        yield E2EStack(gateway=gateway, env=env, run_dir=Path(env["MERCATO_RUN_DIR"]))
    finally:
        if os.environ.get("E2E_REUSE_STACK") != "1":
            native(env, "down")


def default_limits_env() -> dict[str, str]:
    """A stack of its own at the gateway's default limits, beside the suite's (ports
    +12000, databases `contract_`, Redis database 8, unless CONTRACT_* say otherwise)."""
    offset = os.environ.get("CONTRACT_PORT_OFFSET", "12000")
    raised = {key for key in stack_env() if key.startswith("GATEWAY_")}
    return {key: value for key, value in stack_env().items() if key not in raised} | {
        "MERCATO_PORT_OFFSET": offset,
        "MERCATO_RUN_DIR": str(ROOT / ".run" / f"contract-{offset}"),
        "DATABASE_PREFIX": os.environ.get("CONTRACT_DATABASE_PREFIX", "contract_"),
        "REDIS_URL": os.environ.get("CONTRACT_REDIS_URL", "redis://127.0.0.1:6379/8"),
    }


@pytest.fixture(scope="session")
def limits_gateway() -> Iterator[str]:
    """The gateway of a stack at its default limits (rate, auth rate, connections, body):
    what schemathesis and the generated clients meet, 429 and 413 included. Its fuzzing
    writes and deletes, so it is not the suite's shared stack."""
    env = default_limits_env()
    redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5).flushdb()
    try:
        # It starts beside the suite's own stack: as long a wait as that one's.
        native(env, "up", "--timeout", "300")
        yield f"http://127.0.0.1:{topology.load().gateway.port + int(env['MERCATO_PORT_OFFSET'])}"
    finally:
        if os.environ.get("E2E_REUSE_STACK") != "1":
            native(env, "down")


@pytest.fixture
async def gateway(stack: E2EStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=10) as client:
        yield client
