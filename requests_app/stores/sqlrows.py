"""Which of the person's rows erasure deletes, anonymises or keeps, as SQL conditions.

One ``Rows`` per request and store. The same conditions count the plan (``preview``), change the
rows (``erase``) and re-scan afterwards, so the numbers agree by construction:

- **owned**: the person's rows, through each table's one ownership path (``ownership.py``).
- **exclusive**: for a shared table owned backwards (an address the person's row points at), only
  rows no one else's record points at; the others are never changed (counted as ``shared``).
- **expired**: retained rows whose retention period has ended (``datamap/periods.py``).
- **deleting**: owned rows the map deletes (or whose period has ended) that no row left behind
  points at, through any foreign key in the database or declared link; a row that another
  person's record still needs is kept and counted as ``shared``, never deleted from under it.
- **anonymising**: owned rows kept (anonymised, or retained with anonymised fields).

Subqueries never correlate with the statement around them (``correlate(None)``): each one means
the same set whatever it is nested in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from django.utils import timezone
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql as pg

from requests_app.datamap.periods import first_kept, period_end
from requests_app.datamap.spec import StoreSpec
from requests_app.stores.base import Outcome, PermanentStoreError, Subject
from requests_app.stores.ownership import Link
from requests_app.stores.sqlschema import SqlSchema
from requests_app.stores.threads import Key, Thread

Condition = sa.ColumnElement[bool]
SQLITE_MAX_VALUES = 30_000  # SQLite takes 32,766 bound values in one statement


def _same(one: Link | None, other: Link) -> bool:
    """The same link, however it was found (reflected, read from the catalogue, declared)."""
    return one is not None and (one.child, one.columns, one.parent, one.parent_columns) == (
        other.child,
        other.columns,
        other.parent,
        other.parent_columns,
    )


def _true(condition: Condition) -> Condition:
    """``condition`` with NULL read as false (SQL's NOT of NULL is NULL, not true)."""
    return sa.case((condition, 1), else_=0) == 1


def _not(condition: Condition) -> Condition:
    return sa.case((condition, 1), else_=0) == 0


def _in(columns: list[sa.ColumnElement[Any]], rows: Any) -> Condition:
    if len(columns) == 1:
        return columns[0].in_(rows)
    return sa.tuple_(*columns).in_(rows)


class Rows:
    def __init__(
        self,
        schema: SqlSchema,
        store: StoreSpec,
        subject: Subject,
        *,
        conn: sa.Connection | None = None,
        engine: sa.Engine | None = None,
        anonymises: Callable[[str], bool] | None = None,
    ) -> None:
        self.schema = schema
        self.store = store
        self.subject = subject
        self.engine = engine
        self.anonymises = anonymises or (lambda name: False)
        self.order = schema.ownership.order()
        self.today = timezone.localdate()
        self._captured: dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
        self._memo: dict[tuple[str, str], Condition] = {}
        self._deciding: set[str] = set()
        self.threads: dict[str, Thread] = {}
        self._self_linked = {
            name
            for name in self.order
            if self._self_links(name) and self.table(name).primary_key.columns
        }
        if conn is not None:
            self._capture(conn)

    def table(self, name: str) -> sa.Table:
        return self.schema.tables[name]

    def select(self, name: str) -> sa.Select[Any]:
        return self.only(name, sa.select(self.table(name)).where(self.owned(name)))

    def only(self, name: str, statement: Any) -> Any:
        """``statement`` reading or changing ``name``'s own rows, not those of a mapped table
        that inherits it (PostgreSQL ``ONLY``), which is read and changed on its own."""
        if name not in self.schema.only:
            return statement
        if isinstance(statement, sa.Select):
            return statement.with_hint(self.table(name), "ONLY", "postgresql")
        return statement.with_hint("ONLY", dialect_name="postgresql")

    # --- ownership ------------------------------------------------------------------------

    def owned(self, name: str) -> Condition:
        return self._cached("owned", name, self._owned)

    def _owned(self, name: str) -> Condition:
        owner = self.schema.ownership.owners[name]
        table = self.table(name)
        if owner.how == "identity":
            return self._identity(name)
        link = owner.link
        assert link is not None
        if owner.how == "via":
            parent = self.table(link.parent)
            # under a shared row (a household's address), nothing is the person's: a note on it
            # may be anyone's who lives there
            rows = sa.select(*[parent.c[c] for c in link.parent_columns]).where(
                self.owned(link.parent), self.exclusive(link.parent)
            )
            return _in([table.c[c] for c in link.columns], rows.correlate(None))
        if name in self._captured:
            return self._in_values(name, link, self._captured[name][0])
        child = self.table(link.child)
        rows = sa.select(*[child.c[c] for c in link.columns]).where(self.owned(link.child))
        return _in([table.c[c] for c in link.parent_columns], rows.correlate(None))

    def _identity(self, name: str) -> Condition:
        table = self.table(name)
        clauses: list[Condition] = []
        for column, key in self.store.tables[name].identity.items():
            value = self.subject.key(key)
            if value is None:
                continue
            if key == "email":
                if not _PLAUSIBLE_EMAIL.match(value):
                    continue  # an empty or blank "address" must match nobody
                clauses.append(_same_email(table.c[column], value, self.schema.dialect))
            else:
                clauses.append(table.c[column] == value)
        return sa.or_(*clauses) if clauses else sa.false()

    def _in_values(self, name: str, link: Link, values: list[tuple[Any, ...]]) -> Condition:
        return self.in_columns(name, list(link.parent_columns), values)

    def in_columns(self, name: str, names: list[str], values: list[tuple[Any, ...]]) -> Condition:
        columns = [self.table(name).c[c] for c in names]
        if not values:
            return sa.false()
        if len(columns) == 1 and self.schema.dialect == "postgresql":
            # one array parameter: a list of bound values stops at 65,535
            array = sa.bindparam(None, [v[0] for v in values], type_=pg.ARRAY(columns[0].type))
            return columns[0] == sa.func.any(array)
        if len(values) > SQLITE_MAX_VALUES and self.schema.dialect == "sqlite":
            raise PermanentStoreError(
                f"store '{self.store.name}': {name}: {len(values)} of the person's rows are owned "
                f"backwards, more than SQLite takes in one query ({SQLITE_MAX_VALUES}). Fix: own "
                "them through a link from the table (owner: {via: …})"
            )
        if len(columns) == 1:
            return columns[0].in_([v[0] for v in values])
        return sa.tuple_(*columns).in_(values)

    def _capture(self, conn: sa.Connection) -> None:
        """Rows owned backwards (a shared address) are found through the person's row that
        points at them, which erasure may delete or anonymise first: take them, and which of them
        are the person's alone, before anything changes."""
        for name in self.order:
            owner = self.schema.ownership.owners[name]
            if owner.how != "referenced_by" or owner.link is None:
                continue
            table = self.table(name)
            key = [table.c[c] for c in owner.link.parent_columns]
            owned = [tuple(r) for r in conn.execute(sa.select(*key).where(self.owned(name)))]
            alone = sa.select(*key).where(self.owned(name), self._nobody_else(name))
            self._captured[name] = (owned, [tuple(r) for r in conn.execute(alone)])
            self._memo.clear()  # conditions built so far read the rows before they change
        for name in self.children_first():
            if name in self._self_linked:
                self.threads[name] = self._thread(conn, name)
                self._memo.clear()

    def _self_links(self, name: str) -> list[Link]:
        return [lk for lk in self._referencing(name) if lk.child == name and lk.schema is None]

    def _thread(self, conn: sa.Connection, name: str) -> Thread:
        """Which of the person's rows of a self-referencing table may go (``threads.py``)."""
        table, links = self.table(name), self._self_links(name)
        keys = [c.name for c in table.primary_key.columns]
        addressed = [*keys, *(c for lk in links for c in (*lk.parent_columns, *lk.columns))]
        addresses: dict[Key, list[Key]] = {}
        points: dict[Key, list[Key | None]] = {}
        for row in conn.execute(
            sa.select(*[table.c[c] for c in addressed]).where(self._deleting(name))
        ):
            values, key = row._mapping, tuple(row[: len(keys)])
            addresses[key], points[key] = [], []
            for lk in links:
                addresses[key].append(tuple(values[c] for c in lk.parent_columns))
                cite = tuple(values[c] for c in lk.columns)
                points[key].append(None if None in cite else cite)
        thread = Thread(addresses, points)
        cited: list[tuple[int, Key]] = []
        for i, lk in enumerate(links):
            cands = sa.select(*[table.c[c] for c in lk.parent_columns]).where(self._deleting(name))
            citing = sa.select(*[table.c[c] for c in (*keys, *lk.columns)]).where(
                _in([table.c[c] for c in lk.columns], cands.correlate(None))
            )
            for row in conn.execute(citing):
                if tuple(row[: len(keys)]) not in addresses:  # a row that stays cites it
                    cited.append((i, tuple(row[len(keys) :])))
        thread.block(cited)
        return thread

    def _nobody_else(self, name: str) -> Condition:
        """No row outside the person's own points at this row. Rows owned through it (a note on
        an address) are its attachments, not other people's."""
        clauses = []
        for link in self._referencing(name):
            owner = self.schema.ownership.owners.get(link.child)
            if self._mapped(link) and owner is not None and _same(owner.link, link):
                continue
            other, match = self._pointing(name, link)
            if self._mapped(link) and link.child != name:
                match = sa.and_(match, _not(self.owned(link.child)))
            clauses.append(~sa.exists(sa.select(sa.literal(1)).select_from(other).where(match)))
        return sa.and_(sa.true(), *clauses)

    def exclusive(self, name: str) -> Condition:
        if name not in self._captured:
            owner = self.schema.ownership.owners[name]
            return self._nobody_else(name) if owner.how == "referenced_by" else sa.true()
        link = self.schema.ownership.owners[name].link
        assert link is not None
        return self._in_values(name, link, self._captured[name][1])

    # --- retention ------------------------------------------------------------------------

    def expired(self, name: str) -> Condition:
        return self._cached("expired", name, self._expired)

    def _expired(self, name: str) -> Condition:
        spec = self.store.tables[name].erase
        if not spec.expires:
            return sa.false()
        if spec.with_owner:
            owner = self.schema.ownership.owners[name]
            if owner.how != "via" or owner.link is None:
                return sa.false()
            parent = self.table(owner.link.parent)
            # the owner row goes only if nothing but its own such rows points at it
            rows = sa.select(*[parent.c[c] for c in owner.link.parent_columns]).where(
                self.owned(owner.link.parent),
                _true(self.expired(owner.link.parent)),
                self._unreferenced(owner.link.parent, besides=self._followers(owner.link.parent)),
            )
            table = self.table(name)
            return _in([table.c[c] for c in owner.link.columns], rows.correlate(None))
        if spec.from_relationship_end:
            received = self.subject.received or self.today
            return sa.true() if period_end(spec, received) < self.today else sa.false()
        assert spec.from_field is not None
        column = self.table(name).c[spec.from_field]
        before = column < _typed(column, first_kept(spec, self.today))
        if isinstance(column.type, sa.Date | sa.DateTime):
            return before
        # text sorts like a date only when written YYYY-MM-DD; any other row is kept
        return sa.and_(sa.cast(column, sa.String).like("____-__-__%"), before)

    def _followers(self, name: str) -> frozenset[str]:
        """Tables whose rows are kept as long as their ``name`` owner row (``with_owner``)."""
        return frozenset(
            child
            for child, owner in self.schema.ownership.owners.items()
            if owner.how == "via"
            and owner.owner_table == name
            and self.store.tables[child].erase.with_owner
        )

    # --- what erasure does ----------------------------------------------------------------

    def deleting(self, name: str) -> Condition:
        return self._cached("deleting", name, self._deleting)

    def _deleting(self, name: str) -> Condition:
        if name in self.threads:
            keys = [c.name for c in self.table(name).primary_key.columns]
            return self.in_columns(name, keys, self.threads[name].keys)
        spec = self.store.tables[name].erase
        if spec.action == "delete":
            wanted = self.owned(name)
        elif spec.expires:
            wanted = sa.and_(self.owned(name), _true(self.expired(name)))
        else:
            return sa.false()
        return sa.and_(wanted, self.exclusive(name), self._unreferenced(name))

    def _unreferenced(self, name: str, *, besides: frozenset[str] = frozenset()) -> Condition:
        """No row that stays behind points at this row: rows deleted with it do not count, nor
        rows of the tables ``besides`` (children that go with it). In a cycle of foreign keys a
        table already being decided counts as staying (it may: the safe reading)."""
        clauses = []
        self._deciding.add(name)
        try:
            for link in self._referencing(name):
                if self._mapped(link) and link.child in besides:
                    continue
                if link.child == name and link.schema is None and name in self._self_linked:
                    continue  # rows of its own table: decided as a thread (threads.py)
                other, match = self._pointing(name, link)
                if self._mapped(link) and link.child != name and link.child not in self._deciding:
                    match = sa.and_(match, _not(self.deleting(link.child)))
                clauses.append(~sa.exists(sa.select(sa.literal(1)).select_from(other).where(match)))
        finally:
            self._deciding.discard(name)
        return sa.and_(sa.true(), *clauses)

    def anonymising(self, name: str) -> Condition:
        if self.store.tables[name].erase.action == "delete":
            return sa.false()
        return sa.and_(self.owned(name), _not(self.deleting(name)), self.exclusive(name))

    def kept(self, name: str) -> Condition:
        return _not(self.deleting(name))

    def changeable(self, name: str) -> Condition:
        """The person's rows that are theirs alone (corrections, opt-outs)."""
        return sa.and_(self.owned(name), self.exclusive(name))

    def count(self, conn: sa.Connection, name: str) -> Outcome:
        """What erasure does to ``name``, counted in one query."""
        action = self.store.tables[name].erase.action
        deleting, expired = _true(self.deleting(name)), _true(self.expired(name))
        anonymising = _true(self.anonymising(name))
        kept = _not(self.deleting(name))
        if action == "retain":  # past its period, but other records still point at it
            shared: Condition = sa.and_(kept, expired)
            kept = sa.and_(kept, _not(self.expired(name)))
        else:
            shared = sa.and_(kept, _not(self.anonymising(name)))

        def total(condition: Condition) -> Any:
            return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

        query = sa.select(
            total(deleting),
            total(sa.and_(deleting, expired)),
            total(anonymising),
            total(kept) if action == "retain" else sa.literal(0),
            total(shared),
        ).where(self.owned(name))
        query = self.only(name, query.select_from(self.table(name)))
        deleted, gone, anonymised, retained, left = (int(v) for v in conn.execute(query).one())
        return Outcome(
            deleted=deleted,
            expired=gone,
            anonymised=anonymised if self.anonymises(name) else 0,
            retained=retained,
            shared=left,
        )

    def children_first(self) -> list[str]:
        """The tables in an order the foreign keys allow deleting in: a row's children first."""
        done: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done or name in path:
                return
            for link in self.schema.links:
                if link.parent == name and link.child in self.schema.ownership.owners:
                    visit(link.child, (*path, name))
            done.append(name)

        for name in self.order:
            visit(name, ())
        return done

    # --- helpers --------------------------------------------------------------------------

    def _referencing(self, name: str) -> list[Link]:
        if self.engine is None:
            return []
        return self.schema.referencing(self.engine, name)

    def _pointing(self, name: str, link: Link) -> tuple[Any, Condition]:
        """The referencing table (an alias when it is ``name`` itself) and the match with the
        row of ``name`` being considered."""
        table = self.table(name)
        if link.child == name and link.schema is None:
            other: Any = table.alias()
        elif self._mapped(link):
            other = self.schema.tables[link.child]
        else:
            other = sa.table(link.child, *[sa.column(c) for c in link.columns], schema=link.schema)
        match = sa.and_(
            *[
                other.c[c] == table.c[p]
                for c, p in zip(link.columns, link.parent_columns, strict=True)
            ]
        )
        return other, match

    def _mapped(self, link: Link) -> bool:
        """Whether the link's child is one of the store's mapped (and owned) tables."""
        return link.schema is None and link.child in self.schema.ownership.owners

    def _cached(self, kind: str, name: str, build: Callable[[str], Condition]) -> Condition:
        if (kind, name) not in self._memo:
            self._memo[(kind, name)] = build(name)
        return self._memo[(kind, name)]


_PLAUSIBLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _same_email(column: sa.ColumnElement[Any], value: str, dialect: str) -> Condition:
    """The column holds this address, letter case aside, and nothing else does. Both sides are
    folded by the same SQL function and compared byte for byte: a database's own comparison may
    be kinder than that (MySQL/MariaDB's default collations ignore accents and trailing spaces;
    a PostgreSQL ICU collation can call 'roß' and 'ross' equal), and Python's folding differs from
    the database's ('Å' is folded by one and not by the other), either of which would hand one
    person another's data or miss their own."""
    if dialect == "postgresql":

        def folded(x: Any) -> Any:
            return sa.func.lower(sa.cast(x, sa.Text).collate("C"))

        # the column's own lower() can use an index on lower(email); the "C" one is exact
        return sa.and_(
            sa.func.lower(column) == sa.func.lower(value),
            folded(column) == folded(sa.literal(value)),  # "C" folds ASCII only: no look-alikes
        )
    if dialect == "mysql":
        binary = mysql.VARBINARY(length=None)
        same = sa.cast(sa.func.lower(column), binary) == sa.cast(sa.func.lower(value), binary)
        # MySQL's lower() folds the Kelvin sign to "k": a look-alike folds to the same, not as long
        return sa.and_(same, sa.func.octet_length(column) == len(value.encode()))
    return sa.func.lower(column) == sa.func.lower(value)


def _typed(column: sa.ColumnElement[Any], day: dt.date) -> Any:
    """The boundary in the column's own kind: a datetime for timestamps, a date for dates, ISO
    text otherwise (SQLite keeps dates as text, which sorts like the date)."""
    if isinstance(column.type, sa.DateTime):
        return dt.datetime.combine(day, dt.time())
    if isinstance(column.type, sa.Date):
        return day
    return day.isoformat()
