"""Purging personal data from request records that are no longer needed.

The request row, its reference, type, dates and audit chain stay (they are the record that the
request was handled); the person's name, contact details, every free text (the request's,
questions, reasons, recipients' notes, errors), corrections, the personal data inside event
payloads, every file under the request's storage folders and the redactions go. Deletion
certificates stay: they name no one. Closed requests are purged ``DSAR_RECORD_RETENTION_MONTHS``
after closing (the privacy policy's 24 months), by a daily beat task.
``tests/requests_app/core/test_purge.py`` lists every field and fails on one nobody placed.

Files no row points at (a worker killed between writing a file and recording it) are swept once
they are a day old (``orphans_sweep``, daily).
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from exports_app.models import RECORD_FORMATS, Export
from requests_app.core.audit import event_append, event_purge_payloads
from requests_app.models import (
    CLOSED_STATUSES,
    ClockPause,
    DataSubjectRequest,
    ErasureStep,
    Extension,
    GatherStep,
    LegalHold,
    OutgoingEmail,
    ProcessorNotice,
    RequestDocument,
    RequestMessage,
    Restriction,
    Status,
)

PURGED = "[purged]"


@transaction.atomic
def request_purge_personal_data(*, dsr: DataSubjectRequest) -> DataSubjectRequest:
    if dsr.personal_data_purged_at is not None:
        return dsr
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        requester_name=PURGED,
        requester_email="",
        requester_email_key="",
        requester_phone="",
        requester_company="",
        agent_name="",
        agent_email="",
        agent_relationship="",
        details="",
        identity_note="",
        postal_address="",
        grounds="",
        personal_data_purged_at=timezone.now(),
    )
    dsr.corrections.all().delete()
    dsr.tokens.all().delete()
    _delete_files(dsr)
    ClockPause.objects.filter(request=dsr).update(question=PURGED)
    RequestMessage.objects.filter(request=dsr).update(body=PURGED)
    RequestDocument.objects.filter(request=dsr).update(original_name="")
    Extension.objects.filter(request=dsr).update(reason=PURGED)
    LegalHold.objects.filter(request=dsr).update(reason=PURGED)
    Restriction.objects.filter(request=dsr).exclude(lift_reason="").update(lift_reason=PURGED)
    ProcessorNotice.objects.filter(request=dsr).update(confirmation_note="")
    GatherStep.objects.filter(request=dsr).update(error="")
    ErasureStep.objects.filter(request=dsr).update(error="")
    OutgoingEmail.objects.filter(request=dsr).update(
        to_encrypted=b"",
        subject_encrypted=b"",
        text_encrypted=b"",
        html_encrypted=b"",
        last_error="",
    )
    event_purge_payloads(dsr=dsr)
    event_append(dsr=dsr, actor="system", action="personal_data_purged")
    dsr.refresh_from_db()
    return dsr


# Where a request's files live in storage: everything under them is the request's.
FOLDERS = ("gathered", "exports", "documents")


def _delete_files(dsr: DataSubjectRequest) -> None:
    """Every file under the request's storage folders goes (recorded or not: a killed worker's
    file too), except certificates and their signatures (no personal data), which stay."""
    kept = set(
        Export.objects.filter(request=dsr, format__in=RECORD_FORMATS).values_list(
            "file_name", flat=True
        )
    )
    for folder in FOLDERS:
        for name in _files(f"{folder}/{dsr.reference}"):
            if name not in kept:
                default_storage.delete(name)
    GatherStep.objects.filter(request=dsr).update(file_name="")
    RequestDocument.objects.filter(request=dsr, deleted_at__isnull=True).update(
        file_name="", deleted_at=timezone.now()
    )
    personal = Export.objects.filter(request=dsr).exclude(format__in=RECORD_FORMATS)
    personal.filter(file_deleted_at__isnull=True).update(file_deleted_at=timezone.now())
    personal.update(error="")
    dsr.download_links.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    dsr.redactions.all().delete()
    dsr.dismissed_suggestions.all().delete()


def _files(folder: str) -> list[str]:
    """Every file's name under ``folder`` in storage (a folder that is not there has none)."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    return [f"{folder}/{f}" for f in files] + [
        name for sub in folders for name in _files(f"{folder}/{sub}")
    ]


def orphans_sweep(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete files under the requests' folders that no row points at and that are older than a
    day (younger ones may be a worker's about to be recorded). Returns how many went."""
    recorded = set(GatherStep.objects.exclude(file_name="").values_list("file_name", flat=True))
    recorded |= set(Export.objects.exclude(file_name="").values_list("file_name", flat=True))
    recorded |= set(
        RequestDocument.objects.exclude(file_name="").values_list("file_name", flat=True)
    )
    cutoff = timezone.now() - older_than
    swept = 0
    for folder in FOLDERS:
        for name in _files(folder):
            if name in recorded or default_storage.get_modified_time(name) > cutoff:
                continue
            default_storage.delete(name)
            swept += 1
    return swept


def months_before(moment: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months earlier (the month's last day if it is shorter)."""
    years, month = divmod(moment.month - 1 - months, 12)
    year = moment.year + years
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def purge_expired() -> int:
    """Purge every closed request past the retention period; how many were purged."""
    purged = 0
    for request_id in requests_to_purge():
        request_purge_personal_data(dsr=DataSubjectRequest.objects.get(pk=request_id))
        purged += 1
    return purged


def requests_to_purge() -> list[int]:
    """Closed requests whose record has been kept as long as the privacy policy says. A
    restriction counts from its lifting: while it is in force, lifting it needs the person's
    address (to find their records, and to tell them first)."""
    cutoff = months_before(timezone.now(), settings.DSAR_RECORD_RETENTION_MONTHS)
    in_use = Restriction.objects.filter(Q(lifted_at__isnull=True) | Q(lifted_at__gte=cutoff))
    return list(
        DataSubjectRequest.objects.filter(
            status__in=CLOSED_STATUSES, closed_at__lt=cutoff, personal_data_purged_at__isnull=True
        )
        .exclude(pk__in=in_use.values("request_id"))
        .values_list("pk", flat=True)
    )


def requests_to_expire() -> list[int]:
    """Requests never verified within the verification window."""
    cutoff = timezone.now() - timedelta(days=settings.DSAR_VERIFICATION_TTL_DAYS)
    return list(
        DataSubjectRequest.objects.filter(
            status=Status.AWAITING_VERIFICATION, received_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
