"""Issue 16, point 4: a daily digest per member of staff who chose one, once a day; and the
optional webhook, signed with HMAC over a timestamp and the body, delivered from its outbox row
to a real HTTP server on 127.0.0.1, retried until delivered and never sent twice once it is."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from requests_app import tasks
from requests_app.core import alerts, deadlines, webhooks
from requests_app.models import (
    DataSubjectRequest,
    EmailStatus,
    NotificationKind,
    OutgoingWebhook,
    StaffNotification,
)
from requests_app.review.case import request_assign
from requests_app.staff.preferences import staff_preferences_set

pytestmark = pytest.mark.django_db
SECRET = "a-webhook-secret-of-at-least-32-characters"


def set_clock(monkeypatch: pytest.MonkeyPatch, day: dt.date, hour: int = 10) -> None:
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
    monkeypatch.setattr(deadlines, "today", lambda: day)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def assigned(verified: Any, reviewer: Any, capture: Any, **fields: Any) -> DataSubjectRequest:
    dsr = verified(**fields)
    with capture(execute=True):
        request_assign(dsr=dsr, actor=reviewer, assignee=reviewer)
    dsr.refresh_from_db()
    return dsr


def run(capture: Any, task: Any) -> None:
    with capture(execute=True):
        task.delay()


# --- The daily digest -----------------------------------------------------------------------


def test_a_digest_user_gets_one_email_a_day_listing_what_waited(
    verified: Any,
    reviewer: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = django_capture_on_commit_callbacks
    # given Rita chose a daily digest, and two requests of hers fall overdue
    staff_preferences_set(user=reviewer, delivery="daily")
    first = assigned(verified, reviewer, capture, name="Ann Example", email="ann@example.com")
    second = assigned(verified, reviewer, capture, name="Bob Example", email="bob@example.com")
    mail.outbox.clear()
    assert first.due_on is not None
    assert second.due_on is not None
    day = max(first.due_on, second.due_on) + dt.timedelta(days=1)
    set_clock(monkeypatch, day)
    run(capture, tasks.notify_staff)
    # then nothing is emailed as it happens: it waits for her digest
    assert mail.outbox == []
    waiting = StaffNotification.objects.filter(user=reviewer, digest__isnull=True)
    assert waiting.count() == 2
    # when the digests go (twice: two beat workers, or a retry)
    run(capture, tasks.send_digests)
    run(capture, tasks.send_digests)
    # then she has one email naming both references, and no personal data
    (digest,) = mail.outbox
    assert digest.to == [reviewer.email]
    assert "2 notifications" in digest.subject
    for dsr in (first, second):
        assert dsr.reference in digest.body
        assert f"/staff/requests/{dsr.reference}/" in digest.alternatives[0][0]
    for personal in ("Ann", "Bob", "example.com"):
        assert personal not in digest.body + digest.subject + digest.alternatives[0][0]
    assert not StaffNotification.objects.filter(user=reviewer, digest__isnull=True).exclude(
        kind=NotificationKind.DIGEST
    )
    # the next day, with nothing new, no digest; with something new, one with just that
    set_clock(monkeypatch, day + dt.timedelta(days=1))
    run(capture, tasks.send_digests)
    assert len(mail.outbox) == 1
    with capture(execute=True):
        alerts.staff_notify(dsr=first, kind=NotificationKind.LINK_REQUESTED, occasion="event:1")
    run(capture, tasks.send_digests)
    assert len(mail.outbox) == 2
    assert "1 notification " in mail.outbox[-1].subject
    assert second.reference not in mail.outbox[-1].body


def test_choosing_each_again_sends_as_it_happens(
    verified: Any, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    dsr = assigned(verified, reviewer, capture)
    staff_preferences_set(user=reviewer, delivery="daily")
    staff_preferences_set(user=reviewer, delivery="each")
    mail.outbox.clear()
    with capture(execute=True):
        alerts.staff_notify(dsr=dsr, kind=NotificationKind.REPLY, occasion="message:1")
    (told,) = mail.outbox
    assert told.to == [reviewer.email]


# --- The webhook ----------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: records each call; answers with ``statuses`` in turn
    (then 200)."""

    url: str = ""
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(got.statuses.pop(0) if got.statuses else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    settings.DSAR_WEBHOOK_URL = got.url
    settings.DSAR_WEBHOOK_SECRET = SECRET
    yield got
    server.shutdown()
    server.server_close()


def verify(headers: dict[str, str], body: bytes, *, secret: str = SECRET) -> bool:
    """What a receiver does (docs/notifications.md)."""
    signed = headers["x-smarct-timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-smarct-signature"])


