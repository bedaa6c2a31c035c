"""What the person sees on their portal (the status link): plain words, no staff names, no
internal words, no personal data beyond their own name; and what they can do there
(``review/portal.py``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports_app.gone import files_gone
from exports_app.models import RECORD_FORMATS, DownloadLink, Export
from exports_app.services import download_resolve_link, live_link
from requests_app.core.errors import TokenInvalid
from requests_app.models import (
    DataSubjectRequest,
    DocumentKind,
    MessageDirection,
    ProcessorNotice,
    RequestType,
    Restriction,
    Status,
)
from requests_app.review import portal

# Where it stands, as a heading and a sentence (translated when the page is rendered).
Words = tuple[str | Promise, str | Promise]
STATUS_WORDS = {
    Status.AWAITING_VERIFICATION: (
        _("Waiting for you"),
        _("We are waiting for you to confirm your email address."),
    ),
    Status.VERIFIED: (_("Started"), _("Your request is confirmed and we have started work on it.")),
    Status.GATHERING: (
        _("Searching"),
        _("We are searching our systems and our partners' for your information."),
    ),
    Status.IN_REVIEW: (_("Being checked"), _("Our privacy team is checking what we found.")),
    Status.READY_FOR_APPROVAL: (
        _("Being checked"),
        _("Our privacy team is checking what we found, and a second person is approving it."),
    ),
    Status.APPROVED: (
        _("Approved"),
        _("Our privacy team has approved the response; we are preparing it."),
    ),
    Status.FULFILLING: (_("Under way"), _("We are carrying out your request.")),
    Status.COMPLETED: (_("Done"), _("Your request is complete.")),
    Status.REJECTED: (
        _("Closed"),
        _("We could not act on your request. We have emailed you the reason."),
    ),
    Status.WITHDRAWN: (_("Withdrawn"), _("This request was withdrawn.")),
    Status.ON_HOLD: (
        _("Waiting for your answer"),
        _("We have asked you a question (below); the deadline is paused until you answer."),
    ),
    Status.EXPIRED: (_("Closed"), _("This request was never confirmed, so it has been closed.")),
}
AWAITING_AUTHORITY: Words = (
    _("Waiting for proof"),
    _("We need proof that you may act for the person before we start: upload it below."),
)
PROOF_BEING_CHECKED = (
    _("Checking your proof"),
    _("We have your proof and are checking it. We will email you when we have."),
)
AT_ONCE_WORDS = {
    Status.VERIFIED: (_("Under way"), _("We are stopping all marketing to you now.")),
    Status.FULFILLING: (_("Under way"), _("We are stopping all marketing to you now.")),
}

EVENT_WORDS = {
    "received": _("We received your request."),
    "email_verified": _("You confirmed your email address."),
    "authority_confirmed": _("We confirmed your agent's authority to act for you."),
    "verify": _("We started work on your request and set its deadline."),
    "start_gathering": _("We started searching for your information."),
    "finish_gathering": _("The search finished and our privacy team started its review."),
    "approve": _("The response was approved."),
    "start_fulfilment": _("We started carrying out your request."),
    "start_opt_out": _("We started stopping marketing to you."),
    "complete": _("Your request was completed."),
    "reject": _("We could not act on your request (the reason was emailed to you)."),
    "extend": _("We extended the deadline (the reasons were emailed to you)."),
    "hold": _("We asked you a question; the deadline paused."),
    "reply_received": _("You answered our question."),
    "resume": _("Work resumed and the deadline moved on by the days it was paused."),
    "resume_same_day": _("Work resumed."),
    "withdraw": _("The request was withdrawn."),
    "expire": _("The request was closed because it was never confirmed."),
    "exports_released": _("Your files were released to you."),
    "link_requested": _("You asked for a new download link."),
    "download_link_reissued": _("We sent you a new download link."),
    "document_deleted": _("A document you sent us was deleted, as we promised."),
    "restricted": _("We restricted the use of your information (we emailed you where)."),
    "restriction_lift_decided": _("We told you we will lift the restriction, and why."),
    "restriction_lifted": _("The restriction was lifted."),
    "objection_upheld": _("We upheld your objection (the reason was emailed to you)."),
}

# Said together, once: the person's confirmation that starts the clock at the same moment.
MERGED = {
    ("email_verified", "verify"): _(
        "You confirmed your email address, and we started work on your request."
    ),
    ("authority_confirmed", "verify"): _(
        "We confirmed your agent's authority to act for you, and started work on your request."
    ),
    ("reply_received", "resume"): _(
        "You answered our question, and work resumed (the deadline "
        "moved on by the days it was paused)."
    ),
    ("reply_received", "resume_same_day"): _("You answered our question, and work resumed."),
}
# The same, told to an agent (who holds the status link when one acts for the person).
AGENT_WORDS = {
    "authority_confirmed": _("We confirmed your authority to act for them."),
    ("authority_confirmed", "verify"): _(
        "We confirmed your authority to act for them, and started work on the request."
    ),
}


def _action(event: Any) -> str:
    """The event's action, as the person's words tell it apart: a resume after no day paused
    does not say the deadline moved."""
    if event.action == "resume" and event.payload.get("paused_days") == 0:
        return "resume_same_day"
    return str(event.action)


def history(dsr: DataSubjectRequest) -> list[dict[str, Any]]:
    """What happened, in the person's words, each thing said once."""
    words: dict[Any, Any] = {**EVENT_WORDS, **MERGED}
    if dsr.has_agent:
        words.update(AGENT_WORDS)
    lines: list[dict[str, Any]] = []
    previous = ""
    for event in dsr.events.order_by("seq"):
        action = _action(event)
        if action not in words:
            continue
        # a request logged by staff was received when the person called or wrote, not when
        # it was typed in
        at = dsr.received_at if action == "received" else event.at
        if (previous, action) in words:
            lines[-1] = {"at": at, "words": words[(previous, action)]}
        else:
            lines.append({"at": at, "words": words[action]})
        previous = action
    return lines


