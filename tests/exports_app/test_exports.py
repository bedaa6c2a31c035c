"""Exports built from real gathered data: JSON against its schema, the CSV zip and its manifest,
the PDF parsed with pypdf; encryption at rest; release and immutability."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pypdf
import pytest
from django.core import mail
from django.core.files.storage import default_storage

from exports_app import services
from exports_app.models import ExportStatus
from requests_app.core.errors import IllegalTransition
from requests_app.models import DataSubjectRequest, Status
from requests_app.review import decisions
from tests.exports_app.conftest import export_bytes, open_zip

pytestmark = pytest.mark.django_db
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "exports_app" / "schemas" / "export-v1.json").read_text()
)
ARTICLE_15_SECTIONS = [
    "Why we use it",
    "Our legal basis",
    "Who receives it",
    "How long we keep it",
    "Where it comes from",
    "International transfers and safeguards",
    "Automated decisions",
    "Your other rights",
    "Your right to complain",
    "Information Commissioner",
]


@pytest.fixture
def bob(bob_redacted: Any, approve: Any) -> Any:
    return approve(bob_redacted)


def test_access_builds_json_csv_and_pdf(bob: Any) -> None:
    assert bob.status == Status.FULFILLING
    exports = {e.format: e for e in bob.exports.all()}
    assert set(exports) == {"json", "csv", "pdf"}
    assert all(
        e.status == ExportStatus.READY and e.sha256 and e.size_bytes for e in exports.values()
    )
    assert exports["json"].record_count == sum(s.record_count for s in bob.gather_steps.all())


def test_json_matches_its_schema_and_holds_the_data(bob: Any) -> None:
    document = json.loads(export_bytes(bob.exports.get(format="json")))
    jsonschema.validate(document, SCHEMA)
    invoices = document["data"]["billing"]["invoices"]
    assert invoices["category"] == "financial"
    assert len(invoices["records"]) == 8
    assert document["data"]["crm"]["customers"]["records"][0]["email"] == "bob@example.com"
    assert set(document["article_15"]["categories"]) >= {"contact", "financial", "support", "usage"}
    assert document["redactions"] == [
        {
            "store": "support",
            "table": "tickets",
            "field": "messages",
            "reason": "Names another person (a colleague)",
        }
    ]


def _text(export: Any) -> str:
    raw = export_bytes(export)
    if export.format == "pdf":
        attached = pypdf.PdfReader(io.BytesIO(raw)).attachments[
            f"{export.request.reference}-your-data.json"
        ][0]
        return _pdf_text(raw) + attached.decode()
    if export.format == "csv":
        archive = open_zip(raw)
        return "".join(archive.read(name).decode() for name in archive.namelist())
    return raw.decode()


def test_a_redacted_value_appears_in_no_export(bob: Any) -> None:
    # Bob's first ticket names Jane Doe (redacted); the others name Raj Patel and Mia Wong (not)
    for export in bob.exports.all():
        text = _text(export)
        assert "jane.doe@example.org" not in text, export.format
        assert "Jane Doe" not in text, export.format
        assert "raj.patel@example.org" in text, export.format
    document = json.loads(export_bytes(bob.exports.get(format="json")))
    assert document["data"]["support"]["tickets"]["records"][0]["messages"] == "[REDACTED]"


def test_csv_zip_has_a_file_per_table_a_readme_and_a_true_manifest(bob: Any) -> None:
    archive = open_zip(export_bytes(bob.exports.get(format="csv")))
    names = set(archive.namelist())
    assert {
        "billing/invoices.csv",
        "crm/customers.csv",
        "support/tickets.csv",
        "README.txt",
        "manifest.json",
    } <= names
    rows = list(csv.DictReader(io.StringIO(archive.read("crm/customers.csv").decode())))
    assert rows[0]["email"] == "bob@example.com"
    assert rows[0]["name"] == "Bob Baker"
    manifest = json.loads(archive.read("manifest.json"))["files"]
    for name, entry in manifest.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == entry["sha256"], name
    readme = archive.read("README.txt").decode()
    assert "billing/invoices.csv: 8 record(s)" in readme
    assert "  - total:" in readme


def _pdf_text(raw: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(raw)).pages)


def test_pdf_reads_well_and_carries_the_data(bob: Any) -> None:
    raw = export_bytes(bob.exports.get(format="pdf"))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "access-export-bob.pdf").write_bytes(raw)  # demo data, kept for a human to look at
    reader = pypdf.PdfReader(io.BytesIO(raw))
    text = _pdf_text(raw)
    assert bob.reference in text
    for section in ARTICLE_15_SECTIONS:
        assert section in text, section
    assert "INV-" in text
    assert "Bob Baker" in text
    assert "[REDACTED]" in text
    assert "Names another person" in text
    assert f"Page 1 of {len(reader.pages)}" in text
    attachments = reader.attachments
    assert set(attachments) == {f"{bob.reference}-your-data.json", f"{bob.reference}-your-data.zip"}
    attached = json.loads(attachments[f"{bob.reference}-your-data.json"][0])
    assert attached["request"]["reference"] == bob.reference


def test_the_pdf_of_the_heavy_subject_summarises_and_attaches_everything(
    demo_map: Any, verified: Any, approve: Any
) -> None:
    dsr = approve(verified(email="harriet.heavy@example.com"))
    raw = export_bytes(dsr.exports.get(format="pdf"))
    assert "100,000 records — too many to read on paper" in _pdf_text(raw)
    attached = json.loads(
        pypdf.PdfReader(io.BytesIO(raw)).attachments[f"{dsr.reference}-your-data.json"][0]
    )
    assert len(attached["data"]["analytics"]["page_views"]["records"]) == 100_000


def test_portability_is_json_and_csv_of_portable_fields_only(
    demo_map: Any, verified: Any, approve: Any
) -> None:
    dsr = approve(verified(email="alice@example.com", request_type="portability"))
    assert {e.format for e in dsr.exports.all()} == {"json", "csv"}
    document = json.loads(export_bytes(dsr.exports.get(format="json")))
    assert (
        "customer_notes" not in document["data"]["crm"]
    )  # staff notes: not provided by the person
    assert "account_manager_id" not in document["data"]["crm"]["customers"]["records"][0]
    assert (
        len(document["data"]["analytics"]["page_views"]["records"]) == 240
    )  # observed usage is portable


def test_files_on_disk_are_not_plaintext(bob: Any) -> None:
    for export in bob.exports.all():
        with default_storage.open(export.file_name, "rb") as handle:
            stored = handle.read()
        assert b"bob@example.com" not in stored
        assert b"Bob Baker" not in stored
        assert b"INV-" not in stored
        assert hashlib.sha256(export_bytes(export)).hexdigest() == export.sha256


def test_release_emails_a_link_and_completes_the_request(
    bob: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_release(dsr=bob, actor=approver)
    bob.refresh_from_db()
    assert bob.status == Status.COMPLETED
    (message,) = mail.outbox
    assert "/downloads/" in message.body
    assert bob.reference in message.subject
    assert bob.download_links.count() == 1


def test_a_released_export_is_immutable(bob: Any, approver: Any) -> None:
    decisions.request_release(dsr=bob, actor=approver)
    with pytest.raises(IllegalTransition):
        services.exports_rebuild(dsr=bob, actor=approver)
    with pytest.raises(IllegalTransition):
        decisions.request_release(dsr=bob, actor=approver)


def test_a_build_run_twice_changes_nothing(bob: Any) -> None:
    export = bob.exports.get(format="json")
    assert services.export_build(export_id=export.pk, task_id="again") is False
    export.refresh_from_db()
    assert export.attempts == 1


def test_a_response_by_post_sends_no_link_and_asks_staff_to_print_the_pdf(
    bob: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.test import Client

    DataSubjectRequest.objects.filter(pk=bob.pk).update(
        delivery="post", postal_address="1 High Street\nTown AB1 2CD"
    )
    bob.refresh_from_db()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_release(dsr=bob, actor=approver)
    bob.refresh_from_db()
    assert bob.status == Status.COMPLETED
    assert mail.outbox == []
    assert bob.download_links.count() == 0
    released = bob.events.get(action="exports_released")
    assert released.payload["delivery"] == "post"
    staff = Client()
    staff.force_login(approver)
    page = staff.get(f"/staff/requests/{bob.reference}/").content.decode()
    assert "print the PDF" in page
    assert "1 High Street" in page
    printed = staff.get(f"/api/v1/requests/{bob.reference}/exports/pdf/")
    assert b"".join(printed.streaming_content).startswith(b"%PDF-")
