"""The SQL connector against real databases: the demo estate (SQLite), Chinook, and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from requests_app.stores import PermanentStoreError, Subject, TransientStoreError, connector_for
from tests.requests_app.stores.conftest import CHINOOK, closed_port, gather, map_from

pytestmark = pytest.mark.usefixtures("demo_map")


def test_links_are_followed_across_three_tables(demo_map: Any, demo_estate: dict[str, str]) -> None:
    found = gather(connector_for(demo_map.stores["billing"]), Subject(email="bob@example.com"))
    tables = Counter(t for t, _ in found)
    assert tables == {
        "billing_accounts": 1,
        "invoices": 8,
        "invoice_lines": 8,
        "payment_methods": 1,
    }
    # every row hangs off Bob's account, checked independently with the plain driver
    db = sqlite3.connect(demo_estate["billing"].removeprefix("sqlite:///"))
    (account,) = db.execute(
        "SELECT id FROM billing_accounts WHERE email = 'bob@example.com'"
    ).fetchone()
    invoices = {
        r[0] for r in db.execute("SELECT id FROM invoices WHERE billing_account_id = ?", (account,))
    }
    assert {r["billing_account_id"] for t, r in found if t == "invoices"} == {account}
    assert {r["id"] for t, r in found if t == "invoices"} == invoices
    assert {r["invoice_id"] for t, r in found if t == "invoice_lines"} == invoices


def test_a_declared_link_is_followed_where_there_is_no_foreign_key(demo_map: Any) -> None:
    found = gather(
        connector_for(demo_map.stores["analytics"]), Subject(email="harriet.heavy@example.com")
    )
    visitor = next(r for t, r in found if t == "visitors")
    views = [r for t, r in found if t == "page_views"]
    assert len(views) == 100_000
    assert {r["visitor_id"] for r in views} == {visitor["id"]}


def test_other_subjects_are_never_included(demo_map: Any) -> None:
    for store in ("crm", "app", "billing", "analytics"):
        found = gather(connector_for(demo_map.stores[store]), Subject(email="ALICE@example.com"))
        emails = {r["email"] for _, r in found if "email" in r}
        assert emails == {"alice@example.com"}, store
        assert not any("priya@smarct.example" in str(r) for _, r in found)  # the account manager


def test_nobody_has_nothing(demo_map: Any) -> None:
    for store in ("crm", "app", "billing", "analytics"):
        assert (
            gather(connector_for(demo_map.stores[store]), Subject(email="nobody@example.com")) == []
        )


def _chinook_map(tmp_path: Path, extra: str = "") -> Any:
    text = (Path(__file__).resolve().parents[3] / "demo" / "chinook-data-map.yaml").read_text()
    text = text.replace(
        'default: "sqlite:///../shared/datasets/chinook.sqlite"', f'default: "sqlite:///{CHINOOK}"'
    )
    return map_from(tmp_path, text + extra)


def test_a_chinook_customer_is_gathered_through_discovered_foreign_keys(tmp_path: Path) -> None:
    store = _chinook_map(tmp_path).stores["chinook"]
    found = gather(connector_for(store), Subject(email="luisg@embraer.com.br"))
    db = sqlite3.connect(CHINOOK)
    (customer,) = db.execute(
        "SELECT CustomerId FROM Customer WHERE Email = 'luisg@embraer.com.br'"
    ).fetchone()
    invoices = {
        r[0] for r in db.execute("SELECT InvoiceId FROM Invoice WHERE CustomerId = ?", (customer,))
    }
    lines = db.execute(
        f"SELECT COUNT(*) FROM InvoiceLine WHERE InvoiceId IN ({','.join('?' * len(invoices))})",
        tuple(invoices),
    ).fetchone()[0]
    tables = Counter(t for t, _ in found)
    assert tables == {"Customer": 1, "Invoice": len(invoices), "InvoiceLine": lines}
    assert {r["InvoiceId"] for t, r in found if t == "Invoice"} == invoices


def test_chinook_never_follows_a_link_to_another_person(tmp_path: Path) -> None:
    # Employee is in the map (an employee's own request finds them by email), yet the customer's
    # support rep, an employee the customer's row points at, is not gathered for the customer
    extra = """      Employee:
        category: contact
        identity: {Email: email}
        erase: {action: retain, legal_basis: "Staff record", period: "employment + 6 years"}
"""
    text_map = _chinook_map(tmp_path)
    path = Path(text_map.path)
    path.write_text(path.read_text() + extra)
    from requests_app import datamap

    # two ways to a person from Customer (its email, and its rep's): the map must say which
    store = datamap.load(path).stores["chinook"]
    with pytest.raises(PermanentStoreError, match=r"ignore: \[SupportRepId\]"):
        gather(connector_for(store), Subject(email="luisg@embraer.com.br"))
    path.write_text(
        path.read_text().replace(
            "identity: {Email: email}\n        erase: {action: anonymise",
            "identity: {Email: email}\n        ignore: [SupportRepId]\n        erase: {action: anonymise",
        )
    )
    store = datamap.load(path).stores["chinook"]
    tables = {t for t, _ in gather(connector_for(store), Subject(email="luisg@embraer.com.br"))}
    assert "Employee" not in tables
    assert tables == {"Customer", "Invoice", "InvoiceLine"}


def test_a_postgres_store_streams_the_heavy_subject(
    tmp_path: Path, postgres_analytics: str
) -> None:
    text = (Path(__file__).resolve().parents[3] / "demo" / "data-map.yaml").read_text()
    store = map_from(
        tmp_path,
        text.replace(
            'default: "sqlite:///{var}/demo/analytics.sqlite3"', f'default: "{postgres_analytics}"'
        ),
    ).stores["analytics"]
    connector = connector_for(store)
    batches = list(connector.find(Subject(email="harriet.heavy@example.com")))
    assert max(len(b.rows) for b in batches) <= 2000  # streamed in bounded batches
    assert sum(len(b.rows) for b in batches if b.table == "page_views") == 100_000
    assert sum(len(b.rows) for b in batches if b.table == "visitors") == 1


def test_an_unreachable_database_is_transient(tmp_path: Path, monkeypatch: Any) -> None:
    store = _chinook_map(tmp_path).stores["chinook"]
    monkeypatch.setenv(
        "DSAR_STORE_CHINOOK_URL", f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/x"
    )
    with pytest.raises(TransientStoreError, match="unreachable"):
        gather(connector_for(store), Subject(email="luisg@embraer.com.br"))


def test_a_missing_table_is_permanent(tmp_path: Path, monkeypatch: Any) -> None:
    store = _chinook_map(tmp_path).stores["chinook"]
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).execute("CREATE TABLE other (id INTEGER)")
    monkeypatch.setenv("DSAR_STORE_CHINOOK_URL", f"sqlite:///{empty}")
    with pytest.raises(PermanentStoreError, match="Customer"):
        gather(connector_for(store), Subject(email="a@example.com"))


def test_a_missing_connection_setting_names_the_variable(tmp_path: Path) -> None:
    text = _chinook_map(tmp_path)
    path = Path(text.path)
    path.write_text(path.read_text().replace(f', default: "sqlite:///{CHINOOK}"', ""))
    from requests_app import datamap

    store = datamap.load(path).stores["chinook"]
    with pytest.raises(PermanentStoreError, match="set DSAR_STORE_CHINOOK_URL"):
        connector_for(store).ping()
