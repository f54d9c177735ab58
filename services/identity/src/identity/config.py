"""Identity settings: the signing key, token lifetimes, the seeded admin, machine clients."""

from __future__ import annotations

import hmac
from typing import ClassVar, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from limits import parse_many
from pydantic import Field, PositiveInt, field_validator, model_validator

from mercato_shared.dev_keys import DEV_JWT_PRIVATE_KEY
from mercato_shared.settings import BaseServiceSettings

DEV_ADMIN_PASSWORD: Final = "admin-dev-password"  # noqa: S105 - refused in production
DEV_SERVICE_CLIENTS: Final = (
    "orders:orders-dev-secret,reports:reports-dev-secret,catalog:catalog-dev-secret"
)
_DEV_SECRETS: Final = frozenset({"orders-dev-secret", "reports-dev-secret", "catalog-dev-secret"})


class IdentitySettings(BaseServiceSettings):
    service_name: ClassVar[str] = "identity"
    database_name: ClassVar[str | None] = "identity"
    development_defaults: ClassVar[tuple[str, ...]] = (
        *BaseServiceSettings.development_defaults,
        "jwt_private_key",
        "admin_password",
    )

    jwt_private_key: str = Field(
        default=DEV_JWT_PRIVATE_KEY,
        description="PEM Ed25519 private key that signs access tokens ('\\n' escapes allowed).",
    )
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=3600, le=90 * 86_400)
    admin_email: str = "admin@example.com"
    admin_password: str = Field(default=DEV_ADMIN_PASSWORD, min_length=8, max_length=128)
    service_clients: str = Field(
        default=DEV_SERVICE_CLIENTS,
        description="Machine clients as comma-separated id:secret pairs (client_credentials).",
    )
    password_hash_concurrency: PositiveInt = Field(default=2, le=32)
    # Password checks one client address may have waiting for a hashing slot (then 429).
    password_hash_waiting_per_client: PositiveInt = Field(default=4, le=1000)
    # Failed password logins per account, across addresses and replicas (identity.throttle):
    # `limits` notation, tiers separated by ";". Past any tier, logins of that account are 429.
    login_failure_limits: str = Field(default="5/minute;20/hour;100/day", min_length=1)

    @field_validator("login_failure_limits")
    @classmethod
    def _parsable_limits(cls, value: str) -> str:
        parse_many(value)  # raises ValueError on a malformed tier
        return value

    # Not named like the base class's validator of JWT_PUBLIC_KEY: the same name would
    # replace it, and an escaped public key would then never match the private one.
    @field_validator("jwt_private_key")
    @classmethod
    def _private_pem_newlines(cls, value: str) -> str:
        return value.replace("\\n", "\n").strip() + "\n"

    @field_validator("service_clients")
    @classmethod
    def _well_formed_clients(cls, value: str) -> str:
        for pair in filter(None, (part.strip() for part in value.split(","))):
            client_id, _, secret = pair.partition(":")
            if not client_id or len(secret) < 16:
                msg = "SERVICE_CLIENTS must be id:secret pairs with secrets of 16+ characters"
                raise ValueError(msg)
            if client_id.isdigit():
                # A token's `sub` is a user id for people; an all-digit client id would pass
                # for one (GET /me, report ownership).
                msg = f"SERVICE_CLIENTS: client id {client_id!r} must not be all digits"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _keys_match_and_no_development_clients_in_production(self) -> IdentitySettings:
        key = load_pem_private_key(self.jwt_private_key.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            msg = "JWT_PRIVATE_KEY must be an Ed25519 private key"
            raise ValueError(msg)
        public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        if public.decode() != self.jwt_public_key:
            msg = "JWT_PRIVATE_KEY does not match JWT_PUBLIC_KEY"
            raise ValueError(msg)
        if self.environment == "production" and _DEV_SECRETS & set(self.clients.values()):
            msg = "SERVICE_CLIENTS uses a development secret; set real ones"
            raise ValueError(msg)
        return self

    @property
    def clients(self) -> dict[str, str]:
        pairs = (part.strip() for part in self.service_clients.split(","))
        return dict(pair.split(":", 1) for pair in pairs if pair)

    def client_secret_matches(self, client_id: str, secret: str) -> bool:
        """Constant-time check of a machine client's secret (unknown ids cost the same)."""
        expected = self.clients.get(client_id)
        candidate = secret.encode()
        if expected is None:
            hmac.compare_digest(candidate, candidate)
            return False
        return hmac.compare_digest(candidate, expected.encode())
