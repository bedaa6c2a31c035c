"""Errors that name their cause: what a person must fix is permanent and says where (the store,
the variable, the fix); what may pass is transient and retried. Against real servers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from requests_app.stores import PermanentStoreError, Subject, TransientStoreError, connector_for
from tests.requests_app.stores.conftest import map_from

ROOT = Path(__file__).resolve().parents[3]


def _analytics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> Any:
    monkeypatch.setenv("DSAR_STORE_ANALYTICS_URL", url)
    return map_from(tmp_path, (ROOT / "demo" / "data-map.yaml").read_text()).stores["analytics"]


def _server(variable: str) -> sa.URL:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} not set")
    return sa.make_url(url.replace("postgres://", "postgresql+psycopg://", 1))


def _fails(store: Any) -> Exception:
    with pytest.raises((PermanentStoreError, TransientStoreError)) as caught:
        list(connector_for(store).find(Subject(email="alice@example.com")))
    return caught.value


@pytest.mark.parametrize("variable", ["DSAR_TEST_POSTGRES_URL", "DSAR_TEST_MARIADB_URL"])
def test_a_database_that_does_not_exist_is_permanent_and_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    url = _server(variable).set(database="no_such_database")
    error = _fails(_analytics(tmp_path, monkeypatch, url.render_as_string(hide_password=False)))
    assert isinstance(error, PermanentStoreError)
    assert "the database named in DSAR_STORE_ANALYTICS_URL does not exist" in str(error)
    assert "Fix: create it" in str(error)


@pytest.mark.parametrize("variable", ["DSAR_TEST_POSTGRES_URL", "DSAR_TEST_MARIADB_URL"])
def test_a_refused_login_is_permanent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    url = _server(variable).set(username="no_such_user", password="wrong-secret")
    error = _fails(_analytics(tmp_path, monkeypatch, url.render_as_string(hide_password=False)))
    assert isinstance(error, PermanentStoreError)
    assert "refused the login in DSAR_STORE_ANALYTICS_URL" in str(error)
    assert "wrong-secret" not in str(error)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:p@no-such-host.invalid:5432/x",
        "mysql+pymysql://u:p@no-such-host.invalid:3306/x",
    ],
)
def test_an_unknown_host_is_permanent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    error = _fails(_analytics(tmp_path, monkeypatch, url))
    assert isinstance(error, PermanentStoreError)
    assert "the host named in DSAR_STORE_ANALYTICS_URL is unknown" in str(error)


def test_a_connection_lost_while_rows_stream_is_transient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_analytics: str
) -> None:
    store = _analytics(tmp_path, monkeypatch, postgres_analytics)
    admin = sa.create_engine(postgres_analytics, isolation_level="AUTOCOMMIT")
    killed = []

    def read_and_cut_the_connection() -> None:
        for batch in connector_for(store).find(Subject(email="harriet.heavy@example.com")):
            if batch.table == "page_views" and not killed:
                with admin.connect() as conn:  # the server drops our reader mid-stream
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                killed.append(batch)

    with pytest.raises(TransientStoreError, match="retried") as caught:
        read_and_cut_the_connection()
    admin.dispose()
    assert killed
    assert "store 'analytics'" in str(caught.value)
