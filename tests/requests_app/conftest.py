from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from requests_app import datamap

PHONE_OWNERS = [f"fix{n}@example.com" for n in range(10)]


@pytest.fixture
def phones(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A one-store map: people's phone numbers (``fix0@…`` to ``fix9@…``), which a correction
    may change."""
    database = tmp_path / "phones.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, phone TEXT)")
        db.executemany(
            "INSERT INTO people (email, phone) VALUES (?, '01632 960000')",
            [(email,) for email in PHONE_OWNERS],
        )
    monkeypatch.setenv("DSAR_STORE_PHONES_URL", f"sqlite:///{database}")
    path = tmp_path / "map.yaml"
    path.write_text(
        "version: 1\nregister:\n"
        "  contact: {purposes: [x], legal_basis: x, retention: x, source: x}\n"
        "stores:\n  phones:\n    kind: sql\n    organisation: Phones\n"
        "    connection: {env: DSAR_STORE_PHONES_URL}\n    tables:\n"
        "      people:\n        category: contact\n        identity: {email: email}\n"
        "        erase: delete\n        fields:\n          phone: {rectifiable: true}\n"
    )
    settings.DSAR_DATA_MAP = str(path)
    datamap.current.cache_clear()
    yield database
    datamap.current.cache_clear()


def phone_of(database: Path, email: str) -> str:
    with sqlite3.connect(database) as db:
        (phone,) = db.execute("SELECT phone FROM people WHERE email = ?", [email]).fetchone()
    return str(phone)
