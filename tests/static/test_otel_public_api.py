"""No module under shared/, services/ or workers/ uses a library's private parts.

Code that reaches into a library's internals belongs in an opt-in package of its own
(`packages/`, such as the OpenTelemetry SDK-internal `packages/otel-accelerator`), pinned
and tested against the versions it supports. The check walks the syntax tree of every
Python file there and reports:

* an import of another project's private module or name (`from opentelemetry.attributes
  import _clean_attribute_value`, `from purgatory.service._async import ...`), except the
  reviewed `ALLOWED_PRIVATE_MODULES`;

and in a file that imports `opentelemetry`:

* `x._name` where `x` is not `self`/`cls` and not a module imported from another library
  (`os._exit` is fine; `sampler._root`, `provider._active_span_processor` and
  `self._processor._on_ending` are not): the type of `x` is unknown to the check, so any
  object might be an OpenTelemetry one;
* `self._name` in a class derived from an OpenTelemetry class when an OpenTelemetry class
  of its bases uses that name (an inherited private field such as an exporter's `_client`,
  or one the base's properties read, such as `ReadableSpan`'s `_attributes`);
* `getattr`/`setattr`/`hasattr`/`delattr` with a literal private name.

Its own test runs it on the accelerator package, which must be caught on each private field
it is known to read, and on a copy of a shared module with one private use added.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Final

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("shared", "services", "workers")
ACCELERATOR = ROOT / "packages" / "otel-accelerator" / "src"
# The logs signal of opentelemetry-python 1.x is published only under these names (its
# documentation's logging examples import them so); reviewed, nothing else is allowed.
ALLOWED_PRIVATE_MODULES: Final = frozenset(
    {
        "opentelemetry._logs",
        "opentelemetry.sdk._logs",
        "opentelemetry.sdk._logs.export",
        "opentelemetry.exporter.otlp.proto.http._log_exporter",
    }
)
_ACCESSORS: Final = frozenset({"getattr", "setattr", "hasattr", "delattr"})
#: The repository's own top-level packages: their private names are their own business.
FIRST_PARTY: Final = frozenset(
    path.parent.name
    for pattern in (
        "shared/src/*/__init__.py",
        "services/*/src/*/__init__.py",
        "workers/src/*/__init__.py",
    )
    for path in ROOT.glob(pattern)
) | {"tests", "conftest"}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_otel(module: str) -> bool:
    return module == "opentelemetry" or module.startswith("opentelemetry.")


def private_module(module: str) -> bool:
    return any(is_private(part) for part in module.split(".")) and (
        module not in ALLOWED_PRIVATE_MODULES
    )


@cache
def otel_private_names(module: str, qualname: str) -> frozenset[str]:
    """Private names an OpenTelemetry class and its OpenTelemetry bases define or use."""
    target: object = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not isinstance(target, type):
        return frozenset()
    names: set[str] = set()
    for klass in target.__mro__:
        if not is_otel(klass.__module__):
            continue
        names |= {name for name in vars(klass) if is_private(name)}
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        names |= {name for name in re.findall(r"self\.(_\w+)", source) if is_private(name)}
    return frozenset(names)


class Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.findings: list[str] = []
        # local name -> (module, qualified name or "" for a module), for OpenTelemetry imports
        self.otel_names: dict[str, tuple[str, str]] = {}
        self.other_modules: set[str] = set()
        self.inherited: list[frozenset[str]] = []

    def report(self, node: ast.AST, message: str) -> None:
        self.findings.append(f"{getattr(node, 'lineno', 0)}: {message}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            if alias.name.split(".")[0] not in FIRST_PARTY and private_module(alias.name):
                self.report(node, f"imports private module {alias.name}")
            if is_otel(alias.name):
                self.otel_names[local] = (alias.name if alias.asname else "opentelemetry", "")
            else:
                self.other_modules.add(local)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level == 0 and module.split(".")[0] not in FIRST_PARTY:
            if private_module(module):
                self.report(node, f"imports from private module {module}")
            for alias in node.names:
                if is_private(alias.name):
                    self.report(node, f"imports private name {alias.name} from {module}")
        for alias in node.names:
            if is_otel(module):
                self.otel_names[alias.asname or alias.name] = (module, alias.name)
            else:
                self.other_modules.discard(alias.asname or alias.name)

    def otel_class(self, base: ast.expr) -> tuple[str, str] | None:
        """(module, qualname) of a base class expression resolved through the imports."""
        parts: list[str] = []
        while isinstance(base, ast.Attribute):
            parts.insert(0, base.attr)
            base = base.value
        if not isinstance(base, ast.Name) or base.id not in self.otel_names:
            return None
        module, name = self.otel_names[base.id]
        if not name:  # `import opentelemetry.trace`: the path starts at the package
            dotted = [module, *parts] if module != "opentelemetry" else ["opentelemetry", *parts]
            for cut in range(len(dotted) - 1, 0, -1):
                candidate = ".".join(dotted[:cut])
                try:
                    importlib.import_module(candidate)
                except ImportError:
                    continue
                return candidate, ".".join(dotted[cut:])
            return None
        try:
            importlib.import_module(f"{module}.{name}")
        except ImportError:
            return module, ".".join([name, *parts])
        return f"{module}.{name}", ".".join(parts)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        names: set[str] = set()
        for base in node.bases:
            resolved = self.otel_class(base)
            if resolved is not None and resolved[1]:
                names |= otel_private_names(*resolved)
        self.inherited.append(frozenset(names))
        self.generic_visit(node)
        self.inherited.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if is_private(node.attr):
            value = node.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                if self.inherited and node.attr in self.inherited[-1]:
                    self.report(node, f"uses {value.id}.{node.attr} of an OpenTelemetry base")
            elif not (isinstance(value, ast.Name) and value.id in self.other_modules):
                self.report(node, f"reads private attribute .{node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in _ACCESSORS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and is_private(node.args[1].value)
        ):
            self.report(node, f"{func.id}(..., {node.args[1].value!r})")
        self.generic_visit(node)


def imports_opentelemetry(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(is_otel(a.name) for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and is_otel(node.module or ""):
            return True
    return False


def private_reads(source: str) -> list[str]:
    """What `source` imports of a library's private parts, and when it imports OpenTelemetry,
    what it reads of OpenTelemetry's."""
    tree = ast.parse(source)
    checker = Checker()
    # Imports first, wherever they are, so that a name's origin is known where it is used.
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            checker.visit(node)
    if not imports_opentelemetry(tree):
        return checker.findings
    checker.findings.clear()
    checker.visit(tree)
    return checker.findings


