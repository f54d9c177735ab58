"""Local verification of identity's access tokens: no network hop per request.

Identity signs short-lived JWTs with an Ed25519 private key (`EdDSA`); every service holds
only the public key (`JWT_PUBLIC_KEY`), so it can verify tokens but never mint one. The
accepted algorithm is pinned to EdDSA, so `alg=none` and the HS256-with-the-public-key
confusion are impossible; `exp`, `iat`, `iss`, `aud`, `sub` and `role` are required.

    @router.post("/products")
    async def create(body: ProductCreate, admin: AdminUser) -> ProductOut: ...

    @router.get("/orders/export")
    async def export(caller: Annotated[Principal, Depends(require_roles("service", "admin"))]):

A missing token is 401 `unauthorized`; an expired, malformed or wrongly signed one is 401
`invalid_token`; both carry `WWW-Authenticate: Bearer` (RFC 6750). A valid token with the
wrong role is 403 `forbidden`. The public key is parsed once per distinct configuration and
reused, so a verification costs one signature check.

A client sends the same token with every request for its whole lifetime (minutes), so each
process remembers the tokens it verified lately (`VERIFIED_TOKENS` of them, as Envoy's JWT
filter does with its cache): a known token costs a dictionary lookup and a clock check of
its `exp` and `nbf`, not a signature check. Only tokens that passed every check are kept.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Final, Literal, get_args

import jwt
from cachetools import TTLCache
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from mercato_shared.deps import ResourcesDep
from mercato_shared.errors import ForbiddenError, UnauthorizedError
from mercato_shared.settings import BaseServiceSettings

Role = Literal["customer", "admin", "service"]
ROLES: Final[frozenset[str]] = frozenset(get_args(Role))
ALGORITHM: Final = "EdDSA"
REQUIRED_CLAIMS: Final = ("exp", "iat", "iss", "aud", "sub", "role")
#: The claims PyJWT reads as RFC 7519 NumericDates; it also takes a string or a boolean
#: there (`int(claim)`), which a NumericDate is not.
NUMERIC_DATES: Final = ("exp", "iat", "nbf")
#: How many verified tokens a process remembers, and for how long at most.
VERIFIED_TOKENS: Final = 10_000
VERIFIED_SECONDS: Final = 300.0


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: a user id (or a machine client's id) and its role."""

    subject: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class InvalidTokenError(UnauthorizedError):
    code = "invalid_token"

    def __init__(self, message: str = "The access token is invalid or expired.") -> None:
        super().__init__(
            message,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


class MissingTokenError(UnauthorizedError):
    def __init__(self) -> None:
        super().__init__(
            "This endpoint needs a bearer access token.",
            headers={"WWW-Authenticate": "Bearer"},
        )


class TokenVerifier:
    """Verifies access tokens against one public key, issuer and audience."""

    def __init__(
        self, public_key_pem: str, *, issuer: str, audience: str, leeway: float = 0.0
    ) -> None:
        key = load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            msg = "JWT_PUBLIC_KEY must be an Ed25519 public key (EdDSA)"
            raise TypeError(msg)
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        # token -> (principal, not before, expires at): the tokens that passed lately.
        self._verified: TTLCache[str, tuple[Principal, float, float]] = TTLCache(
            maxsize=VERIFIED_TOKENS, ttl=VERIFIED_SECONDS
        )

    def verify(self, token: str) -> Principal:
        kept = self._verified.get(token)
        if kept is not None:
            principal, not_before, expires = kept
            if not_before - self._leeway <= time.time() < expires + self._leeway:
                return principal
        principal, claims = self._decode(token)
        not_before = claims.get("nbf", claims["iat"])
        self._verified[token] = (principal, float(not_before), float(claims["exp"]))
        return principal

    def _decode(self, token: str) -> tuple[Principal, dict[str, Any]]:
        """Every check, with the signature: the principal and the token's claims."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("The access token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise InvalidTokenError from exc
        subject, role = claims["sub"], claims["role"]
        if not isinstance(subject, str) or not subject:
            raise InvalidTokenError
        if not isinstance(role, str) or role not in ROLES or not _numeric_dates(claims):
            raise InvalidTokenError
        return Principal(subject=subject, role=claims["role"]), claims


def _numeric_dates(claims: dict[str, Any]) -> bool:
    """Whether every NumericDate claim present is a JSON number (a fraction is allowed)."""
    return all(type(claims[name]) in {int, float} for name in NUMERIC_DATES if name in claims)


@lru_cache(maxsize=8)
def _verifier(public_key_pem: str, issuer: str, audience: str, leeway: float) -> TokenVerifier:
    return TokenVerifier(public_key_pem, issuer=issuer, audience=audience, leeway=leeway)


def verifier_for(settings: BaseServiceSettings) -> TokenVerifier:
    """The verifier for these settings, built (key parsed) once and then reused."""
    return _verifier(
        settings.jwt_public_key,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_leeway_seconds,
    )


# The docs' "Authorize" button logs in through identity, via the gateway.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/identity/token", auto_error=False)


async def get_principal(
    resources: ResourcesDep, token: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    """Any caller with a valid access token (async: a signature check is CPU the event loop
    can afford, a thread hop is not)."""
    if not token:
        raise MissingTokenError
    return verifier_for(resources.settings).verify(token)


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits a valid token whose role is one of `roles` (else 403)."""
    unknown = set(roles) - ROLES
    if not roles or unknown:
        msg = f"require_roles needs known roles, got {roles!r}"
        raise ValueError(msg)
    allowed = frozenset(roles)

    async def check_role(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError("Your role does not allow this operation.")
        return principal

    check_role.__name__ = f"require_{'_or_'.join(roles)}"
    return check_role


AdminUser = Annotated[Principal, Depends(require_roles("admin"))]
