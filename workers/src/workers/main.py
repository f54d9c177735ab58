"""The Celery app the command line loads: `celery -A workers.main worker|beat ...`."""

from __future__ import annotations

from workers.celery_app import create_celery

app = create_celery()
