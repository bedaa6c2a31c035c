"""Smarct DSAR: the Django project (settings, URLs, the Celery app)."""

from smarct_dsar.celery import app as celery_app

__all__ = ["celery_app"]
