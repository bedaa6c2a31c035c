"""PDF (WeasyPrint): a covering letter saying what was searched, the Article 15 information as
readable sections, then the data by category in tables, with redactions marked; page numbers and
a running header with the reference; the complete data attached as the JSON and CSV files.

Paper is for reading, so a table longer than ``DSAR_PDF_MAX_ROWS`` shows a summary and its first
``DSAR_PDF_PREVIEW_ROWS`` rows; the attachments hold everything. That bound is also what keeps the
PDF fast and small in memory: WeasyPrint lays out the whole document in memory, at about 5 ms and
0.1 MB a table row (measured on our 2-core machines; ``bench/exports.py``), so it never sees more
than a few thousand rows.

The attachments are the JSON and CSV files built already (``ExportContext.files``), never
rendered again: WeasyPrint writes their PDF/A-3 file specifications from small placeholders and
the finisher (``_embed``) puts each file into its embedded stream as it is streamed from
storage, deflated on the way (the zip, compressed already, as it is), with its size and MD5
measured on the way: only the compressed bytes are ever held. One WeasyPrint font configuration
is kept per process (``font_config``), as a warm worker's.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import itertools
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pydyf  # type: ignore[import-untyped]  # (ships no types)
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext
from weasyprint import HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetchingError

from exports_app.content import REDACTED, ExportContext, TableData
from exports_app.renderers import reading
from exports_app.renderers.base import Renderer, register
from requests_app.datamap.spec import FieldSpec, TableSpec
from requests_app.models import RequestType
from smarct_dsar.crypto import Writable

MAX_CELL = 300
# zlib's level for a JSON attachment: 6 (its default) makes a 1,000,000-row file about 10x
# smaller at ~60 MB/s; the zip is deflated already and is stored as it is.
DEFLATE_LEVEL = 6


class NoFetching(URLFetcher):
    """Personal data in the template is untrusted: the document may fetch nothing at all."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise URLFetchingError(f"external resources are disabled ({url[:40]})")


_fonts: dict[tuple[int, int], FontConfiguration] = {}


def font_config() -> FontConfiguration:
    """This process's WeasyPrint font configuration, made once (at worker start,
    ``smarct_dsar.celery``) and reused by every document: building one costs each document tens
    of milliseconds. Safe to share in WeasyPrint 70 for our documents: it holds the system's
    fonts and caches keyed by style, and only ``@font-face`` (which no template uses) adds to
    it. Kept per process and thread: Pango and fontconfig objects are not carried across a fork,
    nor shared by documents laid out at the same time."""
    key = (os.getpid(), threading.get_ident())
    if key not in _fonts:
        _fonts[key] = FontConfiguration()
    return _fonts[key]


def write_pdf(html: str, target: Writable, **options: Any) -> None:
    """Every PDF Smarct makes: PDF/A-3u, fetching nothing, with the process's fonts, written to
    ``target``."""
    document = HTML(string=html, url_fetcher=NoFetching(), base_url="about:blank")
    # tagged (structure, language, title) so that a screen reader can read it
    document.write_pdf(
        target, pdf_variant="pdf/a-3u", pdf_tags=True, font_config=font_config(), **options
    )


