"""Files in a directory: CSV (with a header row) or JSON Lines, one record type per file.

The data map lists each file by name under ``files:``; records match when an ``identity`` column
equals the subject's key (email compared case-insensitively). Files are read line by line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from requests_app.datamap.spec import TableSpec
from requests_app.stores.base import (
    Batch,
    Connector,
    PermanentStoreError,
    Subject,
    TransientStoreError,
    register,
)

BATCH = 1000


@register("files")
class FilesConnector(Connector):
    def directory(self) -> Path:
        path = Path(self.setting(self.store.connection, "the directory"))
        if not path.is_dir():
            raise PermanentStoreError(f"store '{self.store.name}': directory {path} does not exist")
        return path

    def ping(self) -> None:
        self.directory()

    def find(self, subject: Subject) -> Iterator[Batch]:
        directory = self.directory()
        for name, table in self.store.tables.items():
            path = directory / name
            if not path.is_file():
                raise PermanentStoreError(f"store '{self.store.name}': file {name} is missing")
            try:
                batch: list[dict[str, Any]] = []
                for record in self._read(path):
                    if self._matches(table, record, subject):
                        batch.append(record)
                    if len(batch) >= BATCH:
                        yield Batch(name, None, batch)
                        batch = []
                if batch:
                    yield Batch(name, None, batch)
            except OSError as exc:
                raise TransientStoreError(
                    f"store '{self.store.name}': cannot read {name} ({exc.strerror})"
                ) from exc

    @staticmethod
    def _read(path: Path) -> Iterator[dict[str, Any]]:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix.lower() == ".csv":
                yield from csv.DictReader(handle)
                return
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise PermanentStoreError(
                            f"{path.name}:{number} is not valid JSON"
                        ) from exc

    @staticmethod
    def _matches(table: TableSpec, record: dict[str, Any], subject: Subject) -> bool:
        for column, key in table.identity.items():
            expected = subject.key(key)
            value = record.get(column)
            if expected is None or value is None:
                continue
            if (
                (str(value).lower() == expected.lower())
                if key == "email"
                else str(value) == expected
            ):
                return True
        return False
