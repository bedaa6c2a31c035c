"""Trigram indexes for the staff search (``selectors._searched``) on PostgreSQL.

Django's ``icontains`` is ``UPPER(column::text) LIKE UPPER('%term%')`` there: a GIN index of
``gin_trgm_ops`` on the same expression serves it, however large the table. pg_trgm ships with
PostgreSQL; creating it needs a role allowed to (``CREATE`` on the database, PostgreSQL 13+ for a
trusted extension). SQLite has no such index: the search scans the requests table, which is fine
at the sizes SQLite serves.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

COLUMNS = ("reference", "requester_name", "requester_email", "agent_name", "agent_email")
TABLE = "requests_app_datasubjectrequest"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS dsr_search_{column}_trgm ON "{TABLE}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS dsr_search_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0014_request_language")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
