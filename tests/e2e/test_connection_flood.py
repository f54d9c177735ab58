"""A flood of slow connections from one address, against a gateway of its own, on loopback.

The flooder (127.0.0.50) opens connections that send part of a request head and then
nothing, paced, reopening each one the gateway closes, trying to hold `FLOOD` of them at
once; meanwhile a normal client (127.0.0.51) keeps reading the catalog. Twice:

* `capped`: the gateway as configured. Its stream front counts connections per address
  before any head is read (GATEWAY_ADDRESS_CONN_LIMIT): the flooder never holds more than
  that many, and the normal client is served throughout;
* `sized`: with that cap lifted, the flooder does hold all of them, and the normal client is
  still served: each worker has room for 16,384 connections. Before (1024 a worker) nginx ran
  out at about 2,050 and closed the rest, and another address got resets and 500s.

Every bound below is a count or a safety limit; no assertion is on a timing.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field

import httpx
import pytest

from devtools.ports import free_port
from native.gateway import GATEWAY_LIMITS, write_gateway_config
from native.stack import load_stack
from tests.e2e.conftest import E2EStack

pytestmark = pytest.mark.e2e

#: Connections the flooder holds at once, and how many it opens a second.
FLOOD = 2600
PACE = 300
#: How long the flood is held once complete (a safety bound on the whole test too).
HOLD_SECONDS = 5
SAFETY_SECONDS = 60
FLOODER, NORMAL = "127.0.0.50", "127.0.0.51"


@dataclass
class Flood:
    open: set[asyncio.StreamWriter] = field(default_factory=set)
    peak: int = 0
    opened: int = 0
    refused: int = 0
    full: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture(scope="module", params=["capped", "sized"])
def flood_gateway(
    stack: E2EStack, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[str, str]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, FLOOD * 2 + 1024)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    run_dir = tmp_path_factory.mktemp("flood-gateway")
    port = free_port()
    # The head deadline is longer than the test, so every slow connection stays open, and
    # the per-address request rate is the normal client's whole need.
    # `capped` has the default cap (the suite's own stack lifts it), `sized` none that binds.
    cap = GATEWAY_LIMITS["GATEWAY_ADDRESS_CONN_LIMIT"] if request.param == "capped" else FLOOD * 2
    limits = {
        "GATEWAY_CLIENT_TIMEOUT": "60s",
        "GATEWAY_RATE_LIMIT": "50",
        "GATEWAY_ADDRESS_CONN_LIMIT": str(cap),
        # The default requests in progress per address (the suite's stack lifts it): what
        # keeps slow bodies from one address from taking a service's every admission slot.
        "GATEWAY_CONN_LIMIT": GATEWAY_LIMITS["GATEWAY_CONN_LIMIT"],
    }
    env = {**stack.env, "MERCATO_RUN_DIR": str(run_dir), "GATEWAY_PORT": str(port), **limits}
    test_stack = load_stack(env)
    test_stack.logs.mkdir(parents=True, exist_ok=True)
    write_gateway_config(test_stack)
    nginx_dir = run_dir / "nginx"
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(
        [nginx, "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            with suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
            if process.poll() is not None:
                pytest.fail("the flood gateway did not start")
            subprocess.run(["sleep", "0.2"], check=True)
        yield request.param, url
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _flooder(port: int, flood: Flood, stop: asyncio.Event) -> None:
    head = b"GET /api/catalog/products HTTP/1.1\r\nHost: flood\r\n"

    async def one() -> None:
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(FLOODER, 0)
            )
        except OSError:
            flood.refused += 1
            return
        flood.opened += 1
        flood.open.add(writer)
        flood.peak = max(flood.peak, len(flood.open))
        if flood.peak >= FLOOD:
            flood.full.set()
        try:
            writer.write(head)
            await writer.drain()
            await reader.read(1)  # returns when the gateway closes it
        except OSError:
            pass
        finally:
            flood.open.discard(writer)
            writer.close()

    tasks: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        if len(tasks) < FLOOD:  # a connection the gateway closed is opened again
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(1 / PACE)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _normal_client(url: str, stop: asyncio.Event) -> list[str]:
    outcomes: list[str] = []
    transport = httpx.AsyncHTTPTransport(local_address=NORMAL)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=15) as client:
        while not stop.is_set():
            try:
                response = await client.get("/api/catalog/products", params={"limit": 1})
                outcomes.append(str(response.status_code))
            except httpx.TransportError as exc:
                outcomes.append(type(exc).__name__)
            await asyncio.sleep(0.2)
    return outcomes


async def test_a_one_address_flood_of_slow_connections_leaves_others_served(
    flood_gateway: tuple[str, str],
) -> None:
    case, url = flood_gateway
    port = int(url.rsplit(":", 1)[1])
    flood, stop = Flood(), asyncio.Event()
    flooding = asyncio.create_task(_flooder(port, flood, stop))
    normal = asyncio.create_task(_normal_client(url, stop))
    with suppress(TimeoutError):  # a safety bound: the assertions below say what happened
        await asyncio.wait_for(flood.full.wait(), SAFETY_SECONDS if case == "sized" else 15)
    await asyncio.sleep(HOLD_SECONDS)
    stop.set()
    outcomes = await normal
    await flooding

    assert len(outcomes) >= 10
    assert set(outcomes) == {"200"}, outcomes
    counts = (flood.peak, flood.opened, flood.refused)
    if case == "sized":  # the flood held its connections: nginx closed none for want of room
        assert flood.peak >= FLOOD * 0.95, counts
    else:  # the cap (256 by default) closed every connection past it before any head
        assert flood.peak < FLOOD / 4, counts
        assert flood.opened > 2 * flood.peak, counts  # closed, and opened again


@pytest.mark.parametrize("flood_gateway", ["capped"], indirect=True)  # the configured cap
@pytest.mark.parametrize("mode", ["-H", "-B", "-X"])
async def test_slowhttptest_runs_leave_another_address_served(
    flood_gateway: tuple[str, str], mode: str
) -> None:
    """slowhttptest's slow headers (-H), slow body (-B) and slow read (-X) from 127.0.0.1,
    1,000 connections at 200 a second for 12 s, while the normal client reads."""
    _, url = flood_gateway
    tool = shutil.which("slowhttptest")
    if tool is None:
        pytest.fail("slowhttptest is not installed (make deps installs it)")
    stop = asyncio.Event()
    normal = asyncio.create_task(_normal_client(url, stop))
    target = f"{url}/api/catalog/products?limit=1"
    argv = [tool, mode, "-c", "1000", "-r", "200", "-i", "5", "-l", "12", "-u", target]
    if mode == "-B":
        argv += ["-t", "POST", "-s", "8192"]
    run = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(run.communicate(), SAFETY_SECONDS)
    stop.set()
    outcomes = await normal

    assert run.returncode == 0, output.decode(errors="replace")[-2000:]
    assert len(outcomes) >= 10
    assert set(outcomes) == {"200"}, outcomes
