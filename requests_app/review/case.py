"""Working a request: the clock (extend, hold for clarification, resume), withdrawal, who is
assigned, and internal notes. Each is a staff action checked against ``core/actions.py``."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from requests_app.core import deadlines
from requests_app.core.audit import event_append
from requests_app.core.errors import RuleViolation
from requests_app.core.lifecycle import compute_due, require_reason, transition
from requests_app.core.locking import staff_action
from requests_app.core.notifications import contact_email, email_queue
from requests_app.core.permissions import actor_label
from requests_app.intake.verification import status_link
from requests_app.models import (
    ClockPause,
    DataSubjectRequest,
    DocumentKind,
    Extension,
    MessageDirection,
    RequestMessage,
)


@staff_action("extend")
def request_extend(*, dsr: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """The one extension the law allows, before the deadline, with reasons told to the person."""
    reason = require_reason(reason)
    previous = dsr.due_on  # a deadline not yet passed, never extended: ``actions.can_extend``
    assert previous is not None
    Extension.objects.create(
        request=dsr,
        granted_at=timezone.now(),
        reason=reason,
        previous_due_on=previous,
        granted_by=actor,
    )
    dsr.due_on = compute_due(dsr, extended=True)
    dsr.save(update_fields=["due_on", "updated_at"])
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="extend",
        payload={
            "reason": reason,
            "previous_due_on": previous.isoformat(),
            "due_on": dsr.due_on.isoformat() if dsr.due_on else None,
        },
    )
    email_queue(
        template="extension",
        to=contact_email(dsr),
        dsr=dsr,
        context={"dsr": dsr, "reason": reason, "previous_due_on": previous},
    )
    return dsr


@staff_action("hold")
def request_hold(
    *, dsr: DataSubjectRequest, actor: User, question: str, proof: str = ""
) -> DataSubjectRequest:
    """Ask the person for clarification (or, ``proof="identity"``, for proof of identity): the
    clock pauses until they answer on their portal, where the question is shown."""
    question = require_reason(question)
    if proof not in {"", DocumentKind.IDENTITY}:
        raise RuleViolation("Proof asked for is of identity, or none.", field="proof")
    dsr = transition(
        dsr,
        "hold",
        actor=actor_label(actor),
        payload={"question": question, "proof": proof},
        held_from_status=dsr.status,
    )
    pause = ClockPause.objects.create(
        request=dsr, started_on=deadlines.today(), question=question, proof=proof, created_by=actor
    )
    RequestMessage.objects.create(
        request=dsr,
        direction=MessageDirection.TO_PERSON,
        body=question,
        author=actor_label(actor),
        pause=pause,
        created_at=timezone.now(),
    )
    email_queue(
        template="clarification",
        to=contact_email(dsr),
        dsr=dsr,
        context={
            "dsr": dsr,
            "question": question,
            "proof": proof,
            "status_url": status_link(dsr),
        },
    )
    return dsr


@staff_action("resume")
def request_resume(*, dsr: DataSubjectRequest, actor: User, reason: str = "") -> DataSubjectRequest:
    """The clarification arrived (by post, say): staff restart the clock."""
    return resumed(dsr, actor=actor_label(actor), reason=reason)


def resumed(dsr: DataSubjectRequest, *, actor: str, reason: str = "") -> DataSubjectRequest:
    """The clock restarts today and the due date moves on by the days paused (the caller holds
    the row locked: staff's ``request_resume``, or the person's reply on the portal)."""
    today = deadlines.today()
    pause = dsr.pauses.filter(ended_on__isnull=True).first()
    paused_days = (today - pause.started_on).days if pause else 0
    dsr = transition(
        dsr,
        "resume",
        actor=actor,
        payload={"reason": reason.strip(), "paused_days": paused_days},
        held_from_status="",
    )
    dsr.pauses.filter(ended_on__isnull=True).update(ended_on=today)
    dsr.due_on = compute_due(dsr)
    dsr.save(update_fields=["due_on", "updated_at"])
    return dsr


@staff_action("withdraw")
def request_withdraw(*, dsr: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Close the request as withdrawn (an approver, with a reason). The person is emailed: if
    they did not ask for it, they learn of it and can ask again."""
    return withdrawn(dsr, actor=actor_label(actor), reason=require_reason(reason))


def withdrawn(
    dsr: DataSubjectRequest, *, actor: str, reason: str, by_person: bool = False
) -> DataSubjectRequest:
    """Close the request as withdrawn, with the row locked (staff's ``request_withdraw``, or the
    person's own on the portal), and tell the person."""
    dsr = transition(dsr, "withdraw", actor=actor, payload={"reason": reason})
    dsr.pauses.filter(ended_on__isnull=True).update(ended_on=deadlines.today())
    email_queue(
        template="withdrawn",
        to=contact_email(dsr),
        dsr=dsr,
        context={"dsr": dsr, "reason": reason, "by_person": by_person},
    )
    return dsr


@staff_action("assign")
def request_assign(
    *, dsr: DataSubjectRequest, actor: User, assignee: User | None
) -> DataSubjectRequest:
    dsr.assignee = assignee
    dsr.save(update_fields=["assignee", "updated_at"])
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="assign",
        payload={"assignee": assignee.get_username() if assignee else None},
    )
    return dsr


@staff_action("note")
def request_note(*, dsr: DataSubjectRequest, actor: User, text: str) -> None:
    """An internal note on the timeline (staff only; purged with the request's personal data)."""
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="note",
        payload={"text": require_reason(text)},
    )
