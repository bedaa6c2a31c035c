"""The rental schema builder itself, on every available dialect: the situations its docstring
promises exist (counted by SQL), ``owned_rows`` and ``dump`` agree with expectations computed in
Python from the generated rows, and every dialect reads back the same normalised data."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from tests.schemas import fixtures, rental
from tests.schemas import rental_data as data
from tests.schemas.fixtures import fresh
from tests.schemas.rental import FLAGGED_TABLE, Row

# The fixtures this module uses, bound by assignment: an imported name that a test's parameter
# shadows is a lint error (F811), and pytest only needs to find the fixture in the module.
rental_url = fixtures.rental_url
rental_urls = fixtures.rental_urls
rental_postgres = fixtures.rental_postgres
rental_mariadb = fixtures.rental_mariadb

DATA = data.dataset()


def _query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = rental.engine_for(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def _is_postgres(url: str) -> bool:
    return sa.make_url(url).get_backend_name() == "postgresql"


def _customer(n: int) -> Row:
    return DATA.rows["customer"][n - 1]


def expected_owned(email: str) -> dict[str, set[Row]]:
    """What ``owned_rows`` should answer, worked out from the generated rows alone."""
    people = [c for c in DATA.rows["customer"] if c[4] and c[4].lower() == email.lower()]
    ids = {c[0] for c in people}
    homes = {c[5] for c in people}
    invoices = {i[0] for i in DATA.rows["invoice"] if i[1] in ids}
    picked = {
        "customer": people,
        "address": [a for a in DATA.rows["address"] if a[0] in homes],
        "rental": [r for r in DATA.rows["rental"] if r[2] in ids],
        "payment": [p for p in DATA.rows["payment"] if p[1] in ids],
        "customer_note": [n for n in DATA.rows["customer_note"] if n[1] in ids],
        "invoice": [i for i in DATA.rows["invoice"] if i[0] in invoices],
        "invoice_line": [line for line in DATA.rows["invoice_line"] if line[1] in invoices],
    }
    return {table: {rental.normalise(table, row) for row in rows} for table, rows in picked.items()}


def expected_dump(*, postgres: bool) -> dict[str, dict[Row, Row]]:
    out = {
        table: {(row[0],): rental.normalise(table, row) for row in rows}
        for table, rows in DATA.rows.items()
    }
    if postgres:
        notes = [n for n in DATA.rows["customer_note"] if n[0] in DATA.flagged]
        out[FLAGGED_TABLE] = {
            (n[0],): rental.normalise(FLAGGED_TABLE, (*n, DATA.flagged[n[0]])) for n in notes
        }
    return out


def test_payments_for_someone_elses_rental(rental_url: str) -> None:
    # when: payments whose payer is not the rental's customer are listed
    rows = _query(
        rental_url,
        "SELECT p.customer_id, r.customer_id FROM payment p"
        " JOIN rental r ON r.rental_id = p.rental_id WHERE p.customer_id <> r.customer_id",
    )
    only_rental = _query(
        rental_url,
        "SELECT customer_id FROM rental GROUP BY customer_id HAVING count(*) = 1"
        " AND customer_id IN (SELECT r.customer_id FROM rental r JOIN payment p"
        " ON p.rental_id = r.rental_id WHERE p.customer_id <> r.customer_id) ORDER BY customer_id",
    )
    # then: exactly the documented payer → renter pairs, spread over several people
    assert sorted(rows) == sorted(data.CROSS_PAYMENTS)
    assert len(rows) >= 6
    assert len({renter for _, renter in rows}) >= 6
    assert only_rental == [(2,), (14,), (21,)]


def test_addresses_shared_by_a_household_the_business_and_staff(rental_url: str) -> None:
    home = _customer(data.HOUSEHOLD[0])[5]
    store_home, staff_home = DATA.rows["store"][0][2], DATA.rows["staff"][1][3]
    # when
    household = _query(
        rental_url,
        "SELECT address_id, count(*) FROM customer GROUP BY address_id HAVING count(*) > 1",
    )
    at_store = _query(
        rental_url,
        "SELECT c.customer_id, s.store_id FROM customer c JOIN store s ON s.address_id = c.address_id",
    )
    with_staff = _query(
        rental_url,
        "SELECT c.customer_id, s.staff_id FROM customer c JOIN staff s ON s.address_id = c.address_id",
    )
    alone = _query(
        rental_url,
        "SELECT count(*) FROM customer c WHERE NOT EXISTS (SELECT 1 FROM customer o"
        " WHERE o.address_id = c.address_id AND o.customer_id <> c.customer_id)"
        " AND NOT EXISTS (SELECT 1 FROM staff s WHERE s.address_id = c.address_id)"
        " AND NOT EXISTS (SELECT 1 FROM store s WHERE s.address_id = c.address_id)",
    )
    # then
    assert household == [(home, 2)]
    assert at_store == [(data.AT_STORE, 1)]
    assert with_staff == [(data.WITH_STAFF, 2)]
    assert alone == [(len(DATA.rows["customer"]) - 4,)]
    assert rental.shared_addresses(rental_url) == {home, store_home, staff_home}


def test_notes_by_staff_and_by_no_one_some_flagged(rental_url: str) -> None:
    # when
    ((everyone, by_staff),) = _query(
        rental_url, "SELECT count(*), count(author_staff_id) FROM customer_note"
    )
    # then
    assert (everyone, by_staff) == (data.NOTES, 38)
    flagged_owners = [
        _customer(n[1])[4] for n in DATA.rows["customer_note"] if n[0] in DATA.flagged
    ]
    assert flagged_owners == [
        f"c{n}@example.com" for n in ("39", "05", "13", "29", "20", "38", "34")
    ]
    if _is_postgres(rental_url):
        assert _query(rental_url, "SELECT count(*) FROM ONLY customer_note") == [
            (data.NOTES - len(DATA.flagged),)
        ]
        flagged = _query(rental_url, "SELECT note_id FROM customer_note_flagged ORDER BY note_id")
        assert [note_id for (note_id,) in flagged] == sorted(DATA.flagged)


def test_flagged_notes_belong_to_their_customer_everywhere(rental_url: str) -> None:
    # given: a flagged note of a customer who has an email
    note = next(
        n for n in DATA.rows["customer_note"] if n[0] in DATA.flagged and _customer(n[1])[4]
    )
    # when
    owned = rental.owned_rows(rental_url, _customer(note[1])[4])
    # then
    assert rental.normalise("customer_note", note) in owned["customer_note"]


def test_one_customer_without_rentals_and_one_without_email(rental_url: str) -> None:
    # when
    idle = _query(
        rental_url,
        "SELECT customer_id, email FROM customer c"
        " WHERE NOT EXISTS (SELECT 1 FROM rental r WHERE r.customer_id = c.customer_id)",
    )
    unnamed = _query(
        rental_url,
        "SELECT c.customer_id, count(*) FROM customer c"
        " JOIN rental r ON r.customer_id = c.customer_id WHERE c.email IS NULL"
        " GROUP BY c.customer_id",
    )
    # then
    assert idle == [(data.NO_RENTALS, "c09@example.com")]
    assert _query(rental_url, "SELECT count(*) FROM payment WHERE customer_id = :c", c=9) == [(0,)]
    assert [customer for customer, _ in unnamed] == [data.NO_EMAIL]
    assert unnamed[0][1] > 0
    for table in ("payment", "customer_note", "invoice"):
        counted = _query(rental_url, f"SELECT count(*) FROM {table} WHERE customer_id = 41")
        assert counted[0][0] > 0, table


def _retained(issued: date, today: date) -> bool:
    """Kept for 6 years after the end of the UK financial year (31 March) it was issued in."""
    year_end = date(issued.year + (issued.month > 3), 3, 31)
    return today <= year_end.replace(year=year_end.year + 6)


def test_invoices_for_half_the_customers_old_and_recent(rental_url: str) -> None:
    # when
    ((billed,),) = _query(rental_url, "SELECT count(DISTINCT customer_id) FROM invoice")
    issued = [d for (d,) in _query(rental_url, "SELECT issued_on FROM invoice")]
    unbalanced = _query(
        rental_url,
        "SELECT i.invoice_id FROM invoice i JOIN invoice_line l ON l.invoice_id = i.invoice_id"
        " GROUP BY i.invoice_id, i.total HAVING abs(i.total - sum(l.amount)) > 0.001",
    )
    first = _query(rental_url, "SELECT issued_on FROM invoice WHERE customer_id = 1")
    # then
    days = [date.fromisoformat(str(d)) for d in issued]
    assert billed == data.BILLED
    assert {_retained(d, date(2026, 6, 1)) for d in days} == {True, False}
    assert min(days).year <= 2013
    assert max(days).year >= 2025
    assert unbalanced == []
    assert sorted(date.fromisoformat(str(d)) for (d,) in first) == list(data.BOUNDARY_INVOICES)


def test_mixed_case_emails_are_found_whatever_the_case(rental_url: str) -> None:
    # when
    emails = [
        e for (e,) in _query(rental_url, "SELECT email FROM customer WHERE email IS NOT NULL")
    ]
    as_stored = rental.owned_rows(rental_url, "C07@Example.com")
    lowered = rental.owned_rows(rental_url, "c07@example.com")
    # then
    assert {e for e in emails if e != e.lower()} == set(data.MIXED_CASE.values())
    assert lowered == as_stored
    assert len(as_stored["customer"]) == 1


@pytest.mark.parametrize(
    "email",
    [
        "c01@example.com",
        "c02@example.com",
        "c03@example.com",
        "c04@example.com",
        "c05@example.com",
        "c06@example.com",
        "C07@Example.com",
        "c09@example.com",
        "C12@example.com",
        "c14@example.com",
        "staff2@shop.example",
        "nobody@example.com",
    ],
)
def test_owned_rows_are_the_generated_rows_of_that_person(rental_url: str, email: str) -> None:
    # when
    owned = rental.owned_rows(rental_url, email)
    # then
    assert owned == expected_owned(email)
    assert set(owned) == set(rental.OWNED)
    if email in (data.NOBODY, "staff2@shop.example"):
        assert not any(owned.values())


def test_payments_belong_to_the_payer_not_the_renter(rental_url: str) -> None:
    # given: c02 paid for one of c01's rentals
    owned_by_1 = rental.owned_rows(rental_url, "c01@example.com")
    owned_by_2 = rental.owned_rows(rental_url, "c02@example.com")
    # then
    rentals_of_1 = {r[0] for r in owned_by_1["rental"]}
    assert any(p[2] in rentals_of_1 for p in owned_by_2["payment"])
    assert all(p[1] == 1 for p in owned_by_1["payment"])


def test_dump_is_the_generated_data(rental_url: str) -> None:
    assert rental.dump(rental_url) == expected_dump(postgres=_is_postgres(rental_url))


def test_foreign_keys_are_enforced(rental_url: str) -> None:
    engine = rental.engine_for(rental_url)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
            # customer 1 has rentals, which restrict its deletion
            conn.execute(sa.text("DELETE FROM customer WHERE customer_id = 1"))
    finally:
        engine.dispose()
    assert rental.dump(rental_url) == expected_dump(postgres=_is_postgres(rental_url))


def test_postgres_payment_is_partitioned_by_year(rental_postgres: str) -> None:
    # when
    parts = _query(
        rental_postgres,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'payment' ORDER BY 1",
    )
    kind = _query(rental_postgres, "SELECT relkind FROM pg_class WHERE relname = 'payment'")
    counts = [_query(rental_postgres, f"SELECT count(*) FROM {name}")[0][0] for (name,) in parts]
    # then
    assert [name for (name,) in parts] == [f"payment_p{y}" for y in data.PAYMENT_YEARS]
    assert kind == [("p",)]
    assert all(counts)
    assert sum(counts) == len(DATA.rows["payment"])


def test_mariadb_tables_are_innodb(rental_mariadb: str) -> None:
    engines = _query(
        rental_mariadb,
        "SELECT table_name, engine FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    assert {name for name, _ in engines} == set(data.TABLES)
    assert {engine for _, engine in engines} == {"InnoDB"}


def test_fresh_gives_the_data_back_after_a_change(rental_url: str) -> None:
    # given: a test that changes the data
    url = fresh(rental_url)
    engine = rental.engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM invoice_line"))
    finally:
        engine.dispose()
    assert rental.dump(url)["invoice_line"] == {}
    # when
    fresh(url)
    # then
    assert rental.dump(url) == expected_dump(postgres=_is_postgres(url))


def _only_shared_tables(dump: dict[str, dict[Row, Row]]) -> dict[str, dict[Row, Row]]:
    return {table: rows for table, rows in dump.items() if table != FLAGGED_TABLE}


def test_dumps_agree_across_dialects(rental_urls: dict[str, str]) -> None:
    if len(rental_urls) < 2:
        pytest.skip("one dialect only: nothing to compare")
    # when
    dumps = {dialect: _only_shared_tables(rental.dump(url)) for dialect, url in rental_urls.items()}
    # then
    sizes = {d: {table: len(rows) for table, rows in dump.items()} for d, dump in dumps.items()}
    assert len({tuple(sorted(s.items())) for s in sizes.values()}) == 1
    assert all(dump == dumps["sqlite"] for dump in dumps.values())


def test_owned_rows_agree_across_dialects_for_every_subject(rental_urls: dict[str, str]) -> None:
    if len(rental_urls) < 2:
        pytest.skip("one dialect only: nothing to compare")
    for email in rental.SUBJECTS:
        # when
        answers = [rental.owned_rows(url, email) for url in rental_urls.values()]
        # then
        assert all(answer == answers[0] for answer in answers), email
        assert answers[0] == expected_owned(email), email
