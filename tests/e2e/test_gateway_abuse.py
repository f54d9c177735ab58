"""Abusive and slow clients against the gateway, bounded and on loopback.

The e2e stack's own gateway runs with limits raised for the suite (conftest.py), so these
tests start a second nginx, rendered from the same template by the same code
(`native.gateway.write_gateway_config`) with low limits, in front of the e2e stack's
services. Each test talks from its own loopback address (127.0.0.N): the limits are per
client address, so the tests cannot use up each other's allowance, and a "normal client"
is simply another address.

No test decides on a timing: each asserts that a cut happened (and which), or that a
client was served; time bounds are only safety limits that end a test that hangs.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import topology
from native.gateway import write_gateway_config
from native.stack import Stack, load_stack
from tests.e2e.conftest import E2EStack

pytestmark = pytest.mark.e2e

#: The test gateway's limits (the template's variables).
LIMITS = {
    "GATEWAY_RATE_LIMIT": "5",
    "GATEWAY_RATE_BURST": "5",
    "GATEWAY_AUTH_RATE_PER_MINUTE": "1",
    "GATEWAY_AUTH_RATE_BURST": "1",
    "GATEWAY_CONN_LIMIT": "3",
    "GATEWAY_CLIENT_TIMEOUT": "3s",
    "GATEWAY_CORS_ORIGINS": "https://shop.example http://localhost:3000",
}
#: Safety bound of every loop below (it ends a test that would hang; it decides nothing).
SAFETY_SECONDS = 90


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _HeadReader(socketserver.BaseRequestHandler):
    """Reads a request head and hands it to its server, which decides what follows."""

    server: _Upstream

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        self.server.received(head)


class _Upstream(socketserver.ThreadingTCPServer):
    """A misbehaving upstream on a free loopback port; the connection closes, unanswered,
    when `received` returns."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HeadReader)

    def received(self, head: bytes) -> None:
        raise NotImplementedError


class _DroppingServer(_Upstream):
    """A broken upstream: records each request's method and closes at once."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.methods: list[str] = []

    def received(self, head: bytes) -> None:
        with self.lock:
            self.methods.append(head.split(b" ", 1)[0].decode())

    def seen(self, method: str) -> int:
        with self.lock:
            return self.methods.count(method)


class _HoldingServer(_Upstream):
    """A slow upstream: counts each request and holds it until released."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()
        self.held = 0
        self.release = threading.Event()

    def received(self, head: bytes) -> None:
        with self.changed:
            self.held += 1
            self.changed.notify_all()
        self.release.wait(SAFETY_SECONDS)

    def wait_holding(self, count: int) -> int:
        """How many requests it holds, once that is `count` (or at the safety bound)."""
        with self.changed:
            self.changed.wait_for(lambda: self.held >= count, timeout=SAFETY_SECONDS)
            return self.held


@dataclass
class AbuseGateway:
    url: str
    port: int
    dropper: _DroppingServer
    holder: _HoldingServer
    # reports behind one slow upstream server that takes two requests at once (max_conns).
    capped: _HoldingServer
    run_dir: Path


