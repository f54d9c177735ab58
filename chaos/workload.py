"""The mixed workload at a fixed rate, through the gateway, keeping a ledger.

Reads (a product, a page), quotes, orders with an Idempotency-Key (retried with backoff on
409 in progress, 503/504 and transport errors, always with the same key and body) and
report submissions, in the proportions of `MIX`.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from typing import Any, Final

import httpx

from chaos.ledger import Ledger

MIX: Final = (("read", 50), ("list", 10), ("quote", 15), ("order", 20), ("report", 5))
RETRYABLE: Final = frozenset({0, 409, 503, 504})
ORDER_ATTEMPTS: Final = 10


@dataclass
class Shop:
    gateway: httpx.AsyncClient
    customer: dict[str, str]
    admin: dict[str, str]
    products: list[int]


async def token(gateway: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await gateway.post(
        "/api/identity/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def open_shop(gateway: httpx.AsyncClient, products: int, stock: int) -> Shop:
    """An admin, a new customer and `products` new products with `stock` units each."""
    admin = await token(gateway, "admin@example.com", "admin-dev-password")
    email = f"chaos-{uuid.uuid4().hex[:10]}@example.com"
    registered = await gateway.post(
        "/api/identity/users",
        json={"email": email, "password": "chaos password", "display_name": "Chaos"},
    )
    registered.raise_for_status()
    customer = await token(gateway, email, "chaos password")
    ids = []
    for n in range(products):
        body = {
            "sku": f"CHAOS-{uuid.uuid4().hex[:8].upper()}-{n}",
            "name": f"Chaos product {n}",
            "price": "9.90",
            "stock": stock,
            "category": "kitchen",
            "currency": "EUR",
        }
        created = await gateway.post("/api/catalog/products", json=body, headers=admin)
        created.raise_for_status()
        ids.append(int(created.json()["id"]))
    return Shop(gateway, customer, admin, ids)


def _code(response: httpx.Response) -> tuple[str | None, bool]:
    if response.status_code < 400:
        return None, True
    try:
        error = response.json()["error"]
        shaped = {"code", "message", "request_id", "trace_id"} <= set(error)
        return str(error["code"]), shaped
    except (ValueError, KeyError, TypeError):
        return None, False


class Workload:
    def __init__(self, shop: Shop, ledger: Ledger, *, rate: float, seed: int = 14) -> None:
        self._shop = shop
        self._ledger = ledger
        self._rate = rate
        self._rng = random.Random(seed)
        self._tasks: set[asyncio.Task[None]] = set()

    async def _send(self, op: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        try:
            response = await self._shop.gateway.request(method, path, **kwargs)
        except httpx.TransportError:
            self._ledger.record(op, 0, shaped=False)
            return None
        code, shaped = _code(response)
        self._ledger.record(op, response.status_code, code, shaped=shaped)
        return response

    async def read(self) -> None:
        product = self._rng.choice(self._shop.products)
        await self._send("read", "GET", f"/api/catalog/products/{product}")

    async def list(self) -> None:
        await self._send("list", "GET", "/api/catalog/products", params={"limit": 20})

    async def quote(self) -> None:
        body = {
            "items": [{"product_id": self._rng.choice(self._shop.products), "quantity": 1}],
            "destination": {"country": "FR", "postal_code": "75001"},
            "currency": "EUR",
        }
        await self._send("quote", "POST", "/api/checkout/quote", json=body)

    async def order(self) -> None:
        chosen = self._rng.sample(self._shop.products, k=self._rng.randint(1, 2))
        lines = {product: self._rng.randint(1, 3) for product in chosen}
        body = {"items": [{"product_id": p, "quantity": q} for p, q in lines.items()]}
        key = f"chaos-{uuid.uuid4().hex}"
        headers = self._shop.customer | {"Idempotency-Key": key}
        for attempt in range(ORDER_ATTEMPTS):
            if attempt:
                self._ledger.retried_keys.add(key)
                await asyncio.sleep(min(0.25 * 2**attempt, 3.0))
            response = await self._send(
                "order", "POST", "/api/orders/orders", json=body, headers=headers
            )
            status = 0 if response is None else response.status_code
            if status in (200, 201):
                assert response is not None
                self._ledger.told(key, lines, int(response.json()["id"]))
                if attempt == 0 and self._rng.random() < 0.2:
                    continue  # now and then, repeat a success: it must replay the same order
                return
            if status not in RETRYABLE:
                return
        if key not in self._ledger.orders:
            self._ledger.unfinished_keys.add(key)

    async def report(self) -> None:
        body = {"kind": "purchases", "start": "2026-01-01", "days": 7}
        response = await self._send(
            "report", "POST", "/api/reports/reports", json=body, headers=self._shop.customer
        )
        if response is not None and response.status_code == 202:
            self._ledger.reports.append(str(response.json()["id"]))

    async def run(self, seconds: float) -> None:
        """Start one operation every 1/rate s for `seconds`, then wait for them all."""
        names = [name for name, _ in MIX]
        weights = [weight for _, weight in MIX]
        loop = asyncio.get_running_loop()
        start = loop.time()
        tick = 0
        while loop.time() - start < seconds:
            op = self._rng.choices(names, weights)[0]
            task = asyncio.create_task(getattr(self, op)(), name=f"chaos-{op}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            tick += 1
            await asyncio.sleep(max(0.0, start + tick / self._rate - loop.time()))
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=120)
