"""Identity, admin-only catalog writes and orders, through the gateway only."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mercato_shared.dev_keys import DEV_JWT_PRIVATE_KEY
from tests.e2e.test_gateway_catalog import assert_error_shape


async def login(gateway: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await gateway.post(
        "/api/identity/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def new_customer(gateway: httpx.AsyncClient) -> dict[str, str]:
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": "e2e password", "display_name": "E2E"}
    registered = await gateway.post("/api/identity/users", json=body)
    assert registered.status_code == 201, registered.text
    return await login(gateway, email.upper(), "e2e password")


async def admin(gateway: httpx.AsyncClient) -> dict[str, str]:
    return await login(gateway, "admin@example.com", "admin-dev-password")


async def new_product(
    gateway: httpx.AsyncClient, headers: dict[str, str], stock: int, price: str = "12.50"
) -> int:
    body = {
        "sku": f"E2E-{uuid.uuid4().hex[:10].upper()}",
        "name": "E2E widget",
        "price": price,
        "stock": stock,
        "category": "office",
    }
    response = await gateway.post("/api/catalog/products", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def order(*lines: tuple[int, int]) -> dict[str, Any]:
    return {"items": [{"product_id": pid, "quantity": qty} for pid, qty in lines]}


async def test_register_login_order_idempotently_and_list(gateway: httpx.AsyncClient) -> None:
    customer = await new_customer(gateway)
    me = await gateway.get("/api/identity/me", headers=customer)
    assert me.json()["role"] == "customer"
    product = await new_product(gateway, await admin(gateway), stock=10)

    headers = customer | {"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}
    first = await gateway.post("/api/orders/orders", json=order((product, 2)), headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["total"] == "25.00"
    again = await gateway.post("/api/orders/orders", json=order((product, 2)), headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    reused = await gateway.post("/api/orders/orders", json=order((product, 3)), headers=headers)
    assert_error_shape(reused, 422, "idempotency_key_reused")

    listed = (await gateway.get("/api/orders/orders", headers=customer)).json()
    assert [o["id"] for o in listed["items"]] == [first.json()["id"]], "one row, not two"
    stock = (await gateway.get(f"/api/catalog/products/{product}")).json()["stock"]
    assert stock == 8


async def test_catalog_writes_are_admin_only(gateway: httpx.AsyncClient) -> None:
    customer = await new_customer(gateway)
    body = {"sku": "E2E-NOPE-1", "name": "x", "price": "1.00", "category": "office"}
    refused = await gateway.post("/api/catalog/products", json=body, headers=customer)
    assert_error_shape(refused, 403, "forbidden")
    anonymous = await gateway.post("/api/catalog/products", json=body)
    assert_error_shape(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert await new_product(gateway, await admin(gateway), stock=1) > 0


async def test_parallel_orders_never_oversell(gateway: httpx.AsyncClient) -> None:
    administrator = await admin(gateway)
    product = await new_product(gateway, administrator, stock=100)
    patched = await gateway.patch(
        f"/api/catalog/products/{product}", json={"stock": 5}, headers=administrator
    )
    assert patched.json()["stock"] == 5
    customer = await new_customer(gateway)
    responses = await asyncio.gather(
        *(
            gateway.post("/api/orders/orders", json=order((product, 1)), headers=customer)
            for _ in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 15, statuses
    for response in responses:
        if response.status_code == 409:
            assert_error_shape(response, 409, "out_of_stock")
    assert (await gateway.get(f"/api/catalog/products/{product}")).json()["stock"] == 0
    listed = await gateway.get("/api/orders/orders", params={"limit": 100}, headers=customer)
    assert len(listed.json()["items"]) == 5


async def test_bad_orders_are_4xx_and_write_nothing(gateway: httpx.AsyncClient) -> None:
    customer = await new_customer(gateway)
    product = await new_product(gateway, await admin(gateway), stock=3)
    cases: list[tuple[Any, int, str]] = [
        ({}, 422, "validation_error"),
        (order((product, -1)), 422, "validation_error"),
        (order(*((n, 1) for n in range(1, 10_001))), 422, "validation_error"),
        (order((2**52, 1)), 409, "unknown_product"),
        (order((2**62, 1)), 422, "validation_error"),  # past 2**53 - 1: no row id
        ({"items": [{"product_id": "9" * 5000, "quantity": 1}]}, 422, "validation_error"),
        ({"items": "x" * 100_000}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = await gateway.post("/api/orders/orders", json=body, headers=customer)
        assert_error_shape(response, status, code)
    assert (await gateway.get("/api/orders/orders", headers=customer)).json()["items"] == []
    assert (await gateway.get(f"/api/catalog/products/{product}")).json()["stock"] == 3


async def test_another_users_order_is_404(gateway: httpx.AsyncClient) -> None:
    owner, stranger = await new_customer(gateway), await new_customer(gateway)
    product = await new_product(gateway, await admin(gateway), stock=3)
    created = await gateway.post("/api/orders/orders", json=order((product, 1)), headers=owner)
    order_id = created.json()["id"]
    assert (await gateway.get(f"/api/orders/orders/{order_id}", headers=owner)).status_code == 200
    response = await gateway.get(f"/api/orders/orders/{order_id}", headers=stranger)
    assert_error_shape(response, 404, "not_found")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "2",
        "role": "admin",
        "iss": "mercato-identity",
        "aud": "mercato",
        "iat": now,
        "exp": now + 600,
    } | overrides


def _tampered(valid: str, **changes: Any) -> str:
    """`valid` with its payload changed, its header and signature kept."""
    head, body, signature = valid.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return f"{head}.{_b64(json.dumps(payload | changes).encode())}.{signature}"


async def test_bad_tokens_are_401_with_www_authenticate(gateway: httpx.AsyncClient) -> None:
    stranger_key = Ed25519PrivateKey.generate()
    # The stack runs with the development signing key: an expired token signed with it is
    # wrong in its expiry alone (the same claims with a future `exp` are accepted below).
    identity_key = DEV_JWT_PRIVATE_KEY
    header_none = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    customer = (await new_customer(gateway))["Authorization"].removeprefix("Bearer ")
    now = int(time.time())
    user = jwt.decode(customer, options={"verify_signature": False})["sub"]
    fresh = _claims(sub=user, role="customer", iat=now - 700, exp=now + 600)
    accepted = jwt.encode(fresh, identity_key, algorithm="EdDSA")
    ok = await gateway.get("/api/orders/orders", headers={"Authorization": f"Bearer {accepted}"})
    assert ok.status_code == 200, ok.text
    tokens = {
        "expired": jwt.encode(fresh | {"exp": now - 60}, identity_key, algorithm="EdDSA"),
        "wrongly signed": jwt.encode(_claims(), stranger_key, algorithm="EdDSA"),
        "alg none": f"{header_none}.{_b64(json.dumps(_claims()).encode())}.",
        "malformed": "not.a.token",
        "tampered": _tampered(customer, role="admin"),
    }
    for name, token in tokens.items():
        response = await gateway.get(
            "/api/orders/orders", headers={"Authorization": f"Bearer {token}"}
        )
        assert_error_shape(response, 401, "invalid_token")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"', name
        if name == "expired":
            assert "expired" in response.json()["error"]["message"], name
