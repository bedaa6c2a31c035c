"""Verification: links sent by email (issuing, resolving and spending them), and the moment a
request is verified and its clock starts.

Verification links are single-use and expire (``DSAR_VERIFICATION_TTL_DAYS``). Status links let
the person follow their request; they last as long as the request record. Only a hash of each
token is stored. A request filed by an agent is verified once the email is proven and staff have
confirmed the agent's authority (``request_confirm_authority``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from requests_app.core import deadlines
from requests_app.core.audit import event_append
from requests_app.core.documents import proof_decided
from requests_app.core.errors import RuleViolation, TokenInvalid
from requests_app.core.lifecycle import compute_due, transition
from requests_app.core.locking import request_locked, staff_action
from requests_app.core.notifications import contact_email, email_queue
from requests_app.core.permissions import actor_label
from requests_app.models import (
    Channel,
    DataSubjectRequest,
    DocumentKind,
    RequestToken,
    Status,
    TokenPurpose,
)
from smarct_dsar.crypto import new_token, token_hash


def token_issue(*, dsr: DataSubjectRequest, purpose: str, ttl: timedelta) -> str:
    """Create a token and return it in clear: the only moment it exists outside an email."""
    raw = new_token()
    RequestToken.objects.create(
        request=dsr,
        purpose=purpose,
        token_hash=token_hash(raw),
        expires_at=timezone.now() + ttl,
    )
    return raw


def verification_link(dsr: DataSubjectRequest) -> str:
    raw = token_issue(
        dsr=dsr,
        purpose=TokenPurpose.VERIFY,
        ttl=timedelta(days=settings.DSAR_VERIFICATION_TTL_DAYS),
    )
    return settings.SITE_URL + reverse("verify", args=[raw])


def status_link(dsr: DataSubjectRequest) -> str:
    # A status link lives as long as the request record is kept.
    raw = token_issue(
        dsr=dsr,
        purpose=TokenPurpose.STATUS,
        ttl=timedelta(days=31 * settings.DSAR_RECORD_RETENTION_MONTHS),
    )
    return settings.SITE_URL + reverse("status", args=[raw])


def token_resolve(*, raw: str, purpose: str) -> RequestToken:
    """The live token for ``raw``, or ``TokenInvalid`` saying why (unknown, expired, used)."""
    token = (
        RequestToken.objects.select_related("request")
        .filter(token_hash=token_hash(raw), purpose=purpose)
        .first()
    )
    if token is None or token.revoked_at is not None:
        raise TokenInvalid(gettext("This link is not valid."), reason="unknown")
    if token.used_at is not None:
        raise TokenInvalid(gettext("This link has already been used."), reason="used")
    if token.expires_at <= timezone.now():
        raise TokenInvalid(gettext("This link has expired."), reason="expired")
    if token.request.personal_data_purged_at is not None:
        raise TokenInvalid(gettext("This request has been closed."), reason="expired")
    return token


@transaction.atomic
def request_verify_email(*, raw_token: str) -> DataSubjectRequest:
    """Spend a verification link: the email address is proven.

    The clock starts now, unless an agent acts for the person and staff have not yet seen
    proof of their authority; then it starts when they have.
    """
    token = token_resolve(raw=raw_token, purpose=TokenPurpose.VERIFY)
    now = timezone.now()
    # Spend the token with a conditional update, so two clicks cannot both succeed.
    if RequestToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=now) != 1:
        raise TokenInvalid(gettext("This link has already been used."), reason="used")
    dsr = DataSubjectRequest.objects.select_for_update().get(pk=token.request_id)
    if dsr.status != Status.AWAITING_VERIFICATION:
        raise TokenInvalid(gettext("This request is already verified."), reason="used")
    dsr.email_verified_at = now
    dsr.save(update_fields=["email_verified_at", "updated_at"])
    event_append(dsr=dsr, actor="requester", action="email_verified")
    if dsr.has_agent and dsr.authority_confirmed_at is None:
        authority_invite(dsr)
        return dsr
    return request_mark_verified(dsr=dsr, actor="requester")


@request_locked
def request_mark_verified(
    *, dsr: DataSubjectRequest, actor: str, verified_at: datetime | None = None
) -> DataSubjectRequest:
    """Identity (and an agent's authority) is proven: start the clock. What follows (gathering,
    or for a marketing opt-out carrying it out) is the workflow's (``requests_app.workflow``).
    ``verified_at``: when it was proven, if earlier than now (staff checked identity as they
    took the request)."""
    now = verified_at or timezone.now()
    start = deadlines.clock_start(
        jurisdiction=dsr.jurisdiction,
        received=timezone.localdate(dsr.received_at),
        verified=timezone.localdate(now),
    )
    dsr = transition(dsr, "verify", actor=actor, verified_at=now, clock_started_on=start)
    dsr.due_on = compute_due(dsr, extended=False)
    dsr.save(update_fields=["due_on", "updated_at"])
    # How identity was proven, as the email tells it: the person's own confirmation, staff's
    # check of an agent's authority, or staff's check as they logged a request by phone or post.
    how = "confirmed" if actor == "requester" else "authority" if dsr.has_agent else "logged"
    email_queue(
        template="verified",
        to=contact_email(dsr),
        dsr=dsr,
        context={
            "dsr": dsr,
            "status_url": status_link(dsr),
            "how": how,
            "made": CHANNEL_WORDS.get(dsr.channel, ""),
        },
    )
    return dsr


# "the request you made …": how it came, in the person's words.
CHANNEL_WORDS: dict[str, str | Promise] = {
    Channel.PHONE: _("by phone"),
    Channel.LETTER: _("by letter"),
    Channel.EMAIL: _("by email"),
    Channel.IN_PERSON: _("in person"),
    Channel.SOCIAL_MEDIA: _("on social media"),
}


@staff_action("confirm_authority")
def request_confirm_authority(
    *, dsr: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """Staff have seen proof that the agent may act.

    Once the email is verified too, the clock starts. With no proof uploaded, staff say what
    they saw (a letter by post, say): vouching for an agent is never silent. Whoever confirms it
    has prepared the response (``actions.ACTIONS``): another approver approves it.
    """
    uploaded = dsr.documents.filter(kind=DocumentKind.AUTHORITY, deleted_at__isnull=True).exists()
    if not uploaded and not reason.strip():
        raise RuleViolation(
            "No proof of authority has been uploaded: say what proof you have seen, and where "
            "it is kept.",
            field="reason",
        )
    dsr.authority_confirmed_at = timezone.now()
    dsr.save(update_fields=["authority_confirmed_at", "updated_at"])
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="authority_confirmed",
        payload={"reason": reason.strip()},
    )
    proof_decided(dsr=dsr, kinds=[DocumentKind.AUTHORITY])
    # identity proven by the email link, or checked by staff as they logged the request
    if dsr.email_verified_at is not None or dsr.identity_check:
        return request_mark_verified(dsr=dsr, actor=actor_label(actor))
    return dsr


def authority_invite(dsr: DataSubjectRequest) -> None:
    """Ask the agent for proof of their authority, with the link to the page to upload it."""
    email_queue(
        template="authority-needed",
        to=dsr.agent_email,
        dsr=dsr,
        context={
            "dsr": dsr,
            "status_url": status_link(dsr),
            "retention_days": settings.DSAR_PROOF_RETENTION_DAYS,
        },
    )


@staff_action("confirm_identity")
def request_confirm_identity(
    *, dsr: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """Staff have checked the proof of identity the person uploaded: it is due for deletion."""
    proof_decided(dsr=dsr, kinds=[DocumentKind.IDENTITY])
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="identity_confirmed",
        payload={"reason": reason.strip()},
    )
    return dsr
