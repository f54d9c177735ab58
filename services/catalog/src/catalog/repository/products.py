"""SQL for products. Every query here is served by an index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from catalog.errors import DuplicateSkuError
from catalog.models import Product
from catalog.schemas import ProductCreate, ProductUpdate

_PRODUCT_COLUMNS = Product.__table__.c


class ProductReads:
    """The cache's loads: one statement each on `reads`, the autocommit view of the pool
    (`mercato_shared.db.autocommit`), so a cache miss costs one round trip: no BEGIN, and no
    ROLLBACK when the connection goes back to the pool."""

    def __init__(self, reads: AsyncEngine) -> None:
        self._reads = reads

    async def page_ids(
        self, *, after_id: int | None, limit: int, category: str | None
    ) -> list[int]:
        """The ids of a keyset page in id order (the index alone answers it)."""
        query = select(_PRODUCT_COLUMNS.id).order_by(_PRODUCT_COLUMNS.id).limit(limit)
        if after_id is not None:
            query = query.where(_PRODUCT_COLUMNS.id > after_id)
        if category is not None:
            query = query.where(_PRODUCT_COLUMNS.category == category)
        async with self._reads.connect() as conn:
            return list((await conn.scalars(query)).all())

    async def many(self, product_ids: Sequence[int]) -> Sequence[Row[Any]]:
        """The products' rows (columns as attributes), in no particular order."""
        query = select(Product.__table__).where(_PRODUCT_COLUMNS.id.in_(product_ids))
        async with self._reads.connect() as conn:
            return (await conn.execute(query)).all()

    async def get(self, product_id: int) -> Row[Any] | None:
        query = select(Product.__table__).where(_PRODUCT_COLUMNS.id == product_id)
        async with self._reads.connect() as conn:
            return (await conn.execute(query)).one_or_none()


class ProductRepository:
    """Writes in the operation's session; the caller's session owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, data: ProductCreate) -> Product:
        product = Product(**data.model_dump())
        self._session.add(product)
        try:
            await self._session.commit()
        except IntegrityError as exc:
            await self._session.rollback()
            raise DuplicateSkuError(data.sku) from exc
        await self._session.refresh(product)
        return product

    async def update(self, product_id: int, changes: ProductUpdate) -> Product | None:
        product = await self._session.get(Product, product_id, with_for_update=True)
        if product is None:
            return None
        for field, value in changes.model_dump(exclude_unset=True).items():
            setattr(product, field, value)
        await self._session.commit()
        await self._session.refresh(product)
        return product

    async def delete(self, product_id: int) -> bool:
        result = await self._session.execute(
            delete(Product).where(Product.id == product_id).returning(Product.id)
        )
        await self._session.commit()
        return result.scalar_one_or_none() is not None
