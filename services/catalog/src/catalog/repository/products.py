"""SQL for products. Every query here is served by an index."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import DuplicateSkuError
from catalog.models import Product
from catalog.schemas import ProductCreate, ProductUpdate


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def page_ids(
        self, *, after_id: int | None, limit: int, category: str | None
    ) -> list[int]:
        """The ids of a keyset page in id order (the index alone answers it)."""
        query = select(Product.id).order_by(Product.id).limit(limit)
        if after_id is not None:
            query = query.where(Product.id > after_id)
        if category is not None:
            query = query.where(Product.category == category)
        return list((await self._session.scalars(query)).all())

    async def many(self, product_ids: Sequence[int]) -> Sequence[Product]:
        return (
            await self._session.scalars(select(Product).where(Product.id.in_(product_ids)))
        ).all()

    async def get(self, product_id: int) -> Product | None:
        return await self._session.get(Product, product_id)

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
