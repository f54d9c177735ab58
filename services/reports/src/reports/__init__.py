"""Mercato reports: report jobs whose record in Postgres is the source of truth."""
