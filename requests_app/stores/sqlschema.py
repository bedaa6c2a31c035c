"""A SQL store's live schema, held against its data map: the mapped tables as the database has
them, every link between them (foreign keys and declared links), every foreign key in the
database that points at a mapped table, and each table's one ownership path.

Reading it also checks what the connector cannot work without (tables, identity, link and owner
columns, ownership); ``requests_app/stores/checks.py`` adds what only erasure needs.
Errors from the database are translated here into ones that say what to do
(``TransientStoreError``: retry; ``PermanentStoreError``: a person must fix something).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from requests_app.datamap.spec import StoreSpec
from requests_app.stores.base import PermanentStoreError, StoreError, TransientStoreError
from requests_app.stores.ownership import Link, Ownership, resolve

# What a driver says when asking again cannot help, by the database's own words or codes, with
# what the operator should do about it.
_PERMANENT = [
    (
        re.compile(r'database "[^"]*" does not exist|unknown database|\(1049', re.I),
        "the database named in {env} does not exist",
        "create it, or correct the database name in {env}",
    ),
    (
        re.compile(
            r"password authentication failed|access denied for user|role \"[^\"]*\" does not "
            r"exist|no pg_hba\.conf entry|\(1045|\(1044|\(1698",
            re.I,
        ),
        "the database refused the login in {env}",
        "check the user name and password in {env}, and that the user may connect",
    ),
    (
        re.compile(
            r"could not translate host name|name or service not known|failed to resolve host|"
            r"unknown (mysql|mariadb) server host|nodename nor servname|\(2005",
            re.I,
        ),
        "the host named in {env} is unknown",
        "correct the host name in {env}",
    ),
    (
        re.compile(r"unable to open database file", re.I),
        "the database file named in {env} cannot be opened",
        "check the path in {env} and that the file exists and is readable",
    ),
]


def translate(exc: BaseException, store: StoreSpec) -> StoreError:
    """A driver or SQLAlchemy error as a store error that names the cause and the fix. Nothing
    from the connection URL (which may hold a password) reaches the message."""
    if isinstance(exc, StoreError):
        return exc
    orig = getattr(exc, "orig", None) or exc
    text = str(orig)
    env = store.connection.env or "the store's connection setting"
    for pattern, problem, fix in _PERMANENT:
        if pattern.search(text):
            return PermanentStoreError(
                f"store '{store.name}': {problem.format(env=env)}. Fix: {fix.format(env=env)}."
            )
    kind = type(orig).__name__
    transient = (
        isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)
        or any(c.__name__ in {"OperationalError", "InterfaceError"} for c in type(orig).__mro__)
        or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)
    )
    if transient:
        return TransientStoreError(
            f"store '{store.name}' is unreachable or dropped the connection ({kind}: "
            f"{text.splitlines()[0][:160] if text else 'no detail'}); it will be retried"
        )
    first = text.splitlines()[0][:200] if text else kind
    return PermanentStoreError(f"store '{store.name}': {kind}: {first}")


@lru_cache(maxsize=32)
def engine_for(url: str) -> sa.Engine:
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ValueError) as exc:
        raise PermanentStoreError(
            f"the connection URL is not usable ({type(exc).__name__})"
        ) from exc
    if engine.dialect.name == "sqlite":
        # SQLite checks foreign keys only when asked, per connection: erasure must meet the
        # same refusals (and cascades) as any other database, never break a link silently.
        sa.event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass
class SqlSchema:
    """The live schema of one SQL store, as far as its data map reaches."""

    tables: dict[str, sa.Table]
    links: list[Link]  # between mapped tables: foreign keys, then declared links
    ownership: Ownership
    all_tables: list[str] = field(default_factory=list)
    folded: dict[str, str] = field(default_factory=dict)  # child table → the parent it is part of
    _referencing: dict[str, list[Link]] | None = None

    def referencing(self, engine: sa.Engine, table: str) -> list[Link]:
        """Every foreign key in the database (mapped table or not), and every declared link,
        that points at ``table``: rows it holds keep a row of ``table`` from being deleted."""
        if self._referencing is None:
            self._referencing = _referencing(engine, self)
        return self._referencing.get(table, [])


@dataclass(frozen=True)
class LiveProblem:
    """The map and the live schema disagree: at ``table`` (None: the store), under ``key``."""

    table: str | None
    key: str
    problem: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.key}" if self.table and self.key else (self.table or "")
        return f"{where + ': ' if where else ''}{self.problem}. Fix: {self.fix}"


def read(store: StoreSpec, engine: sa.Engine) -> SqlSchema:
    """Reflect the mapped tables and resolve ownership; a problem the connector cannot work
    around raises ``PermanentStoreError`` listing every such problem, each with its fix."""
    schema, problems = inspect_store(store, engine)
    if problems or schema is None:
        raise PermanentStoreError(
            f"store '{store.name}' does not match its data map: "
            + " | ".join(str(p) for p in problems)
            + " (manage.py check_stores lists each with its line in the map)"
        )
    return schema


def inspect_store(
    store: StoreSpec, engine: sa.Engine
) -> tuple[SqlSchema | None, list[LiveProblem]]:
    """The live schema, and every way the map disagrees with it that stops the connector."""
    try:
        names = sa.inspect(engine).get_table_names()
        folded = _folded(engine)
        missing = [_missing_table(t, names, folded) for t in store.tables if t not in names]
        if missing:
            return None, missing
        metadata = sa.MetaData()
        metadata.reflect(bind=engine, only=list(store.tables))
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc, store) from exc
    tables = {name: metadata.tables[name] for name in store.tables}
    problems = column_problems(store, tables)
    links = mapped_links(store, tables)
    ownership = resolve(store, links)
    problems += [LiveProblem(p.table, "owner", p.problem, p.fix) for p in ownership.problems]
    return SqlSchema(tables, links, ownership, names, folded), problems


def _missing_table(table: str, names: list[str], folded: dict[str, str]) -> LiveProblem:
    if table in folded:
        return LiveProblem(
            table,
            "",
            f"'{table}' is part of '{folded[table]}' (a partition or an inherited child table)",
            f"map '{folded[table]}' instead: its queries include these rows",
        )
    close = difflib.get_close_matches(table, [n for n in names if n not in folded], n=1)
    hint = f"did you mean '{close[0]}'?" if close else "correct the name, or remove the table"
    return LiveProblem(table, "", "no such table in the database", hint)


def _folded(engine: sa.Engine) -> dict[str, str]:
    """PostgreSQL partitions and inheritance children, each to its parent: querying the parent
    includes their rows, so they are never mapped (or proposed) on their own."""
    if engine.dialect.name != "postgresql":
        return {}
    query = sa.text(
        "SELECT c.relname, p.relname FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
    )
    with engine.connect() as conn:
        return {str(child): str(parent) for child, parent in conn.execute(query)}


def did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f"did you mean '{close[0]}'?" if close else f"its columns: {', '.join(options)}"


def column_problems(store: StoreSpec, tables: dict[str, sa.Table]) -> list[LiveProblem]:
    """Columns the map names that the table does not have (identity, fields, links, owner,
    ignore, retention dates): each would otherwise fail a request half-way, or be silently
    ignored for ever (a misspelt field keeps its erase rule from ever applying)."""
    problems = []
    for name, spec in store.tables.items():
        columns = list(tables[name].c.keys())
        named = [("identity", c) for c in spec.identity]
        named += [(f"fields.{c}", c) for c in spec.fields]
        named += [("links", link.column) for link in spec.links]
        named += [("ignore", c) for c in spec.ignore]
        if spec.owner is not None and spec.owner.via:
            named.append(("owner.via", spec.owner.via))
        if spec.erase.from_field:
            named.append(("erase.from_field", spec.erase.from_field))
        for key, column in named:
            if column not in columns:
                problems.append(
                    LiveProblem(
                        name,
                        key,
                        f"'{column}' is not a column of {name}",
                        did_you_mean(column, columns),
                    )
                )
        for link in spec.links:
            target = tables.get(link.to_table)
            if target is not None and link.to_column not in target.c:
                problems.append(
                    LiveProblem(
                        name,
                        "links",
                        f"'{link.to_table}.{link.to_column}' is not a column",
                        did_you_mean(link.to_column, list(target.c.keys())),
                    )
                )
        if spec.owner is not None and spec.owner.referenced_by:
            child, column = spec.owner.referenced_by
            if child in tables and column not in tables[child].c:
                problems.append(
                    LiveProblem(
                        name,
                        "owner.referenced_by",
                        f"'{column}' is not a column of {child}",
                        did_you_mean(column, list(tables[child].c.keys())),
                    )
                )
    return problems


def _link(fk: sa.ForeignKeyConstraint, child: sa.Table) -> Link:
    return Link(
        child=child.name,
        columns=tuple(c.name for c in fk.columns),
        parent=fk.referred_table.name,
        parent_columns=tuple(e.column.name for e in fk.elements),
        nullable=any(c.nullable for c in fk.columns),
        ondelete=(fk.ondelete or "NO ACTION").upper(),
    )


def mapped_links(store: StoreSpec, tables: dict[str, sa.Table]) -> list[Link]:
    """child → parent links between mapped tables: reflected foreign keys and declared links."""
    links: list[Link] = []
    for name, table in tables.items():
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name in tables:
                links.append(_link(fk, table))
        for declared in store.tables[name].links:
            link = Link(
                name, (declared.column,), declared.to_table, (declared.to_column,), declared=True
            )
            if declared.column in table.c and not any(
                lk.child == name and lk.columns == link.columns and lk.parent == link.parent
                for lk in links
            ):
                links.append(link)
    return links


def _referencing(engine: sa.Engine, schema: SqlSchema) -> dict[str, list[Link]]:
    result: dict[str, list[Link]] = {}
    inspector = sa.inspect(engine)
    foreign_keys: dict[Any, list[Any]] = inspector.get_multi_foreign_keys()
    for (_, child), keys in foreign_keys.items():
        if child in schema.folded:
            continue  # a partition repeats its parent's keys; the parent is checked
        for fk in keys:
            parent = fk["referred_table"]
            if parent in schema.tables:
                result.setdefault(parent, []).append(
                    Link(
                        child=child,
                        columns=tuple(fk["constrained_columns"]),
                        parent=parent,
                        parent_columns=tuple(fk["referred_columns"]),
                        ondelete=str((fk.get("options") or {}).get("ondelete") or "NO ACTION"),
                    )
                )
    for link in schema.links:
        if link.declared:
            result.setdefault(link.parent, []).append(link)
    return result
