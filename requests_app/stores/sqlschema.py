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
from dataclasses import dataclass, field, replace
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
    dialect: str = ""
    all_tables: list[str] = field(default_factory=list)
    folded: dict[str, str] = field(default_factory=dict)  # child table → the parent it is part of
    only: set[str] = field(default_factory=set)  # parents read without their mapped children
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
        inspector = sa.inspect(engine)
        names = inspector.get_table_names()
        folded = folded_tables(engine)
        views = set(inspector.get_view_names())
        missing = [_missing_table(t, names, folded, views) for t in store.tables if t not in names]
        metadata = sa.MetaData()
        metadata.reflect(bind=engine, only=[t for t in store.tables if t in names])
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc, store) from exc
    if missing:  # report the rest too; ownership needs every table, so it waits
        present = replace(store, tables={n: s for n, s in store.tables.items() if n in names})
        return None, missing + column_problems(present, dict(metadata.tables), engine)
    tables = {name: metadata.tables[name] for name in store.tables}
    problems = column_problems(store, tables, engine)
    links = mapped_links(store, tables)
    ownership = resolve(store, links)
    problems += [LiveProblem(p.table, "owner", p.problem, p.fix) for p in ownership.problems]
    problems += _inherited_columns(engine, store, tables, folded)
    only = {p for c, p in folded.items() if c in store.tables and p in store.tables}
    schema = SqlSchema(tables, links, ownership, engine.dialect.name, names, folded, only)
    return schema, problems


def _inherited_columns(
    engine: sa.Engine, store: StoreSpec, tables: dict[str, sa.Table], folded: dict[str, str]
) -> list[LiveProblem]:
    """A PostgreSQL table inheriting a mapped one, with columns of its own, must be mapped itself:
    read through its parent, its rows come without those columns (never gathered, never erased).
    Mapped, it is read on its own and its parent without it (``FROM ONLY``)."""
    problems = []
    inspector = sa.inspect(engine)
    for child, parent in folded.items():
        if parent not in tables or child in store.tables:
            continue
        extra = [
            c["name"] for c in inspector.get_columns(child) if c["name"] not in tables[parent].c
        ]
        if extra:
            problems.append(
                LiveProblem(
                    parent,
                    "",
                    f"{child} inherits {parent} and adds {', '.join(extra)}: read through "
                    f"{parent}, its rows would come without them, never gathered or erased",
                    f"map {child} as a table of its own (owned like {parent}); {parent} is then "
                    "read without it",
                )
            )
    return problems


def _missing_table(
    table: str, names: list[str], folded: dict[str, str], views: set[str]
) -> LiveProblem:
    if table in views:
        return LiveProblem(
            table,
            "",
            f"'{table}' is a view: it can be read but not erased, and its rows have no keys",
            "map the tables the view reads from instead",
        )
    if table in folded and table not in names:
        return LiveProblem(
            table,
            "",
            f"'{table}' is part of '{folded[table]}' (a partition or an inherited child table)",
            f"map '{folded[table]}' instead: its queries include these rows",
        )
    close = difflib.get_close_matches(table, [n for n in names if n not in folded], n=1)
    hint = f"did you mean '{close[0]}'?" if close else "correct the name, or remove the table"
    return LiveProblem(table, "", "no such table in the database", hint)


def folded_tables(engine: sa.Engine) -> dict[str, str]:
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


