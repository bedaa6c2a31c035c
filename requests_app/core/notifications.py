"""Emails to the person, as template triples, sent through a database outbox.

``email_queue`` renders ``templates/emails/<name>-subject.txt``, ``-body.txt`` and
``-body.html`` and stores the result encrypted in the same transaction as the change that
causes it; the ``send_email`` task delivers it after commit. So an email is never sent for a
change that rolled back, and never lost because a broker message was: the sweeper re-queues
unsent rows.

An email to the person is written in the language their request was filed in
(``DataSubjectRequest.language``), whoever sends it and whenever: a worker has no browser to ask.
Emails to staff and to the organisations we share data with are in English.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from requests_app.core.queue import Task, later
from requests_app.models import DataSubjectRequest, Delivery, EmailStatus, OutgoingEmail
from smarct_dsar.crypto import decrypt, encrypt

log = logging.getLogger(__name__)


def contact_email(dsr: DataSubjectRequest) -> str:
    """Who we write to: the agent when one acts for the person, else the person; nobody by
    email when they asked for the response by post (staff write and post it)."""
    if dsr.delivery == Delivery.POST:
        return ""
    return dsr.agent_email or dsr.requester_email


# Not to the person: to staff, and Article 19 notices to the organisations we share data with.
IN_ENGLISH = frozenset(
    {
        "staff-notification",
        "staff-digest",
        "two-factor-added",
        "two-factor-removed",
        "notice-erasure",
        "notice-rectification",
        "notice-reminder",
    }
)


def email_language(template: str, dsr: DataSubjectRequest | None) -> str:
    if dsr is None or template in IN_ENGLISH:
        return settings.LANGUAGE_CODE
    return dsr.language


def _render(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    full = {
        "controller": settings.DSAR_CONTROLLER_NAME,
        "site_url": settings.SITE_URL,
        "privacy_contact": settings.DSAR_PRIVACY_CONTACT,
        **context,
    }
    subject = render_to_string(f"emails/{template}-subject.txt", full)
    text = render_to_string(f"emails/{template}-body.txt", full)
    html = render_to_string(f"emails/{template}-body.html", full)
    return " ".join(subject.split()), text, html


def email_queue(
    *,
    template: str,
    to: str,
    context: dict[str, Any],
    dsr: DataSubjectRequest | None = None,
) -> OutgoingEmail | None:
    """Render and queue an email; it is sent only if the surrounding transaction commits.
    Nothing for a person who gave no address (a request by post: staff write the letters)."""
    if not to:
        return None
    with translation.override(email_language(template, dsr)):
        subject, text, html = _render(template, context)
    email = OutgoingEmail.objects.create(
        request=dsr,
        template=template,
        to_encrypted=encrypt(to.encode()),
        subject_encrypted=encrypt(subject.encode()),
        text_encrypted=encrypt(text.encode()),
        html_encrypted=encrypt(html.encode()),
    )
    later(Task.SEND_EMAIL, email.pk)
    return email


def email_send(*, email_id: int) -> bool:
    """Send one queued email. Returns False when another worker has it or it was sent already."""
    now = timezone.now()
    claimed = OutgoingEmail.objects.filter(
        pk=email_id, status__in=[EmailStatus.PENDING, EmailStatus.FAILED]
    ).update(status=EmailStatus.SENDING, claimed_at=now)
    if claimed != 1:
        return False
    email = OutgoingEmail.objects.get(pk=email_id)
    message = EmailMultiAlternatives(
        subject=decrypt(bytes(email.subject_encrypted)).decode(),
        body=decrypt(bytes(email.text_encrypted)).decode(),
        to=[decrypt(bytes(email.to_encrypted)).decode()],
        # A stable Message-ID lets the receiving side drop a duplicate after a crash-and-resend.
        headers={"Message-ID": f"<dsar-email-{email.pk}@{settings.ALLOWED_HOSTS[0].strip('[]')}>"},
    )
    message.attach_alternative(decrypt(bytes(email.html_encrypted)).decode(), "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as exc:
        _record_failure(email, exc)
        raise
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENT,
        sent_at=timezone.now(),
        attempts=email.attempts + 1,
        # The bodies held secret links; once delivered they are not kept.
        subject_encrypted=b"",
        text_encrypted=b"",
        html_encrypted=b"",
        last_error="",
    )
    return True


def _record_failure(email: OutgoingEmail, exc: Exception) -> None:
    log.warning("email %s (%s) failed: %s", email.pk, email.template, type(exc).__name__)
    OutgoingEmail.record_failure(email.pk, email.attempts, exc)


def emails_to_resend() -> list[int]:
    """Emails whose message was lost, whose worker died while sending, or that failed."""
    return OutgoingEmail.to_resend(settings.DSAR_EMAIL_MAX_ATTEMPTS)
