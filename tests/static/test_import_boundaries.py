"""Who may import whom (docs/decisions/0015-import-boundaries-checked.md), checked by ruff's
banned-api rule (TID251) with each kind of code's own ban list:

* a service's `src` imports no other service's package: it reaches other services over HTTP.
  The one exception is the report worker (`workers`), which shares `reports`' models and queue
  names: they are one service in two kinds of process;
* the shared library (the platform) imports no service, no worker and not the shop's package
  (`mercato_shop`: a fork for another business replaces it);
* code that is not a test never imports from `tests` (or a `conftest`);
* a service's tests (`services/*/tests`) import neither another service nor the repository's
  `tests`: they stand alone on the shared library and its pytest plugin
  (docs/decisions/0025-service-tests-stand-alone.md).

ruff reads import statements; a module named in a string, `importlib.import_module("...")` or
`[..., "-m", "tests.x"]` (a subprocess's argument list), is read here from the syntax tree.
"""

from __future__ import annotations

import ast
import itertools
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUFF = str(Path(sys.executable).parent / "ruff")
# A package that may import another service's package: the importer and what it may import.
ALLOWED = {"workers": {"reports"}}
TOOLS = ("native", "bench", "topology", "devtools", "chaos")
NOT_A_TEST = {"tests": "non-test code imports tests", "conftest": "non-test code imports tests"}
Scope = tuple[Path, dict[str, str]]  # a directory, and the modules it may not import with why


def scopes(root: Path) -> list[Scope]:
    globs = ("services/*/src/*/__init__.py", "workers/src/*/__init__.py")
    packages = {p.parent.name: p.parent for glob in globs for p in sorted(root.glob(glob))}
    shared = dict.fromkeys(packages, "shared imports a service") | NOT_A_TEST
    shared["mercato_shop"] = "the platform imports the shop"
    found: list[Scope] = [(root / "shared" / "src", shared)]
    found += [(root / tool, NOT_A_TEST) for tool in TOOLS if (root / tool).is_dir()]
    for name, source in packages.items():
        others = set(packages) - {name}
        rule = f"{name} imports another service's package"
        found.append((source, dict.fromkeys(others - ALLOWED.get(name, set()), rule) | NOT_A_TEST))
        if source.parts[-4] == "services" and (tests := source.parents[1] / "tests").is_dir():
            rules = dict.fromkeys(others, f"{name}'s tests import another service's package")
            imports_tests = f"{name}'s tests import the repository's tests"
            found.append((tests, rules | dict.fromkeys(NOT_A_TEST, imports_tests)))
    return found


def named_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Modules named in strings: `import_module("m")`, `__import__`, `run_module`, `-m m`."""
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        strings: list[ast.expr] = []
        if isinstance(node, ast.Call) and node.args:
            function = getattr(node.func, "attr", getattr(node.func, "id", None))
            imports = function in {"import_module", "__import__", "run_module"}
            strings = node.args[:1] if imports else []
        elif isinstance(node, ast.List | ast.Tuple):
            pairs = itertools.pairwise(node.elts)
            strings = [v for f, v in pairs if isinstance(f, ast.Constant) and f.value == "-m"]
        for value in strings:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield value.lineno, value.value


def violations(root: Path) -> set[str]:
    """`path:line: module (rule)` for every import a scope may not make."""
    found: set[str] = set()
    for directory, banned in scopes(root):
        api = ", ".join(f'"{module}" = {{msg = "{why}"}}' for module, why in banned.items())
        result = subprocess.run(
            [RUFF, "check", "--isolated", "--select", "TID251", "--output-format", "concise",
             "--config", f"lint.flake8-tidy-imports.banned-api = {{{api}}}",
             directory.relative_to(root).as_posix()],
            cwd=root, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr
        pattern = r"^(\S+?:\d+):\d+: TID251 `([^`]+)` is banned: (.*)$"
        found |= {f"{m[1]}: {m[2]} ({m[3]})" for m in re.finditer(pattern, result.stdout, re.M)}
        for path in sorted(directory.rglob("*.py")):
            for line, module in named_modules(path):
                if (top := module.split(".")[0]) in banned:
                    where = path.relative_to(root).as_posix()
                    found.add(f"{where}:{line}: {top} ({banned[top]})")
    return found


def test_the_tree_keeps_its_import_boundaries() -> None:
    # Which directories are checked: the copy below breaks a rule in each kind.
    assert violations(ROOT) == set()


def _append(root: Path, path: str, text: str) -> str:
    """Append `text` as the file's last line; returns `path:line` of it."""
    lines = (root / path).read_text().splitlines()
    (root / path).write_text("\n".join([*lines, text]) + "\n")
    return f"{path}:{len(lines) + 1}"


def test_a_copy_with_violating_imports_fails_the_check(tmp_path: Path) -> None:
    ignore = shutil.ignore_patterns(".venv", "__pycache__", "*.pyc", "build", "dist")
    for name in ("services", "workers", "shared", "native", "bench", "topology"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=ignore)
    before = violations(tmp_path)
    other, tests = "imports another service's package", "non-test code imports tests"
    added = [
        ("services/orders/src/orders/seed.py", "from catalog.seed import generate as _g",
         f"catalog (orders {other})"),
        ("shared/src/mercato_shared/health.py", "import orders.models",
         "orders (shared imports a service)"),
        ("native/stack.py", "from tests.helpers import truncate as _t", f"tests ({tests})"),
        ("bench/wrk.py", '_ARGV = ["python", "-m", "tests.telemetry.receiver"]',
         f"tests ({tests})"),
        ("workers/src/workers/tasks.py", 'importlib.import_module("catalog.cache")',
         f"catalog (workers {other})"),
        ("services/checkout/tests/conftest.py", "from partners.api import router as _r",
         "partners (checkout's tests import another service's package)"),
        ("topology/render/k8s.py", "import tests.static as _t", f"tests ({tests})"),
    ]  # fmt: skip
    expected = {f"{_append(tmp_path, path, text)}: {found}" for path, text, found in added}
    # Allowed: the report worker shares reports' models; a relative import stays inside.
    _append(tmp_path, "workers/src/workers/tasks.py", "from reports.models import ReportJob")
    _append(tmp_path, "services/orders/src/orders/seed.py", "from . import models as _models")
    assert violations(tmp_path) - before == expected
