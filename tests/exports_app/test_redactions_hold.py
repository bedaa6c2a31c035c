"""Issue 13, findings 1 and 2: what staff withhold never leaves, whatever the format, the request
type, the kind of redaction, or when it was added."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from exports_app import services
from exports_app.content import REDACTED, record_key
from exports_app.models import Export, ExportStatus, Redaction
from exports_app.services import FORMATS
from requests_app.core.errors import IllegalTransition
from requests_app.gathering import gather
from requests_app.models import DataSubjectRequest, Status
from requests_app.review import decisions
from tests.exports_app.conftest import export_bytes, open_zip, withhold_first_ticket
from tests.exports_app.test_exports import _text
from tests.support.stores import one_table_store

pytestmark = pytest.mark.django_db
REASON = "Names a colleague"


def _record(dsr: DataSubjectRequest, store: str, table: str, has: str = "") -> dict[str, Any]:
    step = dsr.gather_steps.get(store=store)
    return next(r for t, r in gather.gathered_records(step) if t == table and has in str(r))


def _customers(export: Export) -> list[dict[str, Any]]:
    """The person's CRM customer rows as the file holds them (the PDF carries the JSON)."""
    raw = export_bytes(export)
    if export.format == "csv":
        return list(csv.DictReader(io.StringIO(open_zip(raw).read("crm/customers.csv").decode())))
    if export.format == "pdf":
        import pypdf

        attached = pypdf.PdfReader(io.BytesIO(raw)).attachments
        raw = attached[f"{export.request.reference}-your-data.json"][0]
    return list(json.loads(raw)["data"]["crm"]["customers"]["records"])


@pytest.mark.parametrize("kind", ["record", "field"])
@pytest.mark.parametrize("request_type", ["access", "portability"])
def test_a_redaction_holds_in_every_format_of_every_type(
    demo_map: Any, verified: Any, approve: Any, reviewer: Any, request_type: str, kind: str
) -> None:
    # the CRM customer row has a field that is not portable: its fingerprint is of the row as
    # gathered, which the portability filter must not break
    dsr = verified(name="Bob Baker", email="bob@example.com", request_type=request_type)
    customer = _record(dsr, "crm", "customers")
    Redaction.objects.create(
        request=dsr,
        store="crm",
        table="customers",
        record_key=record_key(customer),
        field="phone" if kind == "field" else "",
        reason=REASON,
        created_by="staff:rita",
    )
    dsr = approve(dsr)
    exports = list(dsr.exports.all())
    assert {e.format for e in exports} == set(FORMATS[request_type])
    for export in exports:
        assert export.status == ExportStatus.READY, (export.format, export.error)
        (row,) = _customers(export)
        if kind == "record":
            assert customer["phone"] not in json.dumps(row), export.format
            assert REDACTED in json.dumps(row), export.format
        else:
            assert row["phone"] == REDACTED, export.format
            assert row["email"] == "bob@example.com", export.format  # the rest is his
        assert REASON in _text(export), export.format


