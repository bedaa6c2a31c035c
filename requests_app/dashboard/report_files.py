"""The report as files: CSV (one figure a row, for a spreadsheet) and PDF (for reading or
printing, through WeasyPrint as the exports are, fetching nothing)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from exports_app.renderers.pdf import pdf_bytes
from requests_app.dashboard.reports import Report
from smarct_dsar.spreadsheet import formula_safe

Row = tuple[str, str, str, str]


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Section", "Row", "Column", "Value"])
    for row in _rows(report):
        writer.writerow([formula_safe(cell) for cell in row])
    return out.getvalue()


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _rows(r: Report) -> Iterator[Row]:
    summary = "Summary"
    yield summary, "From", "", r.period.start.isoformat()
    yield summary, "To", "", r.period.end.isoformat()
    yield summary, "Received", "", str(r.received)
    yield summary, "Answered (completed or refused)", "", str(r.closed)
    rate = None if r.on_time_rate is None else r.on_time_rate * 100
    yield summary, "Answered on time (%)", "", _number(rate)
    yield summary, "Median days to close", "", _number(r.median_days)
    yield summary, "Extensions granted", "", str(r.extensions)
    yield summary, "Overdue counted on", "", r.today.isoformat()
    yield summary, "Overdue now", "", str(r.overdue)
    for section, counts in (("Received by type", r.by_type), ("Received by channel", r.by_channel)):
        for month, row in counts.rows:
            for column, n in zip(counts.columns, row, strict=True):
                yield section, month, column, str(n)
    for t in r.on_time:
        yield "On time by type", t.label, "Closed", str(t.closed)
        yield "On time by type", t.label, "On time", str(t.on_time)
        yield "On time by type", t.label, "On time after an extension", str(t.after_extension)
        yield "On time by type", t.label, "Median days to close", _number(t.median_days)
    for label, n in r.overdue_by_type:
        yield "Overdue now by type", label, "", str(n)
    for label, n in r.refusals:
        yield "Refusals by reason", label, "", str(n)
    for e in r.exemptions:
        yield "Exemptions register", e.label, "Uses", str(e.uses)
        yield "Exemptions register", e.label, "Requests", " ".join(e.references)
    for label, n in r.open_by_status:
        yield "Open now by status", label, "", str(n)


def report_pdf(report: Report) -> bytes:
    html = render_to_string(
        "pdf/report.html",
        {
            "r": report,
            "controller": settings.DSAR_CONTROLLER_NAME,
            "generated_at": timezone.localtime(),
        },
    )
    return pdf_bytes(html)
