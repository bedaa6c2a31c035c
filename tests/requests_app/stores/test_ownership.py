"""Exactly the person's data on a multi-path schema (tests/schemas/rental.py), on SQLite,
PostgreSQL (partitions, inheritance) and MariaDB: access equals a hand-written query of each
person's rows; erasure changes exactly the plan, everyone else's rows byte-identical; the plan's
counts, the erasure's and the re-scan's agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from requests_app import datamap
from requests_app.datamap.spec import StoreSpec
from requests_app.stores import PermanentStoreError, Subject, connector_for
from requests_app.stores.checks import check_map
from smarct_dsar.crypto import keyed_hash
from tests.schemas import fixtures, rental
from tests.schemas.fixtures import fresh

rental_url = fixtures.rental_url
rental_sqlite = fixtures.rental_sqlite

MAP = Path(__file__).resolve().parents[2] / "data" / "rental-map.yaml"
TODAY = dt.date(2026, 6, 1)
# PostgreSQL only: customer_note_flagged INHERITS customer_note and adds flag_reason, so it is
# mapped itself (customer_note is then read without it).
FLAGGED_NOTES = f"""      {rental.FLAGGED_TABLE}:
        category: support
        erase: delete
"""  # invoices issued up to 31 March 2019 are past their 6 years


@pytest.fixture
def rental_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., datamap.DataMap]:
    """The rental map pointed at ``url``, optionally edited (a broken map)."""

    def load(url: str, edit: Callable[[str], str] = lambda text: text) -> datamap.DataMap:
        monkeypatch.setenv("DSAR_STORE_RENTAL_URL", url)
        path = tmp_path / "rental-map.yaml"
        text = MAP.read_text()
        if url.startswith("postgresql"):  # notes flagged for review carry a reason of their own
            text += FLAGGED_NOTES
        path.write_text(edit(text))
        return datamap.load(path)

    return load


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """The clock, the one edge patched: retention periods end relative to it."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)
    return TODAY


def _store(rental_map: Callable[..., datamap.DataMap], url: str, **kw: Any) -> StoreSpec:
    return rental_map(url, **kw).stores["rental"]


def _gathered(store: StoreSpec, email: str) -> dict[str, set[tuple[Any, ...]]]:
    """What the connector finds, as ``rental.owned_rows`` gives it: flagged notes (their own
    table on PostgreSQL) among the notes, without their extra column."""
    found: dict[str, set[tuple[Any, ...]]] = {t: set() for t in rental.OWNED}
    width = len(rental.columns("customer_note"))
    for batch in connector_for(store).find(Subject(email=email)):
        table = batch.table
        rows = batch.rows
        if table == rental.FLAGGED_TABLE:
            assert all(row[width] for row in rows)  # the reason, gathered too
            table, rows = "customer_note", [row[:width] for row in rows]
        found[table] |= {rental.normalise(table, row) for row in rows}
    return found


# --- access ------------------------------------------------------------------------------------


def test_access_is_exactly_each_persons_rows_on_every_database(
    rental_url: str, rental_map: Any
) -> None:
    store = _store(rental_map, rental_url)
    for email in rental.SUBJECTS:
        assert _gathered(store, email) == rental.owned_rows(rental_url, email), email


def test_a_payment_for_the_persons_rental_by_someone_else_is_not_theirs(
    rental_sqlite: str, rental_map: Any
) -> None:
    # c02 paid for one of c01's rentals: following payment.rental_id would hand c01 c02's payment
    store = _store(rental_map, rental_sqlite)
    found = _gathered(store, "c01@example.com")
    customer = next(iter(found["customer"]))[0]
    rentals = {row[0] for row in found["rental"]}
    others = [
        row
        for row in rental.dump(rental_sqlite)["payment"].values()
        if row[2] in rentals and row[1] != customer
    ]
    assert others, "the schema must hold another customer's payment for c01's rental"
    assert {row[1] for row in found["payment"]} == {customer}


# --- erasure -----------------------------------------------------------------------------------


