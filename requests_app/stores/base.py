"""The connector contract, and the registry of connectors by kind.

A connector reaches one connected store, described by a ``StoreSpec`` from the data map.

``find(subject)``
    Yields ``Batch``es holding every record of the person the map describes, streaming: it never
    holds a whole result set in memory (a batch is at most a few thousand records). It must never
    yield another person's record.
``erase(subject)``
    Carries out the data map's erasure rules on the person's records, in one transaction where
    the store allows: rows deleted, fields anonymised (``stores/anonymise.py``), retained rows
    left (with any field-level anonymising done). Returns an ``Outcome`` per table. Running it
    again finds nothing more to do and changes nothing.
``update(subject, table, values)``
    Sets ``values`` on the person's records of one table (a correction, an opt-out flag);
    returns how many records changed.
``kept_columns(table)``
    Columns erasure never anonymises because they hold the record together (keys, links).
``ping()``
    Returns when the store answers; raises otherwise.

Errors say what to do next:

``TransientStoreError``
    The store may work if asked again (connection refused, timeout, 5xx, 429, a dropped
    connection). The gathering task retries with backoff, a bounded number of times.
``PermanentStoreError``
    Asking again will not help (bad credentials, a missing table, a missing setting). The step is
    marked failed with the message, for staff to fix and retry.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings

from requests_app.datamap.spec import EraseSpec, StoreSpec
from requests_app.stores.anonymise import looks_anonymised


class StoreError(Exception):
    """Base class; the message is shown to staff, so it must not contain secrets."""


class TransientStoreError(StoreError):
    """Retry later."""


class PermanentStoreError(StoreError):
    """Give up; staff must act."""


@dataclass(frozen=True)
class Subject:
    """Who we are looking for: the keys a data map's ``identity`` may match on."""

    email: str
    reference: str = ""
    received: dt.date | None = None  # when the request arrived (a relationship's end)

    def key(self, name: str) -> str | None:
        value = getattr(self, name, "")
        return value or None


Record = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Batch:
    """Records of one table. SQL rows come as tuples under ``columns`` (cheap to encode in bulk);
    API and file records, whose fields vary, come as dicts with ``columns`` None."""

    table: str
    columns: tuple[str, ...] | None
    rows: list[Any]

    def records(self) -> Iterator[dict[str, Any]]:
        if self.columns is None:
            yield from self.rows
        else:
            for row in self.rows:
                yield dict(zip(self.columns, row, strict=True))


@dataclass
class Outcome:
    """What erasure does to one table's records of the person. ``expired``: of the deleted, rows
    kept by law until their retention period ended. ``shared``: rows the map would change but
    that other people's (or the business's) records point at, so they are left as they are."""

    deleted: int = 0
    anonymised: int = 0
    retained: int = 0
    expired: int = 0
    shared: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "deleted": self.deleted,
            "anonymised": self.anonymised,
            "retained": self.retained,
            "expired": self.expired,
            "shared": self.shared,
        }