@pytest.fixture(scope="module")
def test_gateway(
    stack: E2EStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AbuseGateway]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    run_dir = tmp_path_factory.mktemp("abuse-gateway")
    port = _free_port()
    env = {**stack.env, "MERCATO_RUN_DIR": str(run_dir), "GATEWAY_PORT": str(port), **LIMITS}
    test_stack: Stack = load_stack(env)
    test_stack.logs.mkdir(parents=True, exist_ok=True)
    dropper = _DroppingServer()
    holder = _HoldingServer()
    capped = _HoldingServer()
    for server in (dropper, holder, capped):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    orders = topology.load().service("orders")
    # orders behind two servers: the broken one and the real one, never marked down, so
    # every other attempt reaches the broken one.
    ports = (dropper.server_address[1], test_stack.service_port(orders))
    servers = " ".join(f"server 127.0.0.1:{port} max_fails=0;" for port in ports)
    # checkout behind the slow one alone (no test here calls the real checkout).
    held = f"server 127.0.0.1:{holder.server_address[1]} max_fails=0;"
    full = f"server 127.0.0.1:{capped.server_address[1]} max_conns=2 max_fails=0;"
    write_gateway_config(
        test_stack,
        {"ORDERS_SERVERS": servers, "CHECKOUT_SERVERS": held, "REPORTS_SERVERS": full},
    )
    nginx_dir = run_dir / "nginx"
    process = subprocess.Popen(
        [
            nginx,
            "-p",
            str(nginx_dir),
            "-c",
            str(nginx_dir / "nginx.conf"),
            "-e",
            str(test_stack.logs / "gateway-error.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield AbuseGateway(
            url=url, port=port, dropper=dropper, holder=holder, capped=capped, run_dir=run_dir
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
        holder.release.set()
        capped.release.set()
        for server in (dropper, holder, capped):
            server.shutdown()
            server.server_close()


@asynccontextmanager
async def client_from(address: str, gateway: AbuseGateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=gateway.url, transport=transport, timeout=30) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    assert set(document["error"]) == {"code", "message", "request_id", "trace_id"}
    assert document["error"]["code"] == code
    assert document["error"]["request_id"] == response.headers["x-request-id"]
    return document


# --- limits ------------------------------------------------------------------------------


async def test_a_burst_past_the_rate_limit_is_429_with_retry_after(
    test_gateway: AbuseGateway,
) -> None:
    statuses: list[int] = []
    async with client_from("127.0.0.11", test_gateway) as client:
        for _ in range(100):
            response = await client.get("/api/catalog/products", params={"limit": 1})
            statuses.append(response.status_code)
            if response.status_code == 429:
                break

    assert statuses[0] == 200
    assert set(statuses) == {200, 429}
    assert_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "1"


async def test_token_and_registration_have_a_stricter_limit(test_gateway: AbuseGateway) -> None:
    # One a minute and a burst of one: the third attempt is refused, far below the
    # general limit (5 a second, burst 5), which still serves this address afterwards.
    form = {"grant_type": "password", "username": "nobody@example.com", "password": "wrong-pw"}
    async with client_from("127.0.0.12", test_gateway) as client:
        tokens = [await client.post("/api/identity/token", data=form) for _ in range(3)]
        catalog = await client.get("/api/catalog/products", params={"limit": 1})
    async with client_from("127.0.0.13", test_gateway) as client:
        registrations = [await client.post("/api/identity/users", json={}) for _ in range(3)]

    assert [r.status_code for r in tokens[:2]] == [401, 401]
    assert_error(tokens[2], 429, "rate_limited")
    # The zone admits one request a minute: that is when to come back.
    assert tokens[2].headers["retry-after"] == "60"
    assert catalog.status_code == 200
    assert [r.status_code for r in registrations[:2]] == [422, 422]
    assert_error(registrations[2], 429, "rate_limited")
    assert registrations[2].headers["retry-after"] == "60"


async def test_oversized_headers_get_a_json_431(test_gateway: AbuseGateway) -> None:
    async with client_from("127.0.0.14", test_gateway) as client:
        response = await client.get("/api/catalog/products", headers={"X-Big": "a" * 9000})

    assert_error(response, 431, "request_header_too_large")


# --- slow clients ------------------------------------------------------------------------


@dataclass
class Dribbled:
    sent: int
    total: int
    response: bytes
    ended: str  # "closed", "reset" or "safety"


async def dribble(address: str, port: int, head: bytes, payload: bytes, every: float) -> Dribbled:
    """Send `head`, then `payload` one byte every `every` seconds, until the server answers
    or ends the connection (or the safety bound)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    received = b""
    sent = 0
    ended = "safety"
    try:
        writer.write(head)
        await writer.drain()
        deadline = time.monotonic() + SAFETY_SECONDS
        while time.monotonic() < deadline:
            if sent < len(payload):
                writer.write(payload[sent : sent + 1])
                await writer.drain()
                sent += 1
            try:
                chunk = await asyncio.wait_for(reader.read(65536), timeout=every)
            except TimeoutError:
                continue
            if not chunk:
                ended = "closed"
                break
            received += chunk
            if b"\r\n\r\n" in received:
                head_part, _, body = received.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head_part)
                if length and len(body) >= int(length.group(1)):
                    ended = "answered"
                    break
    except ConnectionResetError:
        ended = "reset"
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()
    return Dribbled(sent=sent, total=len(payload), response=received, ended=ended)


def _parse(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


async def _normal_client(gateway: AbuseGateway, stop: asyncio.Event) -> list[int]:
    statuses: list[int] = []
    async with client_from("127.0.0.17", gateway) as client:
        while not stop.is_set() and len(statuses) < 200:
            response = await client.get("/api/catalog/products", params={"limit": 1})
            statuses.append(response.status_code)
            # Stay under the test gateway's 5 requests a second.
            await asyncio.sleep(0.5)
    return statuses


async def test_slow_heads_and_dribbled_bodies_are_cut_off_while_a_normal_client_is_served(
    test_gateway: AbuseGateway,
) -> None:
    port = test_gateway.port
    stop = asyncio.Event()
    normal = asyncio.create_task(_normal_client(test_gateway, stop))
    slow_head, slow_body = await asyncio.gather(
        # slowloris: a request head that never ends, a byte a second (the head deadline,
        # client_header_timeout, is 3 s here)
        dribble(
            "127.0.0.15",
            port,
            b"GET /api/catalog/products HTTP/1.1\r\nHost: x\r\n",
            b"X-Slow: " + b"a" * 200,
            every=1.0,
        ),
        # a body of 1000 bytes, a byte every 2 s: each pause is below client_body_timeout,
        # the whole body is far beyond the services' body deadline
        dribble(
            "127.0.0.16",
            port,
            b"POST /api/catalog/products HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
            b"a" * 1000,
            every=2.0,
        ),
    )
    stop.set()
    statuses = await normal

    # The slow head was cut by the gateway: no response, the connection ended early.
    assert slow_head.ended in {"closed", "reset"}, slow_head
    assert slow_head.response == b""
    assert slow_head.sent < slow_head.total
    # The dribbled body got the services' JSON 408 before it was complete.
    assert slow_body.ended in {"answered", "closed"}, slow_body
    assert slow_body.sent < slow_body.total
    status, document = _parse(slow_body.response)
    assert status == 408
    assert document["error"]["code"] == "request_timeout"
    # Meanwhile the normal client was served every time.
    assert statuses
    assert set(statuses) == {200}


async def test_connections_per_client_are_capped(test_gateway: AbuseGateway) -> None:
    holder = test_gateway.holder
    async with client_from("127.0.0.18", test_gateway) as client:
        # Three requests from 127.0.0.18 held in flight by a slow upstream (this gateway's
        # checkout): the cap for that address. Each is counted once the upstream has its head.
        held = [asyncio.create_task(client.get("/api/checkout/healthz")) for _ in range(3)]
        try:
            in_flight = await asyncio.to_thread(holder.wait_holding, len(held))
            refused = await client.get("/api/catalog/products", params={"limit": 1})
            async with client_from("127.0.0.19", test_gateway) as other:
                other_address = await other.get("/api/catalog/products", params={"limit": 1})
        finally:
            holder.release.set()
        # The slow upstream then closes without answering: the gateway's own 503.
        answers = await asyncio.gather(*held)
        # Once they are gone, the address is served again (the loop waits out its rate limit).
        for _ in range(40):
            again = await client.get("/api/catalog/products", params={"limit": 1})
            if again.status_code == 200:
                break
            await asyncio.sleep(0.25)

    assert in_flight == 3
    assert_error(refused, 429, "too_many_connections")
    assert refused.headers["retry-after"] == "1"
    assert other_address.status_code == 200
    for answer in answers:
        assert_error(answer, 503, "upstream_unavailable")
    assert again.status_code == 200


async def test_a_full_service_is_a_fast_503_for_the_excess_only(test_gateway: AbuseGateway) -> None:
    """Admission control: the gateway lets each process of a service work on `max_in_flight`
    requests (nginx's max_conns, stack.toml); past it, with every process full, the excess
    gets a 503 in the error shape at once, and other services are served as before."""
    capped = test_gateway.capped
    async with (
        client_from("127.0.0.21", test_gateway) as first,
        client_from("127.0.0.22", test_gateway) as second,
        client_from("127.0.0.23", test_gateway) as third,
    ):
        held = [asyncio.create_task(c.get("/api/reports/healthz")) for c in (first, second)]
        try:
            in_flight = await asyncio.to_thread(capped.wait_holding, len(held))
            excess = await third.get("/api/reports/healthz")
            elsewhere = await third.get("/api/catalog/products", params={"limit": 1})
        finally:
            capped.release.set()
        await asyncio.gather(*held)

    assert in_flight == 2
    assert capped.held == 2, "the excess never reached the service"
    assert_error(excess, 503, "upstream_unavailable")
    assert int(excess.headers["retry-after"]) >= 1
    assert elsewhere.status_code == 200


# --- retries -----------------------------------------------------------------------------


async def test_only_idempotent_requests_are_passed_to_the_next_upstream(
    test_gateway: AbuseGateway,
) -> None:
    dropper = test_gateway.dropper
    async with client_from("127.0.0.20", test_gateway) as client:
        gets = []
        for _ in range(20):
            gets.append(await client.get("/api/orders/healthz"))
            if dropper.seen("GET"):
                break
            await asyncio.sleep(0.25)
        posts = []
        for _ in range(20):
            posts.append(await client.post("/api/orders/orders", json={}))
            if dropper.seen("POST"):
                break
            await asyncio.sleep(0.25)

    # A GET the broken server dropped was passed to the real one: every GET succeeded.
    assert dropper.seen("GET") >= 1
    assert {r.status_code for r in gets} == {200}
    # A POST the broken server dropped was never sent again: exactly those are 503s, which
    # the client may retry (Retry-After).
    assert dropper.seen("POST") >= 1
    unanswered = [r for r in posts if r.status_code == 503]
    assert len(unanswered) == dropper.seen("POST")
    for response in unanswered:
        assert_error(response, 503, "upstream_unavailable")
        assert response.headers["retry-after"] == "1"
    assert {r.status_code for r in posts} - {503} <= {401, 422}


# --- headers -----------------------------------------------------------------------------


async def test_security_headers_on_api_answers_and_gateway_errors(
    test_gateway: AbuseGateway,
) -> None:
    async with client_from("127.0.0.21", test_gateway) as client:
        answers = [
            await client.get("/api/catalog/products", params={"limit": 1}),
            await client.get("/nope"),
        ]

    for response in answers:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none';")
        assert "access-control-allow-origin" not in response.headers


async def test_docs_page_gets_a_csp_whose_nonce_is_on_its_inline_script(
    test_gateway: AbuseGateway,
) -> None:
    async with client_from("127.0.0.22", test_gateway) as client:
        first = await client.get("/api/catalog/docs")
        second = await client.get("/api/catalog/docs")

    nonces = []
    for response in (first, second):
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        nonce = re.search(r"'nonce-([0-9a-f]{32})'", csp)
        assert nonce, csp
        assert f'<script nonce="{nonce.group(1)}">' in response.text
        assert "<script>" not in response.text
        nonces.append(nonce.group(1))
    assert nonces[0] != nonces[1]


async def test_cors_allowlist_and_preflight(test_gateway: AbuseGateway) -> None:
    preflight_headers = {"Access-Control-Request-Method": "POST"}
    async with client_from("127.0.0.23", test_gateway) as client:
        allowed = await client.options(
            "/api/orders/orders", headers={"Origin": "https://shop.example", **preflight_headers}
        )
        refused = await client.options(
            "/api/orders/orders", headers={"Origin": "https://evil.example", **preflight_headers}
        )
        simple = await client.get(
            "/api/catalog/products",
            params={"limit": 1},
            headers={"Origin": "http://localhost:3000"},
        )
        # A whole origin or nothing: a longer host, a subdomain, another scheme, a prefix.
        lookalikes = [
            await client.get(
                "/api/catalog/products", params={"limit": 1}, headers={"Origin": origin}
            )
            for origin in (
                "https://shop.example.evil.com",
                "https://evil.shop.example",
                "http://shop.example",
                "https://shop.exampl",
            )
        ]

    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "Authorization" in allowed.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in allowed.headers
    # Not on the list: no CORS header at all (the service answers the OPTIONS itself).
    assert "access-control-allow-origin" not in refused.headers
    assert refused.status_code != 204
    assert simple.status_code == 200
    assert simple.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "Origin" in simple.headers["vary"]
    assert [r for r in lookalikes if "access-control-allow-origin" in r.headers] == []
