"""Before the processes start: each service's database migrated and seeded."""

from __future__ import annotations

import subprocess
import sys

from native.env import ROOT
from native.stack import Stack


def _run(argv: list[str], stack: Stack, what: str) -> None:
    result = subprocess.run(
        argv, cwd=ROOT, env=stack.env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(f"{what} failed:\n{result.stdout}{result.stderr}\n")
        raise SystemExit(1)
    if result.stdout.strip():
        print(f"  {result.stdout.strip()}")


def prepare_databases(stack: Stack) -> None:
    for service in stack.description.services:
        if service.migrate:
            print(f"migrating {service.name}")
            _run([sys.executable, "-m", service.migrate], stack, f"{service.name} migration")
        if service.seed:
            _run([sys.executable, "-m", *service.seed], stack, f"{service.name} seed")
