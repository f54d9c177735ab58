"""The walking skeleton, through the gateway only."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import E2EStack


def assert_error_shape(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert "trace_id" in error
    assert "<html" not in response.text.lower()
    assert "Traceback" not in response.text


async def test_gateway_health(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_lists_five_seeded_products(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/api/catalog/products", params={"limit": 5})
    assert response.status_code == 200
    page = response.json()
    assert len(page["items"]) == 5
    assert page["next_cursor"]
    assert {"id", "sku", "name", "price", "currency", "stock", "category"} <= page["items"][
        0
    ].keys()


async def test_seed_loaded_at_least_a_thousand_products(gateway: httpx.AsyncClient) -> None:
    count, cursor = 0, None
    while True:
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await gateway.get("/api/catalog/products", params=params)).json()
        count += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert count >= 1000


async def test_get_one_product(gateway: httpx.AsyncClient) -> None:
    first = (await gateway.get("/api/catalog/products", params={"limit": 1})).json()["items"][0]
    response = await gateway.get(f"/api/catalog/products/{first['id']}")
    assert response.json() == first


@pytest.mark.parametrize("path", ["/nope", "/api/unknown/x", "/api/catalog/nope"])
async def test_unknown_paths_are_json_404(gateway: httpx.AsyncClient, path: str) -> None:
    assert_error_shape(await gateway.get(path), 404, "not_found")


async def test_non_numeric_product_id_is_422(gateway: httpx.AsyncClient) -> None:
    assert_error_shape(await gateway.get("/api/catalog/products/abc"), 422, "validation_error")


async def test_oversized_body_is_413(gateway: httpx.AsyncClient) -> None:
    body = json.dumps({"name": "x" * (2 * 1024 * 1024)})
    response = await gateway.post(
        "/api/catalog/products", content=body, headers={"content-type": "application/json"}
    )
    assert_error_shape(response, 413, "payload_too_large")


async def test_request_id_is_echoed_or_generated(gateway: httpx.AsyncClient) -> None:
    echoed = await gateway.get("/api/catalog/products/abc", headers={"x-request-id": "e2e-req-1"})
    assert echoed.headers["x-request-id"] == "e2e-req-1"
    assert echoed.json()["error"]["request_id"] == "e2e-req-1"
    assert len(echoed.headers.get_list("x-request-id")) == 1

    generated = await gateway.get("/api/catalog/products", params={"limit": 1})
    assert len(generated.headers["x-request-id"]) >= 16


async def test_docs_work_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    docs = await gateway.get("/api/catalog/docs")
    assert docs.status_code == 200
    assert "/api/catalog/openapi.json" in docs.text
    spec = await gateway.get("/api/catalog/openapi.json")
    assert "/products/{product_id}" in spec.json()["paths"]


async def test_gateway_access_log_is_json_with_request_ids(
    gateway: httpx.AsyncClient, stack: E2EStack
) -> None:
    await gateway.get(
        "/api/catalog/products", params={"limit": 1}, headers={"x-request-id": "e2e-log-1"}
    )
    log = stack.run_dir / "logs" / "gateway-access.log"
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(
        entry["request_id"] == "e2e-log-1" and entry["status"] in (200, "200") for entry in entries
    )
