"""Identity logic: registration, the OAuth2 grants, refresh-token rotation and revocation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.config import IdentitySettings
from identity.errors import InvalidCredentialsError, InvalidGrantError, WeakPasswordError
from identity.password_policy import password_problem
from identity.passwords import Passwords
from identity.repository import RefreshTokenRepository, UserRepository
from identity.schemas import TokenResponse, UserCreate, UserOut, normalize_email
from identity.throttle import LoginThrottle
from identity.tokens import hash_refresh_token, mint_access_token, new_refresh_token
from mercato_shared.errors import NotFoundError


class IdentityService:
    """The identity logic of one process (built once, in its lifespan). Each operation opens
    its own session and owns its transaction; `client` (the caller's address) shares out the
    password hasher's queue fairly."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        passwords: Passwords,
        settings: IdentitySettings,
        throttle: LoginThrottle,
    ) -> None:
        self._sessions = sessions
        self._passwords = passwords
        self._settings = settings
        self._throttle = throttle

    async def register(self, data: UserCreate, *, client: str) -> UserOut:
        problem = await asyncio.to_thread(password_problem, data.password, data.email)
        if problem is not None:
            raise WeakPasswordError(problem)
        password_hash = await self._passwords.hash(data.password, client=client)
        async with self._sessions() as session:
            user = await UserRepository(session).create(
                email=data.email, display_name=data.display_name, password_hash=password_hash
            )
            return UserOut.model_validate(user)

    async def me(self, user_id: int) -> UserOut:
        async with self._sessions() as session:
            user = await UserRepository(session).get(user_id)
            if user is None:
                raise NotFoundError("This account no longer exists.")
            return UserOut.model_validate(user)

    async def password_grant(self, email: str, password: str, *, client: str) -> TokenResponse:
        """Unknown user and wrong password take the same path (one argon2 verification);
        an account with too many recent failures is refused before any (429)."""
        account = normalize_email(email)
        await self._throttle.check(account)
        async with self._sessions() as session:
            users = UserRepository(session)
            user = await users.by_email(account)
            hashed = user.password_hash if user else None
            ok = await self._passwords.verify(hashed, password, client=client)
            if user is None or not ok:
                await self._throttle.failed(account)
                raise InvalidCredentialsError
            await self._throttle.succeeded(account)
            if self._passwords.needs_rehash(user.password_hash):
                new_hash = await self._passwords.hash(password, client=client)
                await users.set_password_hash(user, new_hash)
            refresh = await self._new_refresh_token(session, user.id, family_id=uuid.uuid4())
            await session.commit()
        return self._tokens(str(user.id), user.role, refresh)

    def client_credentials_grant(self, client_id: str, client_secret: str) -> TokenResponse:
        if not self._settings.client_secret_matches(client_id, client_secret):
            raise InvalidCredentialsError("The client id or secret is wrong.")
        return self._tokens(client_id, "service", refresh_token=None)

    async def refresh_grant(self, refresh_token: str) -> TokenResponse:
        """Rotate: the presented token is spent and a new one of the same family issued.

        Presenting an already spent token means it leaked (or was replayed): the whole
        family is revoked, logging out whoever holds its current member.
        """
        now = datetime.now(UTC)
        async with self._sessions() as session:
            tokens = RefreshTokenRepository(session)
            found = await tokens.lock(hash_refresh_token(refresh_token))
            if found is None:
                await session.rollback()
                raise InvalidGrantError
            token, user = found
            if token.revoked_at is not None:
                await tokens.revoke_family(token.family_id, now)
                await session.commit()
                raise InvalidGrantError
            if token.expires_at <= now:
                await session.rollback()
                raise InvalidGrantError
            token.revoked_at = now
            new = await self._new_refresh_token(session, user.id, family_id=token.family_id)
            await session.commit()
        return self._tokens(str(user.id), user.role, new)

    async def revoke(self, refresh_token: str) -> None:
        """Revoke the token's family (log out that session). Unknown tokens are ignored."""
        async with self._sessions() as session:
            tokens = RefreshTokenRepository(session)
            found = await tokens.lock(hash_refresh_token(refresh_token))
            if found is not None:
                await tokens.revoke_family(found[0].family_id, datetime.now(UTC))
            await session.commit()

    async def _new_refresh_token(
        self, session: AsyncSession, user_id: int, *, family_id: uuid.UUID
    ) -> str:
        token = new_refresh_token()
        expires = datetime.now(UTC) + timedelta(seconds=self._settings.refresh_token_ttl_seconds)
        await RefreshTokenRepository(session).add(
            user_id=user_id,
            token_hash=hash_refresh_token(token),
            family_id=family_id,
            expires_at=expires,
        )
        return token

    def _tokens(self, subject: str, role: str, refresh_token: str | None) -> TokenResponse:
        return TokenResponse(
            access_token=mint_access_token(subject, role, self._settings),
            expires_in=self._settings.access_token_ttl_seconds,
            refresh_token=refresh_token,
        )
