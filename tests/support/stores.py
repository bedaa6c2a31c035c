"""A one-table SQLite store and a data map over it, for tests that need a store of their own."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from requests_app import datamap


def one_table_store(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    *,
    name: str,
    column: str,
    rows: list[tuple[str, str]],
    fields: str = "",
) -> Path:
    """Store ``name`` with table ``name`` (``id``, ``email``, ``column``) holding ``rows`` of
    (email, value), mapped as contact data found by email and deleted on erasure; ``fields`` is
    the table's ``fields:`` map, if any. The map is in use until the test ends."""
    database = tmp_path / f"{name}.sqlite"
    with sqlite3.connect(database) as db:
        db.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, email TEXT, {column} TEXT)")
        db.executemany(f"INSERT INTO {name} (email, {column}) VALUES (?, ?)", rows)
    variable = f"DSAR_STORE_{name.upper()}_URL"
    monkeypatch.setenv(variable, f"sqlite:///{database}")
    path = tmp_path / f"{name}-map.yaml"
    path.write_text(
        "version: 1\nregister:\n"
        "  contact: {purposes: [x], legal_basis: x, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}\n"
        f"stores:\n  {name}:\n    kind: sql\n    organisation: {name.title()}\n"
        f"    connection: {{env: {variable}}}\n    tables:\n"
        f"      {name}:\n        category: contact\n        identity: {{email: email}}\n"
        "        erase: delete\n" + (f"        fields: {fields}\n" if fields else "")
    )
    settings.DSAR_DATA_MAP = str(path)
    datamap.current.cache_clear()
    return database
