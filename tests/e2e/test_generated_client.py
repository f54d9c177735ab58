"""Clients generated from the running stack's OpenAPI documents do the README's tour, typed.

openapi-python-client generates one Python package per routed service from the documents
the gateway serves (`/api/<service>/openapi.json`); any generator warning fails the test.
Every call below goes through the generated code only, in strict mode
(`raise_on_unexpected_status`): a status the documents do not declare raises. The tour runs
against the stack at the gateway's default limits (`limits_gateway`), so its 429 and 413 are
the gateway's own; each test calls from a loopback address of its own, so the limits it meets
are its own too.
"""

from __future__ import annotations

import csv
import importlib
import io
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

import topology

ROUTED = [service.name for service in topology.load().routed]
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
#: Row ids stop at 2^53 - 1 (mercato_shared.json_types): the largest id no product has.
MISSING_ID = 2**53 - 1
ADMIN = ("admin@example.com", "admin-dev-password")
#: The gateway's default token and registration rate: 30 a minute, one every 2 s.
AUTH_RETRY_AFTER = "2"
REPORT_DEADLINE_SECONDS = 180


@dataclass(frozen=True)
class Generated:
    """The generated packages (`<service>_client`) and the gateway they talk to."""

    gateway: str
    address: str

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(name)

    def call(self, service: str, operation: str) -> ModuleType:
        """The generated module of one operation: `call("catalog", "get_product")`."""
        package = self.module(f"{service}_client.api")
        for tag in Path(package.__file__ or "").parent.iterdir():
            if (tag / f"{operation}.py").exists():
                return self.module(f"{service}_client.api.{tag.name}.{operation}")
        raise LookupError(operation)

    def model(self, service: str, name: str) -> Any:
        return getattr(self.module(f"{service}_client.models"), name)

    def client(self, service: str, token: str | None = None) -> Any:
        package = self.module(f"{service}_client")
        options: dict[str, Any] = {
            "base_url": f"{self.gateway}/api/{service}",
            "raise_on_unexpected_status": True,
            "timeout": httpx.Timeout(30),
            "httpx_args": {"transport": httpx.HTTPTransport(local_address=self.address)},
        }
        if token is None:
            return package.Client(**options)
        return package.AuthenticatedClient(token=token, **options)