def column_problems(
    store: StoreSpec, tables: dict[str, sa.Table], engine: sa.Engine
) -> list[LiveProblem]:
    """Columns the map names that the table does not have (identity, fields, links, owner,
    ignore, retention dates, the reading order): each would otherwise fail a request half-way, or be silently
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
        if spec.order_by:
            named.append(("order_by", spec.order_by.removeprefix("-")))
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
            elif target is not None and link.column in tables[name].c:
                problems += _link_problems(
                    name, tables[name].c[link.column], target, link.to_column, engine
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


def unique_columns(table: sa.Table, engine: sa.Engine) -> set[str]:
    """Columns that on their own identify one row: a one-column primary key, unique constraint
    or unique index. (SQLite's reflection misses a column's own UNIQUE: its index list has it.)"""
    sets = [{c.name for c in table.primary_key.columns}]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            for index in conn.exec_driver_sql(f'PRAGMA index_list("{table.name}")').all():
                if index[2]:  # unique
                    info = conn.exec_driver_sql(f'PRAGMA index_info("{index[1]}")').all()
                    sets.append({str(row[2]) for row in info})
    sets += [
        {c.name for c in constraint.columns}
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    ]
    sets += [{c.name for c in index.columns} for index in table.indexes if index.unique]
    return {next(iter(s)) for s in sets if len(s) == 1}


def _python_type(column: sa.ColumnElement[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _link_problems(
    name: str, column: sa.ColumnElement[Any], target: sa.Table, to_column: str, engine: sa.Engine
) -> list[LiveProblem]:
    """A declared link must point at one row (a key), with values of the same kind: a link to a
    column many rows share (a household) would make each of them the person's."""
    problems = []
    keys = unique_columns(target, engine)
    if to_column not in keys:
        problems.append(
            LiveProblem(
                name,
                "links",
                f"'{target.name}.{to_column}' is not a primary key or unique, so a value there "
                "names many rows, and all of them would be taken for the person's",
                f"link to a key of {target.name} ({', '.join(sorted(keys)) or 'it has none'})",
            )
        )
    mine, theirs = _python_type(column), _python_type(target.c[to_column])
    if mine is not None and theirs is not None and mine is not theirs:
        problems.append(
            LiveProblem(
                name,
                "links",
                f"{name}.{column.name} holds {column.type} but {target.name}.{to_column} holds "
                f"{target.c[to_column].type}: the database cannot compare them",
                "link columns of the same type",
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
    """Foreign keys from anywhere the database can see (every schema on PostgreSQL, every
    database on MySQL/MariaDB) to the mapped tables, and the declared links."""
    result: dict[str, list[Link]] = {}
    reader = {"postgresql": _pg_referencing, "mysql": _mysql_referencing}.get(engine.dialect.name)
    links = reader(engine, list(schema.tables)) if reader else _inspected_referencing(engine)
    for link in links:
        if link.parent in schema.tables and (
            link.schema is not None or link.child not in schema.folded
        ):
            result.setdefault(link.parent, []).append(link)
    for link in schema.links:
        if link.declared:
            result.setdefault(link.parent, []).append(link)
    return result


def _inspected_referencing(engine: sa.Engine) -> list[Link]:
    foreign_keys: dict[Any, list[Any]] = sa.inspect(engine).get_multi_foreign_keys()
    return [
        Link(
            child=child,
            columns=tuple(fk["constrained_columns"]),
            parent=fk["referred_table"],
            parent_columns=tuple(fk["referred_columns"]),
            ondelete=str((fk.get("options") or {}).get("ondelete") or "NO ACTION"),
        )
        for (_, child), keys in foreign_keys.items()
        for fk in keys
    ]


_PG_REFERENCING = sa.text(
    """
    SELECT cn.nspname, c.relname,
           ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o),
           p.relname,
           ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
                 JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o),
           k.confdeltype, cn.nspname = current_schema()
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
    JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
    WHERE k.contype = 'f' AND pn.nspname = current_schema() AND p.relname = ANY(:tables)
    """
)
_PG_ON_DELETE = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


def _pg_referencing(engine: sa.Engine, tables: list[str]) -> list[Link]:
    with engine.connect() as conn:
        rows: list[Any] = list(conn.execute(_PG_REFERENCING, {"tables": tables}))
    return [
        Link(
            child=str(child),
            columns=tuple(columns),
            parent=str(parent),
            parent_columns=tuple(parent_columns),
            ondelete=_PG_ON_DELETE.get(str(rule), "NO ACTION"),
            schema=None if same else str(schema),
        )
        for schema, child, columns, parent, parent_columns, rule, same in rows
    ]


_MYSQL_REFERENCING = sa.text(
    """
    SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME,
           k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE,
           k.TABLE_SCHEMA = DATABASE()
    FROM information_schema.KEY_COLUMN_USAGE k
    JOIN information_schema.REFERENTIAL_CONSTRAINTS r
      ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
     AND r.TABLE_NAME = k.TABLE_NAME
    WHERE k.REFERENCED_TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IN :tables
    ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
    """
).bindparams(sa.bindparam("tables", expanding=True))


def _mysql_referencing(engine: sa.Engine, tables: list[str]) -> list[Link]:
    grouped: dict[tuple[str, str, str], list[Any]] = {}
    with engine.connect() as conn:
        for row in conn.execute(_MYSQL_REFERENCING, {"tables": tables}):
            grouped.setdefault((str(row[0]), str(row[1]), str(row[2])), []).append(row)
    links = []
    for (schema, child, _), rows in grouped.items():
        links.append(
            Link(
                child=child,
                columns=tuple(str(r[3]) for r in rows),
                parent=str(rows[0][4]),
                parent_columns=tuple(str(r[5]) for r in rows),
                ondelete=str(rows[0][6]),
                schema=None if rows[0][7] else schema,
            )
        )
    return links
