"""Catalog logic: cached product reads, writes that invalidate the cache, the ranking."""

from __future__ import annotations

from pydantic import BaseModel, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from catalog.errors import ProductNotFoundError
from catalog.pagination import decode_cursor, encode_cursor
from catalog.popular import PopularRanking
from catalog.repository.products import ProductReads, ProductRepository
from catalog.schemas import (
    PopularProduct,
    ProductCreate,
    ProductOut,
    ProductUpdate,
)
from mercato_shared.cache import Cache
from mercato_shared.near_cache import Entry

_PRODUCT = TypeAdapter(ProductOut)
_CURSOR = TypeAdapter(str | None)


class Listing(BaseModel):
    ids: list[int]
    next_cursor: str | None


_LISTING = TypeAdapter(Listing)


def product_key(product_id: int) -> str:
    return f"product:{product_id}"


# Which products a list page holds, kept in process (`Cache.get_or_load_local`) and dropped in
# every process when a product is created, changed or deleted; a reservation changes stock,
# which lives in the products' own entries, and leaves the pages' membership alone.
ALL_LISTINGS = "listings:*"


def listing_key(category: str | None, after_id: int | None, limit: int) -> str:
    return f"listings:{category or ''}:{after_id or 0}:{limit}"


class CatalogService:
    """The products of one process (built once, in its lifespan). A cache hit touches no
    connection; a miss is one statement on the autocommit view (`reads`), run by the cache's
    shared load, so a caller that goes away cannot cut it short for the others. Each write
    opens its own session."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        reads: AsyncEngine,
        cache: Cache,
        ranking: PopularRanking,
    ) -> None:
        self._sessions = sessions
        self._reads = ProductReads(reads)
        self._cache = cache
        self._ranking = ranking

    async def popular(self, limit: int) -> list[PopularProduct]:
        return await self._ranking.top(limit)

    async def list_json(self, *, cursor: str | None, limit: int, category: str | None) -> Entry:
        """One page as the JSON a list answers (ProductPage), put together from cached parts:
        the page's product ids, then each product's own cached JSON, as a read serves it."""
        after_id = decode_cursor(cursor) if cursor is not None else None

        async def load_listing() -> bytes:
            ids = await self._reads.page_ids(after_id=after_id, limit=limit + 1, category=category)
            next_cursor = encode_cursor(ids[limit - 1]) if len(ids) > limit else None
            return _LISTING.dump_json(Listing(ids=ids[:limit], next_cursor=next_cursor))

        raw = await self._cache.get_or_load_local(
            listing_key(category, after_id, limit), load_listing
        )
        if raw is None:  # load_listing always has bytes: None would be a bug in the cache
            msg = "the cache returned no listing"
            raise RuntimeError(msg)
        listing = _LISTING.validate_json(raw.body)
        products = await self._cache.get_or_load_entries(
            [product_key(product_id) for product_id in listing.ids], self._load_products
        )
        items = b",".join(entry.body for entry in products if entry is not None)
        return Entry.of(
            b'{"items":[%b],"next_cursor":%b}' % (items, _CURSOR.dump_json(listing.next_cursor))
        )

    async def _load_products(self, keys: list[str]) -> dict[str, bytes]:
        ids = [int(key.rpartition(":")[2]) for key in keys]
        rows = await self._reads.many(ids)
        return {
            product_key(row.id): _PRODUCT.dump_json(ProductOut.model_validate(row)) for row in rows
        }

    async def product_json(self, product_id: int) -> Entry:
        """One product as the JSON a read answers (ProductOut), from the cache when warm: a
        hit is served as cached, neither validated nor serialised again."""

        async def load() -> bytes | None:
            row = await self._reads.get(product_id)
            return None if row is None else _PRODUCT.dump_json(ProductOut.model_validate(row))

        entry = await self._cache.get_or_load_entry(product_key(product_id), load)
        if entry is None:
            raise ProductNotFoundError(product_id)
        return entry

    async def create_product(self, data: ProductCreate) -> ProductOut:
        async with self._sessions() as session:
            product = ProductOut.model_validate(await ProductRepository(session).create(data))
        await self._cache.invalidate(ALL_LISTINGS)
        return product

    async def update_product(self, product_id: int, changes: ProductUpdate) -> ProductOut:
        async with self._sessions() as session:
            row = await ProductRepository(session).update(product_id, changes)
            if row is None:
                raise ProductNotFoundError(product_id)
            product = ProductOut.model_validate(row)
        await self._cache.invalidate(product_key(product_id), ALL_LISTINGS)
        return product

    async def delete_product(self, product_id: int) -> None:
        async with self._sessions() as session:
            deleted = await ProductRepository(session).delete(product_id)
        if not deleted:
            raise ProductNotFoundError(product_id)
        await self._cache.invalidate(product_key(product_id), ALL_LISTINGS)
