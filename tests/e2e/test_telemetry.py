"""What the native stack exports, as the test OTLP receiver decoded it (`otlp` fixture).

One request through the gateway must yield one trace: the service's SERVER span continuing
the caller's `traceparent`, its SQL and Redis CLIENT spans, the calls to other services
(client span + the callee's server span), Celery publish and run spans; the logs written
while serving it carry the same trace id; the metrics the dashboards chart arrive by name.

The receiver is polled until what is asserted has arrived (the exporters batch every
200 ms in the e2e stack); the wait is a bound, never the assertion.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from devtools.otlp_receiver import MetricPoint, OtlpReceiver, Span

ROOT = Path(__file__).resolve().parents[2]


def new_traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


async def wait_for_trace(
    otlp: OtlpReceiver, trace_id: str, done: Callable[[list[Span]], bool]
) -> list[Span]:
    return await asyncio.to_thread(otlp.wait_for, lambda: otlp.trace(trace_id), done, timeout=20.0)


async def wait_for_metric(
    otlp: OtlpReceiver, name: str, done: Callable[[list[MetricPoint]], bool]
) -> list[MetricPoint]:
    """Points of one metric, polled until `done` holds on them (or the bound passes)."""
    return await asyncio.to_thread(
        otlp.wait_for, lambda: otlp.metrics(lambda m: m.name == name), done, timeout=20.0
    )


def servers_of(spans: list[Span]) -> set[str]:
    """Services with a SERVER span in `spans` (a server span ends, so is exported, last)."""
    return {s.service for s in spans if s.kind == "SERVER"}


def named(spans: list[Span], *, service: str, kind: str) -> list[Span]:
    return [s for s in spans if s.service == service and s.kind == kind]


def is_sql(span: Span) -> bool:
    return span.kind == "CLIENT" and span.attributes.get("db.system") == "postgresql"


def is_redis(span: Span) -> bool:
    return span.kind == "CLIENT" and span.attributes.get("db.system") == "redis"


def server_span(spans: list[Span], service: str) -> Span:
    servers = named(spans, service=service, kind="SERVER")
    assert len(servers) == 1, [s.name for s in spans]
    return servers[0]


async def test_catalog_read_is_one_trace_with_sql_and_redis(
    gateway: httpx.AsyncClient, otlp: OtlpReceiver
) -> None:
    """A cache miss (an id no one has) reads Redis, then Postgres, all under one span."""
    traceparent, trace_id, parent_span_id = new_traceparent()
    product_id = 10**12 + secrets.randbelow(10**9)
    response = await gateway.get(
        f"/api/catalog/products/{product_id}", headers={"traceparent": traceparent}
    )
    assert response.status_code == 404
    assert response.headers["x-trace-id"] == trace_id
    assert response.json()["error"]["trace_id"] == trace_id
    assert response.headers["traceresponse"].startswith(f"00-{trace_id}-")

    spans = await wait_for_trace(
        otlp,
        trace_id,
        lambda got: (
            any(map(is_sql, got)) and any(map(is_redis, got)) and "catalog" in servers_of(got)
        ),
    )
    server = server_span(spans, "catalog")
    assert server.name == "GET /products/{product_id}"
    assert server.parent_span_id == parent_span_id
    assert server.attributes["http.route"] == "/products/{product_id}"
    assert server.attributes["http.response.status_code"] == 404
    assert server.attributes["http.request.method"] == "GET"
    sql = [s for s in spans if is_sql(s)]
    redis = [s for s in spans if is_redis(s)]
    assert sql
    assert redis
    assert "products" in str(sql[0].attributes.get("db.statement", ""))
    span_ids = {s.span_id for s in spans}
    assert all(s.parent_span_id in span_ids for s in sql + redis)
    assert response.headers["traceresponse"].startswith(f"00-{trace_id}-{server.span_id}-")


async def test_every_response_carries_a_trace_id_even_without_traceparent(
    gateway: httpx.AsyncClient, otlp: OtlpReceiver
) -> None:
    response = await gateway.get("/api/catalog/products", params={"limit": 2})
    assert response.status_code == 200
    trace_id = response.headers["x-trace-id"]
    assert len(trace_id) == 32
    assert int(trace_id, 16) != 0
    spans = await wait_for_trace(
        otlp, trace_id, lambda got: any(map(is_sql, got)) and "catalog" in servers_of(got)
    )
    server = server_span(spans, "catalog")
    assert server.name == "GET /products"
    assert server.parent_span_id == ""


async def test_validation_error_body_carries_the_trace_id(
    gateway: httpx.AsyncClient, otlp: OtlpReceiver
) -> None:
    traceparent, trace_id, _ = new_traceparent()
    response = await gateway.get(
        "/api/catalog/products/not-a-number", headers={"traceparent": traceparent}
    )
    assert response.status_code == 422
    assert response.json()["error"]["trace_id"] == trace_id
    spans = await wait_for_trace(otlp, trace_id, lambda got: "catalog" in servers_of(got))
    assert server_span(spans, "catalog").attributes["http.response.status_code"] == 422


async def test_red_pool_and_cache_metrics_arrive(
    gateway: httpx.AsyncClient, otlp: OtlpReceiver
) -> None:
    first = (await gateway.get("/api/catalog/products", params={"limit": 1})).json()
    product_id = first["items"][0]["id"]
    for _ in range(2):
        assert (await gateway.get(f"/api/catalog/products/{product_id}")).status_code == 200
    expected = {"http.server.request.duration", "http.server.active_requests"}
    expected.add("db.client.connection.count")
    expected.add("mercato.cache.requests")

    def catalog_metric_names() -> list[str]:
        return [m.name for m in otlp.metrics(lambda m: m.service == "catalog")]

    names = await asyncio.to_thread(
        otlp.wait_for, catalog_metric_names, lambda got: expected <= set(got), timeout=20.0
    )
    assert expected <= set(names)
    durations = otlp.metrics(
        lambda m: (
            m.service == "catalog"
            and m.name == "http.server.request.duration"
            and m.attributes.get("http.route") == "/products/{product_id}"
        )
    )
    assert durations
    assert durations[-1].unit == "s"
    assert {"http.request.method", "http.response.status_code", "http.route"} <= set(
        durations[-1].attributes
    )
    assert any(point.exemplar_trace_ids for point in durations)
    pool = otlp.metrics(lambda m: m.name == "db.client.connection.count")
    assert {p.attributes["state"] for p in pool} == {"idle", "used"}
    cache = await wait_for_metric(
        otlp,
        "mercato.cache.requests",
        lambda got: any(p.attributes["result"] == "hit" for p in got),
    )
    assert "hit" in {p.attributes["result"] for p in cache}


def landed(service: str) -> bool:
    return (ROOT / "services" / service / "src").is_dir()


async def customer_token(gateway: httpx.AsyncClient) -> str:
    email = f"otel-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(16)
    created = await gateway.post(
        "/api/identity/users",
        json={"email": email, "password": password, "display_name": "Telemetry test"},
    )
    assert created.status_code == 201, created.text
    token = await gateway.post(
        "/api/identity/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


def is_http_client(span: Span) -> bool:
    return span.kind == "CLIENT" and "http.request.method" in span.attributes


@pytest.mark.skipif(not landed("orders"), reason="the orders service has not landed yet")
async def test_order_request_is_one_trace_across_orders_and_catalog(
    gateway: httpx.AsyncClient, otlp: OtlpReceiver
) -> None:
    token = await customer_token(gateway)
    product = (await gateway.get("/api/catalog/products", params={"limit": 1})).json()
    product_id = product["items"][0]["id"]
    traceparent, trace_id, parent_span_id = new_traceparent()
    response = await gateway.post(
        "/api/orders/orders",
        json={"items": [{"product_id": product_id, "quantity": 1}]},
        headers={"authorization": f"Bearer {token}", "traceparent": traceparent},
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-trace-id"] == trace_id

    def complete(spans: list[Span]) -> bool:
        # Every span asserted below, and every parent of a span received (a parent ends, so
        # is exported, after its children: it may arrive in a later batch).
        ids = {s.span_id for s in spans}
        return (
            {"orders", "catalog"} <= servers_of(spans)
            and any(s.service == "orders" and is_sql(s) for s in spans)
            and any(s.service == "orders" and is_http_client(s) for s in spans)
            and any(map(is_redis, spans))
            and all(s.parent_span_id in ids for s in spans if s.parent_span_id != parent_span_id)
        )

    spans = await wait_for_trace(otlp, trace_id, complete)
    orders = server_span(spans, "orders")
    assert orders.parent_span_id == parent_span_id
    assert orders.name.startswith("POST /orders")
    calls = [s for s in spans if s.service == "orders" and is_http_client(s)]
    assert calls, [s.name for s in spans]
    catalog_servers = named(spans, service="catalog", kind="SERVER")
    assert catalog_servers
    client_ids = {c.span_id for c in calls}
    assert all(s.parent_span_id in client_ids for s in catalog_servers)
    assert [s for s in spans if s.service == "orders" and is_sql(s)]
    assert [s for s in spans if is_redis(s)]
    span_ids = {s.span_id for s in spans}
    assert all(s.parent_span_id in span_ids for s in spans if s is not orders)
    order = response.json()
    assert orders.attributes["mercato.order.id"] == order["id"]
    assert orders.attributes["mercato.order.lines"] == 1
    assert orders.attributes["mercato.order.replayed"] is False


@pytest.mark.skipif(not landed("reports"), reason="the reports service has not landed yet")
async def test_report_request_continues_into_the_celery_task_and_its_logs(
    gateway: httpx.AsyncClient, otlp: OtlpReceiver
) -> None:
    token = await customer_token(gateway)
    traceparent, trace_id, parent_span_id = new_traceparent()
    response = await gateway.post(
        "/api/reports/reports",
        json={"kind": "purchases", "start": "2026-01-01", "days": 7},
        headers={"authorization": f"Bearer {token}", "traceparent": traceparent},
    )
    assert response.status_code == 202, response.text
    assert response.headers["x-trace-id"] == trace_id

    def published_and_run(spans: list[Span]) -> bool:
        kinds = {s.kind for s in spans}
        return {"PRODUCER", "CONSUMER"} <= kinds and "reports" in servers_of(spans)

    spans = await wait_for_trace(otlp, trace_id, published_and_run)
    reports = server_span(spans, "reports")
    assert reports.parent_span_id == parent_span_id
    (publish,) = [s for s in spans if s.kind == "PRODUCER"]
    assert publish.service == "reports"
    runs = [s for s in spans if s.kind == "CONSUMER"]
    assert runs
    assert runs[0].service == "worker"
    assert runs[0].parent_span_id == publish.span_id
    span_ids = {s.span_id for s in spans}
    assert publish.parent_span_id in span_ids

    logs = await asyncio.to_thread(
        otlp.wait_for,
        lambda: otlp.logs(lambda r: r.trace_id == trace_id and r.service == "worker"),
        bool,
        timeout=20.0,
    )
    assert logs
    span_ids = {s.span_id for s in otlp.trace(trace_id)}
    assert {r.span_id for r in logs} & span_ids
    job_id = response.json()["id"]
    assert reports.attributes["mercato.report.id"] == job_id
    assert reports.attributes["mercato.report.kind"] == "purchases"
    assert runs[0].attributes["mercato.report.id"] == job_id
    # ... and back: the job's status names the trace it belongs to.
    status = await gateway.get(
        f"/api/reports/reports/{job_id}", headers={"authorization": f"Bearer {token}"}
    )
    assert status.json()["trace_id"] == trace_id

    celery = {"mercato.celery.task.duration", "mercato.celery.queue.depth"}
    names = await asyncio.to_thread(
        otlp.wait_for,
        lambda: [m.name for m in otlp.metrics(lambda m: m.service == "worker")],
        lambda got: celery <= set(got),
        timeout=20.0,
    )
    assert celery <= set(names)
    durations = await wait_for_metric(
        otlp,
        "mercato.celery.task.duration",
        lambda got: any(p.attributes.get("task") == "reports.generate" for p in got),
    )
    assert "reports.generate" in {p.attributes.get("task") for p in durations}
    assert {
        p.attributes.get("queue")
        for p in otlp.metrics(lambda m: m.name == "mercato.celery.queue.depth")
    } >= {"reports"}


@pytest.mark.skipif(not landed("checkout"), reason="the checkout service has not landed yet")
async def test_checkout_quote_trace_and_partner_metrics(
    gateway: httpx.AsyncClient, otlp: OtlpReceiver
) -> None:
    product = (await gateway.get("/api/catalog/products", params={"limit": 1})).json()
    body = {
        "items": [{"product_id": product["items"][0]["id"], "quantity": 1}],
        "destination": {"country": "FR", "postal_code": "75001"},
        "currency": "USD",
    }
    traceparent, trace_id, _ = new_traceparent()
    response = await gateway.post(
        "/api/checkout/quote", json=body, headers={"traceparent": traceparent}
    )
    assert response.status_code == 200, response.text

    def fanned_out(spans: list[Span]) -> bool:
        # The checkout server span ends last, so it may be exported after the partners'.
        return {"partners", "checkout"} <= servers_of(spans)

    spans = await wait_for_trace(otlp, trace_id, fanned_out)
    checkout = server_span(spans, "checkout")
    partner_servers = named(spans, service="partners", kind="SERVER")
    assert partner_servers
    client_ids = {s.span_id for s in spans if s.service == "checkout" and is_http_client(s)}
    assert all(s.parent_span_id in client_ids for s in partner_servers)
    assert checkout.attributes["http.response.status_code"] == 200
    quote = response.json()
    assert checkout.attributes["mercato.quote.partial"] is quote["partial"]
    assert sorted(checkout.attributes["mercato.quote.sources"]) == sorted(
        f"{name}={source['status']}" for name, source in quote["sources"].items()
    )
    assert checkout.attributes["mercato.quote.currency"] == "USD"

    expected = {"mercato.partner.request.duration", "mercato.circuit_breaker.state"}
    names = await asyncio.to_thread(
        otlp.wait_for,
        lambda: [m.name for m in otlp.metrics(lambda m: m.service == "checkout")],
        lambda got: expected <= set(got),
        timeout=20.0,
    )
    assert expected <= set(names)
