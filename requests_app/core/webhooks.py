"""The optional webhook (``DSAR_WEBHOOK_URL``): each staff notification, as signed JSON, for
Slack or a ticket system.

The body holds no personal data: the kind, the reference, the type, the due date, the sentence
staff read and a link to the staff page (``text`` too, so a Slack incoming webhook shows it).
It is queued in an ``OutgoingWebhook`` row in the notification's transaction and POSTed after
commit by the ``send_webhook`` task, which retries with backoff; the sweeper queues again what
waited too long, so a call is never lost. A row is claimed before it is sent and marked delivered
on a 2xx, so once delivered it is never sent again; a worker that dies between the receiver's
2xx and that mark may send it twice, so each call carries ``X-Smarct-Delivery`` (the row's id,
the same on every attempt) for the receiver to drop a repeat.

Signature (what a receiver checks)::

    X-Smarct-Timestamp: <unix seconds when this attempt was sent>
    X-Smarct-Signature: sha256=<hex HMAC-SHA256(DSAR_WEBHOOK_SECRET, "<timestamp>." + raw body)>

The timestamp is inside the signed material, so a receiver that refuses one more than a few
minutes old cannot be replayed an old call. docs/notifications.md has a receiver's check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import httpx
from django.conf import settings
from django.utils import timezone

from requests_app.models import EmailStatus, OutgoingWebhook, RequestType, StaffNotification

log = logging.getLogger(__name__)


class WebhookUndelivered(Exception):
    """The receiver did not take the call (no answer, or not a 2xx): try again later."""


def webhook_body(notification: StaffNotification, *, url: str) -> str:
    dsr = notification.request
    assert dsr is not None
    payload = {
        "id": notification.pk,
        "kind": notification.kind,
        "reference": dsr.reference,
        "request_type": RequestType(dsr.request_type).value,
        "due_on": dsr.due_on.isoformat() if dsr.due_on else None,
        "occurred_at": notification.created_at.isoformat(),
        "url": url,
        "text": f"{notification.detail} {url}",
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def webhook_send(*, webhook_id: int) -> bool:
    """POST one queued call. False when another worker has it or it was delivered already;
    raises ``WebhookUndelivered`` (after recording it) for the task to retry."""
    claimed = OutgoingWebhook.objects.filter(
        pk=webhook_id, status__in=[EmailStatus.PENDING, EmailStatus.FAILED]
    ).update(status=EmailStatus.SENDING, claimed_at=timezone.now())
    if claimed != 1:
        return False
    webhook = OutgoingWebhook.objects.get(pk=webhook_id)
    body = webhook.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Smarct-DSAR-webhook",
        "X-Smarct-Delivery": str(webhook.pk),
        "X-Smarct-Timestamp": str(timestamp),
        "X-Smarct-Signature": signature(
            secret=settings.DSAR_WEBHOOK_SECRET, timestamp=timestamp, body=body
        ),
    }
    try:
        response = httpx.post(
            settings.DSAR_WEBHOOK_URL,
            content=body,
            headers=headers,
            timeout=settings.DSAR_WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
        if not response.is_success:
            raise WebhookUndelivered(f"the receiver answered {response.status_code}")
    except (httpx.HTTPError, WebhookUndelivered) as exc:
        _record_failure(webhook, exc)
        raise WebhookUndelivered(str(exc)) from exc
    OutgoingWebhook.objects.filter(pk=webhook.pk).update(
        status=EmailStatus.SENT,
        sent_at=timezone.now(),
        attempts=webhook.attempts + 1,
        last_error="",
    )
    return True


def _record_failure(webhook: OutgoingWebhook, exc: Exception) -> None:
    log.warning("webhook %s failed: %s", webhook.pk, type(exc).__name__)
    OutgoingWebhook.record_failure(webhook.pk, webhook.attempts, exc)


def webhooks_to_resend() -> list[int]:
    """Calls whose message was lost, whose worker died while sending, or that failed."""
    return OutgoingWebhook.to_resend(settings.DSAR_WEBHOOK_MAX_ATTEMPTS)
