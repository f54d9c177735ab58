"""Hostile inputs through the gateway: each gets a 4xx in the error shape, never a 5xx.

The gateway refuses what no service routes (extension methods, HTTP/0.9) and never hands a
service a path it did not normalise; the services refuse NUL and control characters where a
value reaches a query, and tokens whose claims have the wrong type. The walker sends every
form field, query parameter, string path parameter and JSON string of every operation of
the OpenAPI documents with NUL and control characters in it, one at a time, all other
values valid, and requires that no answer is a 5xx.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import jwt
import pytest
from hypothesis import find
from hypothesis import strategies as st

import topology
from mercato_shared.dev_keys import DEV_JWT_PRIVATE_KEY
from tests.e2e.conftest import E2EStack
from tests.e2e.test_gateway_catalog import assert_error_shape
from tests.e2e.test_identity_orders import admin, new_customer

pytestmark = pytest.mark.e2e

#: Characters that no name, key or token holds: NUL, other C0 controls, DEL.
CONTROLS = ("\x00", "\x01", "\x1b", "\x7f")
#: Methods no service routes; the gateway answers each with a 405 in the error shape.
EXTENSION_METHODS = ("FOO", "TRACK", "DEBUG", "PROPFIND", "MKCOL")


async def raw_exchange(stack: E2EStack, request: bytes) -> bytes:
    """Send `request` as it is and read until the gateway closes the connection."""
    address = urlsplit(stack.gateway)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(request)
        await writer.drain()
        received = b""
        while chunk := await asyncio.wait_for(reader.read(65536), timeout=10):
            received += chunk
        return received
    except ConnectionResetError:
        return received
    finally:
        writer.close()


def parse_head(answer: bytes) -> tuple[bytes, dict[str, str]]:
    """The status line and the headers (names in lower case) of a raw answer."""
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in head[1:])
    return head[0].encode(), {name.lower(): value.strip() for name, _, value in fields}


# --- the gateway -------------------------------------------------------------------------


@pytest.mark.parametrize("method", EXTENSION_METHODS)
async def test_a_method_no_service_routes_is_a_405_in_the_error_shape(
    gateway: httpx.AsyncClient, method: str
) -> None:
    response = await gateway.request(method, "/api/catalog/products")
    assert_error_shape(response, 405, "method_not_allowed")
    # The service lists the methods of the path (asked with TRACE, which it never routes).
    assert response.headers["allow"] == "GET, POST"


async def test_a_method_no_service_routes_is_refused_on_any_path(
    gateway: httpx.AsyncClient,
) -> None:
    for path in ("/healthz", "/nope", "/api/orders/orders/%2e%2e/export", "/api/reports//x"):
        assert_error_shape(await gateway.request("FOO", path), 405, "method_not_allowed")


async def test_trace_is_answered_for_the_normalised_path_only(stack: E2EStack) -> None:
    normal = await raw_exchange(
        stack, b"TRACE /api/catalog/products HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert normal.startswith(b"HTTP/1.1 405 "), normal
    assert parse_head(normal)[1]["allow"] == "GET, POST"
    # A path whose raw form is not its normal form is never passed on: the gateway routed
    # it as /api/catalog/products, and the service must not see /../identity/... instead.
    for path in (b"/api/orders/../catalog/products", b"/api/catalog/a/%2e%2e/products"):
        answer = await raw_exchange(
            stack, b"TRACE " + path + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        assert answer.startswith(b"HTTP/1.1 405 "), answer
        assert "allow" not in parse_head(answer)[1]
        assert b'"code":"method_not_allowed"' in answer


async def test_http_0_9_is_refused_without_an_answer(stack: E2EStack) -> None:
    for line in (b"GET /healthz\r\n", b"GET /api/catalog/products\r\n"):
        assert await raw_exchange(stack, line) == b""


@pytest.mark.parametrize("header", ["Idempotency-Key", "Authorization", "Accept", "traceparent"])
@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x7f"])
async def test_a_control_character_in_a_header_is_a_400_in_the_error_shape(
    stack: E2EStack, header: str, char: str
) -> None:
    request = (
        f"POST /api/orders/orders HTTP/1.1\r\nHost: a\r\n{header}: a{char}b\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode()
    answer = await raw_exchange(stack, request)
    status, headers = parse_head(answer)
    assert status.startswith(b"HTTP/1.1 400 "), answer
    assert headers["content-type"] == "application/json"
    assert b'"code":"bad_request"' in answer


# --- the services ------------------------------------------------------------------------


async def test_a_nul_in_the_login_form_is_a_422(gateway: httpx.AsyncClient) -> None:
    form = {"grant_type": "password", "username": "admin@example.com\x00", "password": "x"}
    response = await gateway.post("/api/identity/token", data=form)
    assert_error_shape(response, 422, "validation_error")


def _signed(**claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "2", "role": "customer", "iss": "mercato-identity", "aud": "mercato"}
    payload |= {"iat": now, "exp": now + 60} | claims
    return jwt.encode(payload, DEV_JWT_PRIVATE_KEY, algorithm="EdDSA")


@pytest.mark.parametrize(
    "path",
    ["/api/identity/me", "/api/orders/orders", "/api/reports/reports/" + str(uuid.uuid4())],
)
@pytest.mark.parametrize("role", [["admin"], {"admin": True}, 1])
async def test_a_signed_token_whose_role_has_the_wrong_type_is_401(
    gateway: httpx.AsyncClient, path: str, role: Any
) -> None:
    response = await gateway.get(path, headers={"Authorization": f"Bearer {_signed(role=role)}"})
    assert_error_shape(response, 401, "invalid_token")


# --- the walker --------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _valid_string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return date.today().isoformat()
    if fmt == "date-time":
        return datetime.now(UTC).isoformat()
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "email":
        return f"walker-{uuid.uuid4().hex[:12]}@example.com"
    low = schema.get("minLength", 1)
    if "pattern" in schema:
        # The shortest string the pattern takes (hypothesis shrinks to it deterministically).
        found: str = find(
            st.from_regex(schema["pattern"], fullmatch=True), lambda text: len(text) >= low
        )
        return found
    return "w" * int(low)


def sample(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """A valid value of `schema`, with every optional property present (so it is walked)."""
    schema = _resolve(schema, document)
    if "examples" in schema:
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [option for option in schema[key] if option.get("type") != "null"]
            return sample(options[0], document)
    kind = schema.get("type")
    if kind == "object":
        return {name: sample(prop, document) for name, prop in schema["properties"].items()}
    if kind == "array":
        return [sample(schema["items"], document)] * max(schema.get("minItems", 1), 1)
    if kind in {"integer", "number"}:
        # The largest id there may be: a row that does not exist, so no write lands.
        return schema.get("maximum", schema.get("minimum", 1))
    if kind == "boolean":
        return False
    return _valid_string(schema)


def string_leaves(value: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The location of every string in a JSON value."""
    if isinstance(value, str):
        yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_leaves(item, (*where, index))


