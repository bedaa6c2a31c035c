"""The live-schema check: every store held against its data map (``manage.py check_stores``, the
erasure plan before approval, and the worker at start-up).

Beyond what the connectors need to work at all (``sqlschema.inspect_store``), it checks what
erasure needs to succeed: each anonymise strategy fits its column, and the delete / retain /
anonymise choices are possible under the foreign keys. Every problem names the store, the table,
the path in the map and its line, what the schema says, and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from requests_app.datamap.loader import Problem
from requests_app.datamap.spec import DataMap, EraseSpec, StoreSpec, TableSpec
from requests_app.stores.base import (
    Connector,
    StoreError,
    Subject,
    TransientStoreError,
    connector_for,
)
from requests_app.stores.ownership import Link
from requests_app.stores.sqlschema import (
    LiveProblem,
    SqlSchema,
    did_you_mean,
    engine_for,
    inspect_store,
    unique_columns,
)

HASH_LENGTH = len("anon:") + 24
ISO_DATE = "____-__-__%"  # a LIKE pattern: a date written YYYY-MM-DD, perhaps with a time
PROBE = Subject(email="check-stores@invalid.example")
SECTION = {"sql": "tables", "http": "resources", "files": "files", "notify": "holds"}


# A problem with the store is reported like a problem with the file: where, what, the fix.
StoreProblem = Problem


def check_map(data_map: DataMap, only: list[str] | None = None) -> list[StoreProblem]:
    problems: list[StoreProblem] = []
    for store in data_map.stores.values():
        if only and store.name not in only:
            continue
        problems += check_store(data_map, store)
    return problems


def check_store(
    data_map: DataMap,
    store: StoreSpec,
    *,
    cheap: bool = False,
    raise_transient: bool = False,
    connector: Connector | None = None,
) -> list[StoreProblem]:
    """Everything wrong between ``store``'s map and the store as it is. ``cheap``: no calls to
    partners and no scans of whole tables (the plan on each page view, the worker's start-up).
    ``raise_transient``: a store that cannot be reached just now raises ``TransientStoreError``
    instead of being reported as a problem. ``connector``: one to reuse (it keeps the schema
    read here)."""
    if not store.searchable:
        return []  # a recipient told by email: nothing to connect to
    connector = connector or connector_for(store)
    try:
        if store.kind == "sql":
            found = _check_sql(store, connector, cheap=cheap)
        elif store.kind == "files":
            found = _check_files(connector)
        elif store.kind == "http" and not cheap:
            found = _check_http(connector)
        else:
            found = []
    except StoreError as exc:
        if raise_transient and isinstance(exc, TransientStoreError):
            raise
        found = [LiveProblem(None, "connection", str(exc), "see the message")]
    located = [_locate(data_map, store, p) for p in found]
    if store.kind == "sql" and not any(p.key == "connection" for p in found):
        located += _change_problems(data_map, store, connector)
    return located


def _change_problems(
    data_map: DataMap, store: StoreSpec, connector: Connector
) -> list[StoreProblem]:
    """The columns the opt-out's and the restriction's changes (and a restriction's ``lift``)
    write in this SQL store: each must be a column of its table, or the right fails half-way."""
    problems = []
    for section, changes in (
        ("marketing_opt_out", data_map.opt_out),
        ("restrict", data_map.restrict),
    ):
        for i, change in enumerate(changes):
            if change.store != store.name:
                continue
            try:
                columns = connector.columns(change.table)
            except (KeyError, StoreError):
                continue  # a missing table is reported with the table's own problems
            for key, values in (("set", change.set), ("lift", change.lift or {})):
                for name in sorted(set(values) - set(columns)):
                    path = f"{section}.{i}.{key}"
                    problems.append(
                        StoreProblem(
                            data_map.path,
                            data_map.line_of(path),
                            path,
                            f"table '{change.table}' of store '{store.name}' has no column '{name}'",
                            did_you_mean(name, columns),
                        )
                    )
    return problems


def _locate(data_map: DataMap, store: StoreSpec, problem: LiveProblem) -> StoreProblem:
    path = f"stores.{store.name}"
    if problem.table is not None:
        path += f".{SECTION[store.kind]}.{problem.table}"
    if problem.key:
        path += f".{problem.key}"
    return StoreProblem(data_map.path, data_map.line_of(path), path, problem.problem, problem.fix)


# --- SQL ---------------------------------------------------------------------------------------


def _check_sql(store: StoreSpec, connector: Connector, *, cheap: bool) -> list[LiveProblem]:
    engine = engine_for(connector.setting(store.connection, "the connection URL"))
    schema, problems = inspect_store(store, engine)
    if schema is None:
        return problems
    unowned = bool(problems)
    problems += _strategy_problems(connector, store, schema, engine, cheap=cheap)
    if not cheap:  # whole-table scans; at run time such rows are kept (dates) or fail (twins)
        problems += _date_problems(engine, store, schema)
    if not unowned:  # the feasibility of erasure needs every table's owner
        problems += _key_problems(store, schema)
    return problems


def _strategy_problems(
    connector: Connector, store: StoreSpec, schema: SqlSchema, engine: sa.Engine, *, cheap: bool
) -> list[LiveProblem]:
    connector.use_schema(schema)  # type: ignore[attr-defined]
    problems = []
    for name, spec in store.tables.items():
        table = schema.tables[name]
        columns = connector.anonymised_columns(name, table.c.keys())
        unique = unique_columns(table, engine)
        for column, erase in columns.items():
            problem = _misfit(erase, table.c[column], column in unique)
            if (
                problem is None
                and not cheap
                and erase.strategy == "keyed_hash"
                and column in unique
            ):
                problem = _case_twins(engine, table, column)
            if problem is not None:
                key = f"fields.{column}.erase" if column in spec.fields else "erase"
                problems.append(LiveProblem(name, key, f"{column}: {problem[0]}", problem[1]))
        problems += _anonymise_problems(spec, table, columns)
    return problems


def _date_problems(engine: sa.Engine, store: StoreSpec, schema: SqlSchema) -> list[LiveProblem]:
    """A retention period counted from a text column needs its dates written YYYY-MM-DD: text
    compares letter by letter, and 01/02/2024 would sort before 2019 (and be erased as old)."""
    problems = []
    for name, spec in store.tables.items():
        field = spec.erase.from_field
        if not field or field not in schema.tables[name].c:
            continue
        column = schema.tables[name].c[field]
        if isinstance(column.type, sa.Date | sa.DateTime):
            continue
        query = sa.select(sa.func.count()).where(
            column.is_not(None), sa.not_(sa.cast(column, sa.String).like(ISO_DATE))
        )
        with engine.connect() as conn:
            odd = int(conn.execute(query).scalar() or 0)
        if odd:
            problems.append(
                LiveProblem(
                    name,
                    "erase.from_field",
                    f"{field} is text, and {odd} value(s) are not dates written YYYY-MM-DD: "
                    "their retention cannot be counted (they are kept, never erased as expired)",
                    f"store {field} as a date, or write its values YYYY-MM-DD",
                )
            )
    return problems


def _anonymise_problems(
    spec: TableSpec, table: sa.Table, columns: dict[str, EraseSpec]
) -> list[LiveProblem]:
    """An anonymised row must stop naming the person, and be changeable one by one."""
    if spec.erase.action != "anonymise":
        return []
    problems = [
        LiveProblem(
            spec.name,
            f"fields.{column}" if column in spec.fields else "identity",
            f"{column} identifies the person but stays as it is (it is a key or link, or "
            "retained), so anonymised rows would still be theirs",
            f"anonymise {column} (keyed_hash), or delete the table's rows",
        )
        for column in spec.identity
        if column not in columns
    ]
    if columns and not table.primary_key.columns:
        problems.append(
            LiveProblem(
                spec.name,
                "erase",
                f"{spec.name} has no primary key, so its rows cannot be anonymised one by one",
                "add a primary key, or erase: delete",
            )
        )
    return problems


def _case_twins(engine: sa.Engine, table: sa.Table, column: str) -> tuple[str, str] | None:
    """keyed_hash folds letter case: values differing only by case in a UNIQUE column would
    become the same hash, and the erasure fail on the constraint."""
    folded = sa.func.lower(table.c[column])
    query = sa.select(sa.func.count()).select_from(
        sa.select(folded).group_by(folded).having(sa.func.count() > 1).subquery()
    )
    with engine.connect() as conn:
        twins = int(conn.execute(query).scalar() or 0)
    if not twins:
        return None
    return (
        f"keyed_hash folds letter case, and {twins} value(s) of this UNIQUE column differ only "
        "by case: they would hash alike and the erasure fail",
        'use "null" if the column may be empty, or merge the duplicates',
    )


def _misfit(erase: EraseSpec, column: sa.Column[Any], unique: bool) -> tuple[str, str] | None:
    """Why ``erase``'s strategy cannot be written to ``column``, and the fix; None if it can."""
    kind = column.type
    if unique and (erase.strategy or "null") == "fixed":
        return (
            "a fixed value into a UNIQUE column: the second person erased would collide with "
            "the first, and their erasure fail",
            'use keyed_hash (distinct per person), or "null" if the column may be empty',
        )
    strategy = erase.strategy or "null"
    text = isinstance(kind, sa.String)
    length = getattr(kind, "length", None) if text else None
    if strategy == "null" and not column.nullable:
        return (
            "anonymised to NULL, but the column is NOT NULL",
            'use strategy: fixed with a value the column takes (value: "[erased]"), or keyed_hash',
        )
    if strategy == "fixed":
        return _fixed_misfit(erase.value or "", kind, length)
    if strategy == "keyed_hash":
        if not text:
            return (f"keyed_hash writes text, but the column is {kind}", 'use "null" or fixed')
        if length is not None and length < HASH_LENGTH:
            return (
                f"keyed_hash writes {HASH_LENGTH} characters, but the column holds {length}",
                "use fixed with a shorter value, or null",
            )
    if strategy == "generalise_ip" and not text:
        return (f"generalise_ip writes text, but the column is {kind}", 'use "null"')
    if strategy == "generalise_date" and not isinstance(kind, sa.Date | sa.DateTime | sa.String):
        return (f"generalise_date needs a date, but the column is {kind}", 'use "null"')
    return None


def _fixed_misfit(value: str, kind: Any, length: int | None) -> tuple[str, str] | None:
    if not isinstance(kind, sa.String):
        return (
            f"the fixed value {value!r} is text, but the column is {kind}",
            'use "null" if the column may be empty, generalise_date for a date, or retain it',
        )
    if length is not None and len(value) > length:
        return (
            f"the fixed value has {len(value)} characters, but the column holds {length}",
            "shorten the value",
        )
    return None


def _kept(spec: TableSpec) -> bool:
    """Rows that stay (at least for a while) after erasure."""
    return spec.erase.action in {"anonymise", "retain"}


def _goes(spec: TableSpec) -> bool:
    """Rows that erasure deletes, now or when their retention period ends."""
    return spec.erase.action == "delete" or spec.erase.expires


def _key_problems(store: StoreSpec, schema: SqlSchema) -> list[LiveProblem]:
    """Delete, retain and anonymise choices the foreign keys do not allow: a row that is deleted
    while a row that stays points at it (the database refuses, or cascades into kept data)."""
    problems = []
    owned = schema.ownership.owners
    for link in schema.links:
        if link.child not in owned or link.parent not in owned:
            continue
        child, parent = store.tables[link.child], store.tables[link.parent]
        if not (_goes(parent) and _kept(child)):
            continue
        if _expires_with(child, link, schema) or (
            child.erase.expires and parent.erase.action != "delete"
        ):
            continue
        problems.append(_blocked(link, child, parent))
    problems += _cycles(store, schema)
    return problems


def _expires_with(child: TableSpec, link: Link, schema: SqlSchema) -> bool:
    owner = schema.ownership.owners[child.name]
    return child.erase.with_owner and owner.how == "via" and owner.link == link


def _blocked(link: Link, child: TableSpec, parent: TableSpec) -> LiveProblem:
    keeps = "retained" if child.erase.action == "retain" else "anonymised (kept)"
    rule = (
        "not null" if not link.nullable else f"on delete {(link.ondelete or 'no action').lower()}"
    )
    when = "deleted" if parent.erase.action == "delete" else "deleted when their period ends"
    fix = (
        f"keep {parent.name} too (erase: {{action: retain, …}} or anonymise), or delete "
        f"{child.name}"
    )
    if parent.erase.action == "retain":
        fix = (
            f"give {child.name} erase.with_owner: true, so its rows go with their {parent.name} row"
        )
    return LiveProblem(
        parent.name,
        "erase",
        f"{parent.name} rows are {when}, but {child.name} rows, which are {keeps}, point at them "
        f"through {link} ({'a declared link' if link.declared else rule}): the database would "
        f"refuse, or take the kept rows with them",
        fix,
    )


def _cycles(store: StoreSpec, schema: SqlSchema) -> list[LiveProblem]:
    """Deleted tables that point at each other through NOT NULL keys: no order deletes both."""
    deleted = {n for n in schema.ownership.owners if _goes(store.tables[n])}
    strict = [lk for lk in schema.links if lk.child in deleted and lk.parent in deleted]
    strict = [lk for lk in strict if not lk.nullable and not lk.declared]
    problems = []
    for link in strict:
        back = [lk for lk in strict if lk.child == link.parent and lk.parent == link.child]
        if back and link.child < link.parent:
            problems.append(
                LiveProblem(
                    link.child,
                    "erase",
                    f"{link.child} and {link.parent} are both deleted, but point at each other "
                    f"through NOT NULL keys ({link}; {back[0]}), so neither can go first",
                    "anonymise or retain one of them",
                )
            )
    return problems


# --- files and HTTP --------------------------------------------------------------------------


def _check_files(connector: Any) -> list[LiveProblem]:
    directory = connector.directory()
    problems = []
    for name, spec in connector.store.tables.items():
        path = Path(directory) / name
        if not path.is_file():
            problems.append(
                LiveProblem(name, "", f"{path} does not exist", "create it, or fix the name")
            )
            continue
        first = next(iter(connector._read(path)), None)
        if first is None:
            continue
        ordered = [spec.order_by.removeprefix("-")] if spec.order_by else []
        for column in [*spec.identity, *spec.fields, *ordered]:
            if column not in first:
                problems.append(
                    LiveProblem(
                        name,
                        f"fields.{column}"
                        if column in spec.fields
                        else "identity"
                        if column in spec.identity
                        else "order_by",
                        f"'{column}' is not a column of {name}",
                        _close(column, list(first)),
                    )
                )
    return problems


def _close(name: str, options: list[str]) -> str:
    return did_you_mean(name, options)


def _check_http(connector: Connector) -> list[LiveProblem]:
    """Each resource answers its find call (for an address nobody has)."""
    problems = []
    for name in connector.store.tables:
        try:
            for _ in connector.find(PROBE, only=frozenset({name})):
                pass
        except StoreError as exc:
            problems.append(LiveProblem(name, "find", str(exc), "check the path, auth and records"))
    return problems
