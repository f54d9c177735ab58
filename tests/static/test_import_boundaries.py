"""No service imports another service's package; non-test code never imports from tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.static.import_boundaries import Violation, check, scanned_files

REPO = Path(__file__).resolve().parents[2]
COPIED = ("services", "workers", "shared", "native", "bench", "topology")
CHECKOUT_TEST = "services/checkout/tests/conftest.py"


def test_the_tree_keeps_its_import_boundaries() -> None:
    violations = check(REPO)
    assert not violations, "\n".join(map(str, violations))


def test_the_walk_reads_every_service_the_shared_library_and_the_tools() -> None:
    files = {path.relative_to(REPO).as_posix() for path, _ in scanned_files(REPO)}
    for expected in (
        "services/orders/src/orders/seed.py",
        "services/catalog/src/catalog/api.py",
        "workers/src/workers/tasks.py",
        "shared/src/mercato_shared/app.py",
        "native/stack.py",
        "bench/__main__.py",
        "topology/description.py",
    ):
        assert expected in files
    assert not any("/tests/" in name for name in files)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    ignore = shutil.ignore_patterns(".venv", "__pycache__", "*.pyc", "build", "dist")
    for name in COPIED:
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    return root


def _append(path: Path, text: str) -> int:
    """Append `text` as the file's last line; returns its line number."""
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, text]) + "\n")
    return len(lines) + 1


def test_a_copy_with_violating_imports_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    before = set(check(root))
    seed = "services/orders/src/orders/seed.py"
    probe = "shared/src/mercato_shared/health.py"
    stack = "native/stack.py"
    lines = {
        seed: _append(root / seed, "from catalog.seed import generate as _generate"),
        probe: _append(root / probe, "import orders.models"),
        stack: _append(root / stack, "from tests.helpers import truncate as _truncate"),
        "bench/wrk.py": _append(
            root / "bench" / "wrk.py", '_ARGV = ["python", "-m", "tests.telemetry.receiver"]'
        ),
        "workers/src/workers/tasks.py": _append(
            root / "workers/src/workers/tasks.py", 'importlib.import_module("catalog.cache")'
        ),
        CHECKOUT_TEST: _append(root / CHECKOUT_TEST, "from partners.api import router as _r"),
    }
    added = set(check(root)) - before
    assert added == {
        Violation(seed, lines[seed], "catalog.seed", "orders imports another service's package"),
        Violation(probe, lines[probe], "orders.models", "shared imports a service"),
        Violation(stack, lines[stack], "tests.helpers", "non-test code imports tests"),
        Violation(
            "bench/wrk.py",
            lines["bench/wrk.py"],
            "tests.telemetry.receiver",
            "non-test code imports tests",
        ),
        Violation(
            "workers/src/workers/tasks.py",
            lines["workers/src/workers/tasks.py"],
            "catalog.cache",
            "workers imports another service's package",
        ),
        Violation(
            CHECKOUT_TEST,
            lines[CHECKOUT_TEST],
            "partners.api",
            "checkout's tests import another service's package",
        ),
    }


def test_the_report_worker_may_share_reports_models(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    before = set(check(root))
    _append(root / "workers/src/workers/tasks.py", "from reports.models import ReportJob as _Job")
    _append(root / "services/orders/src/orders/seed.py", "from . import models as _models")
    assert set(check(root)) == before
