from __future__ import annotations

import itertools
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


# --- scratch databases of a test's own, on each dialect (tests/requests_app/stores/test_hostile_*)

_numbers = itertools.count()
SERVERS = {"postgres": "DSAR_TEST_POSTGRES_URL", "mariadb": "DSAR_TEST_MARIADB_URL"}


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Any]:
    """``scratch(dialect, *statements)`` → the URL of a new database holding them."""
    made: list[tuple[sa.Engine, str]] = []

    def make(dialect: str, *statements: str) -> str:
        if dialect == "sqlite":
            url = f"sqlite:///{tmp_path / f'scratch{next(_numbers)}.sqlite'}"
        else:
            admin_url = os.environ.get(SERVERS[dialect])
            if not admin_url:
                pytest.skip(f"{SERVERS[dialect]} not set")
            admin = sa.create_engine(
                admin_url.replace("postgres://", "postgresql+psycopg://", 1),
                isolation_level="AUTOCOMMIT",
            )
            name = f"dsar_scratch_{os.getpid()}_{next(_numbers)}"
            with admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
            made.append((admin, name))
            url = admin.url.set(database=name).render_as_string(hide_password=False)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
        engine.dispose()
        return url

    yield make
    for admin, name in reversed(made):  # a database others point into goes last
        force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


def scratch_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, tables: str) -> Any:
    """A one-store map (``x``) over ``url`` with these tables."""
    monkeypatch.setenv("DSAR_STORE_X_URL", url)
    path = tmp_path / f"map{next(_numbers)}.yaml"
    path.write_text(
        "version: 1\nregister:\n"
        "  contact: {purposes: [x], legal_basis: x, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}\n"
        "  financial: {purposes: [x], legal_basis: x, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}\n"
        "stores:\n  x:\n    kind: sql\n    organisation: X\n"
        "    connection: {env: DSAR_STORE_X_URL}\n    tables:\n" + tables
    )
    return datamap.load(path)


def table_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``, in key order, as the database holds it."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1"))]
    engine.dispose()
    return rows
