"""Catalog tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="ck_products_stock_non_negative"),
        CheckConstraint("price > 0", name="ck_products_price_positive"),
        # Keyset pages filtered by category walk this index in id order.
        Index("ix_products_category_id", "category", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Reservation(Base):
    """Stock taken for one order, keyed by the caller's id so a retry never takes it twice.

    `lines` holds what was reserved and at which price; a release puts the stock back and
    sets `released_at`. Releasing an unknown id stores a tombstone, so a reservation that
    arrives after its own compensation is refused instead of leaking stock.

    `touched_at` is when a reservation call last returned it (made, or repeated by a retry);
    `confirmed_at` is when catalog learnt from orders that an order was written with it. The
    sweeper (catalog.sweeper) releases a reservation neither confirmed nor touched for
    `RESERVATION_TTL_SECONDS` whose id orders does not know; a confirmed one is never swept.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        # The sweeper's scan: only open reservations are in it (a few minutes' worth).
        Index(
            "ix_reservations_open_touched_at",
            "touched_at",
            postgresql_where=text("released_at IS NULL AND confirmed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
