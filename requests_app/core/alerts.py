"""Notifications to staff: what happened to a request that someone should act on, told once.

Kinds (``NotificationKind``): a request entered review; it is due within
``DSAR_NOTIFY_DUE_SOON_DAYS``; it is overdue; an Article 19 recipient has not confirmed after
``DSAR_NOTICE_OVERDUE_DAYS``; the person answered, sent proof of authority or asked for a new
download link. The first and the last three are told as they happen (inside the transaction that
makes them happen); the deadlines are found by beat's hourly scan (``notify_deadlines``).

Who is told: the request's assignee; with nobody assigned, the team inbox
(``DSAR_TEAM_INBOX``), or every active reviewer and approver when
``DSAR_NOTIFY_UNASSIGNED=staff``. Each member of staff chooses each notification by email as it
happens, or one daily digest (``StaffPreferences``; ``digests_send``). When ``DSAR_WEBHOOK_URL``
is set the webhook is told of each notification too (``webhooks.py``).

Each notification is a ``StaffNotification`` row whose unique constraint (kind, request,
recipient, occasion) makes it fire once, whichever beat worker, retry or racing transaction gets
there first; its email goes through the outbox (``notifications.email_queue``) in the same
transaction, so it is sent once the row commits and never for one that rolled back. Nothing sent
names the person: the reference, the type, the dates and a link to the staff page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation

from requests_app.core import deadlines
from requests_app.core.actions import prepared_by
from requests_app.core.notifications import email_queue
from requests_app.core.permissions import APPROVER, ROLES, is_privacy_staff
from requests_app.core.queue import Task, later
from requests_app.core.webhooks import webhook_body
from requests_app.models import (
    OPEN_STATUSES,
    DataSubjectRequest,
    NotificationDelivery,
    NotificationKind,
    OutgoingWebhook,
    ProcessorNotice,
    RequestType,
    StaffNotification,
    StaffPreferences,
    Status,
)

# What staff read, one sentence per kind: the reference, never the person.
SENTENCES = {
    NotificationKind.ENTERED_REVIEW: "{reference} is ready for review: {type}{due}.",
    NotificationKind.READY_FOR_APPROVAL: (
        "{reference} is submitted for approval: {type}{due}. An approver who did not prepare it "
        "approves it."
    ),
    NotificationKind.DUE_SOON: "{reference} is due {when}, {due_on}: {type}.",
    NotificationKind.OVERDUE: "{reference} was due on {due_on} and is not closed: {type}.",
    NotificationKind.RECIPIENT_OVERDUE: (
        "{reference}: {about} has not confirmed acting on the Article 19 notice sent on {sent}."
    ),
    NotificationKind.REPLY: (
        "The person answered the question asked on {reference}. The clock has restarted{due}."
    ),
    NotificationKind.AUTHORITY: (
        "The agent on {reference} uploaded proof of their authority: check it, then confirm "
        "their authority (the clock starts then) or reject the request."
    ),
    NotificationKind.LINK_REQUESTED: (
        "The person on {reference} asks for a new download link: their last one has expired or "
        "been used up. Send a new one if it is still right to."
    ),
}
SUBJECTS = {
    NotificationKind.ENTERED_REVIEW: "ready for review",
    NotificationKind.READY_FOR_APPROVAL: "ready for approval",
    NotificationKind.DUE_SOON: "due {when}, {due_on}",
    NotificationKind.OVERDUE: "overdue (was due on {due_on})",
    NotificationKind.RECIPIENT_OVERDUE: "a recipient has not confirmed",
    NotificationKind.REPLY: "the person answered your question",
    NotificationKind.AUTHORITY: "proof of authority uploaded",
    NotificationKind.LINK_REQUESTED: "a new download link asked for",
}
# Deadlines are chased while the clock runs: not before it starts, nor while it is paused.
CHASED = OPEN_STATUSES - {Status.AWAITING_VERIFICATION, Status.ON_HOLD}


@dataclass(frozen=True)
class Recipient:
    key: str  # "user:<pk>", "team"
    email: str
    user: User | None = None
    daily: bool = False


def _staff(users: list[User]) -> list[Recipient]:
    daily = set(
        StaffPreferences.objects.filter(
            user__in=users, delivery=StaffPreferences.Delivery.DAILY
        ).values_list("user_id", flat=True)
    )
    return [Recipient(f"user:{u.pk}", u.email, u, u.pk in daily) for u in users if u.email]


def recipients_for(dsr: DataSubjectRequest, kind: str = "") -> list[Recipient]:
    """The assignee; with nobody assigned (or an assignee no longer on the team, or with no
    address), the team: every reviewer and approver, or the team inbox. A response ready for
    approval goes to the approvers who may approve it (not whoever prepared it), else the
    inbox."""
    if kind == NotificationKind.READY_FOR_APPROVAL:
        approvers = User.objects.filter(
            Q(groups__name=APPROVER) | Q(is_superuser=True), is_active=True
        ).distinct()
        mays = [u for u in approvers.order_by("pk") if not prepared_by(dsr, u)]
        chosen = _staff(mays)
        if chosen:
            return chosen
        inbox = settings.DSAR_TEAM_INBOX
        return [Recipient("team", inbox)] if inbox else []
    assignee = dsr.assignee
    if assignee is not None and assignee.email and is_privacy_staff(assignee):
        return _staff([assignee])
    if settings.DSAR_NOTIFY_UNASSIGNED == "staff":
        team = User.objects.filter(
            Q(groups__name__in=ROLES) | Q(is_superuser=True), is_active=True
        ).distinct()
        everyone = _staff(list(team.order_by("pk")))
        if everyone:
            return everyone
    inbox = settings.DSAR_TEAM_INBOX
    return [Recipient("team", inbox)] if inbox else []


def request_url(dsr: DataSubjectRequest) -> str:
    return settings.SITE_URL + reverse("dashboard-request", args=[dsr.reference])


def _facts(dsr: DataSubjectRequest, about: str, sent: dt.datetime | None) -> dict[str, Any]:
    with translation.override(settings.LANGUAGE_CODE):
        kind_of = str(RequestType(dsr.request_type).label)
    due_on = f"{dsr.due_on:%-d %B %Y}" if dsr.due_on else ""
    return {
        "reference": dsr.reference,
        "type": kind_of[0].lower() + kind_of[1:],
        "due_on": due_on,
        "due": f", due on {due_on}" if due_on else "",
        "when": _when((dsr.due_on - deadlines.today()).days) if dsr.due_on else "",
        "about": about,
        "sent": f"{timezone.localtime(sent):%-d %B %Y}" if sent else "",
    }


def _when(days: int) -> str:
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"


def _record(**fields: Any) -> StaffNotification | None:
    """The row, or None when this notification exists already (the unique constraint decides,
    so two workers racing to record it cannot both succeed)."""
    try:
        with transaction.atomic():
            return StaffNotification.objects.create(created_at=timezone.now(), **fields)
    except IntegrityError:
        return None


@transaction.atomic
def staff_notify(
    *,
    dsr: DataSubjectRequest,
    kind: str,
    occasion: str,
    about: str = "",
    sent: dt.datetime | None = None,
) -> list[StaffNotification]:
    """Tell whoever should know (``recipients_for``) and the webhook, once per occasion. Call
    inside the transaction that makes it happen: the emails go when it commits."""
    facts = _facts(dsr, about, sent)
    detail = SENTENCES[NotificationKind(kind)].format(**facts)
    subject = f"{dsr.reference}: " + SUBJECTS[NotificationKind(kind)].format(**facts)
    made = []
    for who in recipients_for(dsr, kind):
        delivery = NotificationDelivery.DIGEST if who.daily else NotificationDelivery.EMAIL
        row = _record(
            kind=kind,
            request=dsr,
            recipient=who.key,
            user=who.user,
            occasion=occasion,
            detail=detail,
            delivery=delivery,
        )
        if row is None:
            continue
        if delivery == NotificationDelivery.EMAIL:
            row.email = email_queue(
                template="staff-notification",
                to=who.email,
                dsr=dsr,
                context={"notification": row, "subject": subject, "url": request_url(dsr)},
            )
            row.save(update_fields=["email"])
        made.append(row)
    if settings.DSAR_WEBHOOK_URL:
        _to_webhook(kind=kind, dsr=dsr, occasion=occasion, detail=detail)
    return made


def _to_webhook(*, kind: str, dsr: DataSubjectRequest, occasion: str, detail: str) -> None:
    row = _record(
        kind=kind,
        request=dsr,
        recipient="webhook",
        occasion=occasion,
        detail=detail,
        delivery=NotificationDelivery.WEBHOOK,
    )
    if row is None:
        return
    row.webhook = OutgoingWebhook.objects.create(body=webhook_body(row, url=request_url(dsr)))
    row.save(update_fields=["webhook"])
    later(Task.SEND_WEBHOOK, row.webhook.pk)


def notify_deadlines() -> int:
    """Beat's hourly scan: requests due soon or overdue, and recipients overdue, not yet told.
    Cheap: indexed on the due date, and what was told already is left out in the query."""
    today = deadlines.today()
    soon = today + timedelta(days=settings.DSAR_NOTIFY_DUE_SOON_DAYS)
    chased = DataSubjectRequest.objects.filter(
        status__in=CHASED, due_on__isnull=False, due_on__lte=soon
    )
    told = set(
        StaffNotification.objects.filter(
            kind__in=[NotificationKind.DUE_SOON, NotificationKind.OVERDUE], request__in=chased
        ).values_list("request_id", "kind", "occasion")
    )
    count = 0
    for dsr in chased.select_related("assignee").order_by("due_on", "pk"):
        assert dsr.due_on is not None
        kind = NotificationKind.OVERDUE if dsr.due_on < today else NotificationKind.DUE_SOON
        if (dsr.pk, kind, dsr.due_on.isoformat()) not in told:
            count += len(staff_notify(dsr=dsr, kind=kind, occasion=dsr.due_on.isoformat()))
    return count + _notify_recipients_overdue()


def _notify_recipients_overdue() -> int:
    cutoff = timezone.now() - timedelta(days=settings.DSAR_NOTICE_OVERDUE_DAYS)
    overdue = ProcessorNotice.objects.filter(confirmed_at__isnull=True, sent_at__lt=cutoff)
    told = set(
        StaffNotification.objects.filter(
            kind=NotificationKind.RECIPIENT_OVERDUE,
            request__in=overdue.values("request_id"),
        ).values_list("occasion", flat=True)
    )
    count = 0
    for notice in overdue.select_related("request__assignee").order_by("sent_at", "pk"):
        if f"notice:{notice.pk}" not in told:
            count += len(
                staff_notify(
                    dsr=notice.request,
                    kind=NotificationKind.RECIPIENT_OVERDUE,
                    occasion=f"notice:{notice.pk}",
                    about=notice.organisation,
                    sent=notice.sent_at,
                )
            )
    return count


def digests_send() -> int:
    """One email today to each member of staff with notifications waiting for their digest."""
    waiting = User.objects.filter(
        is_active=True,
        staff_notifications__delivery=NotificationDelivery.DIGEST,
        staff_notifications__digest__isnull=True,
    ).distinct()
    day = deadlines.today()
    return sum(1 for user in waiting if digest_send(user=user, day=day) is not None)


@transaction.atomic
def digest_send(*, user: User, day: dt.date) -> StaffNotification | None:
    """The day's digest for ``user``: one per day (its row's unique constraint), carrying every
    notification that waited for it; None when it was sent already or nothing waits."""
    digest = _record(
        kind=NotificationKind.DIGEST,
        recipient=f"user:{user.pk}",
        user=user,
        occasion=day.isoformat(),
        detail="Daily digest",
        delivery=NotificationDelivery.EMAIL,
    )
    if digest is None:
        return None
    pending = list(
        StaffNotification.objects.select_for_update(of=("self",))
        .filter(user=user, delivery=NotificationDelivery.DIGEST, digest__isnull=True)
        .select_related("request")
        .order_by("created_at", "pk")
    )
    if not pending or not user.email:
        digest.delete()  # nothing to say today (or nowhere to say it): tomorrow may have
        return None
    StaffNotification.objects.filter(pk__in=[n.pk for n in pending]).update(digest=digest)
    items = [
        {"notification": n, "url": request_url(n.request) if n.request else ""} for n in pending
    ]
    digest.email = email_queue(
        template="staff-digest", to=user.email, context={"items": items, "day": day}
    )
    digest.save(update_fields=["email"])
    return digest
