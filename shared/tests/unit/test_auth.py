"""Local token verification: what is accepted, what is refused, and how."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import APIRouter, Depends
from pydantic import ValidationError

from mercato_shared.app import create_app
from mercato_shared.auth import (
    AdminUser,
    CurrentUser,
    InvalidTokenError,
    Principal,
    TokenVerifier,
    require_roles,
    verifier_for,
)
from mercato_shared.dependencies import NOTHING
from mercato_shared.dev_keys import DEV_JWT_PUBLIC_KEY
from mercato_shared.settings import BaseServiceSettings

KEY = Ed25519PrivateKey.generate()
PUBLIC_PEM = KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
ISSUER, AUDIENCE = "mercato-identity", "mercato"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "sub": "42",
        "role": "customer",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def token(key: Ed25519PrivateKey = KEY, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="EdDSA")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned(header: dict[str, Any], body: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(body).encode())
    return head + "." + b64(signature)


def tampered(valid: str, **changes: Any) -> str:
    """`valid` with its payload changed and its header and signature kept."""
    head, body, signature = valid.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return f"{head}.{b64(json.dumps(payload | changes).encode())}.{signature}"


def hs256_with_public_key() -> str:
    """The classic confusion attack: HMAC-sign with the (public) verification key."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims(role="admin")).encode())
    mac = hmac.new(PUBLIC_PEM.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


VERIFIER = TokenVerifier(PUBLIC_PEM, issuer=ISSUER, audience=AUDIENCE)


def test_a_valid_token_yields_its_principal() -> None:
    assert VERIFIER.verify(token(role="admin")) == Principal(subject="42", role="admin")
    assert VERIFIER.verify(token(role="admin")).is_admin
    assert not VERIFIER.verify(token()).is_admin


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("expired", token(exp=int(time.time()) - 5, iat=int(time.time()) - 100)),
        ("wrong key", token(Ed25519PrivateKey.generate())),
        ("alg none", unsigned({"alg": "none", "typ": "JWT"}, claims(role="admin"))),
        ("hs256 confusion", hs256_with_public_key()),
        ("malformed", "not-a-jwt"),
        ("three garbage parts", "a.b.c"),
        ("wrong audience", token(aud="someone-else")),
        ("wrong issuer", token(iss="evil")),
        ("no expiry", token(exp=None)),
        ("no role", token(role=None)),
        ("unknown role", token(role="root")),
        ("empty subject", token(sub="")),
        ("tampered payload", tampered(token(), role="admin")),
        ("tampered signature", token()[:-4] + "AAAA"),
    ],
)
def test_bad_tokens_are_refused(name: str, bad: str) -> None:
    with pytest.raises(InvalidTokenError) as caught:
        VERIFIER.verify(bad)
    assert caught.value.status_code == 401, name
    assert caught.value.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_an_expired_token_is_refused_for_its_expiry_alone() -> None:
    """Signed with the right key and valid in every other way: only `exp` is wrong."""
    now = int(time.time())
    expired = token(exp=now - 5, iat=now - 100)
    assert VERIFIER.verify(token(exp=now + 60, iat=now - 100)).subject == "42"
    with pytest.raises(InvalidTokenError, match="expired") as caught:
        VERIFIER.verify(expired)
    assert isinstance(caught.value.__cause__, jwt.ExpiredSignatureError)


def test_a_token_verified_once_is_not_checked_for_its_signature_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier(PUBLIC_PEM, issuer=ISSUER, audience=AUDIENCE)
    valid = token()
    assert verifier.verify(valid).subject == "42"

    def no_decoding(*_: object, **__: object) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setattr(jwt, "decode", no_decoding)
    assert verifier.verify(valid) == Principal(subject="42", role="customer")
    with pytest.raises(AssertionError, match="decoded again"):  # any other token is decoded
        verifier.verify(token(sub="43"))


def test_a_remembered_token_still_expires() -> None:
    verifier = TokenVerifier(PUBLIC_PEM, issuer=ISSUER, audience=AUDIENCE)
    expires = int(time.time()) + 1
    short = token(exp=expires)
    assert verifier.verify(short).subject == "42"
    while time.time() < expires:  # setup: let its one second pass (bounded: ~1 s)
        time.sleep(0.05)
    with pytest.raises(InvalidTokenError, match="expired"):
        verifier.verify(short)


def test_a_tampered_payload_is_refused_for_its_signature() -> None:
    """The header and signature of a valid token, with a payload that says `admin`."""
    genuine = token()
    forged = tampered(genuine, role="admin")
    assert forged.split(".")[0] == genuine.split(".")[0]
    assert forged.split(".")[2] == genuine.split(".")[2]
    assert jwt.decode(forged, options={"verify_signature": False})["role"] == "admin"
    with pytest.raises(InvalidTokenError) as caught:
        VERIFIER.verify(forged)
    assert isinstance(caught.value.__cause__, jwt.InvalidSignatureError)


