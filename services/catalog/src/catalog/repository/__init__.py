"""Catalog's SQL: one module per aggregate (products, stock reservations)."""

from catalog.repository.products import ProductRepository
from catalog.repository.reservations import ReservationRepository, ReservationWrites

__all__ = ["ProductRepository", "ReservationRepository", "ReservationWrites"]
