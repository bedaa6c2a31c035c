from __future__ import annotations

from django.apps import AppConfig


class ExportsAppConfig(AppConfig):
    name = "exports_app"
    verbose_name = "Exports and deliveries"
    default_auto_field = "django.db.models.BigAutoField"
