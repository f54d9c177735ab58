"""The worker's orders client asks the export for one customer's orders, server-side.

It runs against the export stand-in (`upstream.py`, the export's contract), served on a
loopback port of this process (the client's calls cross a real socket).
"""

from __future__ import annotations

from datetime import timedelta

from mercato_shared.service_tokens import ServiceTokens
from mercato_shared.testing.loopback import outbound_session, serve_on_loopback
from workers.orders_client import OrdersClient

from .conftest import worker_settings
from .upstream import ORIGIN, create_app


async def _export(user_id: str | None) -> tuple[list[str], list[dict[str, object]]]:
    app = create_app()
    async with serve_on_loopback(app) as url, outbound_session() as http:
        settings = worker_settings(identity_url=url, orders_url=url, orders_page_size=50)
        tokens = ServiceTokens(
            http,
            identity_url=settings.identity_url,
            client_id="reports",
            client_secret="stand-in-secret",
            timeout=5,
        )
        client = OrdersClient(http, tokens, settings)
        owners = [
            order.user_id
            async for order in client.export(
                since=ORIGIN, until=ORIGIN + timedelta(days=30), user_id=user_id
            )
        ]
    return owners, app.state.export_queries


async def test_a_purchases_export_is_filtered_by_the_server() -> None:
    owners, queries = await _export("7")
    everyone, _ = await _export(None)

    assert owners
    assert set(owners) == {"7"}
    assert owners == [owner for owner in everyone if owner == "7"]
    # Every page asked for user 7's orders only: nobody else's crossed the wire.
    assert queries
    assert all(query["user_id"] == 7 for query in queries)


async def test_a_machine_client_has_no_purchases() -> None:
    owners, queries = await _export("reports")
    assert owners == []
    assert queries == []