@pytest.fixture(scope="module")
def generated_root(limits_gateway: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")
    for service in ROUTED:
        document = root / f"{service}.json"
        response = httpx.get(f"{limits_gateway}/api/{service}/openapi.json", timeout=10)
        response.raise_for_status()
        document.write_bytes(response.content)
        result = subprocess.run(
            [
                str(GENERATOR),
                "generate",
                "--path",
                str(document),
                "--output-path",
                str(root / f"{service}_client"),
                "--meta",
                "none",
                "--config",
                str(config),
                "--fail-on-warning",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "warning" not in output.lower(), output
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.split(".")[0].endswith("_client")]:
            del sys.modules[name]


def generated_from(gateway: str, address: str) -> Generated:
    return Generated(gateway=gateway, address=address)


def login(api: Generated, email: str, password: str) -> Any:
    body = api.model("identity", "BodyGetToken")(
        grant_type="password", username=email, password=password
    )
    tokens = api.call("identity", "get_token").sync(client=api.client("identity"), body=body)
    assert isinstance(tokens, api.model("identity", "TokenResponse")), tokens
    return tokens


def register(api: Generated, email: str, password: str, display_name: str = "Ana") -> Any:
    body = api.model("identity", "UserCreate")(
        email=email, password=password, display_name=display_name
    )
    return api.call("identity", "register_user").sync_detailed(
        client=api.client("identity"), body=body
    )


def assert_error(api: Generated, response: Any, status: int, code: str) -> Any:
    """A response of the generated code, parsed into the documented error type."""
    assert response.status_code == status, response.content
    error_type = api.model("identity", "ErrorResponse").__name__
    assert type(response.parsed).__name__ == error_type, response.parsed
    assert response.parsed.error.code == code
    assert response.parsed.error.request_id == response.headers["x-request-id"]
    return response.parsed


def test_the_tour_through_generated_clients(generated_root: Path, limits_gateway: str) -> None:
    api = generated_from(limits_gateway, "127.0.0.23")
    unset = api.module("catalog_client.types").UNSET

    # Register and log in.
    email, password = f"tour-{secrets.token_hex(4)}@example.com", "correct horse battery"
    created = register(api, email, password)
    assert created.status_code == 201
    assert created.parsed.email == email
    tokens = login(api, email, password)

    # Page through the products to the end.
    catalog = api.client("catalog")
    products: list[Any] = []
    cursor = unset
    while True:
        page = api.call("catalog", "list_products").sync(client=catalog, limit=100, cursor=cursor)
        assert isinstance(page, api.model("catalog", "ProductPage"))
        products += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    ids = [product.id for product in products]
    assert ids == sorted(set(ids))
    assert len(ids) > 100  # more than one page

    # A conditional read that gets its 304.
    product = next(item for item in products if item.stock >= 10)
    get_product = api.call("catalog", "get_product")
    first = get_product.sync_detailed(product.id, client=catalog)
    assert first.status_code == 200
    assert first.parsed.id == product.id
    assert first.headers["cache-control"].startswith("public")
    etag = first.headers["etag"]
    again = get_product.sync_detailed(product.id, client=catalog, if_none_match=etag)
    assert again.status_code == 304
    assert again.parsed is None
    assert again.headers["etag"] == etag

    # An order and its idempotent replay.
    orders = api.client("orders", tokens.access_token)
    line = api.model("orders", "LineIn")(product_id=product.id, quantity=1)
    order_body = api.model("orders", "OrderCreate")(items=[line])
    create_order = api.call("orders", "create_order")
    key = f"tour-{secrets.token_hex(8)}"
    order = create_order.sync_detailed(client=orders, body=order_body, idempotency_key=key)
    assert order.status_code == 201
    replay = create_order.sync_detailed(client=orders, body=order_body, idempotency_key=key)
    assert replay.status_code == 201
    assert replay.parsed.id == order.parsed.id

    # A quote.
    quote_body = api.model("checkout", "QuoteRequest")(
        items=[api.model("checkout", "QuoteLine")(product_id=product.id, quantity=2)],
        destination=api.model("checkout", "Destination")(
            country=api.model("checkout", "DestinationCountry").DE, postal_code="10115"
        ),
        currency=api.model("checkout", "QuoteRequestCurrency").USD,
    )
    quote = api.call("checkout", "create_quote").sync(
        client=api.client("checkout"), body=quote_body
    )
    assert isinstance(quote, api.model("checkout", "QuoteOut")), quote
    assert quote.total.currency == "USD"
    assert [line.product_id for line in quote.items] == [product.id]

    # An admin's sales report, polled to success, downloaded as JSON and as CSV.
    admin = api.client("reports", login(api, *ADMIN).access_token)
    today = datetime.now(UTC).date()
    report_body = api.model("reports", "ReportRequest")(
        kind=api.model("reports", "ReportRequestKind").SALES,
        start=today - timedelta(days=30),
        days=31,
    )
    accepted = api.call("reports", "submit_report").sync_detailed(client=admin, body=report_body)
    assert accepted.status_code == 202
    job = accepted.parsed
    assert accepted.headers["location"].endswith(f"/api/reports/reports/{job.id}")
    get_report = api.call("reports", "get_report")
    deadline = time.monotonic() + REPORT_DEADLINE_SECONDS
    while job.status.value not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = get_report.sync(job.id, client=admin)
    assert job.status.value == "succeeded", job
    result = api.call("reports", "get_report_result").sync(job.id, client=admin)
    assert isinstance(result, api.model("reports", "ReportResult")), result
    assert result.orders >= 1
    assert any(row.product_id == product.id for row in result.per_product_day)
    table = api.call("reports", "get_report_csv").sync(job.id, client=admin)
    assert isinstance(table, str)
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == len(result.per_product_day)
    assert {int(row["product_id"]) for row in rows} == {
        row.product_id for row in result.per_product_day
    }

    # A refresh-token revoke: the token is spent for good.
    identity = api.client("identity")
    revoked = api.call("identity", "revoke_token").sync_detailed(
        client=identity,
        body=api.model("identity", "BodyRevokeToken")(token=tokens.refresh_token),
    )
    assert revoked.status_code == 204
    assert "content-type" not in revoked.headers  # no body, so no type of one
    refresh = api.model("identity", "BodyGetToken")(
        grant_type="refresh_token", refresh_token=tokens.refresh_token
    )
    refused = api.call("identity", "get_token").sync_detailed(client=identity, body=refresh)
    assert_error(api, refused, 401, "invalid_grant")


def test_each_error_parses_into_its_documented_type(
    generated_root: Path, limits_gateway: str
) -> None:
    api = generated_from(limits_gateway, "127.0.0.24")
    email, password = f"errors-{secrets.token_hex(4)}@example.com", "correct horse battery"
    assert register(api, email, password).status_code == 201
    customer = login(api, email, password).access_token

    # 401: a token that is not one.
    me = api.call("identity", "get_me").sync_detailed(client=api.client("identity", "not-a-token"))
    assert_error(api, me, 401, "invalid_token")
    # 403: a customer asking for a sales report.
    sales = api.model("reports", "ReportRequest")(
        kind=api.model("reports", "ReportRequestKind").SALES,
        start=datetime.now(UTC).date(),
        days=1,
    )
    forbidden = api.call("reports", "submit_report").sync_detailed(
        client=api.client("reports", customer), body=sales
    )
    assert_error(api, forbidden, 403, "forbidden")
    # 404: a product that does not exist.
    missing = api.call("catalog", "get_product").sync_detailed(
        MISSING_ID, client=api.client("catalog")
    )
    assert_error(api, missing, 404, "not_found")
    # 409: an order of a product that does not exist.
    unknown = api.model("orders", "OrderCreate")(
        items=[api.model("orders", "LineIn")(product_id=MISSING_ID, quantity=1)]
    )
    conflict = api.call("orders", "create_order").sync_detailed(
        client=api.client("orders", customer), body=unknown
    )
    assert_error(api, conflict, 409, "unknown_product")
    # 413: a body larger than the gateway takes (1 MiB by default).
    too_large = register(api, f"big-{email}", password, display_name="x" * (2 << 20))
    assert_error(api, too_large, 413, "payload_too_large")
    # 422: a page size out of range.
    invalid = api.call("catalog", "list_products").sync_detailed(
        client=api.client("catalog"), limit=0
    )
    assert_error(api, invalid, 422, "validation_error")
    assert invalid.parsed.error.details[0].loc == ["query", "limit"]
    # 429: wrong passwords past the token zone's burst; it says when to come back. Each try
    # names another account, so the per-account login throttle (its own 429) stays out of it.
    get_token = api.call("identity", "get_token")
    statuses: list[int] = []
    for number in range(40):
        wrong = api.model("identity", "BodyGetToken")(
            grant_type="password", username=f"nobody-{number}-{email}", password="wrong password"
        )
        attempt = get_token.sync_detailed(client=api.client("identity"), body=wrong)
        statuses.append(attempt.status_code)
        if attempt.status_code == 429:
            break
    assert set(statuses) == {401, 429}, statuses
    assert_error(api, attempt, 429, "rate_limited")
    assert attempt.headers["retry-after"] == AUTH_RETRY_AFTER
