"""Mercato identity: users, passwords, access and refresh tokens."""
