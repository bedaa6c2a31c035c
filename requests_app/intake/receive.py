"""Intake: the one place a new request is validated and created, for the form and the API alike."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, validate_email
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from requests_app.core.audit import event_append
from requests_app.core.notifications import contact_email, email_queue
from requests_app.intake.verification import status_link, verification_link
from requests_app.models import (
    OPEN_STATUSES,
    Correction,
    DataSubjectRequest,
    Jurisdiction,
    ObjectionScope,
    ReferenceCounter,
    RequestType,
    Status,
)
from smarct_dsar.crypto import keyed_hash

# Characters allowed in free text besides printable ones: tab, line feed, carriage return.
_MULTILINE_OK = {"\t", "\n", "\r"}
# Invisible formatting (Unicode Cf: zero-width spaces, direction marks and overrides, byte-order
# marks) hides or reorders text; only the two joiners that Persian, Indic and other scripts need
# to spell names are allowed.
_JOINERS = {"\u200c", "\u200d"}


# Characters that show nothing though they are letters or marks (Unicode's default-ignorable
# code points outside Cf: Hangul fillers, the combining grapheme joiner, variation selectors,
# Mongolian free variation selectors, Khmer invisible vowels), and the blank braille pattern.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)


def _invisible(char: str) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in _INVISIBLE_RANGES)


def reject_control_characters(value: str, *, multiline: bool = False) -> None:
    """Refuse control characters (NUL, escape, bidi overrides …) that have no place in a name."""
    for char in value:
        if multiline and char in _MULTILINE_OK:
            continue
        category = unicodedata.category(char)
        if (
            category in {"Cc", "Cs", "Co", "Zl", "Zp"}
            or (category == "Cf" and char not in _JOINERS)
            or _invisible(char)
        ):
            raise ValidationError(
                gettext(
                    "Contains a control character (such as a line break or an invisible "
                    "formatting mark); please remove it."
                ),
                code="control_character",
            )


def single_line(value: str) -> None:
    reject_control_characters(value)


def multi_line(value: str) -> None:
    reject_control_characters(value, multiline=True)


phone_validator = RegexValidator(
    r"^\+?[0-9 ()\-.]{6,40}$",
    gettext_lazy("Enter a phone number of digits, spaces and + ( ) - only."),
)


# A local part that needs no quotes (RFC 5322's dot-atom): "dan"@ is dan@.
_DOT_ATOM = re.compile(r"[a-z0-9!#$%&'*/=?^_`{|}~+-]+(\.[a-z0-9!#$%&'*/=?^_`{|}~+-]+)*")


def _unquoted(local: str) -> str:
    """``"dan"`` and ``"d\\an"`` are ``dan``; a quoted part that needs its quotes stays."""
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        inner = re.sub(r"\\(.)", r"\1", local[1:-1])
        if _DOT_ATOM.fullmatch(inner):
            return inner
    return local


def email_key(value: str) -> str:
    """One mailbox, however it is written: lower-cased, quotes that change nothing removed
    (``"dan"@`` is ``dan@``), the sub-address dropped (``bob+x@`` is ``bob@``). Duplicates and
    the per-address limit count by it; emails still go to the address as given. (Providers that
    ignore dots are not folded: that is each provider's own rule.)"""
    local, _, domain = value.strip().lower().rpartition("@")
    if not local:
        return value.strip().lower()
    return f"{_unquoted(local).split('+', 1)[0]}@{domain}"


def normalise_email(value: str) -> str:
    """Trim, and lower-case the domain (the local part is case-sensitive in principle)."""
    value = value.strip()
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}" if local else value


@dataclass(frozen=True)
class CorrectionInput:
    field: str
    corrected_value: str
    current_value: str = ""


