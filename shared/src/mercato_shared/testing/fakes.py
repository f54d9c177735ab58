"""Pieces of fake upstreams: identity's token endpoint and the check of a caller's token.

A service's tests fake the HTTP contract of each service it calls (a small FastAPI app in
its own tests) instead of booting that service; the real services together are covered by
the end-to-end tests through the gateway. What every fake needs is here:

* `fake_identity()`: identity's client-credentials endpoint (`POST /token`), issuing a
  `service` token signed with the development key for any client id with a secret;
* `ServiceCaller`: a dependency that admits only a valid `service` token, as the real
  services' internal endpoints do (401 without one, 403 with another role).
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, FastAPI, Form, Header, HTTPException

from mercato_shared.auth import InvalidTokenError, Principal, TokenVerifier
from mercato_shared.dev_keys import DEV_JWT_PUBLIC_KEY
from mercato_shared.testing.tokens import AUDIENCE, ISSUER, LIFETIME_SECONDS, mint_token

_VERIFIER: Final = TokenVerifier(DEV_JWT_PUBLIC_KEY, issuer=ISSUER, audience=AUDIENCE)


def fake_identity() -> FastAPI:
    """Identity's `POST /token` (client credentials) and nothing else."""
    app = FastAPI()
    app.state.issued = []  # the client ids a token was issued to, in order

    @app.post("/token")
    async def token(
        grant_type: Annotated[str, Form()],
        client_id: Annotated[str, Form()],
        client_secret: Annotated[str, Form()],
    ) -> dict[str, str | int]:
        if grant_type != "client_credentials" or not client_secret:
            raise HTTPException(400, "only client credentials with a secret")
        app.state.issued.append(client_id)
        return {
            "access_token": mint_token(client_id, "service"),
            "token_type": "bearer",
            "expires_in": LIFETIME_SECONDS,
        }

    return app


async def service_caller(authorization: Annotated[str | None, Header()] = None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "a service token is needed")
    try:
        principal = _VERIFIER.verify(token)
    except InvalidTokenError as exc:
        raise HTTPException(401, "invalid token") from exc
    if principal.role != "service":
        raise HTTPException(403, "only services")
    return principal


ServiceCaller = Annotated[Principal, Depends(service_caller)]
