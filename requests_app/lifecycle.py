"""The request lifecycle: one explicit state machine, one service per transition.

    awaiting_verification → verified → gathering → in_review → approved → fulfilling → completed
    with rejected, withdrawn, on_hold (clarification; the clock pauses) and expired.

Every service runs with the request row locked first (``locking.py``); a staff action is also
checked against the one table of who may do what (``actions.py``). ``_transition`` checks the
current status against ``TRANSITIONS``, refuses an illegal move with ``IllegalTransition``, makes
the change and appends an event to the audit chain, all in one transaction. Emails and tasks are
queued for after commit.

The two-person rule: ``in_review`` → *submit* (one member of staff) → ``ready_for_approval`` →
*approve* (another). The approve event records what was approved (``approval_snapshot``) and
fulfilment carries out that snapshot only.
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
from requests_app.actions import ACTIONS
from requests_app.audit import event_append
from requests_app.errors import IllegalTransition, RuleViolation
from requests_app.locking import lock, request_locked, staff_action
from requests_app.models import (
    ClockPause,
    DataSubjectRequest,
    Extension,
    RequestType,
    Status,
)
from requests_app.notifications import email_queue
from requests_app.permissions import actor_label

S = Status


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: back to the status the request was held from


TRANSITIONS: dict[str, Transition] = {
    # the system's moves
    "verify": Transition(frozenset({S.AWAITING_VERIFICATION}), S.VERIFIED),
    "start_gathering": Transition(frozenset({S.VERIFIED}), S.GATHERING),
    "finish_gathering": Transition(frozenset({S.GATHERING}), S.IN_REVIEW),
    # The data map changed after approval so that the erasure plan differs: approve again.
    "replan": Transition(frozenset({S.APPROVED, S.FULFILLING}), S.IN_REVIEW),
    "start_fulfilment": Transition(frozenset({S.APPROVED}), S.FULFILLING),
    # A marketing opt-out needs no review: straight from verified to carrying it out.
    "start_opt_out": Transition(frozenset({S.VERIFIED}), S.FULFILLING),
    "complete": Transition(frozenset({S.FULFILLING}), S.COMPLETED),
    "expire": Transition(frozenset({S.AWAITING_VERIFICATION}), S.EXPIRED),
    # staff's moves: from the statuses the one table of staff actions gives (approving from
    # review only in single-person mode: ``actions.refusal``)
    **{
        name: Transition(ACTIONS[name].statuses, target)
        for name, target in (
            ("submit", S.READY_FOR_APPROVAL),
            ("send_back", S.IN_REVIEW),
            ("approve", S.APPROVED),
            ("reject", S.REJECTED),
            ("hold", S.ON_HOLD),
            ("resume", None),  # back to the status the request was held from
            ("withdraw", S.WITHDRAWN),
        )
    },
}
CLOSING = frozenset({S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.EXPIRED})

_lock = lock


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


@request_locked
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


@request_locked
def request_start_gathering(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """Move to gathering and queue one step per connected store."""
    from requests_app.gathering import gathering_plan

    request = _transition(request, "start_gathering", actor="system")
    gathering_plan(request=request)
    return request


@request_locked
def request_finish_gathering(*, request: DataSubjectRequest) -> DataSubjectRequest:
    return _transition(request, "finish_gathering", actor="system")


@request_locked
def request_start_fulfilment(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """Start carrying out an approved request: build the exports (access, portability), erase
    (unless a legal hold or an open access request holds it back), or apply the corrections.
    Holds and the plan are read with the row locked: a hold placed a moment before is seen, and
    one placed a moment after is refused (the request is then fulfilling)."""
    from exports_app.services import FORMATS, exports_plan
    from requests_app.erasure import erasure_holds, erasure_start
    from requests_app.erasure_plans import erasure_map_drift
    from requests_app.tasks import apply_rectification

    if request.status != S.APPROVED:
        raise IllegalTransition(
            f"Cannot start fulfilment of a request that is {Status(request.status).label.lower()}."
        )
    if request.request_type == RequestType.ERASURE:
        drift = erasure_map_drift(request=request) or _plan_not_approved(request)
        if drift:
            return request_replan(request=request, changes=drift)
        holds = erasure_holds(request)
        if holds:
            if not request.events.filter(action="erasure_waiting").exists():
                event_append(
                    request=request,
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


def _plan_not_approved(request: DataSubjectRequest) -> list[str]:
    """The stored plan is not the one the approve event recorded (changed in the database)."""
    approved = approved_snapshot(request) or {}
    stored = (request.erasure_plan or {}).get("digest")
    if stored is None or stored != approved.get("plan_digest"):
        return ["the stored erasure plan is not the one that was approved"]
    return []


@request_locked
def request_complete(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """Close a fulfilled request. An erasure that waited for this access request goes ahead."""
    from requests_app.erasure import erasures_waiting_on
    from requests_app.tasks import start_fulfilment

    request = _transition(request, "complete", actor="system")
    for waiting in erasures_waiting_on(request):
        transaction.on_commit(partial(start_fulfilment.delay, waiting))
    return request


@request_locked
def request_expire(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """Never verified in time: close it and purge the personal data it holds."""
    from requests_app.retention import request_purge_personal_data

    request = _transition(request, "expire", actor="system")
    request_purge_personal_data(request=request)
    return request


@request_locked
def request_replan(*, request: DataSubjectRequest, changes: list[str]) -> DataSubjectRequest:
    """The approved erasure plan is no longer what the data map gives: back to review, with what
    changed, so it is submitted and approved again."""
    return _transition(
        request,
        "replan",
        actor="system",
        payload={"changes": changes},
        submitted_by=None,
        submitted_at=None,
    )


# --- Staff actions (who may: ``actions.ACTIONS``) -------------------------------------------------


@staff_action("confirm_authority")
def request_confirm_authority(
    *, request: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """Staff have seen proof that the agent may act.

    Once the email is verified too, the clock starts.
    """
    if not request.has_agent:
        raise IllegalTransition(
            "Only a request filed by an agent and awaiting verification needs this."
        )
    if request.authority_confirmed_at is not None:
        raise IllegalTransition("The agent's authority is already confirmed.")
    request.authority_confirmed_at = timezone.now()
    request.save(update_fields=["authority_confirmed_at", "updated_at"])
    event_append(
        request=request,
        actor=actor_label(actor),
        action="authority_confirmed",
        payload={"reason": reason.strip()},
    )
    if request.email_verified_at is not None:
        return request_mark_verified(request=request, actor=actor_label(actor))
    return request


def approval_snapshot(request: DataSubjectRequest) -> dict[str, Any]:
    """What an approver approves, as data: the corrections as decided, what is withheld, and the
    erasure plan's digest. Recorded on the approve event; fulfilment carries out this only."""
    from exports_app.models import Redaction

    snapshot: dict[str, Any] = {"type": request.request_type}
    if request.request_type == RequestType.RECTIFICATION:
        snapshot["corrections"] = [
            {
                "position": c.position,
                "decision": c.decision,
                "field": c.target_field,
                "value": c.final_value,
            }
            for c in request.corrections.order_by("position")
        ]
    redactions = Redaction.objects.filter(request=request).order_by("pk")
    snapshot["redactions"] = [
        [r.store, r.table, r.record_key, r.field, r.reason] for r in redactions
    ]
    if request.erasure_plan is not None:
        snapshot["plan_digest"] = request.erasure_plan["digest"]
    return snapshot


