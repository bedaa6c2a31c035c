from __future__ import annotations

import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from demo import estate
from requests_app import datamap
from requests_app.datamap.spec import DataMap
from requests_app.stores import Batch

ROOT = Path(__file__).resolve().parents[3]
CHINOOK = ROOT.parent / "shared" / "datasets" / "chinook.sqlite"
# The public sample database ships in shared/, beside the repository (as CI has it).
assert CHINOOK.is_file(), f"{CHINOOK} is missing: shared/datasets/ must sit beside the repository"


def gather(connector: Any, subject: Any) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for batch in connector.find(subject):
        assert isinstance(batch, Batch)
        out += [(batch.table, record) for record in batch.records()]
    return out


def map_from(tmp_path: Path, text: str) -> DataMap:
    path = tmp_path / "map.yaml"
    path.write_text(text)
    return datamap.load(path)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_store_url() -> Iterator[str]:
    """A PostgreSQL database of our own for store tests (the server from DSAR_TEST_POSTGRES_URL).
    Skipped where no server is configured; in CI the variable is set and a dead server fails."""
    admin_url = os.environ.get("DSAR_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("DSAR_TEST_POSTGRES_URL not set: no PostgreSQL server for store tests")
    admin = sa.create_engine(
        admin_url.replace("postgres://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS dsar_store_test"))
        conn.execute(sa.text("CREATE DATABASE dsar_store_test"))
    url = (
        admin_url.replace("postgres://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
        + "/dsar_store_test"
    )
    yield url
    sa.create_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS dsar_store_test WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_analytics(postgres_store_url: str) -> str:
    everyone = estate.people(random.Random(estate.SEED))
    estate.build_analytics(postgres_store_url, everyone, random.Random(1))
    return postgres_store_url
