"""JSON: one document, versioned (``docs/export-format.md``, schema in ``schemas/export-v1.json``):
the header (request, Article 15 information, what was searched, redactions), then
``data`` → store → table → ``{"category", "records": [...]}``. Records are streamed one by one."""

from __future__ import annotations

import orjson

from exports_app.content import ExportContext
from exports_app.renderers.base import Renderer, register
from requests_app.stores.base import json_default
from smarct_dsar.crypto import Writable

OPTIONS = orjson.OPT_NON_STR_KEYS


@register("json")
class JsonRenderer(Renderer):
    def render(self, context: ExportContext, out: Writable) -> int:
        header = orjson.dumps(
            context.header(), default=json_default, option=OPTIONS | orjson.OPT_INDENT_2
        )
        out.write(
            header[:-2] + b',\n  "data": {'
        )  # reopen the header object to stream the data into it
        count, current_store = 0, None
        for table in context.tables():
            if table.store != current_store:
                out.write(b"\n" if current_store is None else b"\n    },\n")
                out.write(b"    " + orjson.dumps(table.store) + b": {")
                current_store, first_table = table.store, True
            out.write(
                (b"\n" if first_table else b",\n") + b"      " + orjson.dumps(table.table) + b": "
            )
            out.write(b'{"category": ' + orjson.dumps(table.spec.category) + b', "records": [')
            first_table, first_batch = False, True
            for batch in table.batches:
                records = (
                    batch.rows
                    if batch.columns is None
                    else [dict(zip(batch.columns, r, strict=True)) for r in batch.rows]
                )
                if not records:
                    continue
                # One call per batch: "[\n  {…},\n  {…}\n]" without its brackets is the records' text.
                inner = orjson.dumps(
                    records, default=json_default, option=OPTIONS | orjson.OPT_INDENT_2
                )[2:-2]
                out.write((b"\n" if first_batch else b",\n") + inner)
                first_batch = False
                count += len(records)
            out.write(b"\n      ]}" if not first_batch else b"]}")
        out.write(b"\n    }\n  }\n}\n" if current_store is not None else b"}\n}\n")
        return count
