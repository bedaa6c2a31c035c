"""Issue 16, point 4: staff are told when a request enters review, is due within 7 days, is
overdue, when an Article 19 recipient is overdue and when the person writes; each once, through
the outbox, with no personal data of the person in the email."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from requests_app import tasks
from requests_app.core import alerts, deadlines
from requests_app.models import (
    DataSubjectRequest,
    EmailStatus,
    NoticePurpose,
    NotificationKind,
    OutgoingEmail,
    ProcessorNotice,
    StaffNotification,
)
from requests_app.review.case import request_assign
from smarct_dsar.crypto import token_hash

pytestmark = pytest.mark.django_db


class Clock:
    """Moves deadlines' today and Django's now together (the only thing these tests patch)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def set(self, day: dt.date, hour: int = 10) -> None:
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
        self.monkeypatch.setattr(deadlines, "today", lambda: day)
        self.monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def dsr(verified: Any, reviewer: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """A request in review, assigned to Rita; the emails so far are left behind."""
    dsr = verified(name="Ann Example", email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        request_assign(dsr=dsr, actor=reviewer, assignee=reviewer)
    mail.outbox.clear()
    dsr.refresh_from_db()
    assert dsr.due_on is not None
    return dsr


def scan(capture: Any) -> None:
    """What beat runs hourly, with its emails sent after commit."""
    with capture(execute=True):
        tasks.notify_staff.delay()


def test_an_overdue_request_emails_its_assignee_once_with_no_personal_data(
    dsr: DataSubjectRequest, reviewer: Any, clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    # given a request assigned to Rita, the day after it was due
    assert dsr.due_on is not None
    clock.set(dsr.due_on + dt.timedelta(days=1))
    # when beat's scan runs (twice, as two beat workers or a retry would)
    scan(django_capture_on_commit_callbacks)
    scan(django_capture_on_commit_callbacks)
    # then Rita has one email, sent through the outbox, saying so without the person's details
    (told,) = mail.outbox
    assert told.to == [reviewer.email]
    assert dsr.reference in told.subject
    assert "overdue" in told.subject.lower()
    html = told.alternatives[0][0]
    for part in (told.subject, told.body, html):
        for personal in ("Ann", "Example", "ann@example.com"):
            assert personal not in part
    assert f"{dsr.due_on:%-d %B %Y}" in told.body
    url = f"/staff/requests/{dsr.reference}/"
    assert url in told.body
    assert url in html
    (row,) = StaffNotification.objects.filter(kind=NotificationKind.OVERDUE)
    assert (row.request, row.user, row.occasion) == (dsr, reviewer, dsr.due_on.isoformat())
    assert row.email is not None
    assert OutgoingEmail.objects.get(pk=row.email.pk).status == EmailStatus.SENT
    # and the link in it opens the request for her
    client = Client()
    client.force_login(reviewer)
    assert dsr.reference in client.get(url).content.decode()


def test_due_within_seven_days_is_told_once_per_due_date(
    dsr: DataSubjectRequest, reviewer: Any, clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    assert dsr.due_on is not None
    clock.set(dsr.due_on - dt.timedelta(days=8))
    scan(django_capture_on_commit_callbacks)
    assert mail.outbox == []  # eight days out: not yet
    clock.set(dsr.due_on - dt.timedelta(days=7))
    scan(django_capture_on_commit_callbacks)
    clock.set(dsr.due_on - dt.timedelta(days=3))
    scan(django_capture_on_commit_callbacks)
    (told,) = mail.outbox
    assert "due" in told.subject.lower()
    assert dsr.reference in told.subject
    # the deadline moves (an extension): a new due date is a new occasion
    later = dsr.due_on + dt.timedelta(days=60)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(due_on=later)
    clock.set(later - dt.timedelta(days=2))
    scan(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2


def test_closed_and_held_requests_are_not_chased(
    dsr: DataSubjectRequest, clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    assert dsr.due_on is not None
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status="on_hold")
    clock.set(dsr.due_on + dt.timedelta(days=1))
    scan(django_capture_on_commit_callbacks)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status="completed")
    scan(django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_an_unassigned_request_goes_to_the_team_inbox_or_to_every_reviewer(
    verified: Any,
    reviewer: Any,
    approver: Any,
    outsider: Any,
    clock: Clock,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dsr = verified()
    mail.outbox.clear()
    clock.set(dsr.due_on + dt.timedelta(days=1))
    settings.DSAR_TEAM_INBOX = "privacy-team@smarct.example"
    scan(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["privacy-team@smarct.example"]]
    # "staff": every reviewer and approver (never someone with no privacy role), each once
    settings.DSAR_NOTIFY_UNASSIGNED = "staff"
    mail.outbox.clear()
    clock.set(dsr.due_on + dt.timedelta(days=2))
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(due_on=dsr.due_on + dt.timedelta(days=1))
    scan(django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([reviewer.email, approver.email])


def test_entering_review_tells_the_team(
    verified: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DSAR_TEAM_INBOX = "privacy-team@smarct.example"
    dsr = verified(name="Ben Example", email="ben@example.com")  # no stores: straight to review
    told = [m for m in mail.outbox if m.to == ["privacy-team@smarct.example"]]
    assert len(told) == 1
    assert dsr.reference in told[0].subject
    assert "review" in told[0].subject.lower()
    assert "Ben" not in told[0].body
    (row,) = StaffNotification.objects.filter(kind=NotificationKind.ENTERED_REVIEW)
    assert row.recipient == "team"


def test_an_overdue_article_19_recipient_is_told_once(
    dsr: DataSubjectRequest,
    reviewer: Any,
    clock: Clock,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sent = timezone.now()
    notice = ProcessorNotice.objects.create(
        request=dsr,
        store="payments",
        organisation="Payments Ltd",
        notify_email="dpo@payments.example",
        purpose=NoticePurpose.ERASURE,
        token_hash=token_hash("the-token"),
        sent_at=sent,
    )
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status="completed")  # erasure done
    clock.set(timezone.localdate(sent) + dt.timedelta(days=settings.DSAR_NOTICE_OVERDUE_DAYS - 1))
    scan(django_capture_on_commit_callbacks)
    assert mail.outbox == []
    clock.set(timezone.localdate(sent) + dt.timedelta(days=settings.DSAR_NOTICE_OVERDUE_DAYS + 1))
    scan(django_capture_on_commit_callbacks)
    scan(django_capture_on_commit_callbacks)
    (told,) = mail.outbox
    assert told.to == [reviewer.email]
    assert "Payments Ltd" in told.body  # the organisation, which is no personal data
    assert dsr.reference in told.subject
    row = StaffNotification.objects.get(kind=NotificationKind.RECIPIENT_OVERDUE)
    assert row.occasion == f"notice:{notice.pk}"


def test_each_notification_is_recorded_once_whoever_gets_there_first(
    dsr: DataSubjectRequest, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            alerts.staff_notify(dsr=dsr, kind=NotificationKind.OVERDUE, occasion="2026-01-01")
    assert StaffNotification.objects.filter(kind=NotificationKind.OVERDUE).count() == 1
    assert len(mail.outbox) == 1


def test_a_member_of_staff_is_never_told_twice_of_one_occasion_by_the_database(
    dsr: DataSubjectRequest, reviewer: Any
) -> None:
    from django.db import IntegrityError, transaction

    fields = {
        "kind": NotificationKind.OVERDUE,
        "request": dsr,
        "recipient": f"user:{reviewer.pk}",
        "user": reviewer,
        "occasion": "2026-01-01",
        "delivery": "email",
        "created_at": timezone.now(),
    }
    StaffNotification.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffNotification.objects.create(**fields)


def test_an_assignee_who_left_the_team_is_not_told_the_team_is(
    dsr: DataSubjectRequest,
    reviewer: Any,
    clock: Clock,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert dsr.due_on is not None
    reviewer.groups.clear()  # no privacy role any more (still assigned)
    settings.DSAR_TEAM_INBOX = "privacy-team@smarct.example"
    clock.set(dsr.due_on + dt.timedelta(days=1))
    scan(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["privacy-team@smarct.example"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent inserts race only on a server database (CI's PostgreSQL pass)",
)
def test_two_beat_workers_scanning_at_once_tell_the_assignee_once(
    verified: Any, reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsr = verified()
    request_assign(dsr=dsr, actor=reviewer, assignee=reviewer)
    dsr.refresh_from_db()
    Clock(monkeypatch).set(dsr.due_on + dt.timedelta(days=1))
    barrier = threading.Barrier(2)

    def worker() -> int:
        try:
            barrier.wait(timeout=30)
            return alerts.notify_deadlines()
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        told = [f.result() for f in [pool.submit(worker), pool.submit(worker)]]
    assert sorted(told) == [0, 1]
    assert StaffNotification.objects.filter(kind=NotificationKind.OVERDUE).count() == 1
    assert OutgoingEmail.objects.filter(template="staff-notification").count() == 2  # + review


def test_the_sentences_read_as_plain_english(
    dsr: DataSubjectRequest, clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    assert dsr.due_on is not None
    due = f"{dsr.due_on:%-d %B %Y}"
    review = StaffNotification.objects.get(kind=NotificationKind.ENTERED_REVIEW)
    assert review.detail == (
        f"{dsr.reference} is ready for review: access (a copy of your data), due on {due}."
    )
    clock.set(dsr.due_on - dt.timedelta(days=1))
    scan(django_capture_on_commit_callbacks)
    soon = StaffNotification.objects.get(kind=NotificationKind.DUE_SOON)
    assert soon.detail == (f"{dsr.reference} is due tomorrow, {due}: access (a copy of your data).")
    assert mail.outbox[-1].subject == f"{dsr.reference}: due tomorrow, {due}"


def test_a_response_submitted_for_approval_tells_the_approvers_who_did_not_prepare_it(
    verified: Any,
    settings: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from requests_app.review import decisions
    from tests.factories import UserFactory

    settings.DSAR_TEAM_INBOX = "privacy-team@smarct.example"
    preparer = UserFactory(
        username="pia", roles=["reviewer", "approver"], email="pia@smarct.example"
    )
    approver.email = "ada@smarct.example"
    approver.save()
    dsr = verified(name="Ben Example", email="ben@example.com")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_submit(dsr=dsr, actor=preparer)
    told = {tuple(m.to): m for m in mail.outbox}
    assert ("ada@smarct.example",) in told  # an approver who may approve it
    assert ("pia@smarct.example",) not in told  # not whoever prepared it
    email = told[("ada@smarct.example",)]
    assert dsr.reference in email.subject
    assert "approval" in email.subject.lower()
    assert "Ben" not in email.body
    assert StaffNotification.objects.filter(kind=NotificationKind.READY_FOR_APPROVAL).count() == 1
