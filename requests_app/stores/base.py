"""The connector contract, and the registry of connectors by kind.

A connector reaches one connected store, described by a ``StoreSpec`` from the data map.

``find(subject)``
    Yields ``Batch``es holding every record of the person the map describes, streaming: it never
    holds a whole result set in memory (a batch is at most a few thousand records). It must never
    yield another person's record.
``erase(subject, plan)`` / ``rectify(subject, changes)``
    Act on the store (issue 6 fills these in for each kind).
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings

from requests_app.datamap.spec import StoreSpec


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


class Connector:
    kind: ClassVar[str]

    def __init__(self, store: StoreSpec) -> None:
        self.store = store

    def find(self, subject: Subject) -> Iterator[Batch]:
        raise NotImplementedError

    def erase(self, subject: Subject, plan: Any) -> Any:
        raise PermanentStoreError(f"{self.kind} stores cannot erase yet")

    def rectify(self, subject: Subject, changes: Any) -> Any:
        raise PermanentStoreError(f"{self.kind} stores cannot rectify yet")

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
