"""Mercato's shared service library.

Every service builds its FastAPI app with :func:`mercato_shared.app.create_app` and gets the same
error shape, request ids, health checks, logging, telemetry and lifespan-owned resources.
"""
