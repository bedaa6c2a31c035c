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
    phone: str = ""
    reference: str = ""

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
    """What erasure did to one table's records of the person."""

    deleted: int = 0
    anonymised: int = 0
    retained: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"deleted": self.deleted, "anonymised": self.anonymised, "retained": self.retained}


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