class Connector:
    kind: ClassVar[str]

    def __init__(self, store: StoreSpec) -> None:
        self.store = store

    def find(self, subject: Subject, only: frozenset[str] | None = None) -> Iterator[Batch]:
        """``only``: the tables to search (all when None)."""
        raise NotImplementedError

    def erase(self, subject: Subject) -> dict[str, Outcome]:
        raise NotImplementedError

    def update(self, subject: Subject, table: str, values: dict[str, Any]) -> int:
        raise NotImplementedError

    def preview(self, subject: Subject) -> dict[str, Outcome]:
        """What ``erase`` would do to each table, without changing anything: the person's
        records as found now, by the table's action."""
        counts: dict[str, Outcome] = {name: Outcome() for name in self.store.tables}
        for batch in self.find(subject):
            spec = self.store.tables[batch.table]
            n = len(batch.rows)
            outcome = counts[batch.table]
            if spec.erase.action == "delete":
                outcome.deleted += n
            elif spec.erase.action == "anonymise":
                outcome.anonymised += n
            else:
                outcome.retained += n
                if any(self.anonymised_columns(batch.table, r) for r in batch.records()):
                    outcome.anonymised += n
        return counts

    def columns(self, table: str) -> list[str]:
        """The table's columns, where the store can say (a schema); else the fields the map lists."""
        spec = self.store.tables[table]
        return [*spec.identity, *(f for f in spec.fields if f not in spec.identity)]

    def latest(self, subject: Subject, table: str, column: str) -> dt.date | None:
        """The latest date in ``column`` of the person's records of ``table`` (retention)."""
        latest: dt.date | None = None
        for batch in self.find(subject, only=frozenset({table})):
            for record in batch.records():
                day = as_date(record.get(column))
                if day is not None and (latest is None or day > latest):
                    latest = day
        return latest

    def owners(self) -> dict[str, str]:
        """Each table's owner table, where rows belong to the person through another table."""
        return {}

    def plan_order(self) -> list[str]:
        """The tables in an order where each comes after its owner."""
        return list(self.store.tables)

    def ownership_path(self, table: str) -> str:
        """How the table's rows are the person's, in words (SQL stores)."""
        return ""

    def leftovers(self, subject: Subject) -> dict[str, dict[str, int]]:
        """The re-scan after erasing: per table, records left that erasure should have removed or
        anonymised, and records retained as the plan says."""
        left: dict[str, int] = dict.fromkeys(self.store.tables, 0)
        retained: dict[str, int] = dict.fromkeys(self.store.tables, 0)
        for batch in self.find(subject):
            spec = self.store.tables[batch.table]
            for record in batch.records():
                if spec.erase.action == "delete":
                    left[batch.table] += 1
                    continue
                columns = self.anonymised_columns(batch.table, record)
                if any(not looks_anonymised(e, record.get(c)) for c, e in columns.items()):
                    left[batch.table] += 1
                elif spec.erase.action == "retain":
                    retained[batch.table] += 1
        return {t: {"left": left[t], "retained": retained[t]} for t in self.store.tables}

    def kept_columns(self, table: str) -> set[str]:
        spec = self.store.tables[table]
        return {spec.primary_key or "id", *(link.column for link in spec.links)}

    def anonymised_columns(self, table: str, columns: Iterable[str]) -> dict[str, EraseSpec]:
        """Of ``columns``, those erasure anonymises in ``table``, with how."""
        spec = self.store.tables[table]
        if spec.erase.action == "delete":
            return {}
        kept = self.kept_columns(table)
        result = {}
        for column in columns:
            erase = spec.erase_spec(column)
            if column not in kept and erase.action == "anonymise":
                result[column] = erase
        return result

    def ping(self) -> None:
        raise NotImplementedError

    def setting(self, value: Any, what: str) -> str:
        """Resolve a ``Setting`` from the environment, or fail permanently naming the variable."""
        resolved = (
            value.resolve(str(Path(settings.VAR_DIR).resolve())) if value is not None else None
        )
        if not resolved:
            env = getattr(value, "env", "?")
            raise PermanentStoreError(
                f"store '{self.store.name}': {what} is not set. Fix: set {env}."
            )
        return str(resolved)


CONNECTORS: dict[str, type[Connector]] = {}


def register(kind: str) -> Callable[[type[Connector]], type[Connector]]:
    def add(cls: type[Connector]) -> type[Connector]:
        cls.kind = kind
        CONNECTORS[kind] = cls
        return cls

    return add


def connector_for(store: StoreSpec) -> Connector:
    return CONNECTORS[store.kind](store)


def as_date(value: Any) -> dt.date | None:
    """A date from a stored value (a date, a datetime, or ISO text); None if it is not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def json_default(value: Any) -> Any:
    """``json`` calls this only for values it cannot encode itself: dates as ISO 8601, money
    (Decimal) as exact text, binary as hex, anything else as its text."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)
