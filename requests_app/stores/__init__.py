"""Connectors to the connected stores, by kind. See ``base.py`` for the contract."""

from __future__ import annotations

from requests_app.stores import files, http, sql
from requests_app.stores.base import (
    CONNECTORS,
    Batch,
    Connector,
    PermanentStoreError,
    Record,
    StoreError,
    Subject,
    TransientStoreError,
    connector_for,
)

__all__ = [
    "CONNECTORS",
    "Batch",
    "Connector",
    "PermanentStoreError",
    "Record",
    "StoreError",
    "Subject",
    "TransientStoreError",
    "connector_for",
    "files",
    "http",
    "sql",
]