def where_it_stands(dsr: DataSubjectRequest) -> Words:
    if portal.awaits_authority(dsr) and dsr.email_verified_at is not None:
        if dsr.documents.filter(kind=DocumentKind.AUTHORITY).exists():
            return PROOF_BEING_CHECKED
        return AWAITING_AUTHORITY
    if dsr.at_once and dsr.status in AT_ONCE_WORDS:
        return AT_ONCE_WORDS[Status(dsr.status)]
    restriction = _restriction_words(dsr)
    if restriction:
        return restriction
    unconfirmed = _unconfirmed(dsr)
    if unconfirmed:
        return unconfirmed
    return STATUS_WORDS[Status(dsr.status)]


def _restriction_words(dsr: DataSubjectRequest) -> Words | None:
    """A completed restriction: whether it is still in force (the status alone cannot say)."""
    restriction = Restriction.objects.filter(request=dsr).first()
    if dsr.status != Status.COMPLETED or restriction is None:
        return None
    if restriction.lifted_at is not None:
        lifted = date_format(timezone.localtime(restriction.lifted_at), "j F Y")
        return (
            _("Lifted"),
            gettext("The restriction was lifted on %(date)s; we told you beforehand.")
            % {"date": lifted},
        )
    if restriction.lift_decided_at is not None:
        return (
            _("In force until lifted"),
            _("We have told you that we will lift the restriction; it is in force until then."),
        )
    return (
        _("In force"),
        _(
            "Your request is complete: the restriction is in force. We will tell you before we "
            "lift it."
        ),
    )


def portal_files(link: DownloadLink) -> list[tuple[Export, int]]:
    """The files the live link reaches (the person's data, or an erasure's certificate and its
    signature), in delivery order (the PDF first), each with its downloads left."""
    try:
        delivery = download_resolve_link(link)
    except TokenInvalid:  # the files went since the link was found
        return []
    return [(e, delivery.left[e.format]) for e in delivery.exports]


def _unconfirmed(dsr: DataSubjectRequest) -> Words | None:
    """A completed request whose Article 19 recipients have not all confirmed: done in our
    systems, not yet everywhere; each organisation still awaited named once."""
    if dsr.status != Status.COMPLETED:
        return None
    waiting = ProcessorNotice.objects.filter(request=dsr, confirmed_at__isnull=True)
    organisations = sorted(set(waiting.values_list("organisation", flat=True)))
    if not organisations:
        return None
    return (
        _("Done in our systems"),
        gettext(
            "We have carried out your request in our own systems. Not yet confirmed by the "
            "organisations we share your data with: %(organisations)s. We have asked them to act "
            "on it, and we remind them until they confirm."
        )
        % {"organisations": ", ".join(organisations)},
    )


def summary(dsr: DataSubjectRequest) -> dict[str, Any]:
    heading, words = where_it_stands(dsr)
    question = portal.open_question(dsr)
    link = live_link(dsr)
    files = portal_files(link) if link is not None else []
    return {
        "dsr": dsr,
        "reference": dsr.reference,
        "name": dsr.contact_name,
        "person": dsr.requester_name,
        "proof_sent": dsr.documents.filter(kind=DocumentKind.AUTHORITY).exists(),
        "type_label": RequestType(dsr.request_type).label,
        "status_heading": heading,
        "status_words": words,
        "due_on": dsr.due_on if dsr.is_open and not dsr.at_once else None,
        "paused": dsr.status == Status.ON_HOLD,
        "closed_at": dsr.closed_at,
        "history": history(dsr),
        "question": question,
        "awaits_authority": portal.awaits_authority(dsr),
        "files": files,
        "certificate": any(e.format in RECORD_FORMATS for e, _left in files),
        "kept": dsr.exports.filter(
            format__in=RECORD_FORMATS, file_deleted_at__isnull=True
        ).exists(),
        "gone": files_gone(dsr),
        "link": link,
        "may_ask_for_link": portal.may_ask_for_link(dsr),
        "link_asked": portal.link_requested_since_last(dsr),
        "may_withdraw": dsr.status in portal.WITHDRAWABLE,
        "conversation": [
            {
                "ours": m.direction == MessageDirection.TO_PERSON,
                "answer": m.pause_id is not None,
                "at": m.created_at,
                "body": m.body,
                "files": [d for d in m.documents.all()],
            }
            # the open question is shown once, above, with the answer box
            for m in dsr.messages.prefetch_related("documents")
            if question is None or m.pk != question.pk
        ],
        "max_mb": settings.DSAR_DOCUMENT_MAX_BYTES // (1024 * 1024),
        "max_files": settings.DSAR_DOCUMENTS_PER_UPLOAD,
        "proof_days": settings.DSAR_PROOF_RETENTION_DAYS,
    }
