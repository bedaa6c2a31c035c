"""A small rental business's database (shaped like the public Sakila/Pagila sample), built by the
tests on SQLite, PostgreSQL or MariaDB with the same deterministic rows, and hand-written SQL that
says which of those rows belong to one person. It is the yardstick for proving that the SQL
connector gathers, and erases, exactly one person's rows.

Customers are numbered 1 to 41; customer N has the email ``cNN@example.com`` (N <= 40) and
customer 41 (``NO_EMAIL``) has none. The constants named below are in ``rental_data``, which
generates the rows. The data holds the situations that make "one person's rows" hard:

1. Paying for someone else's rental (``CROSS_PAYMENTS``, payer → renter): c02 → c01, c01 → c02,
   c04 → c03, c13 → the no-email customer, the no-email customer → c14, c10 → c11, c12 → c07,
   c20 → c21 (one payment each, 8 in all). A payment belongs to its payer
   (``payment.customer_id``), never to the rental's customer; c02, c14 and c21 have one rental
   each, paid by someone else, so erasing them meets a rental that another person's payment
   references.
2. Shared addresses: c03 and c04 are a household on one address row (``HOUSEHOLD``); c05 lives at
   store 1's address, the business's (``AT_STORE``); c06 lives at staff 2's address
   (``WITH_STAFF``, staff2@shop.example). Every other customer has an address row of their own.
3. Customer notes (60), 38 written by staff (``author_staff_id``), 22 by no one; the notes whose
   id is a multiple of 8 (``Dataset.flagged``: notes of c39, c05, c13, c29, c20, c38, c34) live,
   on PostgreSQL, in the inheritance child ``customer_note_flagged`` (which adds
   ``flag_reason``), so selecting ``customer_note`` returns them too. Elsewhere they are ordinary
   ``customer_note`` rows.
4. c09 (``NO_RENTALS``) has no rentals and no payments, but notes; the no-email customer has
   rentals, payments, notes and an invoice, and no email finds them.
5. Invoices with lines for 20 customers (``BILLED``), issued from 2012 to 2026. c01's straddle a
   UK financial-year end (``BOUNDARY_INVOICES``): 2013-06-15, 2019-03-31 (its year ends that
   day), 2019-04-01 (its year ends 2020-03-31), 2025-11-02.
6. Mixed-case emails (``MIXED_CASE``): c07 is stored as ``C07@Example.com`` and c12 as
   ``c12@EXAMPLE.COM``; every lookup compares ``lower(email)``.

Dialects: on PostgreSQL ``payment`` is partitioned by range of ``payment_date``
(``payment_p2024``, ``payment_p2025``, ``payment_p2026``; primary key
``(payment_id, payment_date)``), like Pagila's. MariaDB tables are InnoDB. Connections made here
to SQLite enforce foreign keys (``PRAGMA foreign_keys=ON``); a caller's own engine must ask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tests.schemas.rental_data import NOBODY, PAYMENT_YEARS, STAFF_EMAILS, TABLES, Row, dataset

OWNED = ("customer", "address", "rental", "payment", "customer_note", "invoice", "invoice_line")
FLAGGED_TABLE = "customer_note_flagged"

metadata = sa.MetaData()
_INNODB = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _id(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, primary_key=True, autoincrement=False)


def _ref(
    name: str, target: str, *, ondelete: str | None = None, null: bool = False
) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=null)


def _col(name: str, kind: Any, *, null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, kind, nullable=null)


sa.Table(
    "address",
    metadata,
    _id("address_id"),
    _col("address", sa.Text),
    _col("postcode", sa.String(10), null=True),
    _col("phone", sa.String(20), null=True),
    **_INNODB,
)
sa.Table(
    "store",
    metadata,
    _id("store_id"),
    _col("name", sa.String(40)),
    _ref("address_id", "address.address_id"),
    **_INNODB,
)
sa.Table(
    "staff",
    metadata,
    _id("staff_id"),
    _col("name", sa.String(60)),
    _col("email", sa.String(80)),
    _ref("address_id", "address.address_id"),
    _ref("store_id", "store.store_id"),
    **_INNODB,
)
sa.Table(
    "customer",
    metadata,
    _id("customer_id"),
    _ref("store_id", "store.store_id"),
    _col("first_name", sa.String(40)),
    _col("last_name", sa.String(40)),
    _col("email", sa.String(80), null=True),
    _ref("address_id", "address.address_id"),
    _col("active", sa.Boolean),
    _col("created_on", sa.Date),
    **_INNODB,
)
sa.Table(
    "rental",
    metadata,
    _id("rental_id"),
    _col("rental_date", sa.DateTime),
    _ref("customer_id", "customer.customer_id", ondelete="RESTRICT"),
    _ref("staff_id", "staff.staff_id"),
    _col("return_date", sa.DateTime, null=True),
    **_INNODB,
)
# On PostgreSQL this table is created by _PG_DDL instead (partitioned); the columns are the same.
sa.Table(
    "payment",
    metadata,
    _id("payment_id"),
    _ref("customer_id", "customer.customer_id"),
    _ref("rental_id", "rental.rental_id"),
    _ref("staff_id", "staff.staff_id"),
    _col("amount", sa.Numeric(6, 2)),
    _col("payment_date", sa.DateTime),
    **_INNODB,
)
sa.Table(
    "customer_note",
    metadata,
    _id("note_id"),
    _ref("customer_id", "customer.customer_id", ondelete="CASCADE"),
    _ref("author_staff_id", "staff.staff_id", ondelete="SET NULL", null=True),
    _col("body", sa.Text),
    _col("written_on", sa.Date),
    **_INNODB,
)
sa.Table(
    "invoice",
    metadata,
    _id("invoice_id"),
    _ref("customer_id", "customer.customer_id"),
    _col("issued_on", sa.Date),
    _col("total", sa.Numeric(8, 2)),
    **_INNODB,
)
sa.Table(
    "invoice_line",
    metadata,
    _id("line_id"),
    _ref("invoice_id", "invoice.invoice_id"),
    _col("description", sa.String(80)),
    _col("amount", sa.Numeric(8, 2)),
    **_INNODB,
)

_PG_DDL = (
    """CREATE TABLE payment (
        payment_id integer NOT NULL,
        customer_id integer NOT NULL REFERENCES customer (customer_id),
        rental_id integer NOT NULL REFERENCES rental (rental_id),
        staff_id integer NOT NULL REFERENCES staff (staff_id),
        amount numeric(6, 2) NOT NULL,
        payment_date timestamp NOT NULL,
        PRIMARY KEY (payment_id, payment_date)
    ) PARTITION BY RANGE (payment_date)""",
    *(
        f"CREATE TABLE payment_p{year} PARTITION OF payment"
        f" FOR VALUES FROM ('{year}-01-01') TO ('{year + 1}-01-01')"
        for year in PAYMENT_YEARS
    ),
    # A child inherits columns but not keys: it gets the parent's, spelt out again.
    """CREATE TABLE customer_note_flagged (
        flag_reason text NOT NULL,
        PRIMARY KEY (note_id),
        FOREIGN KEY (customer_id) REFERENCES customer (customer_id) ON DELETE CASCADE,
        FOREIGN KEY (author_staff_id) REFERENCES staff (staff_id) ON DELETE SET NULL
    ) INHERITS (customer_note)""",
)


_DROP_ORDER = (
    "invoice_line",
    "invoice",
    FLAGGED_TABLE,
    "customer_note",
    "payment",
    "rental",
    "customer",
    "staff",
    "store",
    "address",
)

SUBJECTS: list[str] = [
    *(row[4] for row in dataset().rows["customer"] if row[4] is not None),  # emails as stored
    NOBODY,
    STAFF_EMAILS[1],
]


# --- normalising values read back ----------------------------------------------------------


def _as_day(value: Any) -> str:
    return (date.fromisoformat(value) if isinstance(value, str) else value).isoformat()


def _as_moment(value: Any) -> str:
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).isoformat()


def _as_money(value: Any) -> str:
    # SQLite hands back a float; str() of it is the shortest repr, so 2 places survive exactly.
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def _normaliser(kind: sa.types.TypeEngine[Any]) -> Callable[[Any], Any]:
    checks: tuple[tuple[type[Any], Callable[[Any], Any]], ...] = (
        (sa.Boolean, bool),
        (sa.Integer, int),
        (sa.Numeric, _as_money),
        (sa.DateTime, _as_moment),
        (sa.Date, _as_day),
    )
    return next((fn for cls, fn in checks if isinstance(kind, cls)), str)


def columns(table: str) -> list[str]:
    """The column names of ``table`` in order (``customer_note_flagged`` adds ``flag_reason``)."""
    if table == FLAGGED_TABLE:
        return [*columns("customer_note"), "flag_reason"]
    return [column.name for column in metadata.tables[table].columns]


def normalise(table: str, row: Sequence[Any]) -> Row:
    """``row`` of ``table`` (in column order) with values that compare equal across dialects:
    dates and datetimes as ISO strings, decimals as strings with 2 places, booleans as bool,
    integers as int, text as str; NULL stays None."""
    base = metadata.tables["customer_note" if table == FLAGGED_TABLE else table]
    fns = [_normaliser(column.type) for column in base.columns] + [str]
    return tuple(None if value is None else fn(value) for fn, value in zip(fns, row, strict=False))


# --- building and reading ------------------------------------------------------------------


def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def engine_for(url: str, **options: Any) -> sa.Engine:
    """An engine for ``url`` (``postgres://`` is read as psycopg's); SQLite connections from it
    enforce foreign keys. The caller disposes of it."""
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _foreign_keys_on)
    return engine


@contextmanager
def _connect(url: str, *, write: bool = False) -> Iterator[sa.Connection]:
    engine = engine_for(url)
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _is_postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _rows(conn: sa.Connection, table: str, sql: str, **params: Any) -> list[Row]:
    query = sql.format(cols=", ".join(columns(table)), table=table)
    return [normalise(table, row) for row in conn.execute(sa.text(query), params)]


def build(url: str) -> None:
    """Drop the rental tables from the database at ``url`` if present, then create them and fill
    them with ``dataset()``. Other tables are left alone; the database must exist."""
    with _connect(url, write=True) as conn:
        cascade = " CASCADE" if _is_postgres(conn) else ""
        for table in _DROP_ORDER:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}{cascade}"))
        if _is_postgres(conn):
            metadata.create_all(conn, [t for t in metadata.sorted_tables if t.name != "payment"])
            for statement in _PG_DDL:
                conn.execute(sa.text(statement))
        else:
            metadata.create_all(conn)
        _fill(conn)


def _fill(conn: sa.Connection) -> None:
    data = dataset()
    postgres = _is_postgres(conn)
    for table in TABLES:
        rows = data.rows[table]
        if postgres and table == "customer_note":
            rows = tuple(row for row in rows if row[0] not in data.flagged)
        _insert(conn, metadata.tables[table], rows)
    if postgres:
        notes = [
            (*n, data.flagged[n[0]]) for n in data.rows["customer_note"] if n[0] in data.flagged
        ]
        _insert(conn, sa.table(FLAGGED_TABLE, *map(sa.column, columns(FLAGGED_TABLE))), notes)


def _insert(conn: sa.Connection, table: sa.TableClause, rows: Sequence[Row]) -> None:
    names = [column.name for column in table.columns]
    conn.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])


_PERSON = "SELECT customer_id FROM customer WHERE lower(email) = lower(:email)"
_OWNED_SQL = {
    "customer": "SELECT {cols} FROM customer WHERE lower(email) = lower(:email)",
    "address": "SELECT {cols} FROM address WHERE address_id IN"
    " (SELECT address_id FROM customer WHERE lower(email) = lower(:email))",
    **{
        table: f"SELECT {{cols}} FROM {table} WHERE customer_id IN ({_PERSON})"
        for table in ("rental", "payment", "customer_note", "invoice")
    },
    "invoice_line": "SELECT {cols} FROM invoice_line WHERE invoice_id IN"
    f" (SELECT invoice_id FROM invoice WHERE customer_id IN ({_PERSON}))",
}


def owned_rows(url: str, email: str) -> dict[str, set[Row]]:
    """For each table in ``OWNED``, the normalised rows that belong to the person with ``email``
    (compared case-insensitively): their customer rows, the addresses those point at, and the
    rentals, payments (by payer), notes (on PostgreSQL including the inheritance child) and
    invoices with that customer id, with the lines of those invoices. Empty sets for nobody."""
    with _connect(url) as conn:
        return {table: set(_rows(conn, table, _OWNED_SQL[table], email=email)) for table in OWNED}


def dump(url: str) -> dict[str, dict[Row, Row]]:
    """Every row of every table, normalised, keyed by ``(id,)``: the first column, which is the
    primary key everywhere except PostgreSQL's ``payment`` (whose key adds ``payment_date``; the
    id alone is unique in the data), so dumps from different dialects compare equal. On
    PostgreSQL ``payment`` and ``customer_note`` include their partitions and child, and
    ``customer_note_flagged`` is also dumped alone, with ``flag_reason``."""
    with _connect(url) as conn:
        tables = [*TABLES, FLAGGED_TABLE] if _is_postgres(conn) else list(TABLES)
        order = {table: columns(table)[0] for table in tables}
        return {
            table: {
                row[:1]: row
                for row in _rows(conn, table, "SELECT {cols} FROM {table} ORDER BY " + key)
            }
            for table, key in order.items()
        }


def shared_addresses(url: str) -> set[int]:
    """The ids of addresses referenced by more than one customer, staff or store row."""
    sql = """
        SELECT address_id FROM (
            SELECT address_id FROM customer
            UNION ALL SELECT address_id FROM staff
            UNION ALL SELECT address_id FROM store
        ) refs GROUP BY address_id HAVING count(*) > 1
    """
    with _connect(url) as conn:
        return {int(address_id) for (address_id,) in conn.execute(sa.text(sql))}
