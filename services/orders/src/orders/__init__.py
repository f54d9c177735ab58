"""Mercato orders: transactional, idempotent orders of the shop."""
