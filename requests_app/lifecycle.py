"""The request lifecycle: one explicit state machine, one service per transition.

    awaiting_verification → verified → gathering → in_review → approved → fulfilling → completed
    with rejected, withdrawn, on_hold (clarification; the clock pauses) and expired.

Every service locks the request row, checks the current status against ``TRANSITIONS``,
refuses an illegal move with ``IllegalTransition``, makes the change and appends an event to
the audit chain, all in one transaction. Emails and tasks are queued for after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from requests_app import deadlines
from requests_app.audit import event_append
from requests_app.errors import IllegalTransition, RuleViolation
from requests_app.models import (
    OPEN_STATUSES,
    ClockPause,
    DataSubjectRequest,
    Extension,
    RequestType,
    Status,
)
from requests_app.notifications import email_queue

S = Status


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: back to the status the request was held from


TRANSITIONS: dict[str, Transition] = {
    "verify": Transition(frozenset({S.AWAITING_VERIFICATION}), S.VERIFIED),
    "start_gathering": Transition(frozenset({S.VERIFIED}), S.GATHERING),
    "finish_gathering": Transition(frozenset({S.GATHERING}), S.IN_REVIEW),
    "approve": Transition(frozenset({S.IN_REVIEW}), S.APPROVED),
    # The data map changed after approval so that the erasure plan differs: approve again.
    "replan": Transition(frozenset({S.APPROVED, S.FULFILLING}), S.IN_REVIEW),
    "start_fulfilment": Transition(frozenset({S.APPROVED}), S.FULFILLING),
    # A marketing opt-out needs no review: straight from verified to carrying it out.
    "start_opt_out": Transition(frozenset({S.VERIFIED}), S.FULFILLING),
    "complete": Transition(frozenset({S.FULFILLING}), S.COMPLETED),
    "reject": Transition(
        frozenset({S.AWAITING_VERIFICATION, S.VERIFIED, S.GATHERING, S.IN_REVIEW, S.ON_HOLD}),
        S.REJECTED,
    ),
    "hold": Transition(frozenset({S.VERIFIED, S.GATHERING, S.IN_REVIEW}), S.ON_HOLD),
    "resume": Transition(frozenset({S.ON_HOLD}), None),
    "withdraw": Transition(frozenset(OPEN_STATUSES), S.WITHDRAWN),
    "expire": Transition(frozenset({S.AWAITING_VERIFICATION}), S.EXPIRED),
}
CLOSING = frozenset({S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.EXPIRED})

# What staff may do from the dashboard and API (the rest are the system's own moves).
STAFF_ACTIONS = (
    "approve",
    "reject",
    "extend",
    "hold",
    "resume",
    "withdraw",
    "assign",
    "confirm_authority",
)


def actor_label(user: User | None) -> str:
    return f"staff:{user.get_username()}" if user is not None else "system"


def allowed_actions(request: DataSubjectRequest) -> list[str]:
    """The staff actions the request's current status allows, for the API and the dashboard."""
    actions = [
        a for a in STAFF_ACTIONS if a in TRANSITIONS and request.status in TRANSITIONS[a].sources
    ]
    if request.request_type == RequestType.MARKETING_OPT_OUT and "reject" in actions:
        actions.remove("reject")
    if request.is_open:
        actions.append("assign")
    if request.status in {S.VERIFIED, S.GATHERING, S.IN_REVIEW} and not hasattr(
        request, "extension"
    ):
        actions.append("extend")
    if (
        request.status == S.AWAITING_VERIFICATION
        and request.has_agent
        and request.authority_confirmed_at is None
    ):
        actions.append("confirm_authority")
    return [a for a in STAFF_ACTIONS if a in actions]


def _lock(request: DataSubjectRequest) -> DataSubjectRequest:
    return DataSubjectRequest.objects.select_for_update().get(pk=request.pk)


def _transition(
    request: DataSubjectRequest,
    action: str,
    *,
    actor: str,
    payload: dict[str, Any] | None = None,
    **changes: Any,
) -> DataSubjectRequest:
    """Check, apply and record one move. Call inside a transaction."""
    locked = _lock(request)
    rule = TRANSITIONS[action]
    if locked.status not in rule.sources:
        raise IllegalTransition(
            f"Cannot {action.replace('_', ' ')} a request that is "
            f"{Status(locked.status).label.lower()}."
        )
    from_status = locked.status
    target = rule.target or locked.held_from_status
    locked.status = target
    if target in CLOSING:
        locked.closed_at = timezone.now()
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save()
    event_append(
        request=locked,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=target,
        payload=payload,
    )
    return locked


