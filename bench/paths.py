"""Scenarios (a)-(f) of `make bench`: the baseline and each path users call, under wrk.

Every load is a closed loop on loopback for a fixed number of seconds. The CPU per request is
the CPU the service under test's processes used during the run divided by the requests wrk
counted; nothing is pinned here (the telemetry suite pins), so wrk, nginx and the services
share both cores as they would on a small host.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from bench import client, procs, servers, wrk
from bench.results import Row
from bench.stacks import ROOT, BenchStack
from devtools.ports import free_port, wait_for_port

PRODUCTS = 1000
CATEGORIES = "kitchen,garden,books,electronics,toys,sports,apparel,office"
PARTNER_LATENCY_MS = 50
TELEMETRY_DEFAULT = "telemetry default"


@dataclass(frozen=True, slots=True)
class Load:
    seconds: int
    connections: int
    warmup: int


def measure(
    url: str,
    load: Load,
    *,
    pids: Callable[[], list[int]],
    script: str | None = None,
    env: dict[str, str] | None = None,
    connections: int | None = None,
) -> tuple[wrk.WrkResult, float]:
    """A warm-up, then one measured wrk run; the CPU µs per request of `pids`' processes."""
    count = connections or load.connections
    if load.warmup:
        wrk.run(url, seconds=load.warmup, threads=1, connections=count, script=script, env=env)
    watched = pids()
    before = procs.cpu_seconds(watched)
    result = wrk.run(
        url, seconds=load.seconds, threads=1, connections=count, script=script, env=env
    )
    cpu_us = (procs.cpu_seconds(watched) - before) / max(result.requests, 1) * 1e6
    return result, cpu_us


