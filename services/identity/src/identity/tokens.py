"""Access tokens (EdDSA JWTs) and opaque refresh tokens.

Other services' tests do not use this module: `mercato_shared.testing` signs their tokens with
the development key (`mercato_shared.dev_keys`).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from functools import lru_cache
from typing import Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from identity.config import IdentitySettings
from mercato_shared.auth import ALGORITHM, ROLES

REFRESH_TOKEN_BYTES: Final = 32


@lru_cache(maxsize=4)
def _signing_key(pem: str) -> Ed25519PrivateKey:
    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):  # IdentitySettings refuses any other key
        msg = "JWT_PRIVATE_KEY must be an Ed25519 private key"
        raise TypeError(msg)
    return key


def mint_access_token(
    subject: str,
    role: str,
    settings: IdentitySettings,
    *,
    ttl_seconds: int | None = None,
    now: float | None = None,
) -> str:
    """A signed access token for `subject` with `role`, valid for the configured lifetime."""
    if role not in ROLES:
        msg = f"unknown role {role!r}"
        raise ValueError(msg)
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": subject,
        "role": role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "exp": issued + (ttl_seconds or settings.access_token_ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _signing_key(settings.jwt_private_key), algorithm=ALGORITHM)


def new_refresh_token() -> str:
    """An opaque refresh token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> str:
    """What the database stores. A fast hash suffices: the token is 256 random bits."""
    return hashlib.sha256(token.encode()).hexdigest()


def signing_public_key(settings: IdentitySettings) -> Ed25519PublicKey:
    return _signing_key(settings.jwt_private_key).public_key()
