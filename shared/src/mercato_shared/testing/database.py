"""A suite's database: migrated once a session, emptied before each test."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

#: Every suite's databases are named `it_<service database>`, apart from the stacks' own.
DATABASE_PREFIX: Final = "it_"
_TABLE: Final = re.compile(r"^[a-z_][a-z0-9_]*$")


async def truncate(database_url: str, tables: Sequence[str]) -> None:
    """Empty `tables` and restart their id sequences (nothing else of the database)."""
    if not tables:
        return
    bad = [table for table in tables if not _TABLE.match(table)]
    if bad:
        msg = f"not table names: {bad!r}"
        raise ValueError(msg)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
