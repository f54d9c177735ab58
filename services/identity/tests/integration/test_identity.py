"""Identity against the real Postgres: accounts, the token grants, rotation, revocation."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from identity.config import IdentitySettings
from identity.seed import DEMO_PASSWORD, demo_email, seed
from mercato_shared.auth import verifier_for

USER = {"email": "Ada@Example.COM ", "password": "correct horse", "display_name": "Ada"}


async def scalar(settings: IdentitySettings, sql: str) -> Any:
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        value = (await conn.execute(text(sql))).scalar_one()
    await engine.dispose()
    return value


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        "/token", data={"grant_type": "password", "username": email, "password": password}
    )


async def test_register_login_me(client: httpx.AsyncClient, migrated: IdentitySettings) -> None:
    created = await client.post("/users", json=USER)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "ada@example.com"
    assert created.json()["role"] == "customer"
    assert "password" not in created.text

    tokens = await login(client, "ADA@example.com", "correct horse")
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert tokens.headers["cache-control"] == "no-store"
    principal = verifier_for(migrated).verify(body["access_token"])
    assert (principal.subject, principal.role) == (str(created.json()["id"]), "customer")

    me = await client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["email"] == "ada@example.com"
    stored = await scalar(migrated, "SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$")
    assert body["refresh_token"] not in str(
        await scalar(migrated, "SELECT token_hash FROM refresh_tokens")
    )


async def test_email_is_unique_whatever_its_case(
    client: httpx.AsyncClient, migrated: IdentitySettings
) -> None:
    assert (await client.post("/users", json=USER)).status_code == 201
    again = await client.post("/users", json=USER | {"email": "ada@EXAMPLE.com"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"
    assert await scalar(migrated, "SELECT count(*) FROM users") == 1


@pytest.mark.parametrize(
    "body",
    [
        USER | {"password": "short"},
        USER | {"password": "x" * 129},
        USER | {"email": "not-an-email"},
        USER | {"email": "a" * 300 + "@example.com"},
        USER | {"display_name": ""},
        USER | {"display_name": "x" * 10_000},
        USER | {"display_name": "Ada\u0000"},
        USER | {"email": "ada\u0000@example.com"},
        USER | {"role": "admin"},
        {"email": "ada@example.com"},
    ],
)
async def test_bad_registrations_are_422_and_write_nothing(
    client: httpx.AsyncClient, migrated: IdentitySettings, body: dict[str, Any]
) -> None:
    response = await client.post("/users", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert await scalar(migrated, "SELECT count(*) FROM users") == 0


async def test_wrong_password_and_unknown_user_look_the_same(client: httpx.AsyncClient) -> None:
    await client.post("/users", json=USER)
    wrong = await login(client, "ada@example.com", "wrong password")
    unknown = await login(client, "nobody@example.com", "wrong password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"
        assert response.json()["error"]["message"] == "The email or password is wrong."


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    await client.post("/users", json=USER)
    first = (await login(client, "ada@example.com", "correct horse")).json()["refresh_token"]

    def refresh(token: str) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": token}

    rotated = await client.post("/token", data=refresh(first))
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first

    replayed = await client.post("/token", data=refresh(first))
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "invalid_grant"
    # The replay revoked the family: the legitimate holder's token is dead too.
    assert (await client.post("/token", data=refresh(second))).status_code == 401


async def test_revoke_logs_out(client: httpx.AsyncClient) -> None:
    await client.post("/users", json=USER)
    token = (await login(client, "ada@example.com", "correct horse")).json()["refresh_token"]
    assert (await client.post("/token/revoke", data={"token": token})).status_code == 204
    refused = await client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )
    assert refused.status_code == 401
    assert (await client.post("/token/revoke", data={"token": "unknown"})).status_code == 204


async def test_client_credentials_issue_a_service_token(
    client: httpx.AsyncClient, migrated: IdentitySettings
) -> None:
    granted = await client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "reports",
            "client_secret": "reports-dev-secret",
        },
    )
    assert granted.status_code == 200
    assert granted.json()["refresh_token"] is None
    principal = verifier_for(migrated).verify(granted.json()["access_token"])
    assert (principal.subject, principal.role) == ("reports", "service")

    for client_id, secret in (("reports", "wrong-secret-value"), ("nobody", "reports-dev-secret")):
        refused = await client.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert refused.status_code == 401


async def test_unsupported_grant_is_400(client: httpx.AsyncClient) -> None:
    for data in ({"grant_type": "implicit"}, {"grant_type": "password", "username": "a"}):
        response = await client.post("/token", data=data)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "unsupported_grant_type"
    assert (await client.post("/token", data={})).status_code == 422


#: Each token form field with a NUL or another control character in it.
CONTROL_FORMS = [
    {"grant_type": "password", "username": f"ada{char}@example.com", "password": "correct horse"}
    for char in ("\x00", "\x01", "\x1f", "\x7f", "\n")
] + [
    {"grant_type": "refresh_token", "refresh_token": "abc\x00def"},
    {"grant_type": "client_credentials", "client_id": "orders\x00", "client_secret": "s"},
    {"grant_type": "client_credentials", "client_id": "orders", "client_secret": "s\x00"},
    {"grant_type": "pass\x00word", "username": "ada@example.com", "password": "x"},
]


@pytest.mark.parametrize("data", CONTROL_FORMS)
async def test_control_characters_in_token_form_fields_are_422(
    client: httpx.AsyncClient, data: dict[str, str]
) -> None:
    await client.post("/users", json=USER)
    response = await client.post("/token", data=data)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_a_nul_in_a_revoked_token_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/token/revoke", data={"token": "abc\x00"})
    assert response.status_code == 422, response.text


async def test_jwks_publishes_the_verification_key(
    client: httpx.AsyncClient, migrated: IdentitySettings
) -> None:
    await client.post("/users", json=USER)
    access = (await login(client, "ada@example.com", "correct horse")).json()["access_token"]
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    key = jwt.PyJWK(keys[0])
    claims = jwt.decode(access, key, algorithms=["EdDSA"], audience=migrated.jwt_audience)
    assert claims["role"] == "customer"


async def test_seed_creates_the_admin_once(
    client: httpx.AsyncClient, migrated: IdentitySettings
) -> None:
    assert await seed(migrated, customers=3) == 4
    assert await seed(migrated, customers=3) == 0
    admin = await login(client, "admin@example.com", "admin-dev-password")
    assert verifier_for(migrated).verify(admin.json()["access_token"]).role == "admin"
    demo = await login(client, demo_email(2), DEMO_PASSWORD)
    assert demo.status_code == 200


# --- login throttling and the password policy -------------------------------------------


async def test_failed_logins_of_one_account_are_throttled_across_addresses(
    client: httpx.AsyncClient,
) -> None:
    """Five failures a minute (the default first tier), from five addresses: the sixth
    attempt is a 429 even with the right password, and other accounts are untouched."""
    await client.post("/users", json=USER)
    other = USER | {"email": "grace@example.com", "display_name": "Grace"}
    await client.post("/users", json=other)
    form = {"grant_type": "password", "username": "ada@example.com"}
    for n in range(5):
        wrong = await client.post(
            "/token", data=form | {"password": "wrong horse"}, headers={"X-Real-IP": f"10.0.0.{n}"}
        )
        assert wrong.status_code == 401, wrong.text
    right = await client.post(
        "/token", data=form | {"password": "correct horse"}, headers={"X-Real-IP": "10.0.0.9"}
    )
    assert right.status_code == 429, right.text
    assert right.json()["error"]["code"] == "login_throttled"
    assert 1 <= int(right.headers["retry-after"]) <= 60
    assert (await login(client, "grace@example.com", "correct horse")).status_code == 200


async def test_a_successful_login_clears_the_count(client: httpx.AsyncClient) -> None:
    await client.post("/users", json=USER)
    for _ in range(2):
        for _ in range(4):
            assert (await login(client, "ada@example.com", "wrong horse")).status_code == 401
        assert (await login(client, "ada@example.com", "correct horse")).status_code == 200


async def test_unknown_accounts_are_throttled_like_known_ones(client: httpx.AsyncClient) -> None:
    statuses = [
        (await login(client, "nobody@example.com", "x-wrong")).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


@pytest.mark.parametrize(
    "password", ["password", "12345678", "ada@example.com", "iloveyou1", "qwertyuiop"]
)
async def test_guessable_passwords_are_refused_at_registration(
    client: httpx.AsyncClient, migrated: IdentitySettings, password: str
) -> None:
    response = await client.post("/users", json=USER | {"password": password})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "weak_password"
    assert await scalar(migrated, "SELECT count(*) FROM users") == 0
