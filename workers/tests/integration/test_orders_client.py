"""The worker's orders client asks orders for the sales summary, one customer's server-side.

It runs against the stand-in (`upstream.py`, the contract of `GET /orders/sales-summary`),
served on a loopback port of this process (the client's calls cross a real socket).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mercato_shared.service_tokens import ServiceTokens
from mercato_shared.testing.loopback import outbound_session, serve_on_loopback
from workers.orders_client import OrdersClient
from workers.sales_summary import SalesSummary

from .conftest import worker_settings
from .upstream import ORIGIN, create_app, generate_orders, summarize

UNTIL = ORIGIN + timedelta(days=30)


async def _summary(user_id: str | None) -> tuple[SalesSummary, list[dict[str, object]]]:
    app = create_app()
    async with serve_on_loopback(app) as url, outbound_session() as http:
        settings = worker_settings(identity_url=url, orders_url=url)
        tokens = ServiceTokens(
            http,
            identity_url=settings.identity_url,
            client_id="reports",
            client_secret="stand-in-secret",
            timeout=5,
        )
        client = OrdersClient(http, tokens, settings)
        summary = await client.sales_summary(since=ORIGIN, until=UNTIL, user_id=user_id)
    return summary, app.state.summary_queries


async def test_the_summary_is_read_as_orders_answers_it() -> None:
    summary, queries = await _summary(None)
    orders = [
        o for o in generate_orders(600, days=30) if datetime.fromisoformat(o["created_at"]) < UNTIL
    ]
    assert summary == SalesSummary.model_validate(summarize(orders))
    assert sum(day.orders for day in summary.days) == 600
    assert queries == [{"user_id": None}]


async def test_a_purchases_summary_is_filtered_by_the_server() -> None:
    summary, queries = await _summary("7")
    assert summary.days
    assert {c.user_id for sales in summary.currencies for c in sales.top_customers} == {"7"}
    # The one request asked for user 7's orders only: nobody else's were summed.
    assert queries == [{"user_id": 7}]


async def test_a_machine_client_has_no_purchases() -> None:
    summary, queries = await _summary("reports")
    assert summary == SalesSummary()
    assert queries == []
