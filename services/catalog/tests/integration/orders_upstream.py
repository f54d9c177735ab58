"""The real orders and identity apps, served over loopback HTTP for catalog's periodic jobs.

Each app runs under uvicorn on a socket of its own (a free port on 127.0.0.1), in this
process's event loop, with its own lifespan and its real database (`it_orders`,
`it_identity`): catalog's jobs reach them exactly as in production, through its own
`OrdersClient` and a service token issued by identity for the `catalog` client.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import uvicorn
from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from identity.config import IdentitySettings
from identity.main import create_app as create_identity
from identity.migrate import MIGRATIONS as IDENTITY_MIGRATIONS
from mercato_shared.migrations import migrate
from orders.config import OrdersSettings
from orders.main import create_app as create_orders
from orders.migrate import MIGRATIONS as ORDERS_MIGRATIONS
from orders.models import Order, OrderItem
from tests.helpers import truncate

IT_REDIS_URL = "redis://127.0.0.1:6379/15"


@dataclass(frozen=True)
class OrdersUpstream:
    orders_url: str
    identity_url: str
    database_url: str

    async def add_order(
        self,
        created_at: datetime,
        lines: Sequence[tuple[int, int]],
        reservation_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Write an order into orders' database as orders does: lines of (product, units)."""
        reservation_id = reservation_id or uuid.uuid4()
        engine = create_async_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                order_id = await conn.scalar(
                    insert(Order)
                    .values(
                        user_id=2,
                        reservation_id=reservation_id,
                        status="confirmed",
                        currency="EUR",
                        total=Decimal("10.00") * sum(q for _, q in lines),
                        created_at=created_at,
                    )
                    .returning(Order.id)
                )
                await conn.execute(
                    insert(OrderItem),
                    [
                        {
                            "order_id": order_id,
                            "product_id": product_id,
                            "name": "Thing",
                            "quantity": quantity,
                            "unit_price": Decimal("10.00"),
                        }
                        for product_id, quantity in lines
                    ],
                )
        finally:
            await engine.dispose()
        return reservation_id


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):  # a guard against a hang, not a measurement
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped the server
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def migrate_upstreams() -> tuple[OrdersSettings, IdentitySettings]:
    orders = OrdersSettings(database_prefix="it_")
    identity = IdentitySettings(database_prefix="it_", redis_url=IT_REDIS_URL)
    migrate(orders, ORDERS_MIGRATIONS)
    migrate(identity, IDENTITY_MIGRATIONS)
    return orders, identity


@asynccontextmanager
async def orders_upstream(
    orders: OrdersSettings, identity: IdentitySettings
) -> AsyncIterator[OrdersUpstream]:
    await truncate(orders.database_url, "orders, order_items, idempotency_keys")
    async with serve(create_identity(identity)) as identity_url:
        with_identity = orders.model_copy(update={"identity_url": identity_url})
        async with serve(create_orders(with_identity)) as orders_url:
            yield OrdersUpstream(orders_url, identity_url, orders.database_url)
