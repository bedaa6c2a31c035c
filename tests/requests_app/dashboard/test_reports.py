"""The report behind the overview: its figures for a date range, checked against requests made
for the purpose (names and emails that must never reach the report), and its CSV and PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from exports_app.models import Redaction
from requests_app.core.audit import event_append
from requests_app.dashboard.reports import KEPT_BY_LAW, WITHHELD, Period, report
from requests_app.models import (
    DataSubjectRequest,
    ErasureStep,
    Extension,
    LegalHold,
    RequestEvent,
    Status,
    StepStatus,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)
PERIOD = Period(dt.date(2026, 1, 1), TODAY)
KEPT = KEPT_BY_LAW.format(basis="=UK tax law (HMRC)")
# Everything personal the seeded requests hold: none of it may appear in a report.
PERSONAL = [
    "Alice Secret",
    "alice.secret@example.com",
    "Bertie Private",
    "bertie@example.com",
    "Eve Hidden",
    "eve.hidden@example.com",
    "Gus Confidential",
    "gus@example.com",
    "Bob is vexatious",
    "Jane Doe",
]


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 12))


@dataclass
class Seeded:
    refs: dict[str, str]


@pytest.fixture
def seeded(submit: Any) -> Seeded:
    """Seven requests: six received in the period (one still open and overdue), one before it."""

    def make(key: str, name: str, email: str, request_type: str, **fields: Any) -> Any:
        dsr = submit(name=name, email=email, request_type=request_type)
        received = fields.pop("received")
        closed = fields.pop("closed", None)
        DataSubjectRequest.objects.filter(pk=dsr.pk).update(
            received_at=_at(received),
            closed_at=_at(closed) if closed else None,
            **fields,
        )
        dsr.refresh_from_db()
        refs[key] = dsr.reference
        return dsr

    refs: dict[str, str] = {}
    a = make("a", "Alice Secret", "alice.secret@example.com", "access", channel="web",
             received=dt.date(2026, 1, 10), closed=dt.date(2026, 2, 5),
             due_on=dt.date(2026, 2, 10), status=Status.COMPLETED)  # fmt: skip
    make("b", "Bertie Private", "bertie@example.com", "access", channel="email",
         received=dt.date(2026, 1, 20), closed=dt.date(2026, 3, 1),
         due_on=dt.date(2026, 2, 20), status=Status.COMPLETED)  # fmt: skip
    c = make("c", "Carla Later", "carla@example.com", "erasure", channel="phone",
             received=dt.date(2026, 3, 5), closed=dt.date(2026, 5, 20),
             due_on=dt.date(2026, 6, 5), status=Status.COMPLETED,
             erasure_plan={"rules": {"billing": {
                 "invoices": {"action": "retain", "legal_basis": "=UK tax law (HMRC)"},
                 "customers": {"action": "delete", "legal_basis": None}}},
                 "stores": [{"store": "billing", "tables": [
                     {"table": "invoices", "action": "retain", "retained": 3,
                      "legal_basis": "=UK tax law (HMRC)"},
                     {"table": "customers", "action": "delete", "deleted": 1}]}]})  # fmt: skip
    ErasureStep.objects.create(request=c, store="billing", status=StepStatus.DONE,
                               outcome={"invoices": {"retained": 3}})  # fmt: skip
    d = make("d", "Dan Refused", "dan@example.com", "erasure", channel="web",
             received=dt.date(2026, 4, 1), closed=dt.date(2026, 4, 10),
             due_on=dt.date(2026, 5, 1), status=Status.REJECTED)  # fmt: skip
    make("e", "Eve Hidden", "eve.hidden@example.com", "portability", channel="api",
         received=dt.date(2026, 5, 10), due_on=dt.date(2026, 6, 10), status=Status.IN_REVIEW)  # fmt: skip
    make("f", "Fay Before", "fay@example.com", "access", channel="web",
         received=dt.date(2025, 11, 1), closed=dt.date(2025, 11, 20),
         due_on=dt.date(2025, 12, 1), status=Status.COMPLETED)  # fmt: skip
    g = make("g", "Gus Confidential", "gus@example.com", "access", channel="web",
             received=dt.date(2026, 6, 1), closed=dt.date(2026, 6, 3),
             due_on=dt.date(2026, 7, 1), status=Status.REJECTED)  # fmt: skip
    # c was extended (its first deadline, 7 April, passed before it closed on 20 May)
    Extension.objects.create(request=c, granted_at=_at(dt.date(2026, 3, 30)),
                             reason="Complex", previous_due_on=dt.date(2026, 4, 7))  # fmt: skip
    hold = LegalHold.objects.create(request=c, reason="Claim by Jane Doe", placed_by="staff:rita")
    LegalHold.objects.filter(pk=hold.pk).update(placed_at=_at(dt.date(2026, 4, 1)))
    for key in ("1" * 64, "2" * 64):
        Redaction.objects.create(request=a, store="support", table="tickets", record_key=key,
                                 reason="It is about Jane Doe", created_by="staff:rita")  # fmt: skip
    for undone in (False, True):
        Redaction.objects.create(request=a, store="support", table="tickets", record_key="c" * 64,
                                 path="/0/body", span_start=3, span_end=8 + undone,
                                 grounds="third_party", reason="It is about another person",
                                 created_by="staff:rita",
                                 withdrawn_at=timezone.now() if undone else None)  # fmt: skip
    event_append(dsr=d, actor="staff:arlo", action="reject", payload={
        "reason": "Your request is manifestly unfounded or excessive (UK GDPR Article 12(5)): "
                  "the fifth this week."})  # fmt: skip
    event_append(dsr=g, actor="staff:arlo", action="reject",
                 payload={"reason": "Bob is vexatious"})  # fmt: skip
    return Seeded(refs)


def test_monthly_counts_by_type_and_by_channel(seeded: Seeded) -> None:
    figures = report(PERIOD, today=TODAY)
    assert [label for label, _ in figures.by_type.rows] == [
        "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "May 2026", "Jun 2026",
    ]  # fmt: skip
    by_type = {month: dict(zip(figures.by_type.columns, counts, strict=True))
               for month, counts in figures.by_type.rows}  # fmt: skip
    assert by_type["Jan 2026"]["Access"] == 2
    assert by_type["Mar 2026"]["Erasure"] == 1
    assert by_type["May 2026"]["Portability"] == 1
    assert sum(sum(c) for _, c in figures.by_type.rows) == 6  # f was received before the period
    by_channel = {month: dict(zip(figures.by_channel.columns, counts, strict=True))
                  for month, counts in figures.by_channel.rows}  # fmt: skip
    assert by_channel["Jan 2026"]["Web form"] == 1
    assert by_channel["Jan 2026"]["Email"] == 1
    assert by_channel["Mar 2026"]["Phone"] == 1
    assert by_channel["May 2026"]["API"] == 1
    assert figures.received == 6


def test_on_time_by_type_counts_the_extended_deadline(seeded: Seeded) -> None:
    figures = report(PERIOD, today=TODAY)
    rows = {row.label: row for row in figures.on_time}
    assert (rows["Access"].closed, rows["Access"].on_time) == (3, 2)  # b was late
    assert (rows["Erasure"].closed, rows["Erasure"].on_time) == (2, 2)
    assert rows["Erasure"].after_extension == 1  # c: late for its first deadline, not its second
    assert rows["Access"].rate == pytest.approx(2 / 3)
    assert rows["Access"].median_days == pytest.approx(26)  # 2, 26 and 40 days
    assert rows["Erasure"].median_days == pytest.approx(42.5)  # 9 and 76 days
    assert "Portability" not in rows  # nothing closed
    assert figures.closed == 5
    assert figures.median_days == pytest.approx(26)  # 2, 9, 26, 40, 76
    assert figures.on_time_rate == pytest.approx(4 / 5)


def test_extensions_refusals_exemptions_and_overdue(seeded: Seeded) -> None:
    figures = report(PERIOD, today=TODAY)
    assert figures.extensions == 1
    assert dict(figures.refusals) == {
        "Manifestly unfounded or excessive": 1,
        "Reason written by staff": 1,
    }
    register = {row.label: row for row in figures.exemptions}
    withheld = register[WITHHELD]
    assert (withheld.uses, withheld.references) == (2, [seeded.refs["a"]])
    third_party = register["Withheld: Another person's information (DPA 2018 Sch. 2 para 16)"]
    assert (third_party.uses, third_party.references) == (1, [seeded.refs["a"]])  # undone: not
    kept = register["Kept on erasure by law: =UK tax law (HMRC)"]
    assert (kept.uses, kept.references) == (1, [seeded.refs["c"]])
    held = register["Erasure paused by a legal hold"]
    assert (held.uses, held.references) == (1, [seeded.refs["c"]])
    assert figures.overdue == 1
    assert dict(figures.overdue_by_type) == {"Portability": 1}


def test_charts_label_their_y_axis_with_zero_middle_and_top(seeded: Seeded) -> None:
    figures = report(PERIOD, today=TODAY)
    chart = figures.by_type_chart
    assert [tick.text for tick in chart.value_ticks] == ["0", "1", "2"]  # the busiest month has 2
    assert chart.y_title == "Requests received"
    assert chart.x_title == "Month received"
    assert len(chart.category_ticks) == 6


# --- The page, its range, and its CSV and PDF --------------------------------------------------


def _staff(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_overview_takes_a_range_and_shows_its_figures(seeded: Seeded, reviewer: Any) -> None:
    html = _staff(reviewer).get("/staff/overview/", {"from": "2026-01-01", "to": "2026-06-15"})
    assert html.status_code == 200
    page = html.content.decode()
    assert 'value="2026-01-01"' in page
    assert seeded.refs["c"] in page  # the exemptions register names requests by reference
    assert "Manifestly unfounded or excessive" in page
    assert "Kept on erasure by law" in page
    for text in PERSONAL:
        assert text not in page
    assert 'style="' not in page  # the CSP forbids inline styles


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"from": "yesterday", "to": "2026-06-15"}, "Enter a valid date."),
        ({"from": "2026-06-15", "to": "2026-01-01"}, "The start must be on or before the end."),
        ({"from": "2020-01-01", "to": "2026-06-15"}, "at most 2 years"),
        ({"from": "2026-13-45"}, "Enter a valid date."),
    ],
)
def test_a_bad_range_is_a_form_error_not_a_failure(
    reviewer: Any, query: dict[str, str], error: str
) -> None:
    response = _staff(reviewer).get("/staff/overview/", query)
    assert response.status_code == 400  # the page says why, over the default figures
    assert error in response.content.decode()
    assert _staff(reviewer).get("/staff/overview/report.csv", query).status_code == 400


def test_the_default_range_is_the_last_twelve_months(reviewer: Any) -> None:
    today = timezone.localdate()
    page = _staff(reviewer).get("/staff/overview/").content.decode()
    assert f'value="{Period.default(today).start.isoformat()}"' in page
    assert f'value="{today.isoformat()}"' in page


def test_the_report_csv_holds_the_figures_and_nothing_personal(
    seeded: Seeded, reviewer: Any
) -> None:
    response = _staff(reviewer).get(
        "/staff/overview/report.csv", {"from": "2026-01-01", "to": "2026-06-15"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "report-2026-01-01-to-2026-06-15.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Section", "Row", "Column", "Value"]
    cells = {tuple(r[:3]): r[3] for r in rows[1:]}
    assert cells[("Received by type", "Jan 2026", "Access")] == "2"
    assert cells[("Received by channel", "Mar 2026", "Phone")] == "1"
    assert cells[("On time by type", "Access", "Closed")] == "3"
    assert cells[("On time by type", "Access", "On time")] == "2"
    assert cells[("On time by type", "Erasure", "On time after an extension")] == "1"
    assert cells[("On time by type", "Erasure", "Median days to close")] == "42.5"
    assert cells[("Summary", "Median days to close", "")] == "26.0"
    assert cells[("Summary", "Extensions granted", "")] == "1"
    assert cells[("Summary", "Overdue now", "")] == "1"
    assert cells[("Refusals by reason", "Reason written by staff", "")] == "1"
    assert cells[("Exemptions register", WITHHELD, "Uses")] == "2"
    assert cells[("Exemptions register", WITHHELD, "Requests")] == seeded.refs["a"]
    assert cells[("Exemptions register", KEPT, "Requests")] == seeded.refs["c"]
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]
    text = response.content.decode()
    for personal in PERSONAL:
        assert personal not in text
    event = RequestEvent.objects.get(action="report_exported")
    assert event.actor == f"staff:{reviewer.username}"
    assert event.request is None
    assert event.payload == {"format": "csv", "from": "2026-01-01", "to": "2026-06-15"}


def test_the_report_pdf_is_printable_and_holds_nothing_personal(
    seeded: Seeded, reviewer: Any
) -> None:
    response = _staff(reviewer).get(
        "/staff/overview/report.pdf", {"from": "2026-01-01", "to": "2026-06-15"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "1 January 2026 to 15 June 2026" in text
    assert "Requests received per month, by type" in text
    assert "Manifestly unfounded or excessive" in text
    assert seeded.refs["c"] in text
    for personal in PERSONAL:
        assert personal not in text
    assert RequestEvent.objects.filter(action="report_exported", payload__format="pdf").exists()


def test_the_period_is_whole_uk_days(submit: Any) -> None:
    london = timezone.get_current_timezone()
    for n, local in enumerate(
        (
            dt.datetime(2025, 12, 31, 23, 59),  # the day before: out
            dt.datetime(2026, 1, 1, 0, 10),  # in
            dt.datetime(2026, 6, 15, 23, 30),  # the last day, late in the evening (BST): in
            dt.datetime(2026, 6, 16, 0, 30),  # the day after (23:30 UTC on the 15th): out
        )
    ):
        dsr = submit(email=f"edge{n}@example.com")
        DataSubjectRequest.objects.filter(pk=dsr.pk).update(
            received_at=local.replace(tzinfo=london)
        )
    figures = report(PERIOD, today=TODAY)
    assert figures.received == 2
    months = dict(figures.by_type.rows)
    assert (months["Jan 2026"][0], months["Jun 2026"][0]) == (1, 1)
