"""Export benchmark: time and peak memory of each renderer, beside the naive PDF.

For a subject with N usage rows (1,000 / 10,000 / 100,000; JSON and CSV also 1,000,000), each in
a fresh process (peak = that process's max RSS):

* ours      — ``export_build`` exactly as a warm worker runs it (modules imported and data map
              loaded beforehand, as at worker start): read the encrypted gathered file, render,
              encrypt, store. The PDF shows a summary and the first rows of a long table and
              attaches the full JSON and CSV, so its cost includes rendering those too.
* naive PDF — the baseline: one WeasyPrint HTML <table> holding every row (measured: ~45 s and
              ~0.8-1 GB at 10,000 rows on our 2-core machines). Not run at 100,000 (about 10
              minutes and several GB, at ~5 ms and 0.1 MB a row).

Targets (the exports' own): our PDF at 10,000 rows at least 10x faster than the naive one, under 300 MB; JSON and
CSV ≥ 200,000 rows/s with peak memory flat from 100,000 to 1,000,000 rows.

    make bench          # or: .venv/bin/python bench/exports.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var" / "bench-exports"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "smarct_dsar.settings",
        "VAR_DIR": str(VAR),
        "DATABASE_URL": f"sqlite:///{VAR / 'db.sqlite3'}",
        "DSAR_DATA_MAP": str(ROOT / "demo" / "data-map.yaml"),
    }
)
SIZES = (1_000, 10_000, 100_000, 1_000_000)
NAIVE_MAX = 10_000
PDF_MAX = 100_000


CATEGORIES = {"visitors": "usage", "page_views": "usage"}


def setup() -> dict[int, int]:
    """A request per size, its analytics gathered into an encrypted file; returns size → request pk."""
    import django
    from django.core.management import call_command

    VAR.mkdir(parents=True, exist_ok=True)
    django.setup()
    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from requests_app.gathering.gather import write_records
    from requests_app.models import DataSubjectRequest, GatherStep, Status, StepStatus
    from smarct_dsar.encrypted_files import store_encrypted

    made = {}
    for rows in SIZES:
        reference = f"DSR-2099-{rows:06d}"[:20]
        dsr = DataSubjectRequest.objects.filter(reference=reference).first()
        if dsr is not None and dsr.gather_steps.filter(record_count=rows + 1).exists():
            made[rows] = dsr.pk
            continue
        DataSubjectRequest.objects.filter(reference=reference).delete()
        now = timezone.now()
        dsr = DataSubjectRequest.objects.create(
            reference=reference,
            request_type="access",
            status=Status.FULFILLING,
            requester_name="Bench Person",
            requester_email="bench@example.com",
            received_at=now,
            verified_at=now,
            due_on=now.date(),
        )
        step = GatherStep.objects.create(request=dsr, store="analytics", status=StepStatus.DONE)
        tally, stored = store_encrypted(
            f"gathered/{reference}/analytics.jsonl.enc",
            context=step.file_context,
            write=lambda out, rows=rows: write_records(_batches(rows), CATEGORIES, out),
        )
        GatherStep.objects.filter(pk=step.pk).update(
            file_name=stored.name, record_count=tally.records, table_counts=dict(tally.tables)
        )
        made[rows] = dsr.pk
    return made


def _batches(rows: int) -> Any:
    from requests_app.stores import Batch

    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    yield Batch(
        "visitors", ("id", "email", "first_seen_at"), [(1, "bench@example.com", start.isoformat())]
    )
    columns = (
        "id",
        "visitor_id",
        "viewed_at",
        "ip_address",
        "browser",
        "os",
        "page",
        "time_on_page_s",
        "clicks",
    )
    for offset in range(0, rows, 2000):
        yield Batch(
            "page_views",
            columns,
            [
                (
                    n,
                    1,
                    (start + dt.timedelta(seconds=n)).isoformat(),
                    f"203.0.113.{n % 250}",
                    "Firefox 132",
                    "Ubuntu 24.04",
                    f"/docs/page-{n % 97}",
                    n % 300,
                    n % 7,
                )
                for n in range(offset, min(rows, offset + 2000))
            ],
        )


def child(kind: str, request_pk: int) -> None:
    import django

    django.setup()
    # What a warm worker has done before its task: imported its modules, loaded the data map.
    from exports_app.models import Export
    from exports_app.services import export_build
    from requests_app import datamap
    from requests_app.models import DataSubjectRequest

    datamap.current()
    dsr = DataSubjectRequest.objects.get(pk=request_pk)
    started = time.perf_counter()
    if kind == "naive":
        rows = _naive_pdf(dsr)
    else:
        Export.objects.filter(request=dsr, format=kind).delete()
        export = Export.objects.create(request=dsr, format=kind)
        export_build(export_id=export.pk, task_id="bench")
        export.refresh_from_db()
        rows = export.record_count
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def _naive_pdf(dsr: Any) -> int:
    """The baseline: every row in one HTML table, laid out by WeasyPrint."""
    from django.utils.html import escape
    from weasyprint import HTML

    from exports_app.content import ExportContext

    cells, count = [], 0
    for table in ExportContext.for_request(dsr).tables():
        for record in table.records():
            cells.append(
                "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in record.values()) + "</tr>"
            )
            count += 1
    html = (
        "<html><head><style>@page { size: A4; @bottom-right { content: counter(page); } } "
        "table { border-collapse: collapse; font-size: 7pt; } td { border: 0.5pt solid #ccc; }</style></head>"
        f"<body><table>{''.join(cells)}</table></body></html>"
    )
    HTML(string=html).write_pdf()
    return count


def measure(kind: str, pk: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(pk)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    requests = setup()
    results: list[dict[str, Any]] = []
    print("Export benchmark (each figure from a fresh process; peak = its max RSS)")
    print(
        "  ours      = export_build as the worker runs it (decrypt gathered data, render, encrypt, store)"
    )
    print("  naive PDF = one WeasyPrint <table> holding every row (the baseline)")
    print(f"{'renderer':<10}{'rows':>11}{'seconds':>10}{'rows/s':>12}{'peak MB':>9}   vs naive PDF")
    naive: dict[int, dict[str, float]] = {}
    for rows in SIZES:
        if rows <= NAIVE_MAX:
            naive[rows] = measure("naive", requests[rows])
            _row(results, "naive pdf", rows, naive[rows], "")
        for kind in ("pdf", "json", "csv"):
            if kind == "pdf" and rows > PDF_MAX:
                continue
            figure = measure(kind, requests[rows])
            versus = (
                f"{naive[rows]['seconds'] / figure['seconds']:.1f}x faster"
                if kind == "pdf" and rows in naive
                else ""
            )
            _row(results, kind, rows, figure, versus)
    out = ROOT / "bench" / "results" / "exports.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"naive PDF not run above {NAIVE_MAX:,} rows (~5 ms and ~0.1 MB a row: minutes and GBs)")
    print(f"written to {out.relative_to(ROOT)}")


def _row(
    results: list[dict[str, Any]], kind: str, rows: int, figure: dict[str, float], versus: str
) -> None:
    rate = figure["rows"] / figure["seconds"] if figure["seconds"] else 0.0
    print(
        f"{kind:<10}{rows:>11,}{figure['seconds']:>10.2f}{rate:>12,.0f}{figure['peak_mb']:>9.0f}   {versus}",
        flush=True,
    )
    results.append(
        {"renderer": kind, "rows": rows, **figure, "rows_per_second": rate, "versus_naive": versus}
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
