"""The five routed services' OpenAPI documents, as a client generator reads them.

Readable operation ids (the functions' names), every status with its codes, the response
headers, conditional reads, the accepted job's `Location` and the report's typed result.
The apps are built, not started: `app.openapi()` needs no database.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

import topology

ROUTED = [service.name for service in topology.load().routed]
# FastAPI's default ids end with the path and method (`get_product_products__product_id__get`).
DEFAULT_ID = re.compile(r"_(get|post|put|patch|delete)$")


def document(service: str) -> dict[str, Any]:
    module = importlib.import_module(f"{service}.main")
    schema: dict[str, Any] = module.create_app().openapi()
    return schema


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return {service: document(service) for service in ROUTED}


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        op["operationId"]: op
        for path in doc["paths"].values()
        for op in path.values()
        if isinstance(op, dict)
    }


def test_operation_ids_read_like_the_code(documents: dict[str, dict[str, Any]]) -> None:
    ids = {service: set(operations(doc)) for service, doc in documents.items()}
    assert {"register_user", "get_token", "revoke_token", "get_me", "get_jwks"} <= ids["identity"]
    assert {"list_products", "get_product", "create_product"} <= ids["catalog"]
    assert {"create_order", "list_orders", "get_order"} <= ids["orders"]
    assert {"create_quote"} <= ids["checkout"]
    assert {"submit_report", "get_report", "get_report_result", "get_report_csv"} <= ids["reports"]
    for service, names in ids.items():
        assert not [name for name in names if DEFAULT_ID.search(name)], service
    for doc in documents.values():
        for name in doc["components"]["schemas"]:
            assert not DEFAULT_ID.search(name.lower()), name


def test_every_operation_documents_429_and_every_body_413(
    documents: dict[str, dict[str, Any]],
) -> None:
    for doc in documents.values():
        for name, op in operations(doc).items():
            assert "429" in op["responses"], name
            assert ("413" in op["responses"]) == ("requestBody" in op), name
            if op.get("security"):
                assert "401" in op["responses"], name


def test_conflicts_list_their_codes_and_the_one_in_progress_its_retry_after(
    documents: dict[str, dict[str, Any]],
) -> None:
    conflict = operations(documents["orders"])["create_order"]["responses"]["409"]
    assert set(conflict["x-error-codes"]) == {
        "out_of_stock",
        "unknown_product",
        "idempotency_key_in_progress",
    }
    assert "Retry-After" in conflict["headers"]
    unprocessable = operations(documents["orders"])["create_order"]["responses"]["422"]
    assert {"validation_error", "idempotency_key_reused", "mixed_currencies"} == set(
        unprocessable["x-error-codes"]
    )
    token = operations(documents["identity"])["get_token"]["responses"]
    assert set(token["401"]["x-error-codes"]) == {"invalid_credentials", "invalid_grant"}
    for doc in documents.values():
        for name, op in operations(doc).items():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["x-error-codes"], (name, status)


def test_catalog_reads_are_conditional(documents: dict[str, dict[str, Any]]) -> None:
    ops = operations(documents["catalog"])
    for name in ("list_products", "get_product"):
        parameters = {p["name"]: p for p in ops[name]["parameters"]}
        assert parameters["If-None-Match"]["in"] == "header"
        responses = ops[name]["responses"]
        for status in ("200", "304"):
            assert {"ETag", "Cache-Control", "X-Request-ID"} <= responses[status]["headers"].keys()


def test_reports_say_where_to_poll_and_what_the_result_is(
    documents: dict[str, dict[str, Any]],
) -> None:
    ops = operations(documents["reports"])
    assert ops["submit_report"]["responses"]["202"]["headers"]["Location"]["required"] is True
    result = ops["get_report_result"]["responses"]["200"]["content"]
    assert result["application/json"]["schema"] == {"$ref": "#/components/schemas/ReportResult"}
    assert result["text/csv"]["schema"] == {"type": "string"}
    csv = ops["get_report_csv"]["responses"]["200"]["content"]
    assert list(csv) == ["text/csv"]
    report = documents["reports"]["components"]["schemas"]["ReportResult"]
    assert set(report["required"]) == {
        "kind",
        "period",
        "orders",
        "currencies",
        "per_day",
        "top_products",
        "bought_together",
        "per_product_day",
    }
