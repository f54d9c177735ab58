"""schemathesis against every routed service, through the gateway, on a stack of its own.

Every check (`--checks all`), every phase (the schema's examples, coverage, fuzzing and the
stateful phase that chains calls through the links in the schema), as a customer and as the
admin, a bounded number of examples per operation. Zero failures of any check: a finding is
fixed in the code or in the schema, never filtered out here.

The fuzzer writes and deletes (an admin may delete products), so it runs against a native
stack of its own (`limits_gateway`: ports +12000, databases `contract_`, Redis database 8),
not the suite's shared one. That stack's gateway keeps its default limits: the 429s of its
rate limits and the 413 of its body limit are part of the contract checked.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import topology
from bench.client import token

# Part of `make test`; `make contract` runs it alone (docs/reliability.md).
pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "15"))
ROUTED = [service.name for service in topology.load().routed]


@pytest.fixture(scope="module")
def tokens(limits_gateway: str) -> dict[str, str]:
    email, password = f"fuzz-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    httpx.post(
        f"{limits_gateway}/api/identity/users",
        json={"email": email, "password": password, "display_name": "Fuzz"},
        timeout=10,
    ).raise_for_status()
    return {
        "customer": token(limits_gateway, email, password),
        "admin": token(limits_gateway, "admin@example.com", "admin-dev-password"),
    }


@pytest.mark.parametrize("role", ["customer", "admin"])
@pytest.mark.parametrize("service", ROUTED)
def test_every_check_passes(
    limits_gateway: str, tokens: dict[str, str], service: str, role: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{limits_gateway}/api/{service}/openapi.json",
            "--url",
            f"{limits_gateway}/api/{service}",
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
