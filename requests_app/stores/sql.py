"""SQL stores through SQLAlchemy Core: SQLite, PostgreSQL, MySQL — any database with a driver.

Finding a person: tables with ``identity`` columns are the roots (``lower(email) = :email``).
From there the connector follows links *to* the rows found — foreign keys discovered by
reflection, plus links the map declares (for databases without constraints) — as nested
subqueries, so no list of keys is ever held in Python. It never follows a link the other way
(a customer's ``support_rep_id`` leads to an employee: another person). Results stream with a
server-side cursor. Every query is built by SQLAlchemy with bound parameters.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from requests_app.datamap.spec import StoreSpec, TableSpec
from requests_app.stores.anonymise import anonymise
from requests_app.stores.base import (
    Batch,
    Connector,
    Outcome,
    PermanentStoreError,
    Subject,
    TransientStoreError,
    register,
)

STREAM_BATCH = 2000
# Dialects whose driver cursor we read directly: plain tuples cost 60% less than SQLAlchemy rows
# (bench/gather.py). SQLite's cursor is lazy; PostgreSQL gets a named (server-side) cursor.
DRIVER_CURSOR = {"sqlite", "postgresql"}


@lru_cache(maxsize=32)
def _engine(url: str) -> sa.Engine:
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ValueError) as exc:
        raise PermanentStoreError(
            f"the connection URL is not usable ({type(exc).__name__})"
        ) from exc


def _translate(exc: Exception, store: str) -> Exception:
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return TransientStoreError(
            f"store '{store}' is unreachable: {type(exc.orig if hasattr(exc, 'orig') else exc).__name__}"
        )
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return TransientStoreError(f"store '{store}': the connection dropped")
    return PermanentStoreError(
        f"store '{store}': {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    )


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
        self._metadata: sa.MetaData | None = None

    @property
    def engine(self) -> sa.Engine:
        return _engine(self.setting(self.store.connection, "the connection URL"))

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa_exc.SQLAlchemyError as exc:
            raise _translate(exc, self.store.name) from exc

    def reflect(self) -> sa.MetaData:
        if self._metadata is None:
            metadata = sa.MetaData()
            try:
                metadata.reflect(bind=self.engine, only=list(self.store.tables))
            except sa_exc.InvalidRequestError as exc:
                raise PermanentStoreError(
                    f"store '{self.store.name}': {str(exc).splitlines()[0]}"
                ) from exc
            except sa_exc.SQLAlchemyError as exc:
                raise _translate(exc, self.store.name) from exc
            self._metadata = metadata
        return self._metadata

    def find(self, subject: Subject, only: frozenset[str] | None = None) -> Iterator[Batch]:
        try:
            queries = [(n, q) for n, q in self.plan(subject) if only is None or n in only]
            with self.engine.connect() as conn:
                streaming = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH)
                for name, query in queries:
                    columns = tuple(query.selected_columns.keys())
                    for rows in (
                        _stream(conn, query)
                        if conn.dialect.name in DRIVER_CURSOR
                        else (
                            [tuple(row) for row in part]
                            for part in streaming.execute(_untyped(query)).partitions()
                        )
                    ):
                        yield Batch(name, columns, rows)
        except sa_exc.SQLAlchemyError as exc:
            raise _translate(exc, self.store.name) from exc

    def erase(self, subject: Subject) -> dict[str, Outcome]:
        """One transaction for the whole store. Children first: their rows are found through
        their parents' identity, which anonymising the parents would erase."""
        outcomes: dict[str, Outcome] = {}
        try:
            queries = self.plan(subject)
            with self.engine.begin() as conn:
                for name, query in reversed(queries):
                    outcomes[name] = self._erase_table(conn, name, query)
        except sa_exc.SQLAlchemyError as exc:
            raise _translate(exc, self.store.name) from exc
        return {name: outcomes[name] for name, _ in queries}

    def _erase_table(
        self, conn: sa.Connection, name: str, query: sa.Select[tuple[object, ...]]
    ) -> Outcome:
        table = self.reflect().tables[name]
        where = query.whereclause
        assert where is not None
        action = self.store.tables[name].erase.action
        if action == "delete":
            return Outcome(deleted=conn.execute(sa.delete(table).where(where)).rowcount)
        columns = self.anonymised_columns(name, table.c.keys())
        keys = [c.name for c in table.primary_key.columns]
        if columns and not keys:
            raise PermanentStoreError(
                f"store '{self.store.name}': table '{name}' has no primary key, so its rows "
                "cannot be anonymised one by one. Fix: add a primary key, or erase: delete."
            )
        rows = conn.execute(sa.select(*[table.c[k] for k in keys + list(columns)]).where(where))
        changes = [
            {
                **{f"k_{k}": row._mapping[k] for k in keys},
                **{f"v_{c}": anonymise(spec, row._mapping[c]) for c, spec in columns.items()},
            }
            for row in rows
        ]
        if changes and columns:
            statement = (
                sa.update(table)
                .where(*[table.c[k] == sa.bindparam(f"k_{k}") for k in keys])
                .values({c: sa.bindparam(f"v_{c}") for c in columns})
            )
            conn.execute(statement, changes)
        if action == "anonymise":
            return Outcome(anonymised=len(changes))
        return Outcome(retained=len(changes), anonymised=len(changes) if columns else 0)

    def update(self, subject: Subject, table: str, values: dict[str, Any]) -> int:
        try:
            queries = dict(self.plan(subject))
            if table not in queries:
                return 0
            target = self.reflect().tables[table]
            unknown = set(values) - set(target.c.keys())
            if unknown:
                raise PermanentStoreError(
                    f"store '{self.store.name}': table '{table}' has no column "
                    f"{', '.join(sorted(unknown))}"
                )
            where = queries[table].whereclause
            assert where is not None
            with self.engine.begin() as conn:
                return int(conn.execute(sa.update(target).where(where).values(values)).rowcount)
        except sa_exc.SQLAlchemyError as exc:
            raise _translate(exc, self.store.name) from exc

    def kept_columns(self, table: str) -> set[str]:
        reflected = self.reflect().tables[table]
        kept = {c.name for c in reflected.primary_key.columns}
        kept |= {fk.parent.name for fk in reflected.foreign_keys}
        return kept | {link.column for link in self.store.tables[table].links}

    def plan(self, subject: Subject) -> list[tuple[str, sa.Select[tuple[object, ...]]]]:
        """One SELECT per table that can hold the person's rows, in discovery order."""
        metadata = self.reflect()
        tables = {name: metadata.tables[name] for name in self.store.tables}
        edges = self.links(metadata)
        order = self._reachable(subject, edges)
        conditions: dict[str, sa.ColumnElement[bool]] = {}
        for name in order:
            clauses = self._identity_clauses(self.store.tables[name], tables[name], subject)
            for child_col, parent, parent_col in edges.get(name, []):
                if parent in conditions and parent != name:
                    parent_rows = sa.select(tables[parent].c[parent_col]).where(conditions[parent])
                    clauses.append(tables[name].c[child_col].in_(parent_rows.scalar_subquery()))
            if clauses:
                conditions[name] = sa.or_(*clauses)
        return [
            (name, sa.select(tables[name]).where(conditions[name]))
            for name in order
            if name in conditions
        ]

    def links(self, metadata: sa.MetaData) -> dict[str, list[tuple[str, str, str]]]:
        """child table → [(child column, parent table, parent column)], reflected and declared."""
        edges: dict[str, list[tuple[str, str, str]]] = {}
        for name in self.store.tables:
            table = metadata.tables[name]
            for fk in table.foreign_keys:
                parent = fk.column.table.name
                if parent in self.store.tables:
                    edges.setdefault(name, []).append((fk.parent.name, parent, fk.column.name))
            for link in self.store.tables[name].links:
                edge = (link.column, link.to_table, link.to_column)
                if edge not in edges.get(name, []):
                    edges.setdefault(name, []).append(edge)
        return edges

    def _reachable(
        self, subject: Subject, edges: dict[str, list[tuple[str, str, str]]]
    ) -> list[str]:
        roots = [
            n
            for n, t in self.store.tables.items()
            if any(subject.key(k) for k in t.identity.values())
        ]
        children: dict[str, list[str]] = {}
        for child, links in edges.items():
            for _, parent, _ in links:
                children.setdefault(parent, []).append(child)
        order, queue = list(roots), deque(roots)
        while queue:
            for child in children.get(queue.popleft(), []):
                if child not in order:
                    order.append(child)
                    queue.append(child)
        return order

    @staticmethod
    def _identity_clauses(
        spec: TableSpec, table: sa.Table, subject: Subject
    ) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = []
        for column, key in spec.identity.items():
            value = subject.key(key)
            if value is None:
                continue
            if column not in table.c:
                raise PermanentStoreError(f"table '{table.name}' has no identity column '{column}'")
            if key == "email":
                clauses.append(sa.func.lower(table.c[column]) == value.lower())
            else:
                clauses.append(table.c[column] == value)
        return clauses
