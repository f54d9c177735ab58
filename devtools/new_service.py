"""`make new-service NAME=...`: a new service, from the repository's template, in one command.

1. copier renders `templates/service/` into `services/NAME/`: the standard file set
   (docs/architecture.md), a table of its own with its first migration, one resource, its
   tests (its imports then sorted by ruff for its name);
2. its table is appended to `stack.toml` (the next free port; routed behind the gateway; its
   own database; no Redis; calls nobody);
3. `make render` writes what follows from `stack.toml` (compose, the gateway, `.env.example`,
   Kubernetes, its `stack.py`);
4. `uv lock` and `uv sync` add it to the workspace.

docs/adding-a-service.md says what is left to the person.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence

from copier import run_copy

from topology.description import ROOT, STACK_FILE, Stack, load
from topology.render import render_all, write

TEMPLATE = ROOT / "templates" / "service"
NAME = re.compile(r"^[a-z][a-z0-9]{1,19}$")
#: A routed service's requests in flight per process, until measured (docs/gateway.md).
MAX_IN_FLIGHT = 32
#: Production pods at most, until its load is known: each holds a pool of Postgres connections.
MAX_PODS = 2
#: Ports of services that are reached directly (the partners simulation) start here.
UNROUTED_PORTS = 8090


class NewServiceError(ValueError):
    """The name or the port cannot be used."""


def check_name(stack: Stack, name: str) -> None:
    if not NAME.fullmatch(name):
        raise NewServiceError(f"{name!r}: 2 to 20 lower-case letters and digits, a letter first")
    taken = {s.name for s in stack.services} | {w.name for w in stack.workers} | {"gateway"}
    if name in taken or (ROOT / "services" / name).exists():
        raise NewServiceError(f"{name!r} is already a process or a folder of the stack")
    if importlib.util.find_spec(name) is not None:
        raise NewServiceError(f"{name!r} is already an importable module: pick another name")


def next_port(stack: Stack) -> int:
    """The port after the highest routed one, below the unrouted range."""
    taken = {stack.gateway.port, *(s.port for s in stack.services)}
    port = max(s.port for s in stack.services if s.port < UNROUTED_PORTS) + 1
    while port in taken:
        port += 1
    if port >= UNROUTED_PORTS:
        raise NewServiceError("no free port below 8090: pass --port")
    return port


def stack_table(name: str, port: int) -> str:
    return (
        f"\n[services.{name}]\n"
        f"max_in_flight = {MAX_IN_FLIGHT}\n"
        f"port = {port}\n"
        "routed = true\n"
        f'migrate = "{name}.migrate"\n'
        "database = true\n"
        "redis = false\n"
        "calls = []\n"
        # Its pods in production, within the Postgres connection budget (deploy/k8s/README.md).
        f"max_pods = {MAX_PODS}\n"
    )


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def create(name: str, port: int | None = None, *, sync: bool = True) -> list[str]:
    """Make the service; the rendered paths written. With `sync`, lock and install it."""
    stack = load()
    check_name(stack, name)
    port = port or next_port(stack)
    run_copy(
        str(TEMPLATE),
        str(ROOT / "services" / name),
        data={"name": name},
        defaults=True,
        quiet=True,
        overwrite=False,
    )
    folder = str(ROOT / "services" / name)
    # Import order follows the name (`ledger` sorts before `mercato_shared`, `zoo` after).
    for ruff in (["check", "--fix-only", "--quiet", "--select", "I"], ["format", "--quiet"]):
        subprocess.run([sys.executable, "-m", "ruff", *ruff, folder], check=True)  # noqa: S603
    with STACK_FILE.open("a", encoding="utf-8") as file:
        file.write(stack_table(name, port))
    load()  # validates the new table with the rest
    written = write(render_all(load()))
    if sync:
        subprocess.run([*uv(), "lock", "--quiet"], cwd=ROOT, check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - uv of this machine, fixed arguments
            [*uv(), "sync", "--quiet", "--frozen", "--all-packages"], cwd=ROOT, check=True
        )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.new_service", description=__doc__)
    parser.add_argument("name", help="the service's name: its package, route and database")
    parser.add_argument("--port", type=int, help="its port (default: the next free one)")
    args = parser.parse_args(argv)
    try:
        written = create(args.name, args.port)
    except NewServiceError as exc:
        print(f"new-service: {exc}", file=sys.stderr)
        return 2
    print(f"services/{args.name}/ created; stack.toml has its table; rendered:")
    print("\n".join(f"  {path}" for path in written))
    print(f"Next: docs/adding-a-service.md (its tests: pytest services/{args.name}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
