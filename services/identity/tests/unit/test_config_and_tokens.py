"""Identity settings refuse known defaults in production; tokens verify with the public key."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pydantic import ValidationError

from identity.config import IdentitySettings
from identity.schemas import normalize_email
from identity.seed import DemoAccountsInProductionError, seed
from identity.tokens import hash_refresh_token, mint_access_token, new_refresh_token
from mercato_shared.auth import InvalidTokenError, verifier_for


def key_pair() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


def test_minted_tokens_verify_and_expire() -> None:
    settings = IdentitySettings()
    token = mint_access_token("7", "admin", settings)
    principal = verifier_for(settings).verify(token)
    assert (principal.subject, principal.role) == ("7", "admin")
    old = mint_access_token("7", "admin", settings, ttl_seconds=60, now=time.time() - 3600)
    with pytest.raises(InvalidTokenError, match="expired"):
        verifier_for(settings).verify(old)
    with pytest.raises(ValueError, match="unknown role"):
        mint_access_token("7", "root", settings)


def test_production_refuses_development_secrets() -> None:
    private, public = key_pair()
    real: dict[str, Any] = {"jwt_private_key": private, "jwt_public_key": public}
    with pytest.raises(ValidationError, match="development key"):
        IdentitySettings(environment="production")
    with pytest.raises(ValidationError, match="ADMIN_PASSWORD"):
        IdentitySettings(environment="production", **real)
    with pytest.raises(ValidationError, match="SERVICE_CLIENTS"):
        IdentitySettings(environment="production", admin_password="a-real-password", **real)
    settings = IdentitySettings(
        environment="production",
        admin_password="a-real-password",
        service_clients="reports:0123456789abcdef0123",
        **real,
    )
    assert settings.clients == {"reports": "0123456789abcdef0123"}


def test_both_keys_may_be_written_with_escaped_newlines() -> None:
    """As .env.example allows: one line each, "\\n" for the line breaks (env files, Secrets)."""
    private, public = key_pair()
    settings = IdentitySettings(
        jwt_private_key=private.replace("\n", "\\n"), jwt_public_key=public.replace("\n", "\\n")
    )
    assert settings.jwt_public_key == public
    assert settings.jwt_private_key == private


def test_a_private_key_not_matching_the_public_key_is_refused() -> None:
    private, _ = key_pair()
    with pytest.raises(ValidationError, match="does not match"):
        IdentitySettings(jwt_private_key=private)


def test_client_secrets_are_checked() -> None:
    settings = IdentitySettings()
    assert settings.client_secret_matches("reports", "reports-dev-secret")
    assert not settings.client_secret_matches("reports", "orders-dev-secret")
    assert not settings.client_secret_matches("ghost", "reports-dev-secret")
    with pytest.raises(ValidationError, match="SERVICE_CLIENTS"):
        IdentitySettings(service_clients="reports:short")
    with pytest.raises(ValidationError, match="all digits"):
        IdentitySettings(service_clients="5:" + "s" * 16)


def test_refresh_tokens_are_random_and_stored_hashed() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second
    assert len(first) >= 43
    assert hash_refresh_token(first) != first
    assert len(hash_refresh_token(first)) == 64


def test_emails_are_normalised() -> None:
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"


async def test_the_demo_customers_are_never_seeded_in_production() -> None:
    private, public = key_pair()
    settings = IdentitySettings(
        environment="production",
        admin_password="a-real-password",
        service_clients="reports:0123456789abcdef0123",
        jwt_private_key=private,
        jwt_public_key=public,
        # Refused before any connection: nothing listens on this port.
        postgres_url="postgresql+asyncpg://postgres@127.0.0.1:1",
    )
    with pytest.raises(DemoAccountsInProductionError):
        await seed(settings, customers=5)
