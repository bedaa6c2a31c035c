"""The request lifecycle: one explicit state machine that knows no concern.

    awaiting_verification → verified → gathering → in_review → ready_for_approval → approved
    → fulfilling → completed, with rejected, withdrawn, on_hold (clarification; the clock
    pauses) and expired.

``transition`` checks the current status against ``TRANSITIONS``, refuses an illegal move with
``IllegalTransition``, makes the change and appends an event to the audit chain, in the caller's
transaction with the request's row locked (``locking.py``). The concerns call it: gathering,
review, fulfilment. At the three points where the system moves a request on by itself
(verified, approved, completed) it queues the workflow's ``advance`` after commit, and the
workflow's one table (``requests_app/workflow.py``) says what comes next for the request's type.
This module imports nothing from the concerns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from requests_app.core import alerts, deadlines
from requests_app.core.actions import ACTIONS
from requests_app.core.audit import event_append
from requests_app.core.documents import PROOF_KINDS, proof_decided, request_closed
from requests_app.core.errors import IllegalTransition, RuleViolation
from requests_app.core.locking import lock, request_locked
from requests_app.core.queue import Task, later
from requests_app.core.retention import request_purge_personal_data
from requests_app.models import DataSubjectRequest, NotificationKind, Status


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: back to the status the request was held from


TRANSITIONS: dict[str, Transition] = {
    # the system's moves
    "verify": Transition(frozenset({Status.AWAITING_VERIFICATION}), Status.VERIFIED),
    "start_gathering": Transition(frozenset({Status.VERIFIED}), Status.GATHERING),
    "finish_gathering": Transition(frozenset({Status.GATHERING}), Status.IN_REVIEW),
    # The data map changed after approval so that the erasure plan differs: approve again.
    "replan": Transition(frozenset({Status.APPROVED, Status.FULFILLING}), Status.IN_REVIEW),
    "start_fulfilment": Transition(frozenset({Status.APPROVED}), Status.FULFILLING),
    # What is withheld changed after approval (before release): approve it again.
    "reopen": Transition(frozenset({Status.FULFILLING}), Status.IN_REVIEW),
    # A marketing opt-out needs no review: straight from verified to carrying it out.
    "start_opt_out": Transition(frozenset({Status.VERIFIED}), Status.FULFILLING),
    "complete": Transition(frozenset({Status.FULFILLING}), Status.COMPLETED),
    "expire": Transition(frozenset({Status.AWAITING_VERIFICATION}), Status.EXPIRED),
    # staff's moves: from the statuses the one table of staff actions gives (approving from
    # review only in single-person mode: ``actions.refusal``)
    **{
        name: Transition(ACTIONS[name].statuses, target)
        for name, target in (
            ("submit", Status.READY_FOR_APPROVAL),
            ("send_back", Status.IN_REVIEW),
            ("approve", Status.APPROVED),
            ("reject", Status.REJECTED),
            ("hold", Status.ON_HOLD),
            ("resume", None),  # back to the status the request was held from
            ("withdraw", Status.WITHDRAWN),
        )
    },
}
CLOSING = frozenset({Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED})
# Where the system moves a request on by itself: the workflow's table says how, by type.
ADVANCES_FROM = frozenset({Status.VERIFIED, Status.APPROVED, Status.COMPLETED})
# Where a request comes (back) to staff for review, and they are told (``alerts.py``); resuming
# from a hold is not one: the person's answer is told as such.
ENTERS_REVIEW = frozenset(
    name for name, rule in TRANSITIONS.items() if rule.target == Status.IN_REVIEW
)


def transition(
    dsr: DataSubjectRequest,
    action: str,
    *,
    actor: str,
    payload: dict[str, Any] | None = None,
    **changes: Any,
) -> DataSubjectRequest:
    """Check, apply and record one move. Call inside a transaction."""
    locked = lock(dsr)
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
    event = event_append(
        dsr=locked,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=target,
        payload=payload,
    )
    if target in CLOSING:
        # whatever the proof was for is decided now; what the person sent goes after the set time
        proof_decided(dsr=locked, kinds=PROOF_KINDS)
        request_closed(dsr=locked)
    if target in ADVANCES_FROM:
        later(Task.ADVANCE, locked.pk)
    if action in ENTERS_REVIEW:
        alerts.staff_notify(
            dsr=locked, kind=NotificationKind.ENTERED_REVIEW, occasion=f"event:{event.seq}"
        )
    elif target == Status.READY_FOR_APPROVAL:
        alerts.staff_notify(
            dsr=locked, kind=NotificationKind.READY_FOR_APPROVAL, occasion=f"event:{event.seq}"
        )
    return locked


def require_reason(reason: str, field: str = "reason") -> str:
    reason = reason.strip()
    if not reason:
        raise RuleViolation("A reason is required for this action.", field=field)
    return reason


def _pauses(dsr: DataSubjectRequest) -> list[tuple[dt.date, dt.date | None]]:
    return list(dsr.pauses.values_list("started_on", "ended_on"))


def compute_due(dsr: DataSubjectRequest, *, extended: bool | None = None) -> dt.date | None:
    """The due date from the clock start, pauses and extension, under the request's rules."""
    if dsr.clock_started_on is None:
        return None
    return deadlines.due_date(
        jurisdiction=dsr.jurisdiction,
        clock_start=dsr.clock_started_on,
        pauses=_pauses(dsr),
        extended=hasattr(dsr, "extension") if extended is None else extended,
        today=deadlines.today(),
        subdivision=settings.DSAR_UK_HOLIDAY_SUBDIVISION,
    )


# --- The system's own moves ----------------------------------------------------------------


@request_locked
def request_complete(*, dsr: DataSubjectRequest) -> DataSubjectRequest:
    """Close a fulfilled request (the workflow then does what follows completion)."""
    return transition(dsr, "complete", actor="system")


@request_locked
def request_expire(*, dsr: DataSubjectRequest) -> DataSubjectRequest:
    """Never verified in time: close it and purge the personal data it holds."""
    dsr = transition(dsr, "expire", actor="system")
    request_purge_personal_data(dsr=dsr)
    return dsr


@request_locked
def request_replan(*, dsr: DataSubjectRequest, changes: list[str]) -> DataSubjectRequest:
    """The approved erasure plan is no longer what the data map gives: back to review, with what
    changed, so it is submitted and approved again."""
    return transition(
        dsr,
        "replan",
        actor="system",
        payload={"changes": changes},
        submitted_by=None,
        submitted_at=None,
    )


def request_reopen(*, dsr: DataSubjectRequest, actor: str) -> DataSubjectRequest:
    """What is withheld changed after approval, before release: back to review, so that the
    response is submitted and approved again (``exports_app.services``)."""
    return transition(
        dsr,
        "reopen",
        actor=actor,
        payload={"reason": "What is withheld changed after approval: approve it again."},
        submitted_by=None,
        submitted_at=None,
    )


def approved_snapshot(dsr: DataSubjectRequest) -> dict[str, Any] | None:
    """What was approved: the snapshot on the request's latest approve event (None if never
    approved). Fulfilment carries out this, never a decision changed since."""
    event = dsr.events.filter(action="approve").order_by("-seq").first()
    if event is None:
        return None
    approved = event.payload.get("approved")
    return approved if isinstance(approved, dict) else None
