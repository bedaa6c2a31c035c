from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from requests_app import datamap
from tests.support.stores import one_table_store

PHONE_OWNERS = [f"fix{n}@example.com" for n in range(10)]


@pytest.fixture
def phones(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A one-store map: people's phone numbers (``fix0@…`` to ``fix9@…``), which a correction
    may change."""
    rows = [(email, "01632 960000") for email in PHONE_OWNERS]
    yield one_table_store(
        tmp_path,
        monkeypatch,
        settings,
        name="phones",
        column="phone",
        rows=rows,
        fields="{phone: {rectifiable: true}}",
    )
    datamap.current.cache_clear()


def phone_of(database: Path, email: str) -> str:
    with sqlite3.connect(database) as db:
        (phone,) = db.execute("SELECT phone FROM phones WHERE email = ?", [email]).fetchone()
    return str(phone)