def _financial_year_end(day: dt.date) -> dt.date:
    end = dt.date(day.year, 3, 31)
    return end if day <= end else dt.date(day.year + 1, 3, 31)


def _expired(issued: str, today: dt.date) -> bool:
    end = _financial_year_end(dt.date.fromisoformat(issued[:10]))
    return end.replace(year=end.year + 6) < today


def _anonymised_customer(row: tuple[Any, ...]) -> tuple[Any, ...]:
    cols = rental.columns("customer")
    values = dict(zip(cols, row, strict=True))
    email = values["email"]
    values |= {
        "first_name": "[erased]",
        "last_name": "[erased]",
        "email": "anon:" + keyed_hash(email.strip().lower(), purpose="anonymise")[:24],
        "created_on": values["created_on"][:4] + "-01-01",
    }
    return tuple(values[c] for c in cols)


def _expected(
    before: dict[str, dict[Any, Any]], owned: dict[str, set[Any]], today: dt.date
) -> tuple[dict[str, dict[Any, Any]], dict[str, dict[str, int]]]:
    """What erasure must leave, worked out in Python from the rows (not by our SQL), and the
    counts per table."""
    after = {table: dict(rows) for table, rows in before.items()}
    tables = [*rental.OWNED, *([rental.FLAGGED_TABLE] if rental.FLAGGED_TABLE in before else [])]
    counts = {
        t: dict.fromkeys(("deleted", "anonymised", "retained", "expired", "shared"), 0)
        for t in tables
    }
    mine = {t: {row[0] for row in rows} for t, rows in owned.items()}
    for key in mine["customer"]:
        after["customer"][(key,)] = _anonymised_customer(before["customer"][(key,)])
        counts["customer"]["anonymised"] += 1
    pointers = [(t, row) for t in ("customer", "staff", "store") for row in before[t].values()]
    addr_col = {t: rental.columns(t).index("address_id") for t in ("customer", "staff", "store")}
    for key in mine["address"]:
        others = [
            1
            for t, row in pointers
            if row[addr_col[t]] == key and not (t == "customer" and row[0] in mine["customer"])
        ]
        if others:
            counts["address"]["shared"] += 1
        else:
            after["address"][(key,)] = (key, "[erased]", None, None)
            counts["address"]["anonymised"] += 1
    for key in mine["payment"]:
        del after["payment"][(key,)]
        counts["payment"]["deleted"] += 1
    for key in mine["customer_note"]:
        del after["customer_note"][(key,)]
        flagged = after.get(rental.FLAGGED_TABLE, {}).pop((key,), None)
        table = rental.FLAGGED_TABLE if flagged else "customer_note"
        counts.setdefault(table, dict.fromkeys(counts["customer_note"], 0))["deleted"] += 1
    for key in mine["rental"]:
        if any(p[2] == key for p in after["payment"].values()):
            counts["rental"]["shared"] += 1  # someone else's payment still points at it
        else:
            del after["rental"][(key,)]
            counts["rental"]["deleted"] += 1
    gone = set()
    for key in mine["invoice"]:
        if _expired(before["invoice"][(key,)][2], today):
            gone.add(key)
            del after["invoice"][(key,)]
            counts["invoice"]["deleted"] += 1
            counts["invoice"]["expired"] += 1
        else:
            counts["invoice"]["retained"] += 1
    for key in mine["invoice_line"]:
        if before["invoice_line"][(key,)][1] in gone:
            del after["invoice_line"][(key,)]
            counts["invoice_line"]["deleted"] += 1
            counts["invoice_line"]["expired"] += 1
        else:
            counts["invoice_line"]["retained"] += 1
    return after, counts


