"""What the person sees on their status page: plain words, no staff names, no personal data
beyond their own name."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from requests_app.models import DataSubjectRequest, RequestType, Restriction, Status

STATUS_WORDS = {
    Status.AWAITING_VERIFICATION: "We are waiting for you to confirm your email address.",
    Status.VERIFIED: "Your request is confirmed and we have started work on it.",
    Status.GATHERING: "We are searching our systems and our partners' for your information.",
    Status.IN_REVIEW: "Our privacy team is reviewing what we found.",
    Status.APPROVED: "Our privacy team has approved the response; we are preparing it.",
    Status.FULFILLING: "We are carrying out your request.",
    Status.COMPLETED: "Your request is complete.",
    Status.REJECTED: "We could not act on your request. We have emailed you the reason.",
    Status.WITHDRAWN: "This request was withdrawn.",
    Status.ON_HOLD: "We have asked you a question by email; the deadline is paused until you "
    "reply.",
    Status.EXPIRED: "This request was never confirmed, so it has been closed.",
}

EVENT_WORDS = {
    "received": "We received your request.",
    "email_verified": "You confirmed your email address.",
    "authority_confirmed": "We confirmed your agent's authority to act for you.",
    "verify": "Your request was confirmed and the deadline set.",
    "start_gathering": "We started searching for your information.",
    "finish_gathering": "The search finished and our privacy team started its review.",
    "approve": "The response was approved.",
    "start_fulfilment": "We started carrying out your request.",
    "complete": "Your request was completed.",
    "reject": "We could not act on your request (the reason was emailed to you).",
    "extend": "We extended the deadline (the reasons were emailed to you).",
    "hold": "We asked you a question; the deadline paused.",
    "resume": "Work resumed and the deadline moved on by the days it was paused.",
    "withdraw": "The request was withdrawn.",
    "expire": "The request was closed because it was never confirmed.",
    "restricted": "We restricted the use of your information (we emailed you where).",
    "restriction_lift_decided": "We told you we will lift the restriction, and why.",
    "restriction_lifted": "The restriction was lifted.",
    "objection_upheld": "We upheld your objection (the reason was emailed to you).",
}


def _restriction_words(dsr: DataSubjectRequest) -> str | None:
    """A completed restriction: whether it is still in force (the status alone cannot say)."""
    restriction = Restriction.objects.filter(request=dsr).first()
    if dsr.status != Status.COMPLETED or restriction is None:
        return None
    if restriction.lifted_at is not None:
        lifted = timezone.localtime(restriction.lifted_at)
        return f"The restriction was lifted on {lifted:%-d %B %Y}; we told you beforehand."
    if restriction.lift_decided_at is not None:
        return "We have told you that we will lift the restriction; it is in force until then."
    return (
        "Your request is complete: the restriction is in force. We will tell you before we lift it."
    )


def summary(dsr: DataSubjectRequest) -> dict[str, Any]:
    history = [
        {"at": event.at, "words": EVENT_WORDS[event.action]}
        for event in dsr.events.order_by("seq")
        if event.action in EVENT_WORDS
    ]
    return {
        "reference": dsr.reference,
        "name": dsr.requester_name,
        "type_label": RequestType(dsr.request_type).label,
        "status_words": _restriction_words(dsr) or STATUS_WORDS[Status(dsr.status)],
        "status_label": Status(dsr.status).label,
        "due_on": dsr.due_on if dsr.is_open else None,
        "paused": dsr.status == Status.ON_HOLD,
        "closed_at": dsr.closed_at,
        "history": history,
    }
