"""Article 19 notices: telling the recipients Smarct cannot change through an API (a ``notify``
store in the data map) that a person's data must be erased or corrected, and tracking each
notice until the recipient confirms.

A notice carries a confirmation link (256-bit, only its SHA-256 stored; GET shows a button and
only POST confirms, so mail scanners cannot). Unconfirmed notices are reminded every
``DSAR_NOTICE_REMINDER_DAYS`` and flagged overdue on the dashboard after
``DSAR_NOTICE_OVERDUE_DAYS``. Staff may also record a reply that came another way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from requests_app import datamap
from requests_app.core.audit import event_append
from requests_app.core.errors import IllegalTransition, RuleViolation, TokenInvalid
from requests_app.core.locking import lock, staff_action
from requests_app.core.notifications import email_queue
from requests_app.core.permissions import actor_label
from requests_app.datamap.spec import StoreSpec, readable
from requests_app.models import (
    Correction,
    DataSubjectRequest,
    NoticePurpose,
    ProcessorNotice,
    StepStatus,
)
from smarct_dsar.crypto import new_token, token_hash


def is_overdue(notice: ProcessorNotice) -> bool:
    limit = timedelta(days=settings.DSAR_NOTICE_OVERDUE_DAYS)
    return notice.confirmed_at is None and notice.sent_at + limit < timezone.now()


def overdue_notices(limit: int = 20) -> list[ProcessorNotice]:
    """Unconfirmed notices past the overdue limit, oldest first: the queue shows them whatever
    the request's own status (an erasure completes before every recipient has confirmed)."""
    cutoff = timezone.now() - timedelta(days=settings.DSAR_NOTICE_OVERDUE_DAYS)
    return list(
        ProcessorNotice.objects.select_related("request")
        .filter(confirmed_at__isnull=True, sent_at__lt=cutoff)
        .order_by("sent_at")[:limit]
    )


# What each notice asks about, with its article: said in English (the notices are), and
# "an erasure" / "a correction" come with the words, never from a template's "a {{ kind }}".
REQUEST_WORDS = {
    NoticePurpose.ERASURE: "an erasure request",
    NoticePurpose.RECTIFICATION: "a correction request",
}


# Each data map category in words, for a recipient who does not know our code names.
CATEGORY_WORDS = {
    "contact": "contact details",
    "account": "account information",
    "financial": "financial information",
    "usage": "usage information",
    "device": "device information",
    "cookies": "cookie choices",
    "marketing": "marketing information",
    "support": "support information",
}


def field_title(name: str, first: StoreSpec | None) -> str:
    """A mapped field as the data map labels it: in the recipient's own store if it lists the
    field, else the first store that does, else the name in words (``phone`` → "Phone")."""
    stores = list(datamap.current().stores.values())
    for store in ([first] if first else []) + stores:
        for table in store.tables.values():
            spec = table.fields.get(name)
            if spec is not None and spec.label:
                return spec.label
    return readable(name)


def _context(notice: ProcessorNotice, raw: str, corrections: list[Correction]) -> dict[str, Any]:
    store = datamap.current().stores.get(notice.store)
    tables = list(store.tables.values()) if store else []
    return {
        "notice": notice,
        "request_words": REQUEST_WORDS[NoticePurpose(notice.purpose)],
        "dsr": notice.request,
        "tables": [
            f"{t.title} ({CATEGORY_WORDS.get(t.category, readable(t.category).lower())})"
            for t in tables
        ],
        "corrections": [(field_title(c.target_field, store), c.final_value) for c in corrections],
        "confirm_url": settings.SITE_URL + reverse("notice-confirm", args=[raw]),
    }


def _new_link(notice: ProcessorNotice) -> str:
    raw = new_token()
    ProcessorNotice.objects.filter(pk=notice.pk).update(token_hash=token_hash(raw))
    return raw


def recipient_received(*, dsr: DataSubjectRequest, store: StoreSpec) -> bool:
    """Whether the ``notify`` recipient ``store`` received this person's data: whether a table
    its ``receives_from`` names held their records, as gathering found them or the approved
    erasure plan counted them on the store. A table neither counted (a store added to the map
    since, a gathering not finished) cannot show it held nothing, so it counts as holding their
    data: the recipient is told."""
    found: dict[tuple[str, str], int] = {}
    for step in dsr.gather_steps.filter(status=StepStatus.DONE):
        source = datamap.current().stores.get(step.store)
        for table in source.tables if source is not None else ():
            found[(step.store, table)] = int(step.table_counts.get(table) or 0)
    for plan in (dsr.erasure_plan or {}).get("stores") or []:
        for table in plan.get("tables") or []:
            key = (plan["store"], table["table"])
            found[key] = found.get(key, 0) + int(table.get("records") or 0)
    return any(found.get(source, 1) for source in store.receives_from)


