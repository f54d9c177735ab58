"""Access tokens signed with the development key, as identity signs them.

Every service verifies tokens with the development public key by default
(`mercato_shared.dev_keys`), so a test acts as a user, an admin or a machine client
without identity:

    response = await client.get("/orders", headers=bearer("7"))
    response = await client.post("/products", json=body, headers=bearer("1", "admin"))
"""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from typing import Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mercato_shared.auth import ALGORITHM, ROLES, Role
from mercato_shared.dev_keys import DEV_JWT_PRIVATE_KEY

#: The issuer and audience every service expects by default (`BaseServiceSettings`).
ISSUER: Final = "mercato-identity"
AUDIENCE: Final = "mercato"
LIFETIME_SECONDS: Final = 900


@lru_cache(maxsize=1)
def _signing_key() -> Ed25519PrivateKey:
    key = load_pem_private_key(DEV_JWT_PRIVATE_KEY.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def mint_token(
    subject: str,
    role: Role = "customer",
    *,
    lifetime_seconds: int = LIFETIME_SECONDS,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> str:
    """An access token for `subject` with `role`, signed with the development key."""
    if role not in ROLES:
        msg = f"unknown role {role!r}"
        raise ValueError(msg)
    issued = int(time.time())
    claims = {
        "sub": subject,
        "role": role,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _signing_key(), algorithm=ALGORITHM)


def bearer(subject: str | int, role: Role = "customer") -> dict[str, str]:
    """The Authorization header of `subject` acting with `role`."""
    return {"Authorization": f"Bearer {mint_token(str(subject), role)}"}
