"""Objection (UK GDPR Article 21) to processing other than direct marketing: staff decide it like
any reviewed request. Refused, the person gets the reason and their right to complain to the ICO
(``review.decisions.request_reject``); upheld, the request completes here and the person is told
the reason the approver gave (an objection to direct marketing never comes here: it is carried out
as a marketing opt-out, ``workflow.route_of``)."""

from __future__ import annotations

from requests_app.core.audit import event_append
from requests_app.core.lifecycle import request_complete
from requests_app.core.notifications import contact_email, email_queue
from requests_app.models import DataSubjectRequest


def objection_uphold(dsr: DataSubjectRequest) -> None:
    """The route's ``fulfil``: with the row locked, as it starts fulfilling. Nothing in the stores
    changes by itself (the purpose is the person's words): the approver's reason, which approving
    an objection requires (``actions.ACTIONS``), says what stops."""
    approved = dsr.events.filter(action="approve").order_by("-seq").first()
    reason = str(approved.payload.get("reason", "")) if approved is not None else ""
    dsr = request_complete(dsr=dsr)
    event_append(dsr=dsr, actor="system", action="objection_upheld", payload={"reason": reason})
    email_queue(
        template="objection-upheld",
        to=contact_email(dsr),
        dsr=dsr,
        context={"dsr": dsr, "reason": reason},
    )
