"""``manage.py discover_store`` on schemas it has never seen: the rental schema on every database
(partitions and inheritance on PostgreSQL), and Chinook."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from django.core.management import call_command

from tests.requests_app.stores.conftest import CHINOOK
from tests.schemas import fixtures

rental_url = fixtures.rental_url


def _discover(url: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as seen:  # no raw library warnings for the user
        warnings.simplefilter("always")
        call_command("discover_store", url=url, stdout=out, stderr=err)
    assert [str(w.message) for w in seen] == []
    assert err.getvalue() == ""
    return out.getvalue()


def _section(text: str, table: str) -> str:
    match = re.search(rf"^      {table}:\n((?:        .*\n?)*)", text, re.M)
    assert match, f"{table} not proposed"
    return match.group(1)


def test_the_rental_schema_is_proposed_with_one_owner_per_table(rental_url: str) -> None:
    text = _discover(rental_url)
    assert "identity: {email: email}" in _section(text, "customer")
    assert "identity" not in _section(text, "staff").replace("give it identity", "")
    payment = _section(text, "payment")
    assert "2 paths lead to a person" in payment
    assert "owner: {via: customer_id}" in payment
    address = _section(text, "address")
    assert "owner: {referenced_by: customer.address_id}" in address
    assert not re.search(r"^      payment_p20", text, re.M)  # partitions fold into payment
    assert "customer_note_flagged:" not in text
    if rental_url.startswith("postgresql"):
        assert "includes payment_p2024" in payment


def test_chinook_by_url_alone(tmp_path: Path) -> None:
    text = _discover(f"sqlite:///{CHINOOK}")
    assert text.startswith("  chinook:\n")
    assert "identity: {Email: email}" in _section(text, "Customer")
    assert "identity: {Email" not in _section(text, "Employee").replace("give it identity", "")
    assert "referenced_by" not in _section(text, "Employee")


def test_check_stores_passes_on_the_demo_map_with_every_kind_of_store(demo_map: object) -> None:
    out = io.StringIO()
    call_command("check_stores", stdout=out)
    lines = out.getvalue().splitlines()
    assert {
        "crm (sql): OK",
        "consent (files): OK",
        "marketing (http): OK",
        "payments (notify): OK",
    } <= set(lines)