def test_the_verifier_is_built_once_per_configuration() -> None:
    settings = BaseServiceSettings()
    assert verifier_for(settings) is verifier_for(BaseServiceSettings())


def test_a_non_ed25519_key_is_refused() -> None:
    with pytest.raises(ValueError, match=r"(PEM|key|Could not)"):
        TokenVerifier("not a pem", issuer=ISSUER, audience=AUDIENCE)


def test_unknown_roles_cannot_be_required() -> None:
    with pytest.raises(ValueError, match="known roles"):
        require_roles("root")
    with pytest.raises(ValueError, match="known roles"):
        require_roles()


def test_production_refuses_the_development_public_key() -> None:
    with pytest.raises(ValidationError, match="development key"):
        BaseServiceSettings(environment="production")
    settings = BaseServiceSettings(environment="production", jwt_public_key=PUBLIC_PEM)
    assert settings.jwt_public_key == PUBLIC_PEM
    assert BaseServiceSettings().jwt_public_key == DEV_JWT_PUBLIC_KEY


def test_pem_with_escaped_newlines_is_accepted() -> None:
    escaped = PUBLIC_PEM.replace("\n", "\\n")
    assert BaseServiceSettings(jwt_public_key=escaped).jwt_public_key == PUBLIC_PEM


router = APIRouter()


@router.get("/me")
async def me(user: CurrentUser) -> dict[str, str]:
    return {"subject": user.subject, "role": user.role}


@router.get("/admin")
async def admin_only(user: AdminUser) -> dict[str, str]:
    return {"subject": user.subject}


@router.get("/export")
async def export(
    caller: Annotated[Principal, Depends(require_roles("service", "admin"))],
) -> dict[str, str]:
    return {"role": caller.role}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = BaseServiceSettings(jwt_public_key=PUBLIC_PEM)
    app = create_app(settings, title="t", routers=[router], dependencies=NOTHING)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_missing_token_is_401_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


async def test_invalid_token_is_401_invalid_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers=bearer(hs256_with_public_key()))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    error = response.json()["error"]
    assert error["code"] == "invalid_token"
    assert "Traceback" not in response.text


async def test_roles_are_enforced(client: httpx.AsyncClient) -> None:
    customer, admin, service = token(), token(role="admin"), token(role="service", sub="reports")
    assert (await client.get("/me", headers=bearer(customer))).json() == {
        "subject": "42",
        "role": "customer",
    }
    refused = await client.get("/admin", headers=bearer(customer))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert (await client.get("/admin", headers=bearer(admin))).status_code == 200
    assert (await client.get("/export", headers=bearer(service))).json() == {"role": "service"}
    assert (await client.get("/export", headers=bearer(admin))).status_code == 200
    assert (await client.get("/export", headers=bearer(customer))).status_code == 403


def signed(payload: dict[str, Any]) -> str:
    """Signed with the right key whatever the claims hold (PyJWT's encode checks a few)."""
    return jwt.PyJWS().encode(json.dumps(payload).encode(), KEY, algorithm="EdDSA")


#: JSON values of every type; each claim below is tried with those not of its own type.
JSON_VALUES: list[Any] = [["admin"], {"role": "admin"}, 7, True, None, "7"]
#: A NumericDate may have a fraction (RFC 7519), so a float is of the right type there.
CLAIM_TYPES: dict[str, tuple[type, ...]] = {
    "sub": (str,),
    "role": (str,),
    "iss": (str,),
    "aud": (str, list),
    "iat": (int, float),
    "exp": (int, float),
    "nbf": (int, float),
    "jti": (str,),
}
WRONG_TYPED_CLAIMS = [
    (claim, value)
    for claim, types in CLAIM_TYPES.items()
    for value in JSON_VALUES
    if not isinstance(value, types) or isinstance(value, bool)
]


@pytest.mark.parametrize(("claim", "value"), WRONG_TYPED_CLAIMS)
def test_a_validly_signed_token_with_a_claim_of_the_wrong_type_is_invalid(
    claim: str, value: Any
) -> None:
    with pytest.raises(InvalidTokenError):
        VERIFIER.verify(signed(claims() | {claim: value}))


def test_a_numeric_date_may_have_a_fraction() -> None:
    now = time.time()
    assert VERIFIER.verify(signed(claims(iat=now - 1.5, exp=now + 60.5))).subject == "42"


@pytest.mark.parametrize("role", [["admin"], {"admin": 1}, 1, True])
async def test_a_role_of_the_wrong_type_is_401_invalid_token(
    client: httpx.AsyncClient, role: Any
) -> None:
    response = await client.get("/me", headers=bearer(signed(claims(role=role))))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_token"
