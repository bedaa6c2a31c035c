"""The rows of the rental schema (``tests.schemas.rental``): deterministic (one seed), the same
on every dialect, with the situations that module's docstring lists. The constants name the
customers who exhibit each situation; customer N is ``cNN@example.com``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

SEED = 20240601
NO_EMAIL = 41
HOUSEHOLD = (3, 4)
AT_STORE = 5
WITH_STAFF = 6
NO_RENTALS = 9
MIXED_CASE = {7: "C07@Example.com", 12: "c12@EXAMPLE.COM"}
CROSS_PAYMENTS = (
    (2, 1),
    (1, 2),
    (4, 3),
    (13, NO_EMAIL),
    (NO_EMAIL, 14),
    (10, 11),
    (12, 7),
    (20, 21),
)
NOTES = 60
FLAGGED_EVERY = 8
BILLED = 20
PAYMENT_YEARS = (2024, 2025, 2026)
STAFF_EMAILS = [f"staff{n}@shop.example" for n in range(1, 5)]
NOBODY = "nobody@example.com"
TABLES = (
    "address",
    "store",
    "staff",
    "customer",
    "rental",
    "payment",
    "customer_note",
    "invoice",
    "invoice_line",
)

FIRST = ("Ann", "Ben", "Cara", "Dev", "Ella", "Finn", "Gita", "Hugo", "Iris", "Jon", "Kemi", "Liam")
LAST = ("Adams", "Brook", "Chen", "Dale", "Evans", "Frost", "Gill", "Hale", "Iqbal", "Jones")
STREETS = ("Acacia Avenue", "Mill Lane", "Station Road", "Church Street", "Park View", "High St")
TOWNS = ("Leeds", "York", "Hull", "Bradford", "Wakefield", "Harrogate")
NOTE_TEXTS = (
    "asked to be called back in the evening",
    "disputed a late fee",
    "prefers email to phone",
    "returned a scratched disc",
    "mentioned a new job and a change of hours",
)
FLAG_REASONS = ("abusive language", "suspected card fraud", "vulnerable customer")
INVOICE_ITEMS = ("Rental charges", "Late fees", "Membership", "Damaged disc")
BOUNDARY_INVOICES = (date(2013, 6, 15), date(2019, 3, 31), date(2019, 4, 1), date(2025, 11, 2))

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Dataset:
    """The generated rows of every table in ``TABLES``, each a tuple in column order with Python
    values (``date``, ``datetime``, ``Decimal``, ``bool``). ``customer_note`` holds every note;
    ``flagged`` maps the ids of those that PostgreSQL keeps in the child table to their reason."""

    rows: dict[str, tuple[Row, ...]]
    flagged: dict[int, str]


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _moment(rng: random.Random, first: date, last: date) -> datetime:
    day = _day(rng, first, last)
    return datetime(day.year, day.month, day.day, rng.randint(9, 21), rng.randint(0, 59))


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) / 100


def _address(rng: random.Random, rows: dict[str, list[Row]]) -> int:
    address_id = len(rows["address"]) + 1
    street = f"{rng.randint(1, 199)} {rng.choice(STREETS)}, {rng.choice(TOWNS)}"
    postcode = None if rng.random() < 0.1 else f"LS{rng.randint(1, 29)} {rng.randint(1, 9)}AB"
    phone = None if rng.random() < 0.3 else f"07700 900{rng.randint(0, 999):03d}"
    rows["address"].append((address_id, street, postcode, phone))
    return address_id


def _business(rng: random.Random, rows: dict[str, list[Row]]) -> None:
    rows["store"] += [
        (1, "Leeds Central", _address(rng, rows)),
        (2, "York Road", _address(rng, rows)),
    ]
    for n, email in enumerate(STAFF_EMAILS, start=1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        rows["staff"].append((n, name, email, _address(rng, rows), 1 if n <= 2 else 2))


def _customers(rng: random.Random, rows: dict[str, list[Row]]) -> None:
    special = {AT_STORE: rows["store"][0][2], WITH_STAFF: rows["staff"][1][3]}
    for n in range(1, NO_EMAIL + 1):
        if n == HOUSEHOLD[1]:
            _, _, _, last, _, address_id, *_ = rows["customer"][HOUSEHOLD[0] - 1]
        else:
            address_id = special.get(n) or _address(rng, rows)
            last = rng.choice(LAST)
        email = None if n == NO_EMAIL else MIXED_CASE.get(n, f"c{n:02d}@example.com")
        created = _day(rng, date(2015, 1, 1), date(2023, 12, 31))
        rows["customer"].append(
            (
                n,
                rng.choice((1, 2)),
                rng.choice(FIRST),
                last,
                email,
                address_id,
                rng.random() > 0.15,
                created,
            )
        )


def _rentals(rng: random.Random, rows: dict[str, list[Row]]) -> None:
    for n in range(1, NO_EMAIL + 1):
        for _ in range(0 if n == NO_RENTALS else rng.randint(1, 5)):
            start = _moment(rng, date(2024, 1, 1), date(2026, 6, 30))
            back = None if rng.random() < 0.15 else start + timedelta(days=rng.randint(1, 10))
            rows["rental"].append((len(rows["rental"]) + 1, start, n, rng.randint(1, 4), back))


def _payments(rng: random.Random, rows: dict[str, list[Row]]) -> None:
    payer_of: dict[int, int] = {}
    for payer, renter in CROSS_PAYMENTS:
        theirs = [r[0] for r in rows["rental"] if r[2] == renter]
        payer_of[rng.choice(theirs)] = payer
    for rental_id, start, renter, _, back in rows["rental"]:
        paid = [(payer_of.get(rental_id, renter), start + timedelta(minutes=rng.randint(0, 120)))]
        if back is not None and rng.random() < 0.2:
            paid.append((renter, back))  # a late fee, paid by the renter on return
        for payer, when in paid:
            payment_id = len(rows["payment"]) + 1
            amount = _money(rng, 99, 1199)
            rows["payment"].append((payment_id, payer, rental_id, rng.randint(1, 4), amount, when))


def _notes(rng: random.Random, rows: dict[str, list[Row]]) -> dict[int, str]:
    flagged: dict[int, str] = {}
    for note_id in range(1, NOTES + 1):
        customer = {1: NO_RENTALS, 2: NO_EMAIL}.get(note_id) or rng.randint(1, NO_EMAIL)
        _, _, first, last, *_ = rows["customer"][customer - 1]
        author = None if rng.random() < 0.35 else rng.randint(1, 4)
        body = f"{first} {last} {rng.choice(NOTE_TEXTS)}"
        written = _day(rng, date(2023, 1, 1), date(2026, 6, 30))
        rows["customer_note"].append((note_id, customer, author, body, written))
        if note_id % FLAGGED_EVERY == 0:
            flagged[note_id] = rng.choice(FLAG_REASONS)
    return flagged


def _invoices(rng: random.Random, rows: dict[str, list[Row]]) -> None:
    billed = [1, *sorted(rng.sample(range(2, NO_EMAIL + 1), BILLED - 1))]
    for customer in billed:
        days = (
            BOUNDARY_INVOICES
            if customer == 1
            else [_day(rng, date(2012, 1, 1), date(2026, 3, 31)) for _ in range(rng.randint(1, 3))]
        )
        for issued in sorted(days):
            invoice_id = len(rows["invoice"]) + 1
            lines = [
                (
                    len(rows["invoice_line"]) + i + 1,
                    invoice_id,
                    rng.choice(INVOICE_ITEMS),
                    _money(rng, 100, 9999),
                )
                for i in range(rng.randint(1, 4))
            ]
            rows["invoice"].append((invoice_id, customer, issued, sum(line[3] for line in lines)))
            rows["invoice_line"] += lines


@cache
def dataset() -> Dataset:
    """The rows every dialect is filled with: the same on every call and in every process."""
    rng = random.Random(SEED)
    rows: dict[str, list[Row]] = {name: [] for name in TABLES}
    _business(rng, rows)
    _customers(rng, rows)
    _rentals(rng, rows)
    _payments(rng, rows)
    flagged = _notes(rng, rows)
    _invoices(rng, rows)
    return Dataset({name: tuple(table) for name, table in rows.items()}, flagged)
