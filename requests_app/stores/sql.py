"""SQL stores through SQLAlchemy Core: SQLite, PostgreSQL, MySQL/MariaDB — any database with a
driver.

Finding a person: tables with ``identity`` columns are the roots (``lower(email) = :email``, the
verified address). Every other table's rows are the person's through its **one** ownership path
(``stores/ownership.py``): a foreign key or declared link to its owner table, or, for a shared
table, the person's own row pointing at it. A link that merely touches one of the person's rows
is never followed (another customer's payment for the person's rental is not the person's).
Each table is one parameterised ``SELECT`` with nested subqueries, streamed with a server-side
cursor; no list of keys is held in Python.

Erasing: ``stores/sqlrows.py`` says, in SQL, which of the person's rows are deleted, anonymised,
retained or left alone because other people's records point at them; ``preview`` counts them
(the plan staff approve) and ``erase`` changes exactly those, children first, in one transaction,
refusing to commit if what changed differs from what it counted.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from requests_app.datamap.spec import StoreSpec
from requests_app.stores.anonymise import anonymise, looks_anonymised
from requests_app.stores.base import (
    Batch,
    Connector,
    Outcome,
    PermanentStoreError,
    Subject,
    as_date,
    register,
)
from requests_app.stores.sqlrows import Rows
from requests_app.stores.sqlschema import SqlSchema, engine_for, read, translate

STREAM_BATCH = 2000
# Dialects whose driver cursor we read directly: plain tuples cost 60% less than SQLAlchemy rows
# (bench/gather.py). SQLite's cursor is lazy; PostgreSQL gets a named (server-side) cursor.
DRIVER_CURSOR = {"sqlite", "postgresql"}


def _stream(conn: sa.Connection, query: sa.Select[tuple[object, ...]]) -> Iterator[list[Any]]:
    """Run a SQLAlchemy-built, parameterised query on the driver's own cursor, batch by batch."""
    compiled = query.compile(dialect=conn.dialect)
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    raw: Any = conn.connection.dbapi_connection
    cursor = (
        raw.cursor(name=f"dsar_{secrets.token_hex(6)}")
        if conn.dialect.name == "postgresql"
        else raw.cursor()
    )
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(STREAM_BATCH):
            yield rows
    finally:
        cursor.close()


def _untyped(query: sa.Select[tuple[object, ...]]) -> sa.Select[Any]:
    """The same query with each column's type processing switched off: values arrive as the driver
    gives them (SQLite's text dates stay text), which is what the store holds, and three times
    faster than parsing every date only to print it again."""
    columns = [
        sa.type_coerce(column, sa.types.NullType()).label(column.key)
        for column in query.selected_columns
    ]
    statement: Any = sa.select(*columns)  # SQLAlchemy 2.1 types a select by its columns
    return statement.where(query.whereclause) if query.whereclause is not None else statement


