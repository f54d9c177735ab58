"""No module under shared/, services/ or workers/ uses a library's private parts.

Code that reaches into a library's internals belongs in an opt-in package of its own
(`packages/`, such as the OpenTelemetry SDK-internal `packages/otel-accelerator`), pinned and
tested against the versions it supports. ruff checks it (pyproject.toml selects the rules for
those paths only): SLF001, a private attribute of anything but `self`/`cls` (a private module
included, at its use); PLC2701, an import of a private name or module; B009/B010, `getattr` or
`setattr` with a literal name. What ruff cannot see is checked here: `self._name` in a class
derived from an OpenTelemetry class, where an OpenTelemetry class of its bases uses that name
(an exporter's `_client`, or `ReadableSpan`'s `_attributes` that its properties read).
"""

from __future__ import annotations

import ast
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("shared", "services", "workers")
RULES = "SLF001,PLC2701,B009,B010"


def ruff(*paths: str, stdin: str | None = None) -> str:
    """ruff's findings of the private-use rules, with the repository's configuration."""
    argv = [str(Path(sys.executable).parent / "ruff"), "check", "--select", RULES, "--no-cache"]
    result = subprocess.run(
        [*argv, "--output-format", "concise", *paths],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout if result.returncode else ""


def otel_private_names(dotted: str) -> set[str]:
    """Private names an OpenTelemetry class and its OpenTelemetry bases define or use."""
    target = pkgutil.resolve_name(dotted)
    names: set[str] = set()
    for klass in target.__mro__ if isinstance(target, type) else ():
        if klass.__module__.startswith("opentelemetry"):
            names |= {name for name in vars(klass) if re.fullmatch(r"_[^_]\w*", name)}
            names |= set(re.findall(r"self\.(_[^_]\w*)", inspect.getsource(klass)))
    return names


def inherited_private_uses(source: str) -> list[str]:
    """`self._name` of an OpenTelemetry base, in a class derived from it."""
    tree = ast.parse(source)
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported |= {a.asname or a.name: f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.asname or a.name.split(".")[0]: a.name for a in node.names if a.asname}
    found = []
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        names: set[str] = set()
        for base in map(ast.unparse, cls.bases):
            first, _, rest = base.partition(".")
            dotted = ".".join(filter(None, [imported.get(first) or first, rest]))
            names |= otel_private_names(dotted) if dotted.startswith("opentelemetry.") else set()
        found += [
            f"{node.lineno}: `{node.attr}` of an OpenTelemetry base"
            for node in ast.walk(cls)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            if node.value.id == "self" and node.attr in names
        ]
    return found


def findings(source: str, path: str = "shared/src/mercato_shared/telemetry/copy.py") -> str:
    """What both checks find in `source` as if it were the file `path` of the checked code."""
    stdin = ruff("--stdin-filename", path, "-", stdin=source)
    return stdin + "\n".join(inherited_private_uses(source))


def python_files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*.py")) if ".venv" not in p.parts]


def test_no_private_reads_outside_the_accelerator() -> None:
    assert ruff(*CHECKED) == ""
    findings = {
        str(path.relative_to(ROOT)): found
        for path in (p for name in CHECKED for p in python_files(ROOT / name))
        if (found := inherited_private_uses(path.read_text(encoding="utf-8")))
    }
    assert findings == {}


@pytest.mark.parametrize(
    "added",
    [
        "from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker\n",
        "from redis.asyncio.client import _RedisT\n",
        "processor = trace.get_tracer_provider()._active_span_processor\n",
        "from opentelemetry.attributes import _clean_attribute_value\n",
        "limits = getattr(trace.get_tracer(__name__), '_span_limits')\n",
        "import opentelemetry.sdk.trace._internal as internal\n",
        "from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter\n"
        "class Quiet(OTLPMetricExporter):\n"
        "    def closed(self) -> bool:\n"
        "        return self._shutdown\n",
    ],
    ids=["library module", "library name", "attribute", "otel name", "getattr", "otel module",
         "inherited field"],
)  # fmt: skip
def test_a_copy_with_one_private_read_fails(added: str) -> None:
    path = "shared/src/mercato_shared/telemetry/hooks.py"
    source = (ROOT / path).read_text(encoding="utf-8")
    assert findings(source, path) == ""
    assert findings(f"{source}\n{added}", path) != ""