def pdf_bytes(html: str) -> bytes:
    buffer = io.BytesIO()
    write_pdf(html, buffer)
    return buffer.getvalue()


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
                    # recipients told by email (Article 19) hold data we cannot search
                    "not_searched": [
                        store for store in context.data_map.stores.values() if not store.searchable
                    ],
                },
            )
            attached = self._attached(context)
        write_pdf(
            html,
            out,
            attachments=[a.placeholder() for a in attached],
            finisher=partial(_embed, {a.name: a for a in attached}),
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
    def _attached(context: ExportContext) -> list[Attached]:
        """The JSON and CSV files built for this response, to attach as they are."""
        return [
            Attached(
                # named as the person's download of the same file is
                name=f"{context.dsr.reference}-your-data.{extension}",
                description=description,
                chunks=context.files[format_],
                deflate=deflate,
            )
            for format_, extension, description, deflate in (
                ("json", "json", gettext("All your data as JSON"), True),
                ("csv", "zip", gettext("All your data as CSV files"), False),
            )
        ]


@dataclass(frozen=True)
class Attached:
    """A file to embed: its name and description in the PDF, and its bytes, streamed."""

    name: str
    description: str
    chunks: Callable[[], Iterable[bytes]]
    deflate: bool

    def placeholder(self) -> Attachment:
        # WeasyPrint writes the file specification, its PDF/A-3 /AF entry and /AFRelationship
        # (keyed by the MD5 of this content, so each placeholder's differs); ``_embed`` then
        # puts the file in.
        return Attachment(string=self.name.encode(), name=self.name, description=self.description)


def _embed(attached: dict[str, Attached], document: Any, pdf: pydyf.PDF) -> None:
    """WeasyPrint's finisher: each attachment's embedded stream becomes the file itself, streamed
    and deflated chunk by chunk (or stored as it is), with its /Params Size and CheckSum (MD5)
    measured on the way, and written out without pydyf's copies of it (``_write_line``)."""
    for spec in [o for o in pdf.objects if isinstance(o, dict) and o.get("Type") == "/Filespec"]:
        number = int(spec["EF"]["F"].split()[0])
        placeholder, file = pdf.objects[number], attached[spec["UF"].string]
        deflater = zlib.compressobj(DEFLATE_LEVEL) if file.deflate else None
        body, md5, size = [], hashlib.md5(usedforsecurity=False), 0
        for chunk in file.chunks():
            md5.update(chunk)
            size += len(chunk)
            body.append(deflater.compress(chunk) if deflater else chunk)
        extra = pydyf.Dictionary(placeholder.extra)
        if deflater:
            body.append(deflater.flush())
            extra["Filter"] = "/FlateDecode"
        extra["Params"]["Size"] = size
        extra["Params"]["CheckSum"] = f"<{md5.hexdigest()}>"
        stream = _FileStream(body, extra, md5.hexdigest())
        stream.number, stream.generation = placeholder.number, placeholder.generation
        pdf.objects[number] = stream
    pdf.write_line = partial(_write_line, pdf)
    # WeasyPrint 70 lists each file twice in the catalogue's /AF (from the name tree and from
    # the file specifications): once is what PDF/A-3 asks.
    if "AF" in pdf.catalog:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))


class _FileStream(pydyf.Stream):
    """An embedded file, deflated already, kept as the chunks it was compressed into: written
    piece by piece (``indirect``), never joined into one more copy of its megabytes."""

    def __init__(self, body: list[bytes], extra: pydyf.Dictionary, md5: str) -> None:
        super().__init__(body, extra)
        self.extra["Length"] = sum(len(piece) for piece in body)
        self.md5 = md5

    @property
    def indirect(self) -> _Pieces:
        header = f"{self.number} {self.generation} obj\n".encode()
        return _Pieces(
            [header, self.extra.data, b"\nstream\n", *self.stream, b"\nendstream\nendobj"]
        )

    @property
    def data(self) -> bytes:
        # Read by pydyf only for the file identifier (/ID, an MD5 of every object): the file's
        # dictionary and its MD5 identify it as well as its bytes would.
        return bytes(self.extra.data + self.md5.encode())


@dataclass(frozen=True)
class _Pieces:
    pieces: list[bytes]

    def __len__(self) -> int:
        return sum(len(piece) for piece in self.pieces)


def _write_line(pdf: pydyf.PDF, content: bytes | _Pieces, output: Writable) -> None:
    """pydyf's ``PDF.write_line`` (one object, then a newline), writing a file's pieces one by
    one where pydyf would join them into a new copy."""
    pieces = content.pieces if isinstance(content, _Pieces) else [content]
    for piece in pieces:
        output.write(piece)
    output.write(b"\n")
    pdf.current_position += len(content) + 1
