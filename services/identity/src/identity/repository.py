"""SQL for users and refresh tokens. Every query here is served by a unique index."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from identity.errors import EmailTakenError
from identity.models import RefreshToken, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, *, email: str, display_name: str, password_hash: str) -> User:
        user = User(email=email, display_name=display_name, password_hash=password_hash)
        self._session.add(user)
        try:
            await self._session.commit()
        except IntegrityError as exc:
            await self._session.rollback()
            raise EmailTakenError from exc
        await self._session.refresh(user)
        return user

    async def by_email(self, email: str) -> User | None:
        return await self._session.scalar(select(User).where(User.email == email))

    async def get(self, user_id: int) -> User | None:
        return await self._session.get(User, user_id)

    async def set_password_hash(self, user: User, password_hash: str) -> None:
        user.password_hash = password_hash
        await self._session.commit()


class RefreshTokenRepository:
    """Refresh tokens by SHA-256. Callers own the transaction (`session.begin()`)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, *, user_id: int, token_hash: str, family_id: uuid.UUID, expires_at: datetime
    ) -> None:
        """Add the token to the transaction and send it (flush), so a clash shows here."""
        self._session.add(
            RefreshToken(
                user_id=user_id, token_hash=token_hash, family_id=family_id, expires_at=expires_at
            )
        )
        await self._session.flush()

    async def lock(self, token_hash: str) -> tuple[RefreshToken, User] | None:
        """The token and its user, the token row locked until the transaction ends."""
        row = (
            await self._session.execute(
                select(RefreshToken, User)
                .join(User, User.id == RefreshToken.user_id)
                .where(RefreshToken.token_hash == token_hash)
                .with_for_update(of=RefreshToken)
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1])

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self._session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
