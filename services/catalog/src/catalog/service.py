"""Catalog logic: cached product reads, writes that invalidate the cache, the ranking."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.errors import ProductNotFoundError
from catalog.pagination import decode_cursor, encode_cursor
from catalog.popular import PopularRanking
from catalog.repository import ProductRepository
from catalog.schemas import (
    PopularProduct,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
)
from mercato_shared.cache import Cache

_PRODUCT = TypeAdapter(ProductOut)


def product_key(product_id: int) -> str:
    return f"product:{product_id}"


class CatalogService:
    """Each operation opens its own session: a cache hit opens none, and the cache's shared
    load owns its session, so a caller that goes away cannot close it under the others."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], cache: Cache, ranking: PopularRanking
    ) -> None:
        self._sessions = sessions
        self._cache = cache
        self._ranking = ranking

    async def popular(self, limit: int) -> list[PopularProduct]:
        return await self._ranking.top(limit)

    async def list_products(
        self, *, cursor: str | None, limit: int, category: str | None
    ) -> ProductPage:
        after_id = decode_cursor(cursor) if cursor is not None else None
        async with self._sessions() as session:
            rows = await ProductRepository(session).page(
                after_id=after_id, limit=limit + 1, category=category
            )
            items = [ProductOut.model_validate(row) for row in rows[:limit]]
        next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
        return ProductPage(items=items, next_cursor=next_cursor)

    async def get_product(self, product_id: int) -> ProductOut:
        async def load() -> ProductOut | None:
            async with self._sessions() as session:
                row = await ProductRepository(session).get(product_id)
                return None if row is None else ProductOut.model_validate(row)

        product = await self._cache.get_or_load(product_key(product_id), load, _PRODUCT)
        if product is None:
            raise ProductNotFoundError(product_id)
        return product

    async def create_product(self, data: ProductCreate) -> ProductOut:
        async with self._sessions() as session:
            return ProductOut.model_validate(await ProductRepository(session).create(data))

    async def update_product(self, product_id: int, changes: ProductUpdate) -> ProductOut:
        async with self._sessions() as session:
            row = await ProductRepository(session).update(product_id, changes)
            if row is None:
                raise ProductNotFoundError(product_id)
            product = ProductOut.model_validate(row)
        await self._cache.invalidate(product_key(product_id))
        return product

    async def delete_product(self, product_id: int) -> None:
        async with self._sessions() as session:
            deleted = await ProductRepository(session).delete(product_id)
        if not deleted:
            raise ProductNotFoundError(product_id)
        await self._cache.invalidate(product_key(product_id))
