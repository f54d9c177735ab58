"""Mercato workers: the Celery app, the report task and the periodic tasks."""
