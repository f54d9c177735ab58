"""`python -m bench.http_clients`: the CPU one outbound call costs, per HTTP client.

Calls the hello world (`bench.hello`, in processes of its own) from this process, CONCURRENCY
calls in flight, and divides this process's CPU time by the calls made:

* `httpx`: `httpx.AsyncClient` on its default transport (httpcore), for comparison (httpx
  stays only as the tests' in-process client);
* `aiohttp`: `aiohttp.ClientSession` alone, its defaults;
* `send, Mercato's session`: `mercato_shared.http.send` on the session every process uses
  (`create_http_session`: timeout, no cookie jar, the answer read whole into a `Reply`);
* `InternalClient, Mercato's session`: Mercato's internal client on that session, so with
  its deadline, retry policy and per-partner limit (no breaker, telemetry off).

The figures go to bench/README.md ("Outbound HTTP"); timing decides no test.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from bench.paths import hello_server
from mercato_shared.http import create_http_session, send
from mercato_shared.internal_client import InternalClient
from mercato_shared.settings import BaseServiceSettings

CONCURRENCY = 8

Call = Callable[[], Awaitable[object]]


async def _cpu_per_call(call: Call, calls: int) -> float:
    """µs of this process's CPU per call, after a warm-up."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    await asyncio.gather(*(worker(50) for _ in range(CONCURRENCY)))
    started = time.process_time()
    await asyncio.gather(*(worker(calls // CONCURRENCY) for _ in range(CONCURRENCY)))
    return (time.process_time() - started) / calls * 1e6


def _internal(http: aiohttp.ClientSession, base: str) -> InternalClient:
    return InternalClient.without_breaker(
        http,
        service="hello",
        base_url=base,
        timeout_seconds=2.0,
        attempts=2,
        deadline_seconds=5.0,
        backoff_seconds=(0.05, 0.5),
    )


async def measure(url: str, calls: int) -> dict[str, float]:
    base, path = url.rsplit("/items/", 1)
    path = f"/items/{path}"
    results: dict[str, float] = {}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    async with httpx.AsyncClient(limits=limits) as plain:

        async def httpx_get() -> object:
            return (await plain.get(url)).json()

        results["httpx"] = await _cpu_per_call(httpx_get, calls)
    async with aiohttp.ClientSession() as session:

        async def aiohttp_get() -> object:
            async with session.get(url) as response:
                return await response.json()

        results["aiohttp"] = await _cpu_per_call(aiohttp_get, calls)
    session = create_http_session(BaseServiceSettings())
    try:

        async def send_get() -> object:
            return (await send(session, "GET", url)).json()

        results["send, Mercato's session"] = await _cpu_per_call(send_get, calls)
        internal = _internal(session, base)

        async def internal_get() -> object:
            return (await internal.get(path)).json()

        results["InternalClient, Mercato's session"] = await _cpu_per_call(internal_get, calls)
    finally:
        await session.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http_clients", description=__doc__)
    parser.add_argument("--calls", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with hello_server() as (url, _):
        rounds = [asyncio.run(measure(url, args.calls)) for _ in range(args.rounds)]
    print(f"| client | CPU µs per call (median of {args.rounds} rounds of {args.calls}) |")
    print("|---|---:|")
    for name in rounds[0]:
        figures = sorted(r[name] for r in rounds)
        print(f"| {name} | {figures[len(figures) // 2]:.0f} |")


if __name__ == "__main__":
    main()