def test_erasure_changes_exactly_the_plan_for_everyone_in_turn(
    rental_url: str, rental_map: Any, today: dt.date
) -> None:
    fresh(rental_url)
    connector = connector_for(_store(rental_map, rental_url))
    erased_something = 0
    for email in rental.SUBJECTS:
        subject = Subject(email=email)
        before = rental.dump(rental_url)
        expected, counts = _expected(before, rental.owned_rows(rental_url, email), today)
        plan = {t: o.as_dict() for t, o in connector.preview(subject).items()}
        done = {t: o.as_dict() for t, o in connector.erase(subject).items()}
        assert rental.dump(rental_url) == expected, email
        assert plan == done == counts, email
        left = connector.leftovers(subject)
        assert all(r["left"] == 0 for r in left.values()), (email, left)
        assert sum(o.deleted + o.anonymised for o in connector.preview(subject).values()) == 0
        erased_something += bool(sum(c["deleted"] + c["anonymised"] for c in counts.values()))
    assert erased_something == 40  # every customer with an email; not staff, not nobody


def test_erasing_twice_changes_nothing_more(
    rental_url: str, rental_map: Any, today: dt.date
) -> None:
    fresh(rental_url)
    connector = connector_for(_store(rental_map, rental_url))
    connector.erase(Subject(email="c01@example.com"))
    before = rental.dump(rental_url)
    again = connector.erase(Subject(email="c01@example.com"))
    assert rental.dump(rental_url) == before
    assert sum(o.deleted + o.anonymised for o in again.values()) == 0


def test_deleting_customer_and_its_shared_address_keeps_the_address_others_use(
    rental_url: str, rental_map: Any, today: dt.date
) -> None:
    # The finding: deleting both customer and address failed (address first, the key refused).
    # Now children go first; a shared address (c03 and c04's household) is left alone.
    fresh(rental_url)

    def deleting(text: str) -> str:
        head, rest = text.split("      customer:\n", 1)
        _, tail = rest.split("      rental:\n", 1)
        tail, _ = tail.split("      invoice:\n", 1)
        return (
            head
            + "      customer: {category: contact, identity: {email: email}, erase: delete}\n"
            + "      address:\n"
            + "        {category: contact, owner: {referenced_by: customer.address_id}, erase: delete}\n"
            + "      rental:\n"
            + tail
            + "      invoice: {category: financial, erase: delete}\n"
            + "      invoice_line: {category: financial, erase: delete}\n"
            + (FLAGGED_NOTES if FLAGGED_NOTES in text else "")
        )

    assert _problems(rental_map, rental_url, deleting) == []
    store = _store(rental_map, rental_url, edit=deleting)
    connector = connector_for(store)
    shared = rental.shared_addresses(rental_url)
    # c04 first: c04 paid for one of c03's rentals, which would otherwise keep c03's row
    for email in ("c04@example.com", "c09@example.com", "c03@example.com"):
        before = rental.dump(rental_url)
        (address,) = {row[0] for row in rental.owned_rows(rental_url, email)["address"]}
        outcome = connector.erase(Subject(email=email))
        after = rental.dump(rental_url)
        assert outcome["customer"].deleted == 1
        # c04 leaves the household address to c03; c03, the last to use it, takes it along
        assert ((address,) in after["address"]) == (email == "c04@example.com"), email
        assert address in shared or email == "c09@example.com"
        for table in ("staff", "store"):
            assert after[table] == before[table]


def test_a_correction_never_changes_a_shared_address(rental_url: str, rental_map: Any) -> None:
    fresh(rental_url)
    connector = connector_for(_store(rental_map, rental_url))
    before = rental.dump(rental_url)["address"]
    # c03 shares address 9 with c04: correcting it for c03 would change c04's address
    assert (
        connector.update(Subject(email="c03@example.com"), "address", {"postcode": "ZZ1 1ZZ"}) == 0
    )
    assert rental.dump(rental_url)["address"] == before
    changed = connector.update(Subject(email="c08@example.com"), "address", {"postcode": "ZZ1 1ZZ"})
    after = rental.dump(rental_url)["address"]
    assert changed == 1
    assert [k for k in before if before[k] != after[k]] == [
        (next(iter(rental.owned_rows(rental_url, "c08@example.com")["address"]))[0],)
    ]