@dataclass(frozen=True)
class Submission:
    request_type: str
    name: str
    email: str
    phone: str = ""
    company: str = ""
    details: str = ""
    jurisdiction: str = Jurisdiction.UK_GDPR
    agent_name: str = ""
    agent_email: str = ""
    agent_relationship: str = ""
    corrections: list[CorrectionInput] = field(default_factory=list)
    channel: str = "web"
    # Ticked "acting for someone else": the agent's name, email and relationship are needed.
    acting_for_someone: bool = False
    objection_scope: str = ""  # an objection's: ObjectionScope
    grounds: str = ""  # why: an objection to other processing, a restriction
    # What the person is written to in (``settings.LANGUAGES``); "" is the default, English.
    language: str = ""


def submission_errors(data: Submission) -> dict[str, list[str]]:
    """Rules across fields, shared by the form and the API. Empty when the submission is fine."""
    errors: dict[str, list[str]] = {}
    if data.request_type == RequestType.RECTIFICATION and not data.corrections:
        errors["corrections"] = [
            gettext("List at least one field to correct and its correct value.")
        ]
    if data.request_type != RequestType.RECTIFICATION and data.corrections:
        errors["corrections"] = [
            gettext("Corrections can only be given with a correction request.")
        ]
    if len(data.corrections) > settings.DSAR_MAX_CORRECTIONS:
        errors["corrections"] = [
            gettext("At most %(count)s corrections per request.")
            % {"count": settings.DSAR_MAX_CORRECTIONS}
        ]
    errors.update(_objection_errors(data))
    if data.language and data.language not in dict(settings.LANGUAGES):
        errors["language"] = [gettext("Choose English or Welsh.")]
    agent = [data.agent_name, data.agent_email, data.agent_relationship]
    if (data.acting_for_someone or any(agent)) and not all(agent):
        for name, value in zip(
            ("agent_name", "agent_email", "agent_relationship"), agent, strict=True
        ):
            if not value:
                errors[name] = [gettext("Needed when you act on someone else's behalf.")]
    if data.agent_email:
        try:
            validate_email(data.agent_email)
        except ValidationError:
            errors["agent_email"] = [gettext("Enter a valid email address.")]
        if normalise_email(data.agent_email).lower() == normalise_email(data.email).lower():
            errors["agent_email"] = [
                gettext("An agent's email must differ from the person's email.")
            ]
    return errors


def _objection_errors(data: Submission) -> dict[str, list[str]]:
    """An objection says what it is to; one to other processing, and a restriction, say why
    (staff decide them on those grounds)."""
    errors: dict[str, list[str]] = {}
    if data.request_type == RequestType.OBJECTION:
        if data.objection_scope not in ObjectionScope.values:
            errors["objection_scope"] = [
                gettext("Say what you object to: direct marketing, or another use of your data.")
            ]
    elif data.objection_scope:
        errors["objection_scope"] = [gettext("Give what you object to only with an objection.")]
    needs_grounds = data.request_type == RequestType.RESTRICTION or (
        data.request_type == RequestType.OBJECTION and data.objection_scope == ObjectionScope.OTHER
    )
    if needs_grounds and not data.grounds.strip():
        errors["grounds"] = [
            gettext("Tell us why, so that we can decide: we reply with our reasons.")
        ]
    return errors


@dataclass(frozen=True)
class SubmissionResult:
    dsr: DataSubjectRequest
    created: bool


def _next_reference(year: int) -> str:
    ReferenceCounter.objects.get_or_create(year=year)
    ReferenceCounter.objects.filter(year=year).update(last=F("last") + 1)
    number = ReferenceCounter.objects.get(year=year).last
    return f"DSR-{year}-{number:06d}"


