"""Working a request: the clock (extend, hold for clarification, resume), withdrawal, who is
assigned, and internal notes. Each is a staff action checked against ``core/actions.py``."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from requests_app.core import deadlines, lifecycle
from requests_app.core.audit import event_append
from requests_app.core.errors import IllegalTransition, RuleViolation
from requests_app.core.lifecycle import compute_due, require_reason, transition
from requests_app.core.locking import staff_action
from requests_app.core.notifications import contact_email, email_queue
from requests_app.core.permissions import actor_label
from requests_app.models import ClockPause, DataSubjectRequest, Extension


@staff_action("extend")
def request_extend(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """The one extension the law allows, before the deadline, with reasons told to the person."""
    reason = require_reason(reason)
    if request.due_on is None:
        raise IllegalTransition("This request has no deadline to extend yet.")
    try:
        deadlines.check_extension_allowed(
            already_extended=Extension.objects.filter(request=request).exists(),
            current_due=request.due_on,
            today=lifecycle.today(),
        )
    except deadlines.DeadlineError as exc:
        raise RuleViolation(str(exc)) from exc
    previous = request.due_on
    Extension.objects.create(
        request=request,
        granted_at=timezone.now(),
        reason=reason,
        previous_due_on=previous,
        granted_by=actor,
    )
    request.due_on = compute_due(request, extended=True)
    request.save(update_fields=["due_on", "updated_at"])
    event_append(
        request=request,
        actor=actor_label(actor),
        action="extend",
        payload={
            "reason": reason,
            "previous_due_on": previous.isoformat(),
            "due_on": request.due_on.isoformat() if request.due_on else None,
        },
    )
    email_queue(
        template="extension",
        to=contact_email(request),
        request=request,
        context={"request": request, "reason": reason, "previous_due_on": previous},
    )
    return request


@staff_action("hold")
def request_hold(*, request: DataSubjectRequest, actor: User, question: str) -> DataSubjectRequest:
    """Ask the person for clarification: the clock pauses until they answer."""
    question = require_reason(question)
    request = transition(
        request,
        "hold",
        actor=actor_label(actor),
        payload={"question": question},
        held_from_status=request.status,
    )
    ClockPause.objects.create(
        request=request, started_on=lifecycle.today(), question=question, created_by=actor
    )
    email_queue(
        template="clarification",
        to=contact_email(request),
        request=request,
        context={"request": request, "question": question},
    )
    return request


@staff_action("resume")
def request_resume(
    *, request: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """The clarification arrived: the clock restarts and the due date moves by the days paused."""
    request = transition(
        request,
        "resume",
        actor=actor_label(actor),
        payload={"reason": reason.strip()},
        held_from_status="",
    )
    request.pauses.filter(ended_on__isnull=True).update(ended_on=lifecycle.today())
    request.due_on = compute_due(request)
    request.save(update_fields=["due_on", "updated_at"])
    return request


@staff_action("withdraw")
def request_withdraw(
    *, request: DataSubjectRequest, actor: User, reason: str
) -> DataSubjectRequest:
    """Close the request as withdrawn (an approver, with a reason). The person is emailed: if
    they did not ask for it, they learn of it and can ask again."""
    reason = require_reason(reason)
    request = transition(request, "withdraw", actor=actor_label(actor), payload={"reason": reason})
    request.pauses.filter(ended_on__isnull=True).update(ended_on=lifecycle.today())
    email_queue(
        template="withdrawn",
        to=contact_email(request),
        request=request,
        context={"request": request, "reason": reason},
    )
    return request


@staff_action("assign")
def request_assign(
    *, request: DataSubjectRequest, actor: User, assignee: User | None
) -> DataSubjectRequest:
    request.assignee = assignee
    request.save(update_fields=["assignee", "updated_at"])
    event_append(
        request=request,
        actor=actor_label(actor),
        action="assign",
        payload={"assignee": assignee.get_username() if assignee else None},
    )
    return request


@staff_action("note")
def request_note(*, request: DataSubjectRequest, actor: User, text: str) -> None:
    """An internal note on the timeline (staff only; purged with the request's personal data)."""
    event_append(
        request=request,
        actor=actor_label(actor),
        action="note",
        payload={"text": require_reason(text)},
    )