def test_an_overdue_request_is_posted_to_the_webhook_once_signed_and_without_personal_data(
    verified: Any,
    reviewer: Any,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = django_capture_on_commit_callbacks
    dsr = assigned(verified, reviewer, capture, name="Ann Example", email="ann@example.com")
    receiver.calls.clear()  # entering review was posted too
    assert dsr.due_on is not None
    set_clock(monkeypatch, dsr.due_on + dt.timedelta(days=1))
    run(capture, tasks.notify_staff)
    run(capture, tasks.notify_staff)
    (headers, body), *more = receiver.calls
    assert more == []
    assert verify(headers, body)
    assert not verify(headers, body, secret="another-secret-of-at-least-32-characters")
    forged = {**headers, "x-smarct-timestamp": str(int(headers["x-smarct-timestamp"]) + 1)}
    assert not verify(forged, body)  # the timestamp is signed: an old call cannot be replayed
    sent = json.loads(body)
    assert sent["kind"] == "overdue"
    assert sent["reference"] == dsr.reference
    assert sent["due_on"] == dsr.due_on.isoformat()
    assert sent["url"].endswith(f"/staff/requests/{dsr.reference}/")
    assert dsr.reference in sent["text"]
    for personal in ("Ann", "ann@example.com", "Example"):
        assert personal not in body.decode()
    webhook = OutgoingWebhook.objects.get(pk=headers["x-smarct-delivery"])
    assert (webhook.status, webhook.attempts) == (EmailStatus.SENT, 1)
    # a duplicate message for a delivered call sends nothing
    with capture(execute=True):
        tasks.send_webhook.delay(webhook.pk)
    assert len(receiver.calls) == 1


def test_a_refused_call_is_retried_with_the_same_delivery_id_until_delivered(
    verified: Any,
    reviewer: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = django_capture_on_commit_callbacks
    dsr = assigned(verified, reviewer, capture)
    receiver.calls.clear()
    receiver.statuses = [500, 503]
    with capture(execute=True):
        alerts.staff_notify(dsr=dsr, kind=NotificationKind.REPLY, occasion="message:9")
    assert len(receiver.calls) == 3  # two refusals, then taken
    assert len({h["x-smarct-delivery"] for h, _ in receiver.calls}) == 1
    assert all(verify(h, b) for h, b in receiver.calls)
    webhook = OutgoingWebhook.objects.latest("pk")
    assert (webhook.status, webhook.attempts) == (EmailStatus.SENT, 3)


def test_a_call_whose_message_was_lost_is_sent_by_the_sweeper(
    verified: Any,
    reviewer: Any,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = django_capture_on_commit_callbacks
    dsr = assigned(verified, reviewer, capture)
    receiver.calls.clear()
    # the notification commits, but its message to the worker is lost (the broker restarted)
    with capture(execute=False):
        alerts.staff_notify(dsr=dsr, kind=NotificationKind.REPLY, occasion="message:9")
    # and the receiver was away for the first attempt
    receiver.statuses = [502]
    webhook = OutgoingWebhook.objects.latest("pk")
    with pytest.raises(webhooks.WebhookUndelivered):
        webhooks.webhook_send(webhook_id=webhook.pk)
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts) == (EmailStatus.FAILED, 1)
    later = timezone.now() + dt.timedelta(minutes=30)
    monkeypatch.setattr(timezone, "now", lambda: later)
    tasks.sweep_lost_work.delay()
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts) == (EmailStatus.SENT, 2)
    tasks.sweep_lost_work.delay()
    assert len(receiver.calls) == 2


def test_no_webhook_is_queued_while_it_is_not_configured(
    verified: Any, reviewer: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DSAR_WEBHOOK_URL = ""
    dsr = assigned(verified, reviewer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        alerts.staff_notify(dsr=dsr, kind=NotificationKind.REPLY, occasion="message:9")
    assert not OutgoingWebhook.objects.exists()
    assert not StaffNotification.objects.filter(recipient="webhook").exists()
