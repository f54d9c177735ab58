"""Set-up calls the bench makes through the gateway: tokens, stock, partner faults, reports."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta

import httpx

ADMIN_EMAIL = os.environ.get("ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "admin-dev-password")
PARTNERS = ("carrier-swift", "carrier-parcelpost", "carrier-freightline", "tax", "fx")


def token(gateway: str, email: str, password: str) -> str:
    response = httpx.post(
        f"{gateway}/api/identity/token",
        data={"grant_type": "password", "username": email, "password": password},
        timeout=10,
    )
    response.raise_for_status()
    value: str = response.json()["access_token"]
    return value


def admin_token(gateway: str) -> str:
    return token(gateway, ADMIN_EMAIL, ADMIN_PASSWORD)


def customer_token(gateway: str) -> str:
    """A fresh customer (its own orders only), registered for this run."""
    email = f"bench-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(16)
    response = httpx.post(
        f"{gateway}/api/identity/users",
        json={"email": email, "password": password, "display_name": "Bench"},
        timeout=10,
    )
    response.raise_for_status()
    return token(gateway, email, password)


def restock(gateway: str, admin: str, products: int, stock: int) -> None:
    """Give every product `stock` units, so that an order load never runs out."""
    headers = {"authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=f"{gateway}/api/catalog", headers=headers, timeout=10) as client:
        for product_id in range(1, products + 1):
            client.patch(f"/products/{product_id}", json={"stock": stock}).raise_for_status()


def warm_reads(gateway: str, products: int) -> None:
    """Read every product once through the gateway, so that its copy is in the caches."""
    with httpx.Client(base_url=f"{gateway}/api/catalog", timeout=10) as client:
        for product_id in range(1, products + 1):
            client.get(f"/products/{product_id}").raise_for_status()


def set_faults(
    partners_url: str, profile: dict[str, object], only: tuple[str, ...] = PARTNERS
) -> None:
    with httpx.Client(base_url=partners_url, timeout=10) as client:
        client.post("/admin/faults/reset").raise_for_status()
        for partner in only:
            client.put(f"/admin/faults/{partner}", json=profile).raise_for_status()


def reset_faults(partners_url: str) -> None:
    httpx.post(f"{partners_url}/admin/faults/reset", timeout=10).raise_for_status()


def submit_report(client: httpx.Client, admin: str) -> str:
    today = datetime.now(UTC).date()
    response = client.post(
        "/api/reports/reports",
        json={"kind": "sales", "start": str(today - timedelta(days=120)), "days": 121},
        headers={"authorization": f"Bearer {admin}"},
    )
    response.raise_for_status()
    job_id: str = response.json()["id"]
    return job_id


def report_status(client: httpx.Client, admin: str, job_id: str) -> str:
    response = client.get(
        f"/api/reports/reports/{job_id}", headers={"authorization": f"Bearer {admin}"}
    )
    response.raise_for_status()
    status: str = response.json()["status"]
    return status