def python_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if not any(part.startswith(".") or part == "__pycache__" for part in path.parts):
                yield path


def test_no_private_reads_outside_the_accelerator() -> None:
    assert {"mercato_shared", "catalog", "checkout", "workers"} <= FIRST_PARTY
    findings = {
        str(path.relative_to(ROOT)): found
        for path in python_files(*(ROOT / name for name in CHECKED))
        if (found := private_reads(path.read_text(encoding="utf-8")))
    }
    assert findings == {}


def test_the_check_catches_every_private_read_the_accelerator_is_known_for() -> None:
    found = " ".join(
        finding
        for path in python_files(ACCELERATOR)
        for finding in private_reads(path.read_text(encoding="utf-8"))
    )
    known = (
        "_tracer_config",
        "_instrumentation_scope",
        "_span_limits",
        "_root",
        "_clean_attribute_value",
        "_is_non_custom_str",
        "_on_ending",
        "_client",
        "_shutdown",
        "_max_request_size",
        "_attributes",  # ReadableSpan's field, which LeanSpan fills for its properties
    )
    assert [name for name in known if name not in found] == []


@pytest.mark.parametrize(
    "added",
    [
        "from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker\n",
        "from redis.asyncio.client import _RedisT\n",
        "processor = trace.get_tracer_provider()._active_span_processor\n",
        "from opentelemetry.attributes import _clean_attribute_value\n",
        "limits = getattr(trace.get_tracer(__name__), '_span_limits')\n",
        "import opentelemetry.sdk.trace._internal\n",
        (
            "class Quiet(OTLPMetricExporter):\n"
            "    def closed(self) -> bool:\n"
            "        return self._shutdown\n"
        ),
    ],
    ids=[
        "library module",
        "library name",
        "attribute",
        "otel name",
        "getattr",
        "otel module",
        "inherited field",
    ],
)
def test_a_copy_with_one_private_read_fails(added: str) -> None:
    source = (ROOT / "shared/src/mercato_shared/telemetry/hooks.py").read_text(encoding="utf-8")
    assert private_reads(source) == []
    assert private_reads(source + "\n" + added) != []


def test_own_private_fields_and_other_libraries_are_not_findings() -> None:
    source = (
        "import os\n"
        "from opentelemetry import trace\n"
        "class Mine:\n"
        "    def __init__(self) -> None:\n"
        "        self._span = trace.get_current_span()\n"
        "    def stop(self) -> None:\n"
        "        os._exit(0)\n"
    )
    assert private_reads(source) == []