def _require_reason(reason: str, field: str = "reason") -> str:
    reason = reason.strip()
    if not reason:
        raise RuleViolation("A reason is required for this action.", field=field)
    return reason


def today() -> dt.date:
    return timezone.localdate()


def _pauses(request: DataSubjectRequest) -> list[tuple[dt.date, dt.date | None]]:
    return list(request.pauses.values_list("started_on", "ended_on"))


def compute_due(request: DataSubjectRequest, *, extended: bool | None = None) -> dt.date | None:
    """The due date from the clock start, pauses and extension, under the request's rules."""
    if request.clock_started_on is None:
        return None
    return deadlines.due_date(
        jurisdiction=request.jurisdiction,
        clock_start=request.clock_started_on,
        pauses=_pauses(request),
        extended=hasattr(request, "extension") if extended is None else extended,
        today=today(),
        subdivision=settings.DSAR_UK_HOLIDAY_SUBDIVISION,
    )


def contact_email(request: DataSubjectRequest) -> str:
    """Who we write to: the agent when one acts for the person, else the person."""
    return request.agent_email or request.requester_email


# --- Verification and the system's own moves -------------------------------------------------


@transaction.atomic
def request_mark_verified(*, request: DataSubjectRequest, actor: str) -> DataSubjectRequest:
    """Identity (and an agent's authority) is proven: start the clock and queue gathering (or,
    for a marketing opt-out, carrying it out)."""
    from requests_app import verification
    from requests_app.tasks import fulfil_opt_out, start_gathering

    now = timezone.now()
    start = deadlines.clock_start(
        jurisdiction=request.jurisdiction,
        received=timezone.localdate(request.received_at),
        verified=timezone.localdate(now),
    )
    request = _transition(request, "verify", actor=actor, verified_at=now, clock_started_on=start)
    request.due_on = compute_due(request, extended=False)
    request.save(update_fields=["due_on", "updated_at"])
    status_link = verification.status_link(request)
    email_queue(
        template="verified",
        to=contact_email(request),
        request=request,
        context={"request": request, "status_url": status_link},
    )
    task = (
        fulfil_opt_out if request.request_type == RequestType.MARKETING_OPT_OUT else start_gathering
    )
    transaction.on_commit(partial(task.delay, request.pk))
    return request


