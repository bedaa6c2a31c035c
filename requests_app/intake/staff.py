"""Staff intake: a request received by phone, letter, email, in person or on social media.

The law lets a person ask in any way, to anyone at the organisation, and the clock starts on
receipt (or once identity, or an agent's authority, is proven). So staff log the request with
the moment it was received, how it came, and how they checked who the person is:

- checked (known customer details matched, an identity document seen, the email address
  verified): the request is verified at once and the clock starts on the day it was received;
- not checked: the person is sent the same confirmation link as on the web, and the clock starts
  when they confirm;
- an agent's request waits, as on the web, for proof of the agent's authority.

No public rate limit applies. Every store finds the person by email address, so one is needed
(the account's, when they gave none). The person gets the same emails as on the web; with a
response by post they get no email at all (``notifications.contact_email``), and staff print it. The ``received`` event names the
member of staff who logged it. The form and the API both call ``request_log``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from requests_app.core.actions import has_role
from requests_app.core.audit import event_append
from requests_app.core.documents import ATTACHMENT_TYPES, Upload, document_add, uploads_check
from requests_app.core.errors import NotPermitted, RuleViolation
from requests_app.core.locking import request_locked
from requests_app.core.notifications import contact_email, email_queue
from requests_app.core.permissions import actor_label
from requests_app.intake import receive, verification
from requests_app.intake.verification import request_mark_verified, verification_link
from requests_app.models import (
    STAFF_CHANNELS,
    DataSubjectRequest,
    Delivery,
    DocumentKind,
    RequestDocument,
)

# How far back a request can be logged as received: older than this is a typing mistake (a
# request that old would be long overdue).
OLDEST_RECEIPT = timedelta(days=90)


@dataclass(frozen=True)
class LoggedRequest:
    submission: receive.Submission  # ``channel`` is one of ``STAFF_CHANNELS``
    received_at: datetime
    identity_check: str = ""  # an ``IdentityCheck``, or "" (not checked: email a link)
    identity_note: str = ""
    delivery: str = Delivery.EMAIL
    postal_address: str = ""
    attachments: list[Upload] = field(default_factory=list)
    # An agent's request: the person is told that someone asked for them, unless staff decide
    # not to (say, a risk to the person), with the reason on the timeline.
    untold_reason: str = ""


def logged_errors(data: LoggedRequest) -> dict[str, list[str]]:
    """The rules of staff intake, on top of the public ones (``receive.submission_errors``)."""
    sub = data.submission
    errors = {name: list(messages) for name, messages in receive.submission_errors(sub).items()}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if sub.channel not in STAFF_CHANNELS:
        add(
            "channel",
            "Choose how the request arrived: phone, letter, email, in person or social media.",
        )
    now = timezone.now()
    if data.received_at > now + timedelta(minutes=5):
        add("received_at", "The moment it was received cannot be in the future.")
    elif data.received_at < now - OLDEST_RECEIPT:
        add("received_at", f"That is more than {OLDEST_RECEIPT.days} days ago: check the date.")
    if not sub.email:
        # Every store finds the person by their email address: without one nothing is searched,
        # and "we hold nothing about you" would be untrue.
        add(
            "email",
            "Give the email address our systems know them by (the account's, if they gave "
            "none): every store is searched by it.",
        )
    if data.delivery == Delivery.POST and not data.postal_address.strip():
        add("postal_address", "Give the address to post the response to.")
    if data.delivery == Delivery.POST and not data.identity_check:
        add(
            "identity_check",
            "Say how you checked who the person is: a response by post sends no email, so we "
            "cannot send them a link to confirm it.",
        )
    if data.identity_check and not data.identity_note.strip():
        add("identity_note", "Say what you checked (for example, which details matched).")
    if data.untold_reason.strip() and not sub.agent_email:
        add("untold_reason", "Only an agent's request can be kept from the person.")
    refusals = uploads_check(data.attachments, allowed=ATTACHMENT_TYPES)
    if refusals:
        errors["attachments"] = refusals
    return errors


@transaction.atomic
def request_log(*, data: LoggedRequest, staff: User) -> DataSubjectRequest:
    """Create a request staff received, verified at once when they checked identity."""
    if not has_role(staff, "log_request"):
        raise NotPermitted("Only the privacy team logs requests.")
    sub = replace(
        data.submission,
        email=receive.normalise_email(data.submission.email) if data.submission.email else "",
        agent_email=receive.normalise_email(data.submission.agent_email)
        if data.submission.agent_email
        else "",
    )
    data = replace(data, submission=sub)
    errors = logged_errors(data)
    if errors:
        name, messages = next(iter(errors.items()))
        raise RuleViolation(messages[0], field=name)
    if sub.email:
        receive.serialise_by_address(receive.email_key(sub.email))
        existing = receive.open_duplicate(sub)
        if existing is not None:
            raise RuleViolation(
                f"{existing.reference} is already open for this address and type: add to that "
                "one (a note) rather than log it twice.",
                field="email",
            )
    actor = actor_label(staff)
    dsr = receive.request_create(
        sub,
        received_at=data.received_at,
        actor=actor,
        received_by=staff,
        identity_check=data.identity_check,
        identity_note=data.identity_note.strip(),
        delivery=data.delivery,
        postal_address=data.postal_address.strip(),
    )
    for upload in data.attachments:
        document_add(
            dsr=dsr,
            upload=upload,
            kind=DocumentKind.ATTACHMENT,
            actor=actor,
            allowed=ATTACHMENT_TYPES,
        )
    if data.untold_reason.strip():
        event_append(
            dsr=dsr,
            actor=actor,
            action="note",
            payload={
                "reason": f"The person is not told of the agent's request: "
                f"{data.untold_reason.strip()}"
            },
        )
    if not data.identity_check:
        email_queue(
            template="verify",
            to=contact_email(dsr),
            dsr=dsr,
            context={
                "dsr": dsr,
                "verify_url": verification_link(dsr),
                "ttl_days": settings.DSAR_VERIFICATION_TTL_DAYS,
            },
        )
    if not data.untold_reason.strip():
        receive.agent_notice(dsr)
    if not data.identity_check:
        return dsr  # the confirmation link comes first; proof of authority is asked for then
    if dsr.has_agent:
        verification.authority_invite(dsr)
        return dsr  # the agent's authority is still to be seen: the clock starts then
    return request_mark_verified(dsr=dsr, actor=actor, verified_at=data.received_at)


@request_locked
def request_attach(*, dsr: DataSubjectRequest, upload: Upload, staff: User) -> RequestDocument:
    """Staff add a document to a request: the letter or email it came in, received apart (the
    API's way for a file too large to go inside the request's JSON)."""
    if not has_role(staff, "log_request"):
        raise NotPermitted("Only the privacy team adds documents to a request.")
    return document_add(
        dsr=dsr,
        upload=upload,
        kind=DocumentKind.ATTACHMENT,
        actor=actor_label(staff),
        allowed=ATTACHMENT_TYPES,
    )
