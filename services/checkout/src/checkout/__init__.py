"""Mercato checkout: price quotes that fan out to the partners concurrently."""
