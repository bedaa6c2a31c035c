"""What the person sees on their portal (the status link): plain words, no staff names, no
internal words, no personal data beyond their own name; and what they can do there
(``review/portal.py``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from requests_app.models import (
    DataSubjectRequest,
    MessageDirection,
    RequestType,
    Restriction,
    Status,
)
from requests_app.review import portal

# Where it stands, as a heading and a sentence.
STATUS_WORDS = {
    Status.AWAITING_VERIFICATION: (
        "Waiting for you",
        "We are waiting for you to confirm your email address.",
    ),
    Status.VERIFIED: ("Started", "Your request is confirmed and we have started work on it."),
    Status.GATHERING: (
        "Searching",
        "We are searching our systems and our partners' for your information.",
    ),
    Status.IN_REVIEW: ("Being checked", "Our privacy team is checking what we found."),
    Status.READY_FOR_APPROVAL: (
        "Being checked",
        "Our privacy team is checking what we found, and a second person is approving it.",
    ),
    Status.APPROVED: (
        "Approved",
        "Our privacy team has approved the response; we are preparing it.",
    ),
    Status.FULFILLING: ("Under way", "We are carrying out your request."),
    Status.COMPLETED: ("Done", "Your request is complete."),
    Status.REJECTED: (
        "Closed",
        "We could not act on your request. We have emailed you the reason.",
    ),
    Status.WITHDRAWN: ("Withdrawn", "This request was withdrawn."),
    Status.ON_HOLD: (
        "Waiting for your answer",
        "We have asked you a question (below); the deadline is paused until you answer.",
    ),
    Status.EXPIRED: ("Closed", "This request was never confirmed, so it has been closed."),
}
AWAITING_AUTHORITY = (
    "Waiting for proof",
    "We need proof that you may act for the person before we start: upload it below.",
)
AT_ONCE_WORDS = {
    Status.VERIFIED: ("Under way", "We are stopping all marketing to you now."),
    Status.FULFILLING: ("Under way", "We are stopping all marketing to you now."),
}

EVENT_WORDS = {
    "received": "We received your request.",
    "email_verified": "You confirmed your email address.",
    "authority_confirmed": "We confirmed your agent's authority to act for you.",
    "verify": "We started work on your request and set its deadline.",
    "start_gathering": "We started searching for your information.",
    "finish_gathering": "The search finished and our privacy team started its review.",
    "approve": "The response was approved.",
    "start_fulfilment": "We started carrying out your request.",
    "start_opt_out": "We started stopping marketing to you.",
    "complete": "Your request was completed.",
    "reject": "We could not act on your request (the reason was emailed to you).",
    "extend": "We extended the deadline (the reasons were emailed to you).",
    "hold": "We asked you a question; the deadline paused.",
    "reply_received": "You answered our question.",
    "resume": "Work resumed and the deadline moved on by the days it was paused.",
    "withdraw": "The request was withdrawn.",
    "expire": "The request was closed because it was never confirmed.",
    "exports_released": "Your files were released to you.",
    "link_requested": "You asked for a new download link.",
    "download_link_reissued": "We sent you a new download link.",
    "document_deleted": "A document you sent us was deleted, as we promised.",
    "restricted": "We restricted the use of your information (we emailed you where).",
    "restriction_lift_decided": "We told you we will lift the restriction, and why.",
    "restriction_lifted": "The restriction was lifted.",
    "objection_upheld": "We upheld your objection (the reason was emailed to you).",
}

# Said together, once: the person's confirmation that starts the clock at the same moment.
MERGED = {
    ("email_verified", "verify"): "You confirmed your email address, and we started work on "
    "your request.",
    ("authority_confirmed", "verify"): "We confirmed your agent's authority to act for you, and "
    "started work on your request.",
    ("reply_received", "resume"): "You answered our question, and work resumed (the deadline "
    "moved on by the days it was paused).",
}


def history(dsr: DataSubjectRequest) -> list[dict[str, Any]]:
    """What happened, in the person's words, each thing said once."""
    lines: list[dict[str, Any]] = []
    previous = ""
    for event in dsr.events.order_by("seq"):
        if event.action not in EVENT_WORDS:
            continue
        merged = MERGED.get((previous, event.action))
        if merged:
            lines[-1] = {"at": event.at, "words": merged}
        else:
            lines.append({"at": event.at, "words": EVENT_WORDS[event.action]})
        previous = event.action
    return lines


def where_it_stands(dsr: DataSubjectRequest) -> tuple[str, str]:
    if portal.awaits_authority(dsr) and dsr.email_verified_at is not None:
        return AWAITING_AUTHORITY
    if dsr.at_once and dsr.status in AT_ONCE_WORDS:
        return AT_ONCE_WORDS[Status(dsr.status)]
    restriction = _restriction_words(dsr)
    if restriction:
        return restriction
    return STATUS_WORDS[Status(dsr.status)]


def _restriction_words(dsr: DataSubjectRequest) -> tuple[str, str] | None:
    """A completed restriction: whether it is still in force (the status alone cannot say)."""
    restriction = Restriction.objects.filter(request=dsr).first()
    if dsr.status != Status.COMPLETED or restriction is None:
        return None
    if restriction.lifted_at is not None:
        lifted = timezone.localtime(restriction.lifted_at)
        return (
            "Lifted",
            f"The restriction was lifted on {lifted:%-d %B %Y}; we told you beforehand.",
        )
    if restriction.lift_decided_at is not None:
        return (
            "In force until lifted",
            "We have told you that we will lift the restriction; it is in force until then.",
        )
    return (
        "In force",
        "Your request is complete: the restriction is in force. We will tell you before we lift it.",
    )


def summary(dsr: DataSubjectRequest) -> dict[str, Any]:
    heading, words = where_it_stands(dsr)
    question = portal.open_question(dsr)
    link = portal.live_link(dsr)
    files = portal.released_files(dsr) if link is not None else []
    return {
        "dsr": dsr,
        "reference": dsr.reference,
        "name": dsr.requester_name,
        "type_label": RequestType(dsr.request_type).label,
        "status_heading": heading,
        "status_words": words,
        "due_on": dsr.due_on if dsr.is_open and not dsr.at_once else None,
        "paused": dsr.status == Status.ON_HOLD,
        "closed_at": dsr.closed_at,
        "history": history(dsr),
        "question": question,
        "awaits_authority": portal.awaits_authority(dsr),
        # the PDF first: the easiest to read
        "files": sorted(files, key=lambda e: (e.format != "pdf", e.format)),
        "link": link,
        "downloads_left": link.max_downloads - link.downloads if link else 0,
        "may_ask_for_link": portal.may_ask_for_link(dsr),
        "link_asked": portal.link_requested_since_last(dsr),
        "may_withdraw": dsr.status in portal.WITHDRAWABLE,
        "conversation": [
            {
                "ours": m.direction == MessageDirection.TO_PERSON,
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