@contextmanager
def hello_server() -> Iterator[tuple[str, Callable[[], list[int]]]]:
    """(a) The bare FastAPI hello world: uvicorn, uvloop, httptools, 2 workers; its URL and
    its processes."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed argv: uvicorn of this environment
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.hello:app",
            "--port",
            str(port),
            "--workers",
            "2",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        if not wait_for_port(port, timeout=15):
            msg = f"nothing listens on 127.0.0.1:{port} after 15 s"
            raise SystemExit(msg)
        time.sleep(1)  # both workers up
        yield f"http://127.0.0.1:{port}/items/7", lambda: procs.tree(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)


def baseline_and_reads(stack: BenchStack, load: Load, rounds: int) -> list[Row]:
    """(a) and (b) through the gateway, the pair the target compares, in alternating rounds
    (hello then reads, then reads then hello, ...) beside the idle stack: the medians.

    Two runs of the same code on this kind of VM measured the hello world at 9,692 and
    18,951 requests/s: one run of each, minutes apart, would compare two states of the VM."""
    hello: list[tuple[wrk.WrkResult, float]] = []
    reads: list[tuple[wrk.WrkResult, float]] = []
    with hello_server() as (url, pids):
        for number in range(rounds):
            if number % 2:  # every other round starts with the reads
                reads.append(_reads(stack, load, stack.gateway, "/api/catalog"))
            hello.append(measure(url, load, pids=pids))
            if not number % 2:
                reads.append(_reads(stack, load, stack.gateway, "/api/catalog"))
    note = f"median of {rounds} rounds, alternating with the other" if rounds > 1 else ""
    return [
        _median_row("(a) hello world", "uvicorn, 2 workers", hello, "uvicorn", note),
        _median_row("(b) product reads", f"gateway, {TELEMETRY_DEFAULT}", reads, "catalog", note),
    ]


def _median_row(
    scenario: str, variant: str, rounds: list[tuple[wrk.WrkResult, float]], cpu_of: str, note: str
) -> Row:
    return Row.of(
        scenario,
        variant,
        wrk.median([result for result, _ in rounds]),
        cpu_us=statistics.median(cpu for _, cpu in rounds),
        cpu_of=cpu_of,
        note=note,
    )


def _env(stack: BenchStack, prefix: str, **values: str) -> dict[str, str]:
    return {"PATH_PREFIX": prefix, "PRODUCTS": str(PRODUCTS), **values}


def _reads(stack: BenchStack, load: Load, base: str, prefix: str) -> tuple[wrk.WrkResult, float]:
    return measure(
        base,
        load,
        pids=lambda: stack.program_pids("catalog"),
        script="product_reads.lua",
        env=_env(stack, prefix),
    )


def product_reads(stack: BenchStack, load: Load) -> list[Row]:
    """(b) Product reads, ids uniform over the seeded products, beside the gateway's figure
    (baseline_and_reads): direct, and through the gateway with its micro-cache on
    (GATEWAY_READ_CACHE, every product at most 1 s old)."""
    result, cpu = _reads(stack, load, stack.direct("catalog"), "")
    rows = [
        Row.of(
            "(b) product reads",
            f"direct, {TELEMETRY_DEFAULT}",
            result,
            cpu_us=cpu,
            cpu_of="catalog",
        )
    ]
    with stack.gateway_read_cache():
        result, cpu = _reads(stack, load, stack.gateway, "/api/catalog")
    rows.append(
        Row.of(
            "(b) product reads",
            f"micro-cached gateway, {TELEMETRY_DEFAULT}",
            result,
            cpu_us=cpu,
            cpu_of="catalog",
        )
    )
    return rows


def catalog_servers(stack: BenchStack, load: Load) -> list[Row]:
    """(b) beside the stack: catalog straight, under uvicorn and under granian, with one
    worker (as the stack runs it) and with one per core."""
    rows = []
    variants: tuple[tuple[servers.Server, int], ...] = (
        ("uvicorn", 1),
        ("granian", 1),
        ("uvicorn", 2),
        ("granian", 2),
    )
    for server, workers in variants:
        with servers.side_server(stack, "catalog", server, workers) as side:
            result, cpu = measure(
                side.url,
                load,
                pids=side.pids,
                script="product_reads.lua",
                env=_env(stack, ""),
            )
        rows.append(
            Row.of(
                "(b) product reads",
                f"direct, {server}, {workers} worker{'s' if workers > 1 else ''}",
                result,
                cpu_us=cpu,
                cpu_of="catalog",
            )
        )
    return rows


def product_lists(stack: BenchStack, load: Load) -> Row:
    """(c) First pages of the product list with a category filter, through the gateway."""
    result, cpu = measure(
        stack.gateway,
        load,
        pids=lambda: stack.program_pids("catalog"),
        script="product_lists.lua",
        env=_env(stack, "/api/catalog", CATEGORIES=CATEGORIES),
    )
    return Row.of(
        "(c) product lists",
        "gateway, 20 per page, a category",
        result,
        cpu_us=cpu,
        cpu_of="catalog",
    )


def quotes(stack: BenchStack, load: Load) -> list[Row]:
    """(d) Checkout quotes with every partner at 50 ms, then with one carrier hanging.

    One shopper at a time for the latency the targets judge (the fan-out's own, not a
    queue's: a quote costs the checkout process over 10 ms of CPU, so a few concurrent
    shoppers already queue on one process), then four for the throughput.
    """
    partners = stack.direct("partners")
    rows = []
    try:
        # Each variant's parcels have postal codes of their own (a letter before the five
        # digits): a carrier price cached by an earlier variant would answer for a hanging one.
        for postal_prefix, (variant, hanging, connections) in zip(
            "abc",
            (
                (f"every partner {PARTNER_LATENCY_MS} ms, 1 connection", False, 1),
                ("carrier-swift hanging, 1 connection", True, 1),
                (f"every partner {PARTNER_LATENCY_MS} ms, 4 connections", False, 4),
            ),
            strict=True,
        ):
            client.set_faults(partners, {"latency_ms": PARTNER_LATENCY_MS})
            if hanging:
                client.set_faults(partners, {"hang": True}, only=("carrier-swift",))
                # set_faults resets first: put the latency back on the others.
                for other in client.PARTNERS[1:]:
                    httpx.put(
                        f"{partners}/admin/faults/{other}",
                        json={"latency_ms": PARTNER_LATENCY_MS},
                        timeout=10,
                    ).raise_for_status()
            result, cpu = measure(
                stack.gateway,
                load,
                pids=lambda: stack.program_pids("checkout"),
                script="quotes.lua",
                env=_env(stack, "/api/checkout", POSTAL_PREFIX=postal_prefix),
                connections=connections,
            )
            partial = result.counters.get("partial", 0)
            complete = result.counters.get("complete", 0)
            rows.append(
                Row.of(
                    "(d) checkout quotes",
                    variant,
                    result,
                    cpu_us=cpu,
                    cpu_of="checkout",
                    note=f"{complete} complete, {partial} partial",
                )
            )
    finally:
        client.reset_faults(partners)
    return rows


def orders(stack: BenchStack, load: Load) -> list[Row]:
    """(e) Order creation: distinct Idempotency-Keys, one line each, stock that never runs out.

    Two rows of one load: the orders processes' CPU per order, and catalog's (the
    reservation each order makes there)."""
    admin = client.admin_token(stack.gateway)
    client.restock(stack.gateway, admin, PRODUCTS, 1_000_000)
    customer = client.customer_token(stack.gateway)
    catalog = stack.program_pids("catalog")
    before = procs.cpu_seconds(catalog)
    result, cpu = measure(
        stack.gateway,
        load,
        pids=lambda: stack.program_pids("orders"),
        script="orders.lua",
        env=_env(stack, "/api/orders", TOKEN=customer),
        connections=max(4, load.connections // 2),
    )
    # The warm-up's orders are in catalog's figure too: divide by every order made.
    made = result.requests + round(result.requests_per_second * load.warmup)
    catalog_cpu = (procs.cpu_seconds(catalog) - before) / max(made, 1) * 1e6
    variant = "gateway, one line, new key each"
    return [
        Row.of("(e) order creation", variant, result, cpu_us=cpu, cpu_of="orders"),
        Row.of(
            "(e) order creation",
            f"{variant}: catalog's reservation",
            result,
            cpu_us=catalog_cpu,
            cpu_of="catalog",
        ),
    ]


class ReportFlood:
    """Keeps every Celery worker child busy: report jobs submitted so that some always wait."""

    def __init__(self, stack: BenchStack, backlog: int) -> None:
        self._stack = stack
        self._backlog = backlog
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.submitted = 0
        self.succeeded = 0
        self.failed = 0

    def __enter__(self) -> ReportFlood:
        self._admin = client.admin_token(self._stack.gateway)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=90)

    def _drain(self, http: httpx.Client, pending: list[str]) -> None:
        """Wait (bounded) for the jobs still queued, so the next scenario starts idle."""
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            pending[:] = [
                job
                for job in pending
                if client.report_status(http, self._admin, job) not in ("succeeded", "failed")
            ]
            time.sleep(0.5)

    def _run(self) -> None:
        pending: list[str] = []
        with httpx.Client(base_url=self._stack.gateway, timeout=10) as http:
            while not self._stop.is_set():
                still = []
                for job in pending:
                    status = client.report_status(http, self._admin, job)
                    if status == "succeeded":
                        self.succeeded += 1
                    elif status == "failed":
                        self.failed += 1
                    else:
                        still.append(job)
                pending = still
                while len(pending) < self._backlog:
                    pending.append(client.submit_report(http, self._admin))
                    self.submitted += 1
                self._stop.wait(0.5)
            self._drain(http, pending)


def reads_while_reports_run(stack: BenchStack, load: Load, workers: int) -> list[Row]:
    """(f) A catalog read's latency idle, then while report jobs keep every worker child busy.

    A light closed loop (4 connections), so that the figure is the latency a reader sees, not
    the saturation of the machine by the reader itself.
    """

    def light_reads() -> tuple[wrk.WrkResult, float]:
        return measure(
            stack.gateway,
            load,
            pids=lambda: stack.program_pids("catalog"),
            script="product_reads.lua",
            env=_env(stack, "/api/catalog"),
            connections=4,
        )

    rows = []
    for variant, busy in (("idle", False), ("report workers busy", True)):
        note = ""
        if busy:
            flood = ReportFlood(stack, backlog=3 * workers)
            with flood:
                time.sleep(3)  # the first jobs are running
                result, cpu = light_reads()
            note = (
                f"{flood.submitted} jobs submitted, {flood.succeeded} succeeded, "
                f"{flood.failed} failed"
            )
        else:
            result, cpu = light_reads()
        rows.append(
            Row.of(
                "(f) reads beside reports", variant, result, cpu_us=cpu, cpu_of="catalog", note=note
            )
        )
    return rows
