"""The decisions on a prepared response, under the two-person rule.

    in_review → *submit* (one member of staff) → ready_for_approval → *approve* (another)
    → the workflow carries it out → (access, portability) *release* the files → completed

The approve event records what was approved (``approval_snapshot``) and fulfilment carries out
that snapshot only (``lifecycle.approved_snapshot``). The approver approves the version they were
shown (``approval_seen``, a digest the approve page and the API give): a response changed after
they looked (sent back, changed, submitted again) is refused until they look again. Who may take
each decision, in which statuses, is the one table in ``core/actions.py``; ``staff_action``
checks it with the row locked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from exports_app.models import DismissedSuggestion, Redaction
from exports_app.services import exports_release
from requests_app.core.actions import ACTIONS, LEFT_IN_ORDER, left_in_rows
from requests_app.core.errors import Changed
from requests_app.core.lifecycle import request_complete, require_reason, transition
from requests_app.core.locking import staff_action
from requests_app.core.notifications import contact_email, email_queue
from requests_app.core.permissions import actor_label
from requests_app.fulfilment.erasure_plans import (
    erasure_plan,
    erasure_plan_fix,
    plan_digest,
    plan_rules,
)
from requests_app.fulfilment.restriction import restriction_lift
from requests_app.gathering.gather import gathered_files_delete
from requests_app.intake.verification import request_confirm_authority, request_confirm_identity
from requests_app.models import DataSubjectRequest, RequestType
from requests_app.review.case import (
    request_extend,
    request_hold,
    request_resume,
    request_withdraw,
)


def approval_snapshot(dsr: DataSubjectRequest) -> dict[str, Any]:
    """What an approver approves, as data: the corrections as decided, what is withheld, and the
    erasure plan's digest. Recorded on the approve event; fulfilment carries out this only."""
    snapshot: dict[str, Any] = {"type": dsr.request_type}
    if dsr.request_type == RequestType.RECTIFICATION:
        snapshot["corrections"] = [
            {
                "position": c.position,
                "decision": c.decision,
                "field": c.target_field,
                "value": c.final_value,
            }
            for c in dsr.corrections.order_by("position")
        ]
    redactions = Redaction.objects.in_force().filter(request=dsr).order_by("pk")
    snapshot["redactions"] = [[*r.target, r.reason] for r in redactions]
    # what was left in of the suggested third-party data is approved too (``left_in_rows``)
    snapshot["left_in"] = left_in_rows(dsr)
    if dsr.erasure_plan is not None:
        snapshot["plan_digest"] = dsr.erasure_plan["digest"]
    return snapshot


def left_in(dsr: DataSubjectRequest) -> list[DismissedSuggestion]:
    """The suggested third-party passages staff chose to leave in, in a stable order."""
    return list(DismissedSuggestion.objects.filter(request=dsr).order_by(*LEFT_IN_ORDER))


def approval_seen(dsr: DataSubjectRequest) -> str:
    """The version of what an approver approves now: a digest of ``approval_snapshot`` (with an
    erasure's plan as it stands now, as the approve page shows it), which holds what is
    withheld and what was left in. The approve page and the API show it; an approval names it,
    and is refused if the response is no longer that version."""
    snapshot = approval_snapshot(dsr)
    if dsr.request_type == RequestType.ERASURE:
        snapshot["plan_digest"] = plan_digest(plan_rules(erasure_plan(dsr=dsr)))
    return _seen(snapshot)


def _seen(snapshot: dict[str, Any]) -> str:
    body = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


@staff_action("submit")
def request_submit(*, dsr: DataSubjectRequest, actor: User, reason: str = "") -> DataSubjectRequest:
    """The response is prepared: submit it for approval by another member of staff. Refused
    while it could not be approved (a correction undecided, an erasure plan with a problem)."""
    if dsr.request_type == RequestType.ERASURE:  # every correction decided: ``actions``
        erasure_plan_fix(dsr=dsr)
    return transition(
        dsr,
        "submit",
        actor=actor_label(actor),
        payload={"reason": reason.strip()},
        submitted_by=actor,
        submitted_at=timezone.now(),
    )


@staff_action("send_back")
def request_send_back(*, dsr: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Not ready: back to review with what needs changing (the submitter or an approver)."""
    reason = require_reason(reason)
    return transition(
        dsr,
        "send_back",
        actor=actor_label(actor),
        payload={"reason": reason},
        submitted_by=None,
        submitted_at=None,
    )


@staff_action("approve")
def request_approve(
    *, dsr: DataSubjectRequest, actor: User, reason: str = "", seen: str | None = None
) -> DataSubjectRequest:
    """Approve the response as it stands now (the snapshot goes on the approve event); the
    workflow carries it out after commit (``workflow.ROUTES``). Upholding an objection needs a
    reason: the person is told it. ``seen`` is the version the approver was shown
    (``approval_seen``): the page and the API always give it, and any other version is refused
    (checked with the row locked, so nothing changes between the check and the approval)."""
    if ACTIONS["approve"].needs_reason(dsr):
        reason = require_reason(reason)
    changes: dict[str, Any] = {}
    if dsr.request_type == RequestType.ERASURE:
        dsr.erasure_plan = changes["erasure_plan"] = erasure_plan_fix(dsr=dsr)
    snapshot = approval_snapshot(dsr)
    current = _seen(snapshot)
    if seen is not None and seen != current:
        raise Changed(
            "This response has changed since you opened it (what is withheld or left in, the "
            "corrections or the erasure plan): look at it again, then approve."
        )
    payload = {"reason": reason.strip(), "approved": snapshot, "seen": current}
    return transition(dsr, "approve", actor=actor_label(actor), payload=payload, **changes)


@staff_action("reject")
def request_reject(*, dsr: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Refuse (manifestly unfounded or excessive, identity not confirmed) with a reason."""
    reason = require_reason(reason)
    dsr = transition(dsr, "reject", actor=actor_label(actor), payload={"reason": reason})
    email_queue(
        template="rejection",
        to=contact_email(dsr),
        dsr=dsr,
        context={"dsr": dsr, "reason": reason},
    )
    return dsr


@staff_action("release")
def request_release(*, dsr: DataSubjectRequest, actor: User) -> DataSubjectRequest:
    """Release the built files (an approver who did not prepare them): they become immutable,
    the person is emailed a link, and the request is complete."""
    exports_release(dsr=dsr, actor=actor)
    # The released files are the record now: the gathered copy goes once this commits.
    transaction.on_commit(partial(gathered_files_delete, dsr))
    return request_complete(dsr=dsr)


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
    "confirm_identity": request_confirm_identity,
    "lift_restriction": restriction_lift,
    "hold": lambda *, dsr, actor, reason: request_hold(dsr=dsr, actor=actor, question=reason),
}


def request_act(
    *, action: str, dsr: DataSubjectRequest, actor: User, reason: str = "", seen: str | None = None
) -> DataSubjectRequest:
    """Run the staff action called ``action`` (see ``REASONED_ACTIONS``); ``seen`` is the
    version an approval approves (``approval_seen``)."""
    if action == "approve":
        return request_approve(dsr=dsr, actor=actor, reason=reason, seen=seen)
    return REASONED_ACTIONS[action](dsr=dsr, actor=actor, reason=reason)