def notices_send(*, dsr: DataSubjectRequest, purpose: str) -> list[ProcessorNotice]:
    """Email a notice once (inside the caller's transaction) to every ``notify`` recipient that
    received the person's data (Article 19 speaks of recipients to whom it was disclosed); one
    that never did is told nothing, not even that the person asked."""
    corrections = [c for c in dsr.corrections.all() if c.final_value]
    sent = []
    for store in datamap.current().stores.values():
        if store.searchable or not store.notify_email:
            continue
        if not recipient_received(dsr=dsr, store=store):
            continue
        raw = new_token()
        notice, created = ProcessorNotice.objects.get_or_create(
            request=dsr,
            store=store.name,
            purpose=purpose,
            defaults={
                "organisation": store.organisation,
                "notify_email": store.notify_email,
                "token_hash": token_hash(raw),
                "sent_at": timezone.now(),
            },
        )
        if not created:
            continue
        email_queue(
            template=f"notice-{purpose}",
            to=store.notify_email,
            dsr=dsr,
            context=_context(notice, raw, corrections),
        )
        event_append(
            dsr=dsr,
            actor="system",
            action="recipient_notified",
            payload={"store": store.name, "organisation": store.organisation, "purpose": purpose},
        )
        sent.append(notice)
    return sent


def notices_told(*, dsr: DataSubjectRequest, purpose: str) -> dict[str, list[str]]:
    """What the person's email may say of the recipients: the organisations told of this request
    by an Article 19 notice, those that have not yet confirmed they acted, and those that have.
    Each list is empty when there is nobody to name."""
    notices = list(dsr.notices.filter(purpose=purpose).order_by("organisation", "store"))
    return {
        "told": [n.organisation for n in notices],
        "waiting": [n.organisation for n in notices if n.confirmed_at is None],
        "confirmed": [n.organisation for n in notices if n.confirmed_at is not None],
    }


def notice_resolve(*, raw_token: str) -> ProcessorNotice:
    notice = (
        ProcessorNotice.objects.select_related("request")
        .filter(token_hash=token_hash(raw_token))
        .first()
    )
    if notice is None:
        raise TokenInvalid(gettext("This confirmation link is not valid."), reason="unknown")
    if notice.sent_at + timedelta(days=settings.DSAR_NOTICE_CONFIRM_TTL_DAYS) < timezone.now():
        raise TokenInvalid(gettext("This confirmation link has expired."), reason="expired")
    return notice


@transaction.atomic
def notice_confirm(*, notice: ProcessorNotice, actor: str, note: str = "") -> ProcessorNotice:
    """The recipient has acted. Confirming twice changes nothing. The request is locked first,
    as every change to a request takes its locks (request, then the rest)."""
    lock(notice.request)
    updated = ProcessorNotice.objects.filter(pk=notice.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), confirmed_by=actor, confirmation_note=note.strip()[:2000]
    )
    if updated:
        event_append(
            dsr=notice.request,
            actor=actor,
            action="recipient_confirmed",
            payload={"store": notice.store, "purpose": notice.purpose, "note": note.strip()},
        )
    notice.refresh_from_db()
    return notice


@staff_action("confirm_notice")
def notice_confirm_by_staff(
    *, dsr: DataSubjectRequest, store: str, actor: User, note: str
) -> ProcessorNotice:
    """Record a recipient's reply that came by email or post."""
    notice = ProcessorNotice.objects.filter(request=dsr, store=store).first()
    if notice is None:
        raise IllegalTransition(f"No notice was sent to '{store}' for this request.")
    if not note.strip():
        raise RuleViolation("Say how the recipient confirmed (their reply).", field="reason")
    return notice_confirm(notice=notice, actor=actor_label(actor), note=note)


@transaction.atomic
def notices_remind() -> int:
    """Remind every unconfirmed notice whose last email is older than the reminder interval."""
    due = timezone.now() - timedelta(days=settings.DSAR_NOTICE_REMINDER_DAYS)
    notices = ProcessorNotice.objects.select_related("request").filter(
        Q(last_reminded_at__lt=due) | Q(last_reminded_at__isnull=True, sent_at__lt=due),
        confirmed_at__isnull=True,
    )
    count = 0
    for notice in notices.select_for_update(of=("self",)):
        raw = _new_link(notice)  # a fresh link: the old one may be in a deleted email
        ProcessorNotice.objects.filter(pk=notice.pk).update(
            reminders=notice.reminders + 1, last_reminded_at=timezone.now()
        )
        notice.refresh_from_db()
        email_queue(
            template="notice-reminder",
            to=notice.notify_email,
            dsr=notice.request,
            context={
                **_context(
                    notice, raw, [c for c in notice.request.corrections.all() if c.final_value]
                ),
                "overdue": is_overdue(notice),
            },
        )
        event_append(
            dsr=notice.request,
            actor="system",
            action="recipient_reminded",
            payload={"store": notice.store, "reminders": notice.reminders},
        )
        count += 1
    return count
