"""Mercato catalog: the products of the shop."""
