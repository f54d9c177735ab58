"""`python -m identity.seed`: the admin (ADMIN_EMAIL/ADMIN_PASSWORD) and demo customers.

Idempotent (existing emails are left alone, so a changed ADMIN_PASSWORD does not overwrite
an existing admin's) and deterministic: in a fresh database the admin is user 1 and the
demo customers `customer0001@example.com`... are users 2..N+1, which is what the orders
seed attributes its demo orders to (`orders.seed.DEMO_CUSTOMER_IDS`).

The demo customers share one password (`DEMO_PASSWORD`), so it is hashed once and that
argon2 hash stored for each of them: a few hundred hashes would cost ~10 s of CPU for no
benefit to demo data. Real accounts each get their own salted hash at registration.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Final

from argon2 import PasswordHasher
from sqlalchemy.dialects.postgresql import insert

from identity.config import IdentitySettings
from identity.models import User
from identity.schemas import normalize_email
from mercato_shared.db import create_engine

DEMO_PASSWORD: Final = "demo-password"  # noqa: S105 - documented demo accounts
DEMO_CUSTOMERS: Final = 200


def demo_email(number: int) -> str:
    return f"customer{number:04d}@example.com"


class DemoAccountsInProductionError(ValueError):
    """The demo customers share a public password: they never exist in production."""

    def __init__(self) -> None:
        super().__init__(
            "ENVIRONMENT=production: the demo customers share the public DEMO_PASSWORD, so "
            "they are not seeded there (run with --customers 0 to seed the admin alone)"
        )


async def seed(settings: IdentitySettings, customers: int = DEMO_CUSTOMERS) -> int:
    """Insert the admin and the demo customers that are missing; returns how many were new.

    In production only the admin (whose password production settings require to be real):
    demo customers are refused before anything is written.
    """
    if settings.environment == "production" and customers > 0:
        raise DemoAccountsInProductionError
    hasher = PasswordHasher()
    admin_hash, demo_hash = await asyncio.gather(
        asyncio.to_thread(hasher.hash, settings.admin_password),
        asyncio.to_thread(hasher.hash, DEMO_PASSWORD),
    )
    rows = [
        {
            "email": normalize_email(settings.admin_email),
            "display_name": "Administrator",
            "password_hash": admin_hash,
            "role": "admin",
        }
    ]
    rows += [
        {
            "email": demo_email(number),
            "display_name": f"Demo customer {number}",
            "password_hash": demo_hash,
            "role": "customer",
        }
        for number in range(1, customers + 1)
    ]
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            statement = insert(User).values(rows).on_conflict_do_nothing(index_elements=["email"])
            result = await conn.execute(statement.returning(User.id))
            return len(result.all())
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=DEMO_CUSTOMERS)
    args = parser.parse_args()
    try:
        inserted = asyncio.run(seed(IdentitySettings(), args.customers))
    except DemoAccountsInProductionError as exc:
        raise SystemExit(f"identity seed: {exc}") from exc
    print(f"identity seed: {inserted} new users (admin + {args.customers} demo customers)")


if __name__ == "__main__":
    main()
