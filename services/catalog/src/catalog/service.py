"""Catalog logic: cached product reads, writes that invalidate the cache."""

from __future__ import annotations

from pydantic import TypeAdapter

from catalog.errors import ProductNotFoundError
from catalog.pagination import decode_cursor, encode_cursor
from catalog.repository import ProductRepository
from catalog.schemas import ProductCreate, ProductOut, ProductPage, ProductUpdate
from mercato_shared.cache import Cache

_PRODUCT = TypeAdapter(ProductOut)


def product_key(product_id: int) -> str:
    return f"product:{product_id}"


class CatalogService:
    def __init__(self, repository: ProductRepository, cache: Cache) -> None:
        self._repository = repository
        self._cache = cache

    async def list_products(
        self, *, cursor: str | None, limit: int, category: str | None
    ) -> ProductPage:
        after_id = decode_cursor(cursor) if cursor is not None else None
        rows = await self._repository.page(after_id=after_id, limit=limit + 1, category=category)
        items = [ProductOut.model_validate(row) for row in rows[:limit]]
        next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
        return ProductPage(items=items, next_cursor=next_cursor)

    async def get_product(self, product_id: int) -> ProductOut:
        async def load() -> ProductOut | None:
            row = await self._repository.get(product_id)
            return None if row is None else ProductOut.model_validate(row)

        product = await self._cache.get_or_load(product_key(product_id), load, _PRODUCT)
        if product is None:
            raise ProductNotFoundError(product_id)
        return product

    async def create_product(self, data: ProductCreate) -> ProductOut:
        return ProductOut.model_validate(await self._repository.create(data))

    async def update_product(self, product_id: int, changes: ProductUpdate) -> ProductOut:
        row = await self._repository.update(product_id, changes)
        if row is None:
            raise ProductNotFoundError(product_id)
        await self._cache.invalidate(product_key(product_id))
        return ProductOut.model_validate(row)

    async def delete_product(self, product_id: int) -> None:
        if not await self._repository.delete(product_id):
            raise ProductNotFoundError(product_id)
        await self._cache.invalidate(product_key(product_id))