def approved_snapshot(request: DataSubjectRequest) -> dict[str, Any] | None:
    """The snapshot on the request's latest approve event (None if never approved)."""
    event = request.events.filter(action="approve").order_by("-seq").first()
    if event is None:
        return None
    approved = event.payload.get("approved")
    return approved if isinstance(approved, dict) else None


@staff_action("submit")
def request_submit(
    *, request: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """The response is prepared: submit it for approval by another member of staff. Refused
    while it could not be approved (a correction undecided, an erasure plan with a problem)."""
    from requests_app.rectification import check_decided

    check_decided(request)
    if request.request_type == RequestType.ERASURE:
        from requests_app.erasure_plans import erasure_plan_fix

        erasure_plan_fix(request=request)
    return _transition(
        request,
        "submit",
        actor=actor_label(actor),
        payload={"reason": reason.strip()},
        submitted_by=actor,
        submitted_at=timezone.now(),
    )


@staff_action("send_back")
def request_send_back(
    *, request: DataSubjectRequest, actor: User, reason: str
) -> DataSubjectRequest:
    """Not ready: back to review with what needs changing (the submitter or an approver)."""
    reason = _require_reason(reason)
    return _transition(
        request,
        "send_back",
        actor=actor_label(actor),
        payload={"reason": reason},
        submitted_by=None,
        submitted_at=None,
    )


@staff_action("approve")
def request_approve(
    *, request: DataSubjectRequest, actor: User, reason: str = ""
) -> DataSubjectRequest:
    """Approve the response as it stands now (the snapshot goes on the approve event); carrying
    it out is queued after commit (``request_start_fulfilment``)."""
    from requests_app.rectification import check_decided
    from requests_app.tasks import start_fulfilment

    check_decided(request)
    changes: dict[str, Any] = {}
    if request.request_type == RequestType.ERASURE:
        from requests_app.erasure_plans import erasure_plan_fix

        request.erasure_plan = changes["erasure_plan"] = erasure_plan_fix(request=request)
    snapshot = approval_snapshot(request)
    payload = {"reason": reason.strip(), "approved": snapshot}
    request = _transition(request, "approve", actor=actor_label(actor), payload=payload, **changes)
    transaction.on_commit(partial(start_fulfilment.delay, request.pk))
    return request


@staff_action("reject")
def request_reject(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Refuse (manifestly unfounded or excessive, identity not confirmed) with a reason."""
    reason = _require_reason(reason)
    request = _transition(request, "reject", actor=actor_label(actor), payload={"reason": reason})
    email_queue(
        template="rejection",
        to=contact_email(request),
        request=request,
        context={"request": request, "reason": reason},
    )
    return request


@staff_action("extend")
def request_extend(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """The one extension the law allows, before the deadline, with reasons told to the person."""
    reason = _require_reason(reason)
    if request.due_on is None:
        raise IllegalTransition("This request has no deadline to extend yet.")
    try:
        deadlines.check_extension_allowed(
            already_extended=Extension.objects.filter(request=request).exists(),
            current_due=request.due_on,
            today=today(),
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
    question = _require_reason(question)
    request = _transition(
        request,
        "hold",
        actor=actor_label(actor),
        payload={"question": question},
        held_from_status=request.status,
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


@staff_action("resume")
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


@staff_action("withdraw")
def request_withdraw(
    *, request: DataSubjectRequest, actor: User, reason: str
) -> DataSubjectRequest:
    """Close the request as withdrawn (an approver, with a reason). The person is emailed: if
    they did not ask for it, they learn of it and can ask again."""
    reason = _require_reason(reason)
    request = _transition(request, "withdraw", actor=actor_label(actor), payload={"reason": reason})
    request.pauses.filter(ended_on__isnull=True).update(ended_on=today())
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


# The staff actions that take a reason (for hold, the question to the person), by name, for the
# API and the dashboard. Who may take each is ``actions.ACTIONS``.
REASONED_ACTIONS: dict[str, Callable[..., DataSubjectRequest]] = {
    "approve": request_approve,
    "submit": request_submit,
    "send_back": request_send_back,
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


@staff_action("note")
def request_note(*, request: DataSubjectRequest, actor: User, text: str) -> None:
    """An internal note on the timeline (staff only; purged with the request's personal data)."""
    event_append(
        request=request,
        actor=actor_label(actor),
        action="note",
        payload={"text": _require_reason(text)},
    )