# --- the map held against the schema -----------------------------------------------------------


def _problems(rental_map: Any, url: str, edit: Callable[[str], str]) -> list[str]:
    return [str(p) for p in check_map(rental_map(url, edit=edit))]


def test_the_rental_map_passes_the_live_check(rental_url: str, rental_map: Any) -> None:
    assert _problems(rental_map, rental_url, lambda t: t) == []


def test_two_ownership_paths_are_refused_naming_both_and_the_yaml(
    rental_url: str, rental_map: Any
) -> None:
    edit = lambda t: t.replace("        owner: {via: customer_id}\n", "")  # noqa: E731
    (problem,) = _problems(rental_map, rental_url, edit)
    assert "payment has 2 ownership paths" in problem
    assert "payment.customer_id → customer.customer_id" in problem
    assert "payment.rental_id → rental.rental_id, then rental.customer_id" in problem
    assert "owner: {via: customer_id}" in problem
    assert "rental-map.yaml:" in problem
    with pytest.raises(PermanentStoreError, match="2 ownership paths"):
        list(
            connector_for(rental_map(rental_url, edit=edit).stores["rental"]).find(
                Subject(email="c01@example.com")
            )
        )


def test_deleting_rows_that_retained_rows_point_at_is_refused(
    rental_url: str, rental_map: Any
) -> None:
    def edit(text: str) -> str:
        return text.replace(
            "      payment:\n        category: financial\n        owner: {via: customer_id}\n        erase: delete",
            "      payment:\n        category: financial\n        owner: {via: customer_id}\n        erase: {action: retain, legal_basis: Tax, period: 6 years}",
        )

    (problem,) = _problems(rental_map, rental_url, edit)
    assert "rental rows are deleted, but payment rows, which are retained" in problem
    assert "payment.rental_id → rental.rental_id (not null)" in problem
    assert "Fix: keep rental too" in problem


@pytest.mark.parametrize(
    ("find", "replace", "expected"),
    [
        (
            'first_name: {erase: {action: anonymise, strategy: fixed, value: "[erased]"}}',
            'first_name: {erase: {action: anonymise, strategy: "null"}}',
            "first_name: anonymised to NULL, but the column is NOT NULL",
        ),
        (
            "created_on: {erase: {action: anonymise, strategy: generalise_date}}",
            'created_on: {erase: {action: anonymise, strategy: fixed, value: "[erased]"}}',
            "the fixed value '[erased]' is text, but the column is DATE",
        ),
        ("      customer_note:\n", "      customer_notes:\n", "did you mean 'customer_note'?"),
        ("owner: {via: customer_id}", "owner: {via: customerid}", "owner.via"),
        (
            "postcode: {rectifiable: true}",
            "post_code: {rectifiable: true}",
            "did you mean 'postcode'?",
        ),
        ("from_field: issued_on", "from_field: issued", "did you mean 'issued_on'?"),
        ("with_owner: true", "with_owner: false", "give invoice_line erase.with_owner: true"),
    ],
)
def test_each_broken_map_is_refused_with_its_fix(
    rental_sqlite: str, rental_map: Any, find: str, replace: str, expected: str
) -> None:
    assert find in MAP.read_text()
    problems = _problems(rental_map, rental_sqlite, lambda t: t.replace(find, replace))
    assert any(expected.lower() in p.lower() for p in problems), problems
    assert all("Fix:" in p and "rental-map.yaml:" in p for p in problems)


def test_a_missing_table_does_not_hide_the_other_problems(
    rental_sqlite: str, rental_map: Any
) -> None:
    def edit(text: str) -> str:
        text = text.replace("      customer_note:\n", "      customer_notes:\n")
        return text.replace("postcode: {rectifiable: true}", "post_code: {rectifiable: true}")

    problems = _problems(rental_map, rental_sqlite, edit)
    assert len(problems) == 2
    assert "did you mean 'customer_note'?" in problems[0]
    assert "did you mean 'postcode'?" in problems[1]
