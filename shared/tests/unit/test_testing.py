"""The pieces of mercato_shared.testing that decide something: tokens, fakes, allocation."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from fastapi import FastAPI

from mercato_shared.auth import InvalidTokenError, verifier_for
from mercato_shared.dev_keys import DEV_JWT_PRIVATE_KEY, DEV_JWT_PUBLIC_KEY
from mercato_shared.http import send
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.testing.database import truncate
from mercato_shared.testing.fakes import ServiceCaller, fake_identity
from mercato_shared.testing.loopback import outbound_session, serve_all
from mercato_shared.testing.redis_databases import NOT_FOR_SUITES, SUITE_DATABASES, redis_url_of
from mercato_shared.testing.suite import ServiceSuite
from mercato_shared.testing.tokens import bearer, mint_token


class ShopSettings(BaseServiceSettings):
    service_name = "orders"
    database_name = "orders"


def test_a_minted_token_passes_the_services_verifier() -> None:
    principal = verifier_for(BaseServiceSettings()).verify(mint_token("7", "admin"))
    assert (principal.subject, principal.role) == ("7", "admin")
    header = bearer(42)["Authorization"]
    assert header.startswith("Bearer ")
    assert verifier_for(BaseServiceSettings()).verify(header.removeprefix("Bearer ")).role == (
        "customer"
    )


def test_the_signing_key_is_the_private_half_of_the_development_public_key() -> None:
    key = load_pem_private_key(DEV_JWT_PRIVATE_KEY.encode(), password=None)
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert public.decode() == DEV_JWT_PUBLIC_KEY


def test_a_token_for_another_audience_or_an_unknown_role_is_refused() -> None:
    with pytest.raises(InvalidTokenError):
        verifier_for(BaseServiceSettings()).verify(mint_token("7", audience="elsewhere"))
    with pytest.raises(ValueError, match="unknown role"):
        mint_token("7", "root")  # type: ignore[arg-type]


def test_each_suite_has_a_redis_database_of_its_own() -> None:
    databases = list(SUITE_DATABASES.values())
    assert len(set(databases)) == len(databases)
    assert not set(databases) & NOT_FOR_SUITES
    assert all(0 <= database <= 15 for database in databases)
    assert redis_url_of("catalog") == f"redis://127.0.0.1:6379/{SUITE_DATABASES['catalog']}"
    with pytest.raises(LookupError, match="SUITE_DATABASES"):
        redis_url_of("nobody")


def test_a_suites_settings_are_on_its_test_database_and_redis() -> None:
    suite = ServiceSuite(ShopSettings, overrides={"cache_ttl_seconds": 7})
    settings = suite.settings_for(log_level="DEBUG")
    assert settings.database_url.endswith("/it_orders")
    assert settings.redis_url == redis_url_of("orders")
    assert (settings.cache_ttl_seconds, settings.log_level) == (7, "DEBUG")
    assert suite.base_url == "http://orders"
    with pytest.raises(RuntimeError, match="no app factory"):
        suite.app(settings)


async def test_truncate_takes_only_table_names() -> None:
    with pytest.raises(ValueError, match="not table names"):
        await truncate("postgresql+asyncpg://nobody@127.0.0.1:1/x", ["users; DROP TABLE x"])


def upstream() -> FastAPI:
    app = FastAPI()

    @app.get("/internal")
    async def internal(caller: ServiceCaller) -> dict[str, str]:
        return {"caller": caller.subject}

    return app


async def test_a_fake_upstream_admits_the_service_token_fake_identity_issues() -> None:
    identity = fake_identity()
    apps = {"identity": identity, "upstream": upstream()}
    async with serve_all(apps) as urls, outbound_session() as http:
        form = {"grant_type": "client_credentials", "client_id": "catalog", "client_secret": "s"}
        issued = await send(http, "POST", f"{urls['identity']}/token", data=form)
        assert issued.status_code == 200
        token = issued.json()["access_token"]
        answer = await send(
            http,
            "GET",
            f"{urls['upstream']}/internal",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.json() == {"caller": "catalog"}
        assert identity.state.issued == ["catalog"]

        refused: list[int] = []
        for headers in ({}, bearer(7), {"Authorization": "Bearer not-a-token"}):
            response = await send(http, "GET", f"{urls['upstream']}/internal", headers=headers)
            refused.append(response.status_code)
        assert refused == [401, 403, 401]
        no_secret = await send(
            http, "POST", f"{urls['identity']}/token", data=form | {"client_secret": ""}
        )
        assert no_secret.status_code in (400, 422)


async def test_serve_all_serves_each_app_on_a_port_of_its_own() -> None:
    first, second = FastAPI(), FastAPI()
    first.get("/")(lambda: "first")
    second.get("/")(lambda: "second")
    async with serve_all({"a": first, "b": second}) as urls, outbound_session() as http:
        answers = [(await send(http, "GET", f"{urls[name]}/")).json() for name in ("a", "b")]
    assert urls["a"] != urls["b"]
    assert answers == ["first", "second"]
