"""Issue 16, point 4, end to end on a real worker: beat's scan, sent through the broker, finds an
overdue request; the worker emails its assignee through the outbox (an .eml file, as the demo
sends) and POSTs the signed webhook to a real HTTP server; a second scan tells nobody again."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from requests_app.core import alerts
from requests_app.core.queue import Task, send
from requests_app.models import (
    DataSubjectRequest,
    EmailStatus,
    NotificationKind,
    OutgoingEmail,
    OutgoingWebhook,
    StaffNotification,
    Status,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.integration
SECRET = "an-integration-webhook-secret-32-chars-long"


def emails_to(address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(Path(settings.DSAR_OUTBOX_DIR).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]):
            found.append(message)
    return found  # type: ignore[return-value]


@pytest.fixture
def hook() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    calls: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", calls
    server.shutdown()
    server.server_close()


def test_an_overdue_request_is_emailed_to_its_assignee_by_a_real_worker(
    start_worker: Any, wait_for: Any, hook: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "smarct_dsar.mail.OutboxBackend"
    url, calls = hook
    start_worker(DSAR_WEBHOOK_URL=url, DSAR_WEBHOOK_SECRET=SECRET)
    rita = UserFactory(username="rita-overdue", roles=["reviewer"])
    # given a request in review, assigned to Rita, that was due yesterday
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    dsr = DataSubjectRequest.objects.create(
        reference="DSR-2026-990001",
        request_type="access",
        requester_name="Olive Overdue",
        requester_email="olive@example.com",
        received_at=timezone.now() - dt.timedelta(days=40),
        verified_at=timezone.now() - dt.timedelta(days=39),
        clock_started_on=yesterday - dt.timedelta(days=30),
        due_on=yesterday,
        status=Status.IN_REVIEW,
        assignee=rita,
    )
    # when beat's hourly scan runs on the worker
    send(Task.NOTIFY_STAFF)
    told = wait_for(lambda: emails_to(rita.email), what="the overdue email from the worker")
    wait_for(lambda: len(calls) >= 1, what="the webhook call from the worker")
    wait_for(
        lambda: not OutgoingEmail.objects.exclude(status=EmailStatus.SENT).exists(),
        what="every email sent",
    )
    # then Rita has one email: the reference, overdue, the due date, the link, no personal data
    (message,) = told
    assert "DSR-2026-990001" in str(message["Subject"])
    assert "overdue" in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert f"{yesterday:%-d %B %Y}" in body
    assert f"{settings.SITE_URL}/staff/requests/DSR-2026-990001/" in body
    raw = b"".join(p.read_bytes() for p in Path(settings.DSAR_OUTBOX_DIR).glob("*.eml"))
    assert b"Olive" not in raw
    assert b"olive@example.com" not in raw
    # and the webhook had one signed call saying the same
    (headers, body_bytes) = calls[0]
    signed = headers["x-smarct-timestamp"].encode() + b"." + body_bytes
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["x-smarct-signature"])
    assert json.loads(body_bytes)["reference"] == "DSR-2026-990001"
    # once each: the scan again (another beat, a duplicate message) tells nobody
    assert alerts.notify_deadlines() == 0
    assert len(emails_to(rita.email)) == 1
    assert len(calls) == 1
    assert StaffNotification.objects.filter(request=dsr, kind=NotificationKind.OVERDUE).count() == 2
    assert OutgoingWebhook.objects.get().status == EmailStatus.SENT
