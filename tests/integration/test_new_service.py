"""`make new-service` makes a service that passes the checks of the repository and its own tests.

In a copy of this working tree (a git repository of its own, its own environment), the
command scaffolds `ledger`; then the renders must be committed-equal, `make lint` clean, the
static and Kubernetes checks green and the new service's own tests (against the real
Postgres, database `it_ledger`, dropped at the end) green. The copy is removed with the
test's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from devtools.new_service import uv
from mercato_shared.settings import BaseServiceSettings

REPO = Path(__file__).resolve().parents[2]
NAME = "ledger"
#: Ends a step that would hang; it decides nothing.
STEP_TIMEOUT = 900


def _environment() -> dict[str, str]:
    """This environment without the variables that would point uv or pytest at this tree."""
    drop = {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTEST_ADDOPTS", "PYTHONPATH"}
    env = {key: value for key, value in os.environ.items() if key not in drop}
    ours = str(REPO / ".venv")
    paths = os.environ.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(path for path in paths if not path.startswith(ours))
    return env


def _run(copy: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=copy,
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=STEP_TIMEOUT,
    )


def _copy_of_the_tree(target: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            destination = target / os.fsdecode(name)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(source.read_bytes())
            destination.chmod(source.stat().st_mode)
    for argv in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(argv, cwd=target, check=True)
    return target


async def _drop_test_database() -> None:
    server = BaseServiceSettings().postgres_url.replace("+asyncpg", "", 1)
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS it_{NAME} WITH (FORCE)")
    finally:
        await connection.close()


@pytest.fixture
def copy(tmp_path: Path) -> Iterator[Path]:
    yield _copy_of_the_tree(tmp_path / "repo")
    asyncio.run(_drop_test_database())


def test_a_new_service_renders_lints_and_passes_its_tests(copy: Path) -> None:
    run = [*uv(), "run", "--frozen", "--all-packages"]
    for step in (
        [*uv(), "sync", "--quiet", "--frozen", "--all-packages"],
        ["bash", "docker/install-compose.sh"],
        [*run, "python", "-m", "devtools.new_service", NAME],
        [*run, "python", "-m", "topology.render", "--check"],
        ["make", "--no-print-directory", "lint"],
        [*run, "pytest", "-q", "-p", "no:cacheprovider", "tests/static", "tests/k8s"],
        [*run, "pytest", "-q", "-p", "no:cacheprovider", f"services/{NAME}"],
    ):
        done = _run(copy, *step)
        output = done.stdout[-3000:] + done.stderr[-3000:]
        assert done.returncode == 0, f"{' '.join(step)}:\n{output}"
    assert (copy / "services" / NAME / "migrations" / "versions" / "0001_items.py").is_file()
    assert f"[services.{NAME}]" in (copy / "stack.toml").read_text(encoding="utf-8")