@transaction.atomic
def request_start_gathering(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """Move to gathering and queue one step per connected store."""
    from requests_app.gathering import gathering_plan

    request = _transition(request, "start_gathering", actor="system")
    gathering_plan(request=request)
    return request


@transaction.atomic
def request_finish_gathering(*, request: DataSubjectRequest) -> DataSubjectRequest:
    return _transition(request, "finish_gathering", actor="system")


@transaction.atomic
def request_start_fulfilment(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """Start carrying out an approved request: build the exports (access, portability), erase
    (unless a legal hold or an open access request holds it back), or apply the corrections."""
    from exports_app.services import FORMATS, exports_plan
    from requests_app.erasure import erasure_holds, erasure_start
    from requests_app.erasure_plans import erasure_map_drift
    from requests_app.tasks import apply_rectification

    if request.request_type == RequestType.ERASURE:
        drift = erasure_map_drift(request=request)
        if drift:
            return request_replan(request=request, changes=drift)
        holds = erasure_holds(request)
        if holds:
            if not request.events.filter(action="erasure_waiting").exists():
                event_append(
                    request=_lock(request),
                    actor="system",
                    action="erasure_waiting",
                    payload={"reasons": holds},
                )
            return request  # stays approved; the sweeper and the hold's release try again
    request = _transition(request, "start_fulfilment", actor="system")
    if request.request_type in FORMATS:
        exports_plan(request=request)
    elif request.request_type == RequestType.ERASURE:
        erasure_start(request=request)
    elif request.request_type == RequestType.RECTIFICATION:
        transaction.on_commit(partial(apply_rectification.delay, request.pk))
    return request


@transaction.atomic
def request_complete(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """Close a fulfilled request. An erasure that waited for this access request goes ahead."""
    from requests_app.erasure import erasures_waiting_on
    from requests_app.tasks import start_fulfilment

    request = _transition(request, "complete", actor="system")
    for waiting in erasures_waiting_on(request):
        transaction.on_commit(partial(start_fulfilment.delay, waiting))
    return request


@transaction.atomic
def request_expire(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """Never verified in time: close it and purge the personal data it holds."""
    from requests_app.retention import request_purge_personal_data

    request = _transition(request, "expire", actor="system")
    request_purge_personal_data(request=request)
    return request


# --- Staff actions -------------------------------------------------------------------------------


@transaction.atomic
def request_confirm_authority(
    *, request: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """Staff have seen proof that the agent may act.

    Once the email is verified too, the clock starts.
    """
    locked = _lock(request)
    if locked.status != S.AWAITING_VERIFICATION or not locked.has_agent:
        raise IllegalTransition(
            "Only a request filed by an agent and awaiting verification needs this."
        )
    if locked.authority_confirmed_at is not None:
        raise IllegalTransition("The agent's authority is already confirmed.")
    locked.authority_confirmed_at = timezone.now()
    locked.save(update_fields=["authority_confirmed_at", "updated_at"])
    event_append(
        request=locked,
        actor=actor_label(actor),
        action="authority_confirmed",
        payload={"reason": reason.strip()},
    )
    if locked.email_verified_at is not None:
        return request_mark_verified(request=locked, actor=actor_label(actor))
    return locked


# Work that prepares a response for release. Whoever did any of it may not also approve or
# release it (four-eyes), unless DSAR_FOUR_EYES is off for a one-person team.
PREPARATION_ACTIONS = frozenset({"redact", "exports_rebuild", "store_retry", "correction_decided"})


def check_four_eyes(request: DataSubjectRequest, actor: User) -> None:
    """The audit trail says who prepared the request; they cannot also approve its release."""
    if not settings.DSAR_FOUR_EYES:
        return
    label = actor_label(actor)
    if request.events.filter(action__in=PREPARATION_ACTIONS, actor=label).exists():
        raise RuleViolation(
            "Four-eyes: you prepared this request (redactions, rebuilds or retries), so another "
            "approver must approve and release it."
        )


@transaction.atomic
def request_approve(
    *, request: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """Approve the response; carrying it out is queued after commit (``request_start_fulfilment``)."""
    from requests_app.rectification import check_decided
    from requests_app.tasks import start_fulfilment

    check_four_eyes(request, actor)
    check_decided(request)
    payload: dict[str, Any] = {"reason": reason.strip()}
    changes: dict[str, Any] = {}
    if request.request_type == RequestType.ERASURE:
        from requests_app.erasure_plans import erasure_plan_fix

        changes["erasure_plan"] = erasure_plan_fix(request=request)
        payload["plan_digest"] = changes["erasure_plan"]["digest"]
    request = _transition(request, "approve", actor=actor_label(actor), payload=payload, **changes)
    transaction.on_commit(partial(start_fulfilment.delay, request.pk))
    return request


@transaction.atomic
def request_replan(*, request: DataSubjectRequest, changes: list[str]) -> DataSubjectRequest:
    """The approved erasure plan is no longer what the data map gives: back to review, with what
    changed, so an approver sees and approves the new plan."""
    return _transition(request, "replan", actor="system", payload={"changes": changes})


@transaction.atomic
def request_reject(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Refuse (manifestly unfounded or excessive, identity not confirmed) with a reason."""
    reason = _require_reason(reason)
    if request.request_type == RequestType.MARKETING_OPT_OUT:
        raise RuleViolation("A marketing opt-out can never be refused (UK GDPR Article 21(3)).")
    request = _transition(request, "reject", actor=actor_label(actor), payload={"reason": reason})
    email_queue(
        template="rejection",
        to=contact_email(request),
        request=request,
        context={"request": request, "reason": reason},
    )
    return request


@transaction.atomic
def request_extend(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """The one extension the law allows, before the deadline, with reasons told to the person."""
    reason = _require_reason(reason)
    locked = _lock(request)
    if locked.status not in {S.VERIFIED, S.GATHERING, S.IN_REVIEW} or locked.due_on is None:
        raise IllegalTransition(
            f"Cannot extend a request that is {Status(locked.status).label.lower()}."
        )
    try:
        deadlines.check_extension_allowed(
            already_extended=Extension.objects.filter(request=locked).exists(),
            current_due=locked.due_on,
            today=today(),
        )
    except deadlines.DeadlineError as exc:
        raise RuleViolation(str(exc)) from exc
    previous = locked.due_on
    Extension.objects.create(
        request=locked,
        granted_at=timezone.now(),
        reason=reason,
        previous_due_on=previous,
        granted_by=actor,
    )
    locked.due_on = compute_due(locked, extended=True)
    locked.save(update_fields=["due_on", "updated_at"])
    event_append(
        request=locked,
        actor=actor_label(actor),
        action="extend",
        payload={
            "reason": reason,
            "previous_due_on": previous.isoformat(),
            "due_on": locked.due_on.isoformat() if locked.due_on else None,
        },
    )
    email_queue(
        template="extension",
        to=contact_email(locked),
        request=locked,
        context={"request": locked, "reason": reason, "previous_due_on": previous},
    )
    return locked


@transaction.atomic
def request_hold(*, request: DataSubjectRequest, actor: User, question: str) -> DataSubjectRequest:
    """Ask the person for clarification: the clock pauses until they answer."""
    question = _require_reason(question)
    held_from = _lock(request).status
    request = _transition(
        request,
        "hold",
        actor=actor_label(actor),
        payload={"question": question},
        held_from_status=held_from,
    )
    ClockPause.objects.create(
        request=request, started_on=today(), question=question, created_by=actor
    )
    email_queue(
        template="clarification",
        to=contact_email(request),
        request=request,
        context={"request": request, "question": question},
    )
    return request


@transaction.atomic
def request_resume(
    *, request: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """The clarification arrived: the clock restarts and the due date moves by the days paused."""
    request = _transition(
        request,
        "resume",
        actor=actor_label(actor),
        payload={"reason": reason.strip()},
        held_from_status="",
    )
    request.pauses.filter(ended_on__isnull=True).update(ended_on=today())
    request.due_on = compute_due(request)
    request.save(update_fields=["due_on", "updated_at"])
    return request


@transaction.atomic
def request_withdraw(
    *, request: DataSubjectRequest, actor: User | None, reason: str
) -> DataSubjectRequest:
    reason = _require_reason(reason)
    request = _transition(request, "withdraw", actor=actor_label(actor), payload={"reason": reason})
    request.pauses.filter(ended_on__isnull=True).update(ended_on=today())
    return request


@transaction.atomic
def request_assign(
    *, request: DataSubjectRequest, actor: User, assignee: User | None
) -> DataSubjectRequest:
    locked = _lock(request)
    if not locked.is_open:
        raise IllegalTransition("A closed request cannot be assigned.")
    locked.assignee = assignee
    locked.save(update_fields=["assignee", "updated_at"])
    event_append(
        request=locked,
        actor=actor_label(actor),
        action="assign",
        payload={"assignee": assignee.get_username() if assignee else None},
    )
    return locked


# The staff actions that take a reason (for hold, the question to the person), by name: one
# table for the API and the dashboard.
REASONED_ACTIONS: dict[str, Callable[..., DataSubjectRequest]] = {
    "approve": request_approve,
    "reject": request_reject,
    "extend": request_extend,
    "resume": request_resume,
    "withdraw": request_withdraw,
    "confirm_authority": request_confirm_authority,
    "hold": lambda *, request, actor, reason: request_hold(
        request=request, actor=actor, question=reason
    ),
}


def request_act(
    *, action: str, request: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """Run the staff action called ``action`` (see ``REASONED_ACTIONS``)."""
    return REASONED_ACTIONS[action](request=request, actor=actor, reason=reason)


@transaction.atomic
def request_note(*, request: DataSubjectRequest, actor: User, text: str) -> None:
    """An internal note on the timeline (staff only; purged with the request's personal data)."""
    event_append(
        request=request,
        actor=actor_label(actor),
        action="note",
        payload={"text": _require_reason(text)},
    )
