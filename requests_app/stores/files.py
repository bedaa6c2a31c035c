"""Files in a directory: CSV (with a header row) or JSON Lines, one record type per file.

The data map lists each file by name under ``files:``; records match when an ``identity`` column
equals the subject's key (email compared case-insensitively). Files are read line by line.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from requests_app.datamap.spec import TableSpec
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

    def find(self, subject: Subject, only: frozenset[str] | None = None) -> Iterator[Batch]:
        directory = self.directory()
        for name, table in self.store.tables.items():
            if only is not None and name not in only:
                continue
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

    def erase(self, subject: Subject) -> dict[str, Outcome]:
        outcomes = {}
        for name, table in self.store.tables.items():
            outcome = Outcome()

            def erased(
                record: dict[str, Any], table: TableSpec = table, o: Outcome = outcome
            ) -> Any:
                if table.erase.action == "delete":
                    o.deleted += 1
                    return None
                columns = self.anonymised_columns(table.name, record)
                changed = {c: anonymise(spec, record[c]) for c, spec in columns.items()}
                if table.erase.action == "anonymise":
                    o.anonymised += 1
                else:
                    o.retained += 1
                    o.anonymised += 1 if columns else 0
                return {**record, **changed}

            self._rewrite(name, subject, erased)
            outcomes[name] = outcome
        return outcomes

    def update(self, subject: Subject, table: str, values: dict[str, Any]) -> int:
        changed = 0

        def updated(record: dict[str, Any]) -> dict[str, Any]:
            nonlocal changed
            changed += 1
            return {**record, **values}

        self._rewrite(table, subject, updated)
        return changed

    def kept_columns(self, table: str) -> set[str]:
        return set()  # a file's records have no keys to keep; every field may be anonymised

    def _rewrite(
        self,
        name: str,
        subject: Subject,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> None:
        """Write the file again with the person's records changed (None: dropped), into a
        temporary file beside it that replaces it atomically: a crash leaves the old file whole."""
        path = self.directory() / name
        table = self.store.tables[name]
        is_csv = path.suffix.lower() == ".csv"
        try:
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", newline="", dir=path.parent, delete=False, suffix=".tmp"
            ) as out:
                header: list[str] = []
                if is_csv:
                    with path.open(encoding="utf-8", newline="") as handle:
                        first = handle.readline()
                    out.write(first)
                    header = next(csv.reader([first]), [])
                for raw, record in self._raw_records(path):
                    if not self._matches(table, record, subject):
                        out.write(raw)
                        continue
                    result = change(record)
                    if result is None:
                        continue
                    if is_csv:
                        line = io.StringIO()
                        csv.DictWriter(line, fieldnames=header).writerow(result)
                        out.write(line.getvalue())
                    else:
                        out.write(json.dumps(result) + "\n")
            os.replace(out.name, path)
        except OSError as exc:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(out.name)
            raise TransientStoreError(
                f"store '{self.store.name}': cannot rewrite {name} ({exc.strerror})"
            ) from exc

    @staticmethod
    def _read(path: Path) -> Iterator[dict[str, Any]]:
        for _, record in FilesConnector._raw_records(path):
            yield record

    @staticmethod
    def _raw_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each record with the exact text it came from, so a rewrite can leave every other
        person's records byte for byte as they were."""
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix.lower() == ".csv":
                consumed: list[str] = []

                def lines() -> Iterator[str]:
                    for line in handle:
                        consumed.append(line)
                        yield line

                reader = csv.reader(lines())
                header = next(reader, None)
                if header is None:
                    return
                consumed.clear()
                for row in reader:
                    raw = "".join(consumed)
                    consumed.clear()
                    yield raw, dict(zip(header, row, strict=False))
                return
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield line, json.loads(line)
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
