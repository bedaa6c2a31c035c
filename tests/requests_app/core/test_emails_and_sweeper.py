"""The email outbox and the sweeper: nothing lost, nothing sent twice, secrets not kept."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.utils import timezone

from requests_app import tasks
from requests_app.core import notifications
from requests_app.models import DataSubjectRequest, EmailStatus, OutgoingEmail, Status

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sent_email_is_wiped_and_marked(submit: Any) -> None:
    submit()
    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.SENT
    assert email.sent_at is not None
    assert bytes(email.text_encrypted) == b""
    assert bytes(email.html_encrypted) == b""
    assert mail.outbox[0].extra_headers["Message-ID"].startswith(f"<dsar-email-{email.pk}@")


def test_sending_twice_sends_once(submit: Any) -> None:
    submit()
    email = OutgoingEmail.objects.get()
    assert notifications.email_send(email_id=email.pk) is False
    assert len(mail.outbox) == 1


def test_smtp_down_marks_failed_and_the_sweeper_resends(submit: Any, settings: Any) -> None:
    # given a real SMTP connection that is refused (nothing listens on the port)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        _closed_port(),
        2,
    )
    with pytest.raises(Retry):  # the task's declared autoretry (run eagerly here)
        submit()
    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.FAILED
    assert email.attempts == 1
    assert "Connection" in email.last_error
    assert DataSubjectRequest.objects.count() == 1  # the request itself is safe
    # when the mail server is back and the sweeper runs after the quiet period
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutgoingEmail.objects.update(created_at=timezone.now() - timedelta(hours=1))
    tasks.sweep_lost_work()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert len(mail.outbox) == 1


def test_sweeper_recovers_an_email_whose_worker_died_while_sending(submit: Any) -> None:
    submit()
    mail.outbox.clear()
    OutgoingEmail.objects.update(
        status=EmailStatus.SENDING,
        claimed_at=timezone.now() - timedelta(hours=1),
        created_at=timezone.now() - timedelta(hours=1),
        sent_at=None,
        subject_encrypted=notifications.encrypt(b"s"),
        text_encrypted=notifications.encrypt(b"t"),
        html_encrypted=notifications.encrypt(b"h"),
    )
    tasks.sweep_lost_work()
    assert OutgoingEmail.objects.get().status == EmailStatus.SENT
    assert len(mail.outbox) == 1


def test_fresh_pending_email_is_left_alone_by_the_sweeper(api: Any) -> None:
    api.post(
        "/api/v1/requests/",
        {"request_type": "access", "name": "A", "email": "a@example.com"},
        format="json",
    )
    tasks.sweep_lost_work()  # its message may still be in flight: do not double-send
    assert OutgoingEmail.objects.get().status == EmailStatus.PENDING


def test_sweeper_requeues_gathering_that_never_started(
    submit: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = submit()
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        status=Status.VERIFIED, verified_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_lost_work()
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW  # re-queued, gathered (no stores), moved on


def test_gathering_task_delivered_twice_does_nothing_more(verified: Any) -> None:
    dsr = verified()
    events = dsr.events.count()
    tasks.advance(dsr.pk)
    tasks.advance(dsr.pk)
    assert dsr.events.count() == events


def test_unverified_requests_expire_and_are_purged(submit: Any, settings: Any) -> None:
    old = submit(name="Olive Old", email="olive@example.com", details="my account is olive99")
    fresh = submit(name="Fred Fresh", email="fred@example.com")
    DataSubjectRequest.objects.filter(pk=old.pk).update(
        received_at=timezone.now() - timedelta(days=settings.DSAR_VERIFICATION_TTL_DAYS, minutes=1)
    )
    assert tasks.expire_unverified_requests() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == Status.EXPIRED
    assert old.personal_data_purged_at is not None
    assert (old.requester_name, old.requester_email, old.details) == ("[purged]", "", "")
    assert not old.tokens.exists()
    assert fresh.status == Status.AWAITING_VERIFICATION
    assert fresh.requester_name == "Fred Fresh"
