"""Identity HTTP routes: register, the OAuth2 token endpoint, revocation, `/me`, JWKS."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response, status
from jwt.algorithms import OKPAlgorithm

from identity.deps import ClientDep, IdentityServiceDep, SettingsDep
from identity.errors import (
    EmailTakenError,
    InvalidCredentialsError,
    InvalidGrantError,
    LoginThrottledError,
    PasswordQueueFullError,
    UnsupportedGrantTypeError,
    WeakPasswordError,
)
from identity.schemas import Jwk, JwkSet, TokenResponse, UserCreate, UserOut
from identity.tokens import signing_public_key
from mercato_shared.auth import ALGORITHM, CurrentUser
from mercato_shared.errors import NotFoundError
from mercato_shared.json_types import NO_CONTROL
from mercato_shared.responses import errors

router = APIRouter(tags=["identity"])

FormField = Annotated[str | None, Form(max_length=512, pattern=NO_CONTROL)]


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(EmailTakenError, WeakPasswordError, PasswordQueueFullError),
)
async def register_user(
    body: UserCreate, service: IdentityServiceDep, client: ClientDep
) -> UserOut:
    """Create a customer account (email unique whatever its case)."""
    return await service.register(body, client=client)


@router.post(
    "/token",
    response_model=TokenResponse,
    responses=errors(
        UnsupportedGrantTypeError,
        InvalidCredentialsError,
        InvalidGrantError,
        LoginThrottledError,
        PasswordQueueFullError,
    ),
)
async def get_token(  # noqa: PLR0917 - one parameter per OAuth2 form field
    service: IdentityServiceDep,
    client: ClientDep,
    response: Response,
    grant_type: Annotated[str, Form(max_length=32, pattern=NO_CONTROL, examples=["password"])],
    username: FormField = None,
    password: Annotated[str | None, Form(max_length=128)] = None,
    refresh_token: FormField = None,
    client_id: Annotated[str | None, Form(max_length=64, pattern=NO_CONTROL)] = None,
    client_secret: FormField = None,
) -> TokenResponse:
    """OAuth2 token endpoint (form-encoded).

    * `password`: `username` (the email) and `password` -> access + refresh token;
    * `refresh_token`: rotates the refresh token -> a new pair (the old one is spent);
    * `client_credentials`: `client_id` + `client_secret` of a configured machine client ->
      an access token with role `service`.
    """
    response.headers["Cache-Control"] = "no-store"
    if grant_type == "password" and username and password:
        return await service.password_grant(username, password, client=client)
    if grant_type == "refresh_token" and refresh_token:
        return await service.refresh_grant(refresh_token)
    if grant_type == "client_credentials" and client_id and client_secret:
        return service.client_credentials_grant(client_id, client_secret)
    raise UnsupportedGrantTypeError


@router.post("/token/revoke", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(
    service: IdentityServiceDep,
    token: Annotated[str, Form(min_length=1, max_length=512, pattern=NO_CONTROL)],
) -> None:
    """Log out: revoke a refresh token (and its rotations). Unknown tokens are ignored."""
    await service.revoke(token)


@router.get("/me", response_model=UserOut)
async def get_me(user: CurrentUser, service: IdentityServiceDep) -> UserOut:
    if not user.subject.isdigit():
        raise NotFoundError("Machine clients have no account.")
    return await service.me(int(user.subject))


@router.get("/.well-known/jwks.json", response_model=JwkSet)
async def get_jwks(settings: SettingsDep) -> JwkSet:
    """The verification key as a JWK set, for verifiers outside Mercato's configuration."""
    jwk = OKPAlgorithm.to_jwk(signing_public_key(settings), as_dict=True)
    return JwkSet(keys=[Jwk.model_validate(jwk | {"alg": ALGORITHM, "use": "sig"})])
