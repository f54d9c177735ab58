"""schemathesis against every routed service, through the gateway, on a stack of its own.

Every check (`--checks all`), every phase (the schema's examples, coverage, fuzzing and the
stateful phase that chains calls through the links in the schema), as a customer and as the
admin, a bounded number of examples per operation. Zero failures of any check: a finding is
fixed in the code or in the schema, never filtered out here.

The fuzzer writes and deletes (an admin may delete products), so it runs against a native
stack of its own (ports +12000, databases `contract_`, Redis database 8), not the suite's
shared one.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

import topology
from bench.client import token
from tests.e2e.conftest import native, stack_env

# Part of `make test`; `make contract` runs it alone (docs/reliability.md).
pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "15"))
ROUTED = [service.name for service in topology.load().routed]


@pytest.fixture(scope="module")
def contract_gateway() -> Iterator[str]:
    offset = os.environ.get("CONTRACT_PORT_OFFSET", "12000")
    env = stack_env() | {
        "MERCATO_PORT_OFFSET": offset,
        "MERCATO_RUN_DIR": str(ROOT / ".run" / f"contract-{offset}"),
        "DATABASE_PREFIX": os.environ.get("CONTRACT_DATABASE_PREFIX", "contract_"),
        "REDIS_URL": os.environ.get("CONTRACT_REDIS_URL", "redis://127.0.0.1:6379/8"),
    }
    redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5).flushdb()
    try:
        # It starts beside the suite's own stack: as long a wait as that one's (conftest.py).
        native(env, "up", "--timeout", "300")
        yield f"http://127.0.0.1:{topology.load().gateway.port + int(offset)}"
    finally:
        native(env, "down")


@pytest.fixture(scope="module")
def tokens(contract_gateway: str) -> dict[str, str]:
    email, password = f"fuzz-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    httpx.post(
        f"{contract_gateway}/api/identity/users",
        json={"email": email, "password": password, "display_name": "Fuzz"},
        timeout=10,
    ).raise_for_status()
    return {
        "customer": token(contract_gateway, email, password),
        "admin": token(contract_gateway, "admin@example.com", "admin-dev-password"),
    }


@pytest.mark.parametrize("role", ["customer", "admin"])
@pytest.mark.parametrize("service", ROUTED)
def test_every_check_passes(
    contract_gateway: str, tokens: dict[str, str], service: str, role: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{contract_gateway}/api/{service}/openapi.json",
            "--url",
            f"{contract_gateway}/api/{service}",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20261201",
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--header",
            f"Authorization: Bearer {tokens[role]}",
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20_000:]
