"""Catalog's logic: one module per aggregate (products with their cache and ranking, stock
reservations)."""

from catalog.service.products import ALL_LISTINGS, CatalogService, product_key
from catalog.service.reservations import ReservationService

__all__ = ["ALL_LISTINGS", "CatalogService", "ReservationService", "product_key"]
