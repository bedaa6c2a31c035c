"""CSV: a zip with one CSV per store table, a README.txt explaining every file and column in plain
words, and manifest.json with each file's SHA-256. Written as a stream (zip data descriptors),
so the archive never has to be held or seeked."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from typing import Any

import orjson
from django.conf import settings

from exports_app.content import ExportContext, TableData
from exports_app.renderers.base import Renderer, register
from requests_app.stores.base import json_default
from smarct_dsar.crypto import Writable
from smarct_dsar.spreadsheet import formula_safe, risky

EXTRA = "_other_fields"


class _Stream(io.RawIOBase):
    """A write-only, unseekable file object over ``out``: zipfile then streams."""

    def __init__(self, out: Writable) -> None:
        self.out = out

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.out.write(bytes(data))
        return len(data)


def _scalar(rows: list[Any]) -> bool:
    """True when no value is a list or an object (a PostgreSQL json column), which need JSON text."""
    return not {type(value) for row in rows for value in row} & {dict, list}


def _plain(row: Any) -> Any:
    """A row of plain values, with any formula-like text neutralised (most rows pass as they are)."""
    if any(isinstance(v, str) and risky(v) for v in row):
        return [formula_safe(v) if isinstance(v, str) else v for v in row]
    return row


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return formula_safe(orjson.dumps(value, default=json_default).decode())
    if isinstance(value, str):
        return formula_safe(value)
    return "" if value is None else value


@register("csv")
class CsvRenderer(Renderer):
    def render(self, context: ExportContext, out: Writable) -> int:
        manifest: dict[str, dict[str, Any]] = {}
        count = 0
        with zipfile.ZipFile(_Stream(out), "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for table in context.tables():
                name = f"{table.store}/{table.table.replace('.', '_')}.csv"
                rows, digest, size, columns = self._write_table(archive, name, table)
                manifest[name] = {
                    "sha256": digest,
                    "bytes": size,
                    "rows": rows,
                    "columns": columns,
                    "store": table.store,
                    "table": table.table,
                    "category": table.spec.category,
                }
                count += rows
            readme = self._readme(context, manifest).encode()
            archive.writestr("README.txt", readme)
            manifest["README.txt"] = {
                "sha256": hashlib.sha256(readme).hexdigest(),
                "bytes": len(readme),
            }
            archive.writestr(
                "manifest.json",
                orjson.dumps(
                    {"reference": context.dsr.reference, "files": manifest},
                    option=orjson.OPT_INDENT_2,
                ),
            )
        return count

    @staticmethod
    def _write_table(
        archive: zipfile.ZipFile, name: str, table: TableData
    ) -> tuple[int, str, int, list[str]]:
        digest, size, rows = hashlib.sha256(), 0, 0
        columns: list[str] = []
        with archive.open(name, "w", force_zip64=True) as entry:
            text = io.StringIO()
            # every cell quoted: a separator inside a value (a ; in a semicolon locale) never
            # starts a new cell, and so never a formula
            writer = csv.writer(text, quoting=csv.QUOTE_ALL)

            def flush() -> None:
                nonlocal size
                data = text.getvalue().encode()
                entry.write(data)
                digest.update(data)
                size += len(data)
                text.seek(0)
                text.truncate()

            for batch in table.batches:
                if not batch.rows:
                    continue
                if not columns:
                    columns = list(batch.columns or batch.rows[0])
                    writer.writerow([formula_safe(str(c)) for c in [*columns, EXTRA]])
                if (
                    batch.columns is not None
                    and list(batch.columns) == columns
                    and _scalar(batch.rows)
                ):
                    # the common case: SQL rows of plain values
                    writer.writerows(_plain(row) for row in batch.rows)
                else:
                    for record in batch.records():
                        extra = {k: v for k, v in record.items() if k not in columns}
                        writer.writerow(
                            [_cell(record.get(c)) for c in columns]
                            + [_cell(extra) if extra else ""]
                        )
                rows += len(batch.rows)
                if text.tell() > 1 << 16:
                    flush()
            flush()
        return rows, digest.hexdigest(), size, columns

    @staticmethod
    def _readme(context: ExportContext, manifest: dict[str, dict[str, Any]]) -> str:
        dsr = context.dsr
        lines = [
            f"Your data from {settings.DSAR_CONTROLLER_NAME}: request {dsr.reference}",
            f"Prepared on {context.generated_at:%d %B %Y}.",
            "",
            "Each CSV file holds the records one of our systems keeps about you: one row per record,",
            "one column per field. Text in a cell that starts with [ or { is a list or group of values",
            f"written as JSON. The column {EXTRA} holds fields that only some records have.",
            "[REDACTED] marks information we withheld; what, and why, is listed below.",
            "A value that begins with = + - @ (a phone number such as +44..., say), a tab or a",
            "line break has a ' put in front of it here, and so does such a character after a , ; |",
            "or tab inside a value, so that a spreadsheet shows it as text instead of running it",
            "as a formula. The JSON file holds every value exactly.",
            "manifest.json lists every file with its SHA-256 checksum, so you can check that nothing",
            "was changed.",
            "",
        ]
        withheld = context.redactions.listed
        lines.append("What we withheld, and why:" if withheld else "We withheld nothing.")
        for item in withheld:
            what = (
                f"words in the field {item['field']}"
                if item.get("passage")
                else f"the field {item['field']}"
                if item["field"]
                else "a whole record"
            )
            lines.append(f"  - {item['store']}/{item['table']}.csv, {what}: {item['reason']}")
        lines.append("")
        for name, entry in manifest.items():
            spec = context.data_map.stores[entry["store"]]
            table = spec.tables[entry["table"]]
            register = context.data_map.register.get(entry["category"])
            lines += [
                f"{name}: {entry['rows']} record(s) of {table.title}, from {spec.public_where}.",
                f"  Category: {entry['category']}."
                + (f" Why we hold it: {'; '.join(register.purposes)}." if register else ""),
            ]
            for column in entry["columns"]:
                field = table.field_spec(column)
                purpose = field.purpose or (register and "; ".join(register.purposes)) or ""
                lines.append(
                    f"  - {column}: {field.category} data{'; ' + purpose if purpose else ''}."
                )
            lines.append("")
        return "\n".join(lines)
