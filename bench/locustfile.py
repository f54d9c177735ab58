"""The mixed load of `make bench` (scenario g), for Locust.

Each simulated shopper sends one request per second on a beat of its own, so N users are
an arrival rate of N requests/s while answers take under a second. The task weights are the
proportions: product reads 70%, list pages 15%, checkout quotes 8%, orders 6.5%, report
submissions 0.5% (a report costs about a second of a worker's CPU; more would measure the
report queue, not the shop).

Each shopper's beat starts at a random point of its first second, and `wait_time` keeps it
there: the next request is due one period after the last one was due, whatever the answer
took (a late answer shortens the wait, never moves the beat). Locust starts a step's users
within moments of each other, so without the offset every user fires in the same instant
each second and the arrivals come as one burst a second. Locust's `constant_throughput`
cannot keep an offset: it counts the time `on_start` spends as the first task's run time,
and every user's second request is due at the same instant (measured here: 226 of 250
arrivals in one tenth of a second with an `on_start` offset and `constant_throughput`).

Tokens come from the environment (MERCATO_TOKEN for a customer, MERCATO_ADMIN_TOKEN for
reports); the harness registers them before it starts Locust.

With MERCATO_OVERLOAD=1 (the overload step), every answer is counted under one of two
names: `shed`, the gateway's or a service's fast refusal (503 or 429 with Retry-After),
counted as a success of its own; and `admitted`, everything else, whose failures are the
step's errors and whose percentiles are the admitted requests' latency.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import FastHttpUser, task

PERIOD_SECONDS = 1.0
PRODUCTS = int(os.environ.get("PRODUCTS", "1000"))
CATEGORIES = ("kitchen", "garden", "books", "electronics", "toys", "sports", "apparel", "office")
TOKEN = os.environ.get("MERCATO_TOKEN", "")
ADMIN_TOKEN = os.environ.get("MERCATO_ADMIN_TOKEN", "")
OVERLOAD = os.environ.get("MERCATO_OVERLOAD") == "1"
SHED = (429, 503)


class Shopper(FastHttpUser):
    _due = 0.0

    def on_start(self) -> None:
        # Locust's gevent has patched time.sleep: this greenlet waits, the others run.
        time.sleep(random.random() * PERIOD_SECONDS)  # noqa: S311 - spreads the arrivals
        self._due = time.monotonic()

    def wait_time(self) -> float:
        self._due += PERIOD_SECONDS
        return max(0.0, self._due - time.monotonic())

    def _send(self, method: str, url: str, name: str | None = None, **kwargs: Any) -> None:
        if not OVERLOAD:
            self.client.request(method, url, name=name, **kwargs)
            return
        with self.client.request(
            method, url, name="admitted", catch_response=True, **kwargs
        ) as response:
            # One row per name whatever the method, so its percentiles are the whole step's.
            response.request_meta["request_type"] = "ANY"
            if response.status_code in SHED and response.headers.get("retry-after"):
                response.request_meta["name"] = "shed"
                response.success()

    @task(140)
    def read_product(self) -> None:
        self._send(
            "GET",
            f"/api/catalog/products/{random.randint(1, PRODUCTS)}",  # noqa: S311 - load mix
            name="/api/catalog/products/{id}",
        )

    @task(30)
    def list_products(self) -> None:
        category = random.choice(CATEGORIES)  # noqa: S311 - load mix
        self._send(
            "GET",
            f"/api/catalog/products?limit=20&category={category}",
            name="/api/catalog/products",
        )

    @task(16)
    def quote(self) -> None:
        self._send(
            "POST",
            "/api/checkout/quote",
            json={
                "items": [{"product_id": random.randint(1, PRODUCTS), "quantity": 1}],  # noqa: S311
                "destination": {"country": "DE", "postal_code": f"{random.randint(1, 99999):05d}"},  # noqa: S311
                "currency": "EUR",
            },
        )

    @task(13)
    def order(self) -> None:
        self._send(
            "POST",
            "/api/orders/orders",
            json={"items": [{"product_id": random.randint(1, PRODUCTS), "quantity": 1}]},  # noqa: S311
            headers={"authorization": f"Bearer {TOKEN}", "idempotency-key": str(uuid.uuid4())},
        )

    @task(1)
    def report(self) -> None:
        today = datetime.now(UTC).date()
        self._send(
            "POST",
            "/api/reports/reports",
            json={"kind": "sales", "start": str(today - timedelta(days=30)), "days": 31},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
