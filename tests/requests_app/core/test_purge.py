"""Issue 13, finding 6: the retention purge leaves no personal data, in any field or any file.

Every text, JSON and binary field of every model that belongs to a request is listed here as
either purged or not personal (with why). A new field fails the first test until it is placed;
the second fills every purged field with a marker, purges, and finds the marker nowhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.utils import timezone

from exports_app.models import DismissedSuggestion, DownloadLink, Export, ExportFormat, Redaction
from requests_app.core.retention import orphans_sweep, request_purge_personal_data
from requests_app.models import (
    ClockPause,
    Correction,
    DataSubjectRequest,
    ErasureStep,
    Extension,
    GatherStep,
    LegalHold,
    OutgoingEmail,
    ProcessorNotice,
    RequestDocument,
    RequestEvent,
    RequestMessage,
    RequestToken,
    Restriction,
)

pytestmark = pytest.mark.django_db
MARK = "Mallory Marker 07700 900123 mallory@example.com"

# (model, field) → how the purge treats it
PURGED = {
    ("DataSubjectRequest", "identity_note"),
    ("DataSubjectRequest", "postal_address"),
    ("RequestMessage", "body"),
    ("RequestDocument", "original_name"),
    ("DataSubjectRequest", "requester_name"),
    ("DataSubjectRequest", "requester_email"),
    ("DataSubjectRequest", "requester_phone"),
    ("DataSubjectRequest", "requester_company"),
    ("DataSubjectRequest", "agent_name"),
    ("DataSubjectRequest", "agent_email"),
    ("DataSubjectRequest", "agent_relationship"),
    ("DataSubjectRequest", "details"),
    ("DataSubjectRequest", "requester_email_key"),
    ("DataSubjectRequest", "grounds"),
    ("Restriction", "lift_reason"),
    ("ClockPause", "question"),
    ("Extension", "reason"),
    ("LegalHold", "reason"),
    ("ProcessorNotice", "confirmation_note"),
    ("GatherStep", "error"),
    ("ErasureStep", "error"),
    ("Export", "error"),
    ("OutgoingEmail", "to_encrypted"),
    ("OutgoingEmail", "subject_encrypted"),
    ("OutgoingEmail", "text_encrypted"),
    ("OutgoingEmail", "html_encrypted"),
    ("OutgoingEmail", "last_error"),
    ("RequestEvent", "payload"),
}
DELETED = {  # rows that go whole
    "Correction",
    "RequestToken",
    "Redaction",
    "DismissedSuggestion",
}
NOT_PERSONAL = {
    ("StaffNotification", "kind"): "a choice",
    ("StaffNotification", "recipient"): "a member of staff's id, the team or the webhook",
    ("StaffNotification", "occasion"): "a date, or an event's, message's or notice's id",
    ("StaffNotification", "detail"): "our reference, the type, dates and an organisation's name",
    ("StaffNotification", "delivery"): "a choice",
    ("DataSubjectRequest", "language"): "a choice",
    ("ClockPause", "proof"): "a choice",
    ("DataSubjectRequest", "channel"): "a choice",
    ("DataSubjectRequest", "identity_check"): "a choice",
    ("DataSubjectRequest", "delivery"): "a choice",
    ("RequestMessage", "direction"): "a choice",
    ("RequestMessage", "author"): "staff, requester or agent",
    ("RequestDocument", "kind"): "a choice",
    ("RequestDocument", "content_type"): "a choice",
    ("RequestDocument", "sha256"): "a digest",
    ("RequestDocument", "file_name"): "a storage path of our reference and the row's id",
    ("RequestDocument", "uploaded_by"): "staff, requester or agent",
    ("DataSubjectRequest", "reference"): "our reference",
    ("DataSubjectRequest", "request_type"): "a choice",
    ("DataSubjectRequest", "jurisdiction"): "a choice",
    ("DataSubjectRequest", "status"): "a choice",
    ("DataSubjectRequest", "held_from_status"): "a choice",
    ("DataSubjectRequest", "erasure_plan"): "tables, rules and counts of the approved plan",
    ("DataSubjectRequest", "objection_scope"): "a choice",
    ("Restriction", "changes"): "the data map's stores, tables and flags, with counts",
    ("Restriction", "lift_decided_by"): "a member of staff",
    ("ErasureStep", "store"): "a store's name",
    ("ErasureStep", "status"): "a choice",
    ("ErasureStep", "claimed_by"): "a task id",
    ("ErasureStep", "outcome"): "counts per table",
    ("ErasureStep", "rescan"): "counts per table",
    ("GatherStep", "store"): "a store's name",
    ("GatherStep", "status"): "a choice",
    ("GatherStep", "claimed_by"): "a task id",
    ("GatherStep", "file_name"): "a storage path of our reference and the store",
    ("GatherStep", "file_sha256"): "a digest",
    ("GatherStep", "table_counts"): "counts per table",
    ("GatherStep", "category_counts"): "counts per category",
    ("LegalHold", "placed_by"): "a member of staff",
    ("LegalHold", "released_by"): "a member of staff",
    ("ProcessorNotice", "store"): "a store's name",
    ("ProcessorNotice", "organisation"): "the recipient organisation",
    ("ProcessorNotice", "notify_email"): "the recipient organisation's address",
    ("ProcessorNotice", "purpose"): "a choice",
    ("ProcessorNotice", "token_hash"): "a digest",
    ("ProcessorNotice", "confirmed_by"): "staff, or the recipient",
    ("OutgoingEmail", "template"): "a template's name",
    ("OutgoingEmail", "status"): "a choice",
    ("RequestEvent", "actor"): "staff, system or requester",
    ("RequestEvent", "action"): "an action's name",
    ("RequestEvent", "from_status"): "a choice",
    ("RequestEvent", "to_status"): "a choice",
    ("RequestEvent", "payload_digest"): "a digest",
    ("RequestEvent", "prev_hash"): "a digest",
    ("RequestEvent", "hash"): "a digest",
    ("Export", "format"): "a choice",
    ("Export", "status"): "a choice",
    ("Export", "claimed_by"): "a task id",
    ("Export", "file_name"): "a storage path of our reference and the format",
    ("Export", "sha256"): "a digest",
    ("Export", "redactions_digest"): "a digest",
    ("Export", "attached"): "digests of the files the PDF attaches",
    ("DownloadLink", "token_hash"): "a digest",
    ("DownloadLink", "created_by"): "staff or system",
}
TEXTUAL = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def _request_models() -> list[type[models.Model]]:
    found: list[type[models.Model]] = [DataSubjectRequest]
    for model in apps.get_models():
        if any(
            isinstance(f, models.ForeignKey) and f.related_model is DataSubjectRequest
            for f in model._meta.get_fields()
        ):
            found.append(model)
    return found


def test_every_field_of_a_request_is_purged_or_known_not_to_be_personal() -> None:
    unplaced = []
    for model in _request_models():
        name = model.__name__
        if name in DELETED:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXTUAL):
                continue
            key = (name, field.name)
            if key not in PURGED and key not in NOT_PERSONAL:
                unplaced.append(f"{name}.{field.name}")
    assert unplaced == [], "place each in PURGED (and purge it) or NOT_PERSONAL (and say why)"


def _filled_request() -> DataSubjectRequest:
    """A closed request with every purged field holding the marker."""
    now = timezone.now()
    dsr = DataSubjectRequest.objects.create(
        reference="DSR-2026-777777",
        request_type="erasure",
        status="completed",
        requester_name=MARK,
        requester_email="mallory@example.com",
        requester_phone="07700 900123",
        requester_company=MARK,
        agent_name=MARK,
        agent_email="mallory@example.com",
        agent_relationship=MARK,
        details=MARK,
        identity_note=MARK,
        postal_address=MARK,
        grounds=MARK,
        received_at=now,
        closed_at=now,
    )
    message = RequestMessage.objects.create(
        request=dsr, direction="from_person", body=MARK, author="requester", created_at=now
    )
    RequestDocument.objects.create(
        request=dsr,
        message=message,
        kind="identity",
        original_name=f"{MARK}.pdf",
        content_type="application/pdf",
        size=1,
        sha256="c" * 64,
        uploaded_by="requester",
        uploaded_at=now,
    )
    ClockPause.objects.create(request=dsr, started_on=dt.date(2026, 1, 5), question=MARK)
    Extension.objects.create(
        request=dsr, granted_at=now, reason=MARK, previous_due_on=dt.date(2026, 2, 1)
    )
    LegalHold.objects.create(request=dsr, reason=MARK, placed_by="staff:ada")
    Restriction.objects.create(request=dsr, restricted_at=now, lift_reason=MARK)
    ProcessorNotice.objects.create(
        request=dsr,
        store="payments",
        organisation="Pay Ltd",
        notify_email="dpo@pay.example",
        purpose="erasure",
        token_hash="f" * 64,
        sent_at=now,
        confirmation_note=MARK,
    )
    GatherStep.objects.create(request=dsr, store="crm", error=MARK)
    ErasureStep.objects.create(request=dsr, store="crm", error=MARK)
    Export.objects.create(request=dsr, format=ExportFormat.JSON, error=MARK)
    OutgoingEmail.objects.create(
        request=dsr,
        template="verify",
        to_encrypted=MARK.encode(),
        subject_encrypted=MARK.encode(),
        text_encrypted=MARK.encode(),
        html_encrypted=MARK.encode(),
        last_error=MARK,
    )
    Correction.objects.create(request=dsr, position=1, field="Phone", corrected_value=MARK)
    RequestToken.objects.create(request=dsr, purpose="status", token_hash="e" * 64, expires_at=now)
    Redaction.objects.create(
        request=dsr, store="crm", table="t", record_key="a" * 64, reason=MARK, created_by="x"
    )
    DismissedSuggestion.objects.create(
        request=dsr, store="crm", table="t", record_key="a" * 64, field="f", path=f"/{MARK}",
        span_start=0, span_end=1, dismissed_by="x",
    )  # fmt: skip
    DownloadLink.objects.create(
        request=dsr, token_hash="d" * 64, created_by="system", expires_at=now, max_downloads=5
    )
    from requests_app.core.audit import event_append

    event_append(dsr=dsr, actor="staff:ada", action="note", payload={"text": MARK})
    return dsr


def test_after_the_purge_no_field_of_the_request_holds_its_personal_data() -> None:
    dsr = _filled_request()
    request_purge_personal_data(dsr=dsr)
    left = []
    for model in _request_models():
        rows = (
            model.objects.filter(pk=dsr.pk)
            if model is DataSubjectRequest
            else model.objects.filter(request=dsr)  # type: ignore[misc]
        )
        for row in rows:
            for field in model._meta.concrete_fields:
                value = field.value_from_object(row)
                text = (
                    bytes(value).decode(errors="replace")
                    if isinstance(value, bytes | memoryview)
                    else str(value)
                )
                if "Mallory" in text or "07700 900123" in text or "mallory@" in text:
                    left.append(f"{model.__name__}.{field.name}")
    assert left == []
    assert RequestEvent.objects.filter(request=dsr, action="personal_data_purged").exists()


def test_the_purge_deletes_every_file_under_the_requests_storage_folders() -> None:
    dsr = _filled_request()
    orphan = default_storage.save(
        f"gathered/{dsr.reference}/marketing-1.jsonl.enc", ContentFile(b"left by a killed worker")
    )
    certificate = Export.objects.create(
        request=dsr,
        format=ExportFormat.CERTIFICATE,
        file_name=default_storage.save(
            f"exports/{dsr.reference}/certificate.enc", ContentFile(b"kept")
        ),
    )
    stray = default_storage.save(f"exports/{dsr.reference}/json-3.enc", ContentFile(b"old build"))
    request_purge_personal_data(dsr=dsr)
    assert not default_storage.exists(orphan)
    assert not default_storage.exists(stray)
    assert default_storage.exists(certificate.file_name)  # the record is kept


def test_orphaned_files_older_than_a_day_are_swept(settings: Any) -> None:
    import os

    old = default_storage.save("gathered/DSR-2026-888888/crm-1.jsonl.enc", ContentFile(b"x"))
    new = default_storage.save("gathered/DSR-2026-888888/crm-2.jsonl.enc", ContentFile(b"y"))
    kept_step = GatherStep.objects.create(
        request=DataSubjectRequest.objects.create(
            reference="DSR-2026-888888",
            request_type="access",
            requester_name="A",
            requester_email="a@example.com",
            received_at=timezone.now(),
        ),
        store="app",
        file_name=default_storage.save(
            "gathered/DSR-2026-888888/app-1.jsonl.enc", ContentFile(b"z")
        ),
    )
    two_days_ago = (timezone.now() - dt.timedelta(days=2)).timestamp()
    for name in (old, kept_step.file_name):
        os.utime(default_storage.path(name), (two_days_ago, two_days_ago))
    assert orphans_sweep() == 1
    assert not default_storage.exists(old)
    assert default_storage.exists(new)  # too recent: a worker may be about to record it
    assert default_storage.exists(kept_step.file_name)  # a row points at it


def test_the_purge_empties_the_mailbox_key_too(verified: Any) -> None:
    from requests_app.core.retention import request_purge_personal_data

    dsr = verified(email="Purge.Me+tag@example.com")
    assert dsr.requester_email_key == "purge.me@example.com"
    request_purge_personal_data(dsr=dsr)
    dsr.refresh_from_db()
    assert dsr.requester_email_key == ""
