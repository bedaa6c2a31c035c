"""Purging personal data from request records that are no longer needed.

The request row, its reference, type, dates and audit chain stay (they are the record that the
request was handled); the person's name, contact details, free text, corrections and the
personal data inside event payloads go.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from requests_app.audit import event_append, event_purge_payloads
from requests_app.models import ClockPause, DataSubjectRequest, OutgoingEmail, Status

PURGED = "[purged]"


@transaction.atomic
def request_purge_personal_data(*, request: DataSubjectRequest) -> DataSubjectRequest:
    if request.personal_data_purged_at is not None:
        return request
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        requester_name=PURGED,
        requester_email="",
        requester_phone="",
        requester_company="",
        agent_name="",
        agent_email="",
        agent_relationship="",
        details="",
        personal_data_purged_at=timezone.now(),
    )
    request.corrections.all().delete()
    request.tokens.all().delete()
    ClockPause.objects.filter(request=request).update(question=PURGED)
    OutgoingEmail.objects.filter(request=request).update(
        to_encrypted=b"", subject_encrypted=b"", text_encrypted=b"", html_encrypted=b""
    )
    event_purge_payloads(request=request)
    event_append(request=request, actor="system", action="personal_data_purged")
    request.refresh_from_db()
    return request


def requests_to_expire() -> list[int]:
    """Requests never verified within the verification window."""
    cutoff = timezone.now() - timedelta(days=settings.DSAR_VERIFICATION_TTL_DAYS)
    return list(
        DataSubjectRequest.objects.filter(
            status=Status.AWAITING_VERIFICATION, received_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
