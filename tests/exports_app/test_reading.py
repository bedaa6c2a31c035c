"""Values as the person reads them (``exports_app/renderers/reading.py``) and the PDF's choice of
rows (``PdfRenderer._take``): in the map's order, streaming, whatever the table's size."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from exports_app.content import TableData
from exports_app.renderers.pdf import PdfRenderer
from exports_app.renderers.reading import readable_value
from requests_app.datamap.spec import EraseSpec, FieldSpec, TableSpec
from requests_app.stores import Batch


def field(name: str = "x", format_: str | None = None, currency: str | None = None) -> FieldSpec:
    return FieldSpec(name, "usage", None, None, None, True, False, None, None, format_, currency)


def table(order_by: str | None = None, **formats: str) -> TableSpec:
    fields = {name: field(name, fmt) for name, fmt in formats.items()}
    return TableSpec(
        "page_views", "usage", {}, (), fields, EraseSpec("delete"), True, order_by=order_by
    )


@pytest.mark.parametrize(
    ("value", "spec", "words"),
    [
        # British Summer Time: 13:05 UTC is 14:05 in London; never the microseconds
        ("2026-06-03T13:05:59.123456+00:00", field(format_="datetime"), "3 June 2026, 14:05"),
        ("2026-03-03 14:05:00", field(format_="datetime"), "3 March 2026, 14:05"),  # UTC
        ("2026-03-03", field(format_="datetime"), "3 March 2026"),
        ("2026-03-03", field(format_="date"), "3 March 2026"),
        ("2026-01-10T23:30:00-05:00", field(), "11 January 2026, 04:30"),  # plainly a time
        ("2024-09-20", field(), None),  # a date-like text (a policy version) is left alone
        ("49.00", field(format_="money", currency="GBP"), "£49.00"),
        (1234.5, field(format_="money", currency="EUR"), "€1,234.50"),
        ("-3", field(format_="money", currency="GBP"), "-£3.00"),
        ("99.9", field(format_="money", currency="CHF"), "99.90 CHF"),
        # not an amount: shown as it is, never a failed build
        ("NaN", field(format_="money", currency="GBP"), None),
        ("Infinity", field(format_="money", currency="GBP"), None),
        ("true", field(format_="boolean"), "Yes"),
        (0, field(format_="boolean"), "No"),
        (False, field(), "No"),
        ("maybe", field(format_="boolean"), None),  # not a boolean: shown as it is
        ("soon", field(format_="datetime"), None),
        ("12", field(), None),
    ],
)
def test_a_value_reads_in_words(value: Any, spec: FieldSpec, words: str | None) -> None:
    with translation.override("en-gb"):
        assert readable_value(value, spec) == words


def test_a_request_in_another_time_zone_reads_its_own() -> None:
    with translation.override("en-gb"):
        moment = "2026-03-03T14:05:00+00:00"
        assert readable_value(moment, field(format_="datetime"), "Asia/Tokyo") == (
            "3 March 2026, 23:05"
        )


def data(spec: TableSpec, rows: Iterator[tuple[Any, ...]], columns: tuple[str, ...]) -> TableData:
    def batches() -> Iterator[Batch]:
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == 500:
                yield Batch(spec.name, columns, chunk)
                chunk = []
        if chunk:
            yield Batch(spec.name, columns, chunk)

    return TableData("analytics", spec.name, spec, batches())


def test_a_long_table_shows_its_newest_rows_first_and_counts_all_of_them() -> None:
    spec = table(viewed_at="datetime")  # no order_by: its first date column, newest first
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = ((i, (start + dt.timedelta(seconds=i)).isoformat()) for i in range(20_000))
    shown, total = PdfRenderer._take(data(spec, rows, ("id", "viewed_at")), 200, 5)
    assert total == 20_000
    assert [r["id"] for r in shown] == [19_999, 19_998, 19_997, 19_996, 19_995]


def test_order_by_ascending_and_as_gathered() -> None:
    rows = [(3, "b"), (1, "c"), (2, "a")]
    up, _ = PdfRenderer._take(data(table("name"), iter(rows), ("id", "name")), 10, 5)
    assert [r["id"] for r in up] == [2, 3, 1]
    down, _ = PdfRenderer._take(data(table("-id"), iter(rows), ("id", "name")), 10, 5)
    assert [r["id"] for r in down] == [3, 2, 1]
    kept, total = PdfRenderer._take(data(table(), iter(rows), ("id", "name")), 2, 1)
    assert ([r["id"] for r in kept], total) == ([3], 3)  # as gathered, the rest counted


def test_the_preview_is_picked_streaming_not_from_every_row_in_memory() -> None:
    rows = ((i, f"page {i}", "x" * 200) for i in range(100_000))  # ~40 MB if all were kept
    spec = table("-id")
    tracemalloc.start()
    shown, total = PdfRenderer._take(data(spec, rows, ("id", "page", "pad")), 200, 25)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total == 100_000
    assert shown[0]["id"] == 99_999
    assert len(shown) == 25
    assert peak < 5_000_000, peak