def replaced(value: Any, where: tuple[Any, ...], new: str) -> Any:
    if not where:
        return new
    head, *rest = where
    if isinstance(value, dict):
        return value | {head: replaced(value[head], tuple(rest), new)}
    return [replaced(item, tuple(rest), new) if i == head else item for i, item in enumerate(value)]


def tainted(text: str) -> list[str]:
    """`text` with each control character put after its first character."""
    return [text[:1] + char + text[1:] for char in CONTROLS]


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    params: dict[str, Any]
    json: Any = None
    form: dict[str, str] | None = None

    def describe(self) -> str:
        return f"{self.method} {self.path} {self.params!r} {self.json!r} {self.form!r}"


def probes(prefix: str, document: dict[str, Any]) -> Iterator[Probe]:
    """Every request of the walk for one service's OpenAPI document."""
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            params: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
            for parameter in operation.get("parameters", []):
                if parameter["in"] in params:
                    value = sample(parameter["schema"], document)
                    params[parameter["in"]][parameter["name"]] = value

            def url(path_values: dict[str, Any], template: str = template) -> str:
                encoded = {name: quote(str(v), safe="") for name, v in path_values.items()}
                return prefix + template.format(**encoded)

            for kind in ("path", "query"):
                for name, value in params[kind].items():
                    if not isinstance(value, str):
                        continue
                    for bad in tainted(value):
                        values = {**params[kind], name: bad}
                        path_values = values if kind == "path" else params["path"]
                        query = values if kind == "query" else params["query"]
                        yield Probe(method.upper(), url(path_values), query)
            content = operation.get("requestBody", {}).get("content", {})
            for media, body in content.items():
                baseline = sample(body["schema"], document)
                for where in string_leaves(baseline):
                    original = baseline
                    for key in where:
                        original = original[key]
                    for bad in tainted(original):
                        mutated = replaced(baseline, where, bad)
                        request = Probe(method.upper(), url(params["path"]), params["query"])
                        if media == "application/json":
                            yield Probe(**{**request.__dict__, "json": mutated})
                        else:
                            yield Probe(**{**request.__dict__, "form": mutated})


async def test_no_field_of_any_operation_with_control_characters_gets_a_5xx(
    gateway: httpx.AsyncClient,
) -> None:
    callers = [await admin(gateway), await new_customer(gateway)]
    sent, failures = 0, []
    for service in topology.load().routed:
        prefix = f"/api/{service.name}"
        document = (await gateway.get(f"{prefix}/openapi.json")).json()
        for probe in probes(prefix, document):
            for headers in callers:
                response = await gateway.request(
                    probe.method,
                    probe.path,
                    params=probe.params,
                    json=probe.json,
                    data=probe.form,
                    headers=headers,
                )
                sent += 1
                media = response.headers.get("content-type", "")
                if response.status_code >= 500 or (
                    response.status_code >= 400 and not media.startswith("application/json")
                ):
                    failures.append(f"{response.status_code} {probe.describe()}")
    assert sent > 250, sent
    assert failures == []


async def test_a_control_character_in_the_path_is_the_services_to_judge(
    gateway: httpx.AsyncClient,
) -> None:
    # The gateway's header check never looks at the path: the service answers (422).
    headers = await new_customer(gateway)
    response = await gateway.get("/api/reports/reports/a%01b", headers=headers)
    assert_error_shape(response, 422, "validation_error")
