"""`make profile SERVICE=catalog`: a flame graph of one service of the running stack.

It finds the service's first process in the stack `make up` runs (or the one MERCATO_RUN_DIR
names; with replicas, `NAME-1`), puts a bounded load with wrk straight on that process's main
path (not through the gateway, whose micro-cache would answer most reads), and records that
process and its children with py-spy for the same time, writing an SVG flame graph (or
speedscope JSON with --format speedscope) under bench/results/.

The loads: catalog product reads (`catalog-lists`: list pages; `catalog-reservations`:
catalog recorded under the orders load), checkout quotes, orders (one line of one of the
first 50 products, a new Idempotency-Key each, those products restocked first, a customer
registered for the run),
identity `GET /me`, reports `GET /reports/{id}` of one job, partners' FX rates.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import client, procs, py_spy, wrk
from bench.results import RESULTS
from native.stack import Stack, load_stack

PRODUCTS = 1000
CATEGORIES = "kitchen,garden,books,electronics,toys,sports,apparel,office"


@dataclass(frozen=True, slots=True)
class Load:
    """A wrk script sent straight to a service (no path prefix), and what it needs from
    the stack first (its variables, given the gateway's URL). `target` is the service the
    load is sent to when it is not the one recorded (catalog's reservations come from
    orders)."""

    script: str
    prepare: Callable[[str], dict[str, str]] = lambda _: {}
    target: str | None = None


# Orders take products among the first few, restocked through the gateway within its default
# rate limit (a stack started by `make up` keeps it).
ORDERED_PRODUCTS = 50


def _orders(gateway: str) -> dict[str, str]:
    client.restock(gateway, client.admin_token(gateway), ORDERED_PRODUCTS, 1_000_000)
    return {"TOKEN": client.customer_token(gateway), "PRODUCTS": str(ORDERED_PRODUCTS)}


def _me(gateway: str) -> dict[str, str]:
    return {"TOKEN": client.customer_token(gateway), "PATH_TO_GET": "/me"}


def _report(gateway: str) -> dict[str, str]:
    admin = client.admin_token(gateway)
    response = httpx.post(
        f"{gateway}/api/reports/reports",
        json={"kind": "sales", "start": str(datetime.now(UTC).date()), "days": 1},
        headers={"authorization": f"Bearer {admin}"},
        timeout=10,
    )
    response.raise_for_status()
    return {"TOKEN": admin, "PATH_TO_GET": f"/reports/{response.json()['id']}"}


LOADS: dict[str, Load] = {
    "catalog": Load("product_reads.lua"),
    "catalog-lists": Load("product_lists.lua", lambda _: {"CATEGORIES": CATEGORIES}),
    "checkout": Load("quotes.lua"),
    "orders": Load("orders.lua", _orders),
    "catalog-reservations": Load("orders.lua", _orders, target="orders"),
    "identity": Load("authorized_get.lua", _me),
    "reports": Load("authorized_get.lua", _report),
    "partners": Load("authorized_get.lua", lambda _: {"PATH_TO_GET": "/fx/rates"}),
}


def process_pids(stack: Stack, program: str) -> list[int]:
    if not stack.conf.exists():
        msg = f"no stack runs from {stack.run_dir}: start one with `make up`"
        raise SystemExit(msg)
    result = subprocess.run(  # noqa: S603 - fixed argv: supervisorctl of this environment
        [str(Path(sys.executable).parent / "supervisorctl"), "-c", str(stack.conf), "pid", program],
        capture_output=True,
        text=True,
        check=False,
    )
    pid = result.stdout.strip()
    if not pid.isdigit() or pid == "0":
        msg = f"{program} is not running in {stack.run_dir} (`make ps`)"
        raise SystemExit(msg)
    return procs.tree(int(pid))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument(
        "service", choices=sorted(LOADS), help="a service, or catalog-lists for list pages"
    )
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--format", choices=["flamegraph", "speedscope"], default="flamegraph")
    args = parser.parse_args()
    stack = load_stack()
    load_of = LOADS[args.service]
    process = stack.first_replica(args.service.split("-")[0])
    pids = process_pids(stack, process.program)
    loaded = process if load_of.target is None else stack.first_replica(load_of.target)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "svg" if args.format == "flamegraph" else "speedscope.json"
    output = RESULTS / f"profile-{args.service}.{suffix}"
    load = threading.Thread(
        target=wrk.run,
        args=(f"http://127.0.0.1:{loaded.port}",),
        kwargs={
            "seconds": args.seconds + 2,
            "threads": 1,
            "connections": args.connections,
            "script": load_of.script,
            "env": {"PATH_PREFIX": "", "PRODUCTS": str(PRODUCTS)}
            | load_of.prepare(stack.gateway_url()),
        },
    )
    load.start()
    # py-spy follows one pid and, with --subprocesses, its children: the uvicorn main process.
    subprocess.run(  # noqa: S603 - fixed argv: py-spy of this environment
        py_spy.record(
            pids[0], output, seconds=args.seconds, rate=250, children=True, form=args.format
        ),
        check=True,
    )
    load.join()
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
