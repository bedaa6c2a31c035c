"""PDF (WeasyPrint): a covering letter saying what was searched, the Article 15 information as
readable sections, then the data by category in tables, with redactions marked; page numbers and
a running header with the reference; the complete data attached as the JSON and CSV files.

Paper is for reading, so a table longer than ``DSAR_PDF_MAX_ROWS`` shows a summary and its first
``DSAR_PDF_PREVIEW_ROWS`` rows; the attachments hold everything. That bound is also what keeps the
PDF fast and small in memory: WeasyPrint lays out the whole document in memory, at about 5 ms and
0.1 MB a table row (measured on our 2-core machines; ``bench/exports.py``), so it never sees more
than a few thousand rows.
"""

from __future__ import annotations

import heapq
import io
import itertools
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext
from weasyprint import HTML, Attachment
from weasyprint.urls import URLFetcher, URLFetchingError

from exports_app.content import REDACTED, ExportContext, TableData
from exports_app.renderers import reading
from exports_app.renderers.base import Renderer, register, renderer_for
from requests_app.datamap.spec import FieldSpec, TableSpec
from requests_app.models import RequestType
from smarct_dsar.crypto import Writable

MAX_CELL = 300


class NoFetching(URLFetcher):
    """Personal data in the template is untrusted: the document may fetch nothing at all."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise URLFetchingError(f"external resources are disabled ({url[:40]})")


def _readable(value: Any) -> str:
    """Nested values for reading on paper: a list one item per line, a group as "key: value"
    (the JSON and CSV files keep the exact structure)."""
    if isinstance(value, list):
        return "\n".join(_readable(item) for item in value)
    if isinstance(value, dict):
        if set(value) == {"from", "body"}:  # a message
            return f"{value['from']}: {value['body']}"
        return "; ".join(f"{key}: {_readable(item)}" for key, item in value.items())
    return "" if value is None else str(value)


def _cell(value: Any, spec: FieldSpec | None = None) -> dict[str, Any]:
    """A value for a table cell: its text (in words, by the field's format), with each withheld
    passage as a mark of its own."""
    if value == REDACTED:
        return {"redacted": True}
    words = reading.readable_value(value, spec) if spec is not None else None
    if words is not None:
        return {"text": words}
    text = _readable(value)
    text = text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"
    pieces = text.split(REDACTED)
    if len(pieces) == 1:
        return {"text": text}
    return {
        "pieces": [
            {"text": piece, "redacted": i % 2 == 1}
            for i, piece in enumerate(_interleave(pieces))
            if piece or i % 2 == 1
        ]
    }


def _interleave(pieces: list[str]) -> list[str]:
    """["a", "b", "c"] → ["a", REDACTED, "b", REDACTED, "c"]: text at even places, marks at odd."""
    out = [pieces[0]]
    for piece in pieces[1:]:
        out += [REDACTED, piece]
    return out


def _reading_order(spec: TableSpec) -> tuple[str, bool] | None:
    """(column, newest first) from the map's ``order_by``; else its first date or datetime
    field, newest first; else None (as gathered)."""
    if spec.order_by:
        return spec.order_by.removeprefix("-"), spec.order_by.startswith("-")
    dated = (f.name for f in spec.fields.values() if f.format in {"date", "datetime"})
    first = next(dated, None)
    return (first, True) if first else None


@register("pdf")
class PdfRenderer(Renderer):
    def render(self, context: ExportContext, out: Writable) -> int:
        # A worker builds it, with no browser: the letter is in the request's own language.
        with translation.override(context.dsr.language):
            data, count = self._tables(context)
            header = context.header()
            html = render_to_string(
                "pdf/access.html",
                {
                    **header,
                    **header["request"],
                    **header["article_15"],
                    "reference": context.dsr.reference,
                    "controller": settings.DSAR_CONTROLLER_NAME,
                    "privacy_contact": settings.DSAR_PRIVACY_CONTACT,
                    "generated_at": context.generated_at,
                    "received_at": context.dsr.received_at,
                    "verified_at": context.dsr.verified_at,
                    "due_on": context.dsr.due_on,
                    "data": data,
                    "withheld_reasons": list(
                        dict.fromkeys(r["reason"] for r in header["redactions"])
                    ),
                    "portability": context.dsr.request_type == RequestType.PORTABILITY,
                    # the person's words for each store searched, never the staff's description
                    "searched": [
                        {**s, "description": context.data_map.stores[s["store"]].public_title}
                        for s in header["searched"]
                    ],
                },
            )
            attachments = self._attachments(context)
        document = HTML(string=html, url_fetcher=NoFetching(), base_url="about:blank")
        out.write(
            document.write_pdf(attachments=attachments, pdf_variant="pdf/a-3u", pdf_tags=True)
        )
        return count

    def _tables(self, context: ExportContext) -> tuple[dict[str, list[dict[str, Any]]], int]:
        limit, preview = settings.DSAR_PDF_MAX_ROWS, settings.DSAR_PDF_PREVIEW_ROWS
        by_category: dict[str, list[dict[str, Any]]] = {}
        count = 0
        for table in context.tables():
            shown, total = self._take(table, limit, preview)
            count += total
            columns = list(dict.fromkeys(k for record in shown for k in record))
            specs = [table.spec.field_spec(c) for c in columns]
            by_category.setdefault(table.spec.category, []).append(
                {
                    "table": table.spec.title,
                    # the person's words for the store, never the staff's description
                    "description": context.data_map.stores[table.store].public_title,
                    "columns": [
                        gettext("Withheld") if c == REDACTED else s.title
                        for c, s in zip(columns, specs, strict=True)
                    ],
                    "rows": [
                        [_cell(r.get(c), s) for c, s in zip(columns, specs, strict=True)]
                        for r in shown
                    ],
                    "total": total,
                    "truncated": total > len(shown),
                    "csv_name": f"{table.store}/{table.table.replace('.', '_')}.csv",
                }
            )
        return by_category, count

    @staticmethod
    def _take(table: TableData, limit: int, preview: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` rows in the table's reading order; beyond that only the first
        ``preview``, counting the rest. Streaming: at most ``limit + 1`` rows are held (a heap
        of the first in order, however many the table has)."""
        total = 0

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal total
            for record in table.records():
                total += 1
                yield record

        order = _reading_order(table.spec)
        if order is None:  # as gathered
            records = counted()
            shown = list(itertools.islice(records, limit + 1))
            for _ in records:  # count the rest
                pass
        else:
            column, newest_first = order
            spec = table.spec.field_spec(column)
            pick = heapq.nlargest if newest_first else heapq.nsmallest
            shown = pick(limit + 1, counted(), key=lambda r: reading.sort_key(r.get(column), spec))
        return (shown if total <= limit else shown[:preview]), total

    @staticmethod
    def _attachments(context: ExportContext) -> list[Attachment]:
        attachments = []
        for format_, extension, description in (
            ("json", "json", gettext("All your data as JSON")),
            ("csv", "zip", gettext("All your data as CSV files")),
        ):
            buffer = io.BytesIO()
            renderer_for(format_).render(context, buffer)
            attachments.append(
                Attachment(
                    string=buffer.getvalue(),
                    name=f"{context.dsr.reference}.{extension}",
                    description=description,
                )
            )
        return attachments
