"""Fixtures that hand out the rental database (``tests.schemas.rental``) on each dialect. They
are plain fixtures, not in a conftest: a test module binds the ones it uses, e.g.

    from tests.schemas import fixtures
    from tests.schemas.fixtures import fresh

    rental_url = fixtures.rental_url  # bound, not imported: a shadowing import is lint F811

``rental_url`` runs a test once per dialect (``sqlite``, ``postgres``, ``mariadb``), skipping a
server dialect whose variable is unset: ``DSAR_TEST_POSTGRES_URL`` (an admin database on the
server, e.g. ``postgres://postgres@127.0.0.1:5432/postgres``) or ``DSAR_TEST_MARIADB_URL`` (e.g.
``mysql+pymysql://root@127.0.0.1:3306/test``). On a server the fixtures create a database of
their own, ``dsar_rental_test``, and drop it when the session ends.

Each database is built once per session. A test that changes the data calls ``fresh(url)``
first; the next test handed that database by any fixture here gets it rebuilt, so the readers
always see ``rental.dataset()``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.schemas import rental

DATABASE = "dsar_rental_test"
DIALECTS = ("sqlite", "postgres", "mariadb")
SERVERS = {"postgres": "DSAR_TEST_POSTGRES_URL", "mariadb": "DSAR_TEST_MARIADB_URL"}

_built: dict[str, str] = {}  # dialect → URL of its database, built this session
_changed: set[str] = set()  # URLs handed to fresh() and not rebuilt since


def fresh(url: str) -> str:
    """Make the database at ``url`` hold exactly ``rental.dataset()`` for a test that is about to
    change it, and return ``url``; later fixture users get it rebuilt. A database no one has
    declared changed since it was built is not rebuilt again."""
    if url in _changed or url not in _built.values():
        rental.build(url)
    _changed.add(url)
    return url


def available(dialect: str) -> bool:
    """Whether this session can have the rental database on ``dialect``."""
    return dialect == "sqlite" or bool(os.environ.get(SERVERS[dialect]))


def _server_database(dialect: str, config: pytest.Config) -> str:
    variable = SERVERS[dialect]
    admin_url = os.environ.get(variable)
    if not admin_url:
        pytest.skip(f"{variable} not set: no {dialect} server for the rental schema")
    admin = rental.engine_for(admin_url, isolation_level="AUTOCOMMIT")
    force = " WITH (FORCE)" if dialect == "postgres" else ""

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE}{force}"))
        admin.dispose()

    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE}{force}"))
        conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    config.add_cleanup(drop)
    return admin.url.set(database=DATABASE).render_as_string(hide_password=False)


def _database(dialect: str, config: pytest.Config, tmp: pytest.TempPathFactory) -> str:
    """The URL of the rental database on ``dialect``, built or rebuilt if need be."""
    url = _built.get(dialect)
    if url is None:
        if dialect == "sqlite":
            url = f"sqlite:///{Path(tmp.mktemp('rental')) / 'rental.sqlite'}"
        else:
            url = _server_database(dialect, config)
        rental.build(url)
        _built[dialect] = url
    elif url in _changed:
        rental.build(url)
    _changed.discard(url)
    return url


# Function-scoped although each database is built once per session: a session fixture's value
# is handed out once, so it could not rebuild for a reader that runs after a test that erased.
@pytest.fixture
def rental_sqlite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The rental database in a SQLite file, holding ``rental.dataset()`` unchanged."""
    return _database("sqlite", request.config, tmp_path_factory)


@pytest.fixture
def rental_postgres(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The rental database on the PostgreSQL server, unchanged; skipped with no server."""
    return _database("postgres", request.config, tmp_path_factory)


@pytest.fixture
def rental_mariadb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The rental database on the MariaDB server, unchanged; skipped with no server."""
    return _database("mariadb", request.config, tmp_path_factory)


@pytest.fixture(params=DIALECTS)
def rental_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The rental database on each dialect in turn, holding ``rental.dataset()`` unchanged."""
    return _database(request.param, request.config, tmp_path_factory)


@pytest.fixture
def rental_urls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Every available rental database by dialect, each holding ``rental.dataset()`` unchanged."""
    return {
        dialect: _database(dialect, request.config, tmp_path_factory)
        for dialect in DIALECTS
        if available(dialect)
    }