@register("sql")
class SqlConnector(Connector):
    def __init__(self, store: StoreSpec) -> None:
        super().__init__(store)
        self._schema: SqlSchema | None = None

    @property
    def engine(self) -> sa.Engine:
        return engine_for(self.setting(self.store.connection, "the connection URL"))

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa_exc.SQLAlchemyError as exc:
            raise translate(exc, self.store) from exc

    def use_schema(self, schema: SqlSchema) -> None:
        """Work from a schema already read (``checks.py`` reads it without raising)."""
        self._schema = schema

    def schema(self) -> SqlSchema:
        """The live schema held against the map (read once per connector)."""
        if self._schema is None:
            self._schema = read(self.store, self.engine)
        return self._schema

    def _rows(self, subject: Subject, conn: sa.Connection) -> Rows:
        schema = self.schema()
        return Rows(
            schema,
            self.store,
            subject,
            conn=conn,
            engine=self.engine,
            anonymises=lambda name: bool(
                self.anonymised_columns(name, schema.tables[name].c.keys())
            ),
        )

    def _errors(self) -> tuple[type[BaseException], ...]:
        """SQLAlchemy's errors, and the driver's own (raised by a driver cursor read directly)."""
        dbapi = self.engine.dialect.loaded_dbapi
        return (sa_exc.SQLAlchemyError, dbapi.Error)

    def find(self, subject: Subject, only: frozenset[str] | None = None) -> Iterator[Batch]:
        try:
            rows = Rows(self.schema(), self.store, subject, engine=self.engine)
            names = [n for n in rows.order if only is None or n in only]
            with self.engine.connect() as conn:
                streaming = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH)
                for name in names:
                    query = rows.select(name)
                    columns = tuple(query.selected_columns.keys())
                    for part in (
                        _stream(conn, query)
                        if conn.dialect.name in DRIVER_CURSOR
                        else (
                            [tuple(row) for row in part]
                            for part in streaming.execute(_untyped(query)).partitions()
                        )
                    ):
                        yield Batch(name, columns, part)
        except self._errors() as exc:
            raise translate(exc, self.store) from exc

    def preview(self, subject: Subject) -> dict[str, Outcome]:
        """What ``erase`` would do to each table, counted without changing anything."""
        try:
            with self.engine.connect() as conn:
                rows = self._rows(subject, conn)
                return {name: rows.count(conn, name) for name in rows.order}
        except self._errors() as exc:
            raise translate(exc, self.store) from exc

    def erase(self, subject: Subject) -> dict[str, Outcome]:
        """One transaction for the whole store, children first. What changes is counted first;
        if a statement changes a different number of rows, nothing is committed."""
        try:
            with self.engine.begin() as conn:
                rows = self._rows(subject, conn)
                planned = {name: rows.count(conn, name) for name in rows.order}
                for name in rows.children_first():
                    self._erase_table(conn, rows, name, planned[name])
        except self._errors() as exc:
            raise translate(exc, self.store) from exc
        return planned

    def _erase_table(self, conn: sa.Connection, rows: Rows, name: str, planned: Outcome) -> None:
        table = rows.table(name)
        deleted = self._delete(conn, rows, name)
        columns = self.anonymised_columns(name, table.c.keys())
        anonymised = self._anonymise(conn, rows, name, columns) if columns else 0
        expected = planned.anonymised if columns else 0
        if deleted != planned.deleted or anonymised != expected:
            raise PermanentStoreError(
                f"store '{self.store.name}': {name}: the plan counted {planned.deleted} to delete "
                f"and {expected} to anonymise, but {deleted} and {anonymised} would change; "
                "nothing was committed. Fix: look for writes to the store during erasure, and retry"
            )

    def _delete(self, conn: sa.Connection, rows: Rows, name: str) -> int:
        """Delete the rows erasure deletes: one statement, or for rows that point at each other
        (a thread), leaves first, a round at a time."""
        table = rows.table(name)
        thread = rows.threads.get(name)
        if thread is None:
            statement = sa.delete(table).where(rows.deleting(name))
            return int(conn.execute(rows.only(name, statement)).rowcount)
        keys = [c.name for c in table.primary_key.columns]
        deleted = 0
        for round_ in thread.leaves_first():
            statement = sa.delete(table).where(rows.in_columns(name, keys, round_))
            deleted += int(conn.execute(rows.only(name, statement)).rowcount)
        return deleted

    def _anonymise(
        self, conn: sa.Connection, rows: Rows, name: str, columns: dict[str, Any]
    ) -> int:
        table = rows.table(name)
        keys = [c.name for c in table.primary_key.columns]
        if not keys:
            raise PermanentStoreError(
                f"store '{self.store.name}': table '{name}' has no primary key, so its rows "
                "cannot be anonymised one by one. Fix: add a primary key, or erase: delete."
            )
        found = conn.execute(
            rows.only(
                name,
                sa.select(*[table.c[k] for k in keys + list(columns)]).where(
                    rows.anonymising(name)
                ),
            )
        )
        changes = [
            {
                **{f"k_{k}": row._mapping[k] for k in keys},
                **{f"v_{c}": anonymise(spec, row._mapping[c]) for c, spec in columns.items()},
            }
            for row in found
        ]
        if changes:
            statement = (
                sa.update(table)
                .where(*[table.c[k] == sa.bindparam(f"k_{k}") for k in keys])
                .values({c: sa.bindparam(f"v_{c}") for c in columns})
            )
            conn.execute(rows.only(name, statement), changes)
        return len(changes)

    def leftovers(self, subject: Subject) -> dict[str, dict[str, int]]:
        """The re-scan: per table, the person's rows erasure would still delete, or whose
        anonymised fields are not anonymised, and the rows kept as planned."""
        try:
            with self.engine.connect() as conn:
                rows = self._rows(subject, conn)
                result = {}
                for name in rows.order:
                    counted = rows.count(conn, name)
                    action = self.store.tables[name].erase.action
                    left = counted.deleted + self._not_anonymised(conn, rows, name)
                    if action != "retain":
                        # still found through the person's identity, yet not erased: other
                        # records point at these rows, so they could be neither deleted nor
                        # anonymised; the person is still there
                        left += counted.shared
                    if action == "anonymise" and self.store.tables[name].identity:
                        left += counted.anonymised  # anonymised, yet still found by identity
                    kept = counted.retained
                    if self.store.tables[name].erase.action == "retain":
                        kept += counted.shared
                    result[name] = {"left": left, "retained": kept}
                return {
                    name: result.get(name, {"left": 0, "retained": 0}) for name in self.store.tables
                }
        except self._errors() as exc:
            raise translate(exc, self.store) from exc

    def _not_anonymised(self, conn: sa.Connection, rows: Rows, name: str) -> int:
        table = rows.table(name)
        columns = self.anonymised_columns(name, table.c.keys())
        if not columns:
            return 0
        found = conn.execute(
            rows.only(name, sa.select(*[table.c[c] for c in columns]).where(rows.anonymising(name)))
        )
        return sum(
            1
            for row in found
            if any(not looks_anonymised(spec, row._mapping[c]) for c, spec in columns.items())
        )

    def update(self, subject: Subject, table: str, values: dict[str, Any]) -> int:
        """Corrections and opt-outs: only the person's own rows (never a shared row that other
        people's records point at)."""
        try:
            with self.engine.begin() as conn:
                rows = self._rows(subject, conn)
                if table not in rows.order:
                    return 0
                target = rows.table(table)
                unknown = set(values) - set(target.c.keys())
                if unknown:
                    raise PermanentStoreError(
                        f"store '{self.store.name}': table '{table}' has no column "
                        f"{', '.join(sorted(unknown))}"
                    )
                statement = rows.only(
                    table, sa.update(target).where(rows.changeable(table)).values(values)
                )
                return int(conn.execute(statement).rowcount)
        except self._errors() as exc:
            raise translate(exc, self.store) from exc

    def columns(self, table: str) -> list[str]:
        return list(self.schema().tables[table].c.keys())

    def latest(self, subject: Subject, table: str, column: str) -> dt.date | None:
        """The latest ``column`` of the person's rows that erasure keeps."""
        try:
            with self.engine.connect() as conn:
                rows = self._rows(subject, conn)
                target = rows.table(table).c[column]
                query = rows.only(
                    table,
                    sa.select(sa.func.max(target))
                    .select_from(rows.table(table))
                    .where(rows.owned(table), rows.kept(table)),
                )
                return as_date(conn.execute(query).scalar())
        except self._errors() as exc:
            raise translate(exc, self.store) from exc

    def owners(self) -> dict[str, str]:
        owners = self.schema().ownership.owners
        return {name: o.owner_table for name, o in owners.items() if o.owner_table}

    def plan_order(self) -> list[str]:
        return self.schema().ownership.order()

    def ownership_path(self, table: str) -> str:
        return self.schema().ownership.describe(table)

    def kept_columns(self, table: str) -> set[str]:
        reflected = self.schema().tables[table]
        kept = {c.name for c in reflected.primary_key.columns}
        kept |= {fk.parent.name for fk in reflected.foreign_keys}
        return kept | {link.column for link in self.store.tables[table].links}
