"""The mixed load of `make bench` (scenario g), for Locust.

Each simulated shopper sends one request per second (`constant_throughput(1)`), so N users
are an arrival rate of about N requests/s while answers take under a second. The task
weights are the proportions: product reads 70%, list pages 15%, checkout quotes 8%, orders
6.5%, report submissions 0.5% (a report costs about a second of a worker's CPU; more would
measure the report queue, not the shop).

Each shopper waits a random fraction of its period before its first request. Locust starts
a step's users within moments of each other, and `constant_throughput` keeps each one on its
own beat, so without that offset every user fires in the same instant each second: the
arrivals come as one burst a second, and the burst queues on the single processes behind
the gateway (measured here: a product read's median 69 ms at 25 users, against 16 ms with
the offset and 5 ms for 25 staggered httpx clients).

Tokens come from the environment (MERCATO_TOKEN for a customer, MERCATO_ADMIN_TOKEN for
reports); the harness registers them before it starts Locust.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from locust import FastHttpUser, constant_throughput, task

PRODUCTS = int(os.environ.get("PRODUCTS", "1000"))
CATEGORIES = ("kitchen", "garden", "books", "electronics", "toys", "sports", "apparel", "office")
TOKEN = os.environ.get("MERCATO_TOKEN", "")
ADMIN_TOKEN = os.environ.get("MERCATO_ADMIN_TOKEN", "")


class Shopper(FastHttpUser):
    wait_time = constant_throughput(1)

    def on_start(self) -> None:
        # Locust's gevent has patched time.sleep: this greenlet waits, the others run.
        time.sleep(random.random())  # noqa: S311 - spreads the arrivals over the second

    @task(140)
    def read_product(self) -> None:
        self.client.get(
            f"/api/catalog/products/{random.randint(1, PRODUCTS)}",  # noqa: S311 - load mix
            name="/api/catalog/products/{id}",
        )

    @task(30)
    def list_products(self) -> None:
        category = random.choice(CATEGORIES)  # noqa: S311 - load mix
        self.client.get(
            f"/api/catalog/products?limit=20&category={category}", name="/api/catalog/products"
        )

    @task(16)
    def quote(self) -> None:
        self.client.post(
            "/api/checkout/quote",
            json={
                "items": [{"product_id": random.randint(1, PRODUCTS), "quantity": 1}],  # noqa: S311
                "destination": {"country": "DE", "postal_code": f"{random.randint(1, 99999):05d}"},  # noqa: S311
                "currency": "EUR",
            },
        )

    @task(13)
    def order(self) -> None:
        self.client.post(
            "/api/orders/orders",
            json={"items": [{"product_id": random.randint(1, PRODUCTS), "quantity": 1}]},  # noqa: S311
            headers={"authorization": f"Bearer {TOKEN}", "idempotency-key": str(uuid.uuid4())},
        )

    @task(1)
    def report(self) -> None:
        today = datetime.now(UTC).date()
        self.client.post(
            "/api/reports/reports",
            json={"kind": "sales", "start": str(today - timedelta(days=30)), "days": 31},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