def test_a_redaction_added_after_the_files_are_built_rebuilds_them(
    demo_map: Any,
    verified: Any,
    approve: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dsr = approve(verified(name="Bob Baker", email="bob@example.com"))
    assert all(e.status == ExportStatus.READY for e in dsr.exports.all())
    ticket = _record(dsr, "support", "tickets", has="Jane Doe")
    with django_capture_on_commit_callbacks(execute=True):
        services.redaction_add(
            dsr=dsr,
            actor=reviewer,
            store="support",
            table="tickets",
            record_key=record_key(ticket),
            field="messages",
            reason=REASON,
        )
    # what was approved has changed: back to review, approved again before anything is released
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW
    with pytest.raises(IllegalTransition):
        decisions.request_release(dsr=dsr, actor=approver)
    dsr = approve(dsr)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_release(dsr=dsr, actor=approver)
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED
    for export in dsr.exports.all():
        text = _text(export)
        assert "Jane Doe" not in text, export.format
        assert "jane.doe@example.org" not in text, export.format
        assert REASON in text, export.format
    document = json.loads(export_bytes(dsr.exports.get(format="json")))
    assert document["redactions"] != []


def test_files_built_before_the_current_redactions_are_never_released(
    demo_map: Any, verified: Any, approve: Any, approver: Any
) -> None:
    dsr = approve(verified(name="Bob Baker", email="bob@example.com"))
    ticket = _record(dsr, "support", "tickets", has="Jane Doe")
    # withheld by any path that did not rebuild the files (a race, a script)
    Redaction.objects.create(
        request=dsr,
        store="support",
        table="tickets",
        record_key=record_key(ticket),
        field="messages",
        reason=REASON,
        created_by="staff:rita",
    )
    with pytest.raises(IllegalTransition, match="built before"):
        decisions.request_release(dsr=dsr, actor=approver)
    assert not Export.objects.filter(request=dsr, released_at__isnull=False).exists()


def test_a_redaction_that_matches_no_record_fails_the_build_loudly(
    demo_map: Any, verified: Any, approve: Any
) -> None:
    dsr = verified(name="Bob Baker", email="bob@example.com")
    Redaction.objects.create(
        request=dsr,
        store="support",
        table="tickets",
        record_key="0" * 64,
        field="messages",
        reason=REASON,
        created_by="staff:rita",
    )
    dsr = approve(dsr)
    for export in dsr.exports.all():
        assert export.status == ExportStatus.FAILED, export.format
        assert "matches no record" in export.error
        assert "support.tickets" in export.error
        assert REASON not in export.error  # the reason may name someone: not in errors or logs


# --- Issue 13, finding 3: CSV formula injection -----------------------------------------------


def test_formula_like_text_is_neutralised_in_the_csv_and_exact_in_the_json(
    verified: Any, approve: Any, tmp_path: Any, settings: Any, monkeypatch: Any
) -> None:
    hostile = [
        '=HYPERLINK("http://evil.example","click")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\tstarts with a tab",
        "\rstarts with a return",
        "+44 7700 900001",
        "plain text",
    ]
    rows = [("eve@example.com", text) for text in hostile]
    one_table_store(tmp_path, monkeypatch, settings, name="notes", column="note", rows=rows)
    dsr = approve(verified(name="Eve", email="eve@example.com"))
    archive = open_zip(export_bytes(dsr.exports.get(format="csv")))
    rows = list(csv.DictReader(io.StringIO(archive.read("notes/notes.csv").decode())))
    for row, text in zip(rows, hostile, strict=True):
        expected = text if text == "plain text" else "'" + text
        assert row["note"] == expected
    assert "shows it as text instead of running it" in archive.read("README.txt").decode()
    document = json.loads(export_bytes(dsr.exports.get(format="json")))
    assert [r["note"] for r in document["data"]["notes"]["notes"]["records"]] == hostile


# --- From the second outside review ---------------------------------------------------------


def test_a_field_redaction_naming_a_field_the_record_lacks_fails_the_build(
    demo_map: Any, verified: Any, approve: Any
) -> None:
    dsr = verified(name="Bob Baker", email="bob@example.com")
    # "Messages", not "messages": nothing would be withheld
    withhold_first_ticket(dsr, field="Messages", reason="Names a third party")
    dsr = approve(dsr)
    for export in dsr.exports.all():
        assert export.status == ExportStatus.FAILED, export.format
        assert "matches no record" in export.error
        assert "Messages" in export.error


def test_csv_cells_stay_one_cell_in_a_semicolon_locale(
    verified: Any, approve: Any, tmp_path: Any, settings: Any, monkeypatch: Any
) -> None:
    rows = [("eve@example.com", "Invoice;=2+3")]
    one_table_store(tmp_path, monkeypatch, settings, name="notes", column="note", rows=rows)
    dsr = approve(verified(name="Eve", email="eve@example.com"))
    text = open_zip(export_bytes(dsr.exports.get(format="csv"))).read("notes/notes.csv").decode()
    assert '"Invoice;\'=2+3"' in text  # quoted, and neutralised after the separator too
    (row,) = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
    assert not any(cell.startswith("=") for cell in row)