def serialise_by_address(email: str) -> None:
    """Submissions for one address must take turns, or two at once both pass the duplicate check.
    SQLite already runs one write transaction at a time (BEGIN IMMEDIATE); PostgreSQL takes a
    transaction-scoped advisory lock on the address's keyed hash."""
    if connection.vendor == "postgresql":
        key = int(keyed_hash(email.lower(), purpose="intake-lock")[:15], 16)  # fits a bigint
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def open_duplicate(data: Submission) -> DataSubjectRequest | None:
    """The same request from the same contact: the person's own for the person's own, one agent's
    for that agent's. Submissions from different contacts are never merged (an agent's request
    cannot swallow the person's, nor send the person's link to the agent)."""
    since = timezone.now() - timedelta(days=settings.DSAR_DUPLICATE_WINDOW_DAYS)
    return (
        DataSubjectRequest.objects.filter(
            requester_email_key=email_key(data.email),
            agent_email__lower=data.agent_email.lower(),
            request_type=data.request_type,
            # an objection to direct marketing is never swallowed by one to something else
            objection_scope=data.objection_scope,
            status__in=OPEN_STATUSES,
            received_at__gte=since,
        )
        .order_by("-received_at")
        .first()
    )


@transaction.atomic
def request_receive(*, data: Submission) -> SubmissionResult:
    """Create the request and email a verification link; or, for an open duplicate, tell the
    person about the one they already have (re-sending its verification link if unverified)."""
    data = replace(
        data,
        email=normalise_email(data.email),
        agent_email=normalise_email(data.agent_email) if data.agent_email else "",
    )
    serialise_by_address(email_key(data.email))
    existing = open_duplicate(data)
    if existing is not None:
        _tell_about_existing(existing)
        return SubmissionResult(dsr=existing, created=False)
    dsr = request_create(data, received_at=timezone.now(), actor="requester")
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
    agent_notice(dsr)
    return SubmissionResult(dsr=dsr, created=True)


def request_create(
    data: Submission, *, received_at: datetime, actor: str, **recorded: Any
) -> DataSubjectRequest:
    """Create the request, its corrections and its ``received`` event (in the caller's
    transaction; ``recorded``: staff intake's fields)."""
    dsr = DataSubjectRequest.objects.create(
        reference=_next_reference(timezone.localdate(received_at).year),
        request_type=data.request_type,
        jurisdiction=data.jurisdiction,
        requester_name=data.name.strip(),
        requester_email=data.email,
        requester_email_key=email_key(data.email),
        requester_phone=data.phone.strip(),
        requester_company=data.company.strip(),
        agent_name=data.agent_name.strip(),
        agent_email=data.agent_email,
        agent_relationship=data.agent_relationship.strip(),
        details=data.details.strip(),
        objection_scope=data.objection_scope,
        grounds=data.grounds.strip(),
        channel=data.channel,
        language=data.language or settings.LANGUAGE_CODE,
        received_at=received_at,
        **recorded,
    )
    Correction.objects.bulk_create(
        Correction(
            request=dsr,
            position=i,
            field=c.field.strip(),
            current_value=c.current_value.strip(),
            corrected_value=c.corrected_value.strip(),
        )
        for i, c in enumerate(data.corrections, start=1)
    )
    event_append(
        dsr=dsr,
        actor=actor,
        action="received",
        to_status=dsr.status,
        payload={"channel": data.channel, "type": data.request_type},
    )
    return dsr


def agent_notice(dsr: DataSubjectRequest) -> None:
    """The person is told that someone asked in their name (no link: the request is the
    agent's, and stays a separate one from any the person makes)."""
    if dsr.has_agent:
        email_queue(template="agent-notice", to=dsr.requester_email, dsr=dsr, context={"dsr": dsr})


def _tell_about_existing(existing: DataSubjectRequest) -> None:
    if existing.status == Status.AWAITING_VERIFICATION:
        context = {
            "dsr": existing,
            "verify_url": verification_link(existing),
            "ttl_days": settings.DSAR_VERIFICATION_TTL_DAYS,
            "resent": True,
        }
        email_queue(template="verify", to=contact_email(existing), dsr=existing, context=context)
    else:
        email_queue(
            template="duplicate",
            to=contact_email(existing),
            dsr=existing,
            context={"dsr": existing, "status_url": status_link(existing)},
        )
    event_append(dsr=existing, actor="requester", action="duplicate_submission")
