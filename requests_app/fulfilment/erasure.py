"""Erasure: legal holds, one step per store, the re-scan, and the hand-over to the signed
deletion certificate. The plan staff review and approve is ``erasure_plans.py``.

    in_review: ``erasure_plan`` shows what will happen, counted on the stores (a dry run)
    approved:  waits while ``erasure_holds`` finds a reason (a staff hold, an open access request)
    fulfilling: ``erasure_start`` queues one ``ErasureStep`` per store and emails an Article 19
               notice to each recipient with no API that received the person's data (its
               ``receives_from`` held some); each step erases, then searches the store
               again (the re-scan); anything left that the plan does not retain fails the step
    all done:  the certificate is built, signed, released and emailed; the request completes.

Steps are claimed like gathering steps, so a re-delivered or re-queued task is harmless, and an
erasure run twice finds nothing more to change.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from requests_app import datamap
from requests_app.core.audit import event_append
from requests_app.core.errors import IllegalTransition, RuleViolation
from requests_app.core.lifecycle import approved_snapshot, request_replan
from requests_app.core.locking import staff_action
from requests_app.core.permissions import actor_label
from requests_app.core.queue import Task, later
from requests_app.core.steps import (
    Step,
    step_done,
    step_fail,
    step_retry,
    step_retry_later,
    steps_plan,
    steps_to_requeue,
)
from requests_app.fulfilment.erasure_plans import erasure_map_drift, erasure_plan_drift
from requests_app.fulfilment.recipients import notices_send
from requests_app.gathering.gather import subject_of
from requests_app.models import (
    OPEN_STATUSES,
    DataSubjectRequest,
    ErasureStep,
    LegalHold,
    NoticePurpose,
    RequestType,
    Status,
    StepStatus,
)
from requests_app.stores import (
    connector_for,
)
from smarct_dsar.claims import claim

log = logging.getLogger(__name__)

# Requests whose answer needs the data erasure would destroy.
ACCESS_TYPES = (RequestType.ACCESS, RequestType.PORTABILITY)


# --- Legal holds -------------------------------------------------------------------------------


def erasure_holds(dsr: DataSubjectRequest) -> list[str]:
    """Why erasure must wait, in words for staff; empty when it may go ahead."""
    reasons = [
        f"Legal hold placed by {hold.placed_by}: {hold.reason}"
        for hold in dsr.legal_holds.filter(released_at__isnull=True)
    ]
    if dsr.requester_email:
        open_access = (
            DataSubjectRequest.objects.filter(
                requester_email__lower=dsr.requester_email.lower(),
                request_type__in=ACCESS_TYPES,
                # every open stage once verified (a new stage cannot be forgotten here)
                status__in=OPEN_STATUSES - {Status.AWAITING_VERIFICATION},
            )
            .exclude(pk=dsr.pk)
            .values_list("reference", flat=True)
        )
        reasons += [
            f"{reference}, an access request by the same person, is still open: it must be "
            "answered before the data is erased"
            for reference in open_access
        ]
    return reasons


@staff_action("legal_hold")
def legal_hold_place(*, dsr: DataSubjectRequest, actor: User, reason: str) -> LegalHold:
    """Stop the erasure until the hold is released. Refused once erasure is under way: the
    request's row is locked, so fulfilment either saw this hold or had already started."""
    if not reason.strip():
        raise RuleViolation("Say why erasure must wait.", field="reason")
    hold = LegalHold.objects.create(
        request=dsr, reason=reason.strip(), placed_by=actor_label(actor)
    )
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="legal_hold_placed",
        payload={"reason": reason.strip()},
    )
    return hold


@staff_action("release_hold")
def legal_hold_release(
    *, dsr: DataSubjectRequest, actor: User, reason: str, hold: int | None = None
) -> int:
    """Release the hold ``hold`` (an approver, with a reason); without one, the only active hold.
    Never a hold the approver did not see: with several active, they must say which. Erasure
    starts at once if it was approved and nothing else holds it. Returns the hold released."""
    if not reason.strip():
        raise RuleViolation("Say why the hold ends.", field="reason")
    active = dsr.legal_holds.filter(released_at__isnull=True)
    if hold is None:
        count = active.count()  # one at least: ``actions.can_release_hold``
        if count > 1:
            raise IllegalTransition(
                f"This request has {count} legal holds: say which one ends (each has its reason)."
            )
    else:
        active = active.filter(pk=hold)
        if not active.exists():
            raise IllegalTransition("That legal hold is not active on this request.")
    (released,) = active.values_list("pk", flat=True)
    active.update(released_at=timezone.now(), released_by=actor_label(actor))
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="legal_hold_released",
        payload={"reason": reason.strip(), "hold": released},
    )
    if (
        dsr.status == Status.APPROVED
        and not dsr.legal_holds.filter(released_at__isnull=True).exists()
    ):
        later(Task.ADVANCE, dsr.pk)  # the workflow starts the erasure
    return int(released)


def erasures_waiting_on(dsr: DataSubjectRequest) -> list[int]:
    """Approved erasure requests of the same person that ``dsr`` (an access request now
    completed) was holding up."""
    if dsr.request_type not in ACCESS_TYPES or not dsr.requester_email:
        return []
    return list(
        DataSubjectRequest.objects.filter(
            requester_email__lower=dsr.requester_email.lower(),
            request_type=RequestType.ERASURE,
            status=Status.APPROVED,
        ).values_list("pk", flat=True)
    )


def erasures_release_waiting(dsr: DataSubjectRequest) -> None:
    """An access request closed: the erasures it held back may go ahead now."""
    for waiting in erasures_waiting_on(dsr):
        later(Task.ADVANCE, waiting)


# --- Execution ---------------------------------------------------------------------------------


def erasure_ready(dsr: DataSubjectRequest) -> bool:
    """Whether an approved erasure may start now, decided with the row locked. If not, it has
    been dealt with: if the map no longer gives the approved plan, it went back to review
    (nothing changed); while a hold or an open access request holds it back, it waits (said
    once on the timeline) and the hold's release, the access request's completion or the
    sweeper try again."""
    drift = erasure_map_drift(dsr=dsr) or _plan_not_approved(dsr)
    if drift:
        request_replan(dsr=dsr, changes=drift)
        return False
    holds = erasure_holds(dsr)
    if holds:
        if not dsr.events.filter(action="erasure_waiting").exists():
            event_append(
                dsr=dsr,
                actor="system",
                action="erasure_waiting",
                payload={"reasons": holds},
            )
        return False
    return True


def _plan_not_approved(dsr: DataSubjectRequest) -> list[str]:
    """The stored plan is not the one the approve event recorded (changed in the database)."""
    approved = approved_snapshot(dsr) or {}
    stored = (dsr.erasure_plan or {}).get("digest")
    if stored is None or stored != approved.get("plan_digest"):
        return ["the stored erasure plan is not the one that was approved"]
    return []


def erasure_start(dsr: DataSubjectRequest) -> list[Step]:
    """One step per store Smarct can act on, queued after commit, and an Article 19 notice to
    each recipient it cannot that received the person's data (``notices_send``). Call inside the
    transaction that starts fulfilment. Idempotent."""
    stores = [s.name for s in datamap.current().stores.values() if s.searchable]
    steps = steps_plan(ErasureStep, dsr=dsr, stores=stores, task=Task.ERASE_STORE)
    notices_send(dsr=dsr, purpose=NoticePurpose.ERASURE)
    if not steps:
        transaction.on_commit(partial(erasure_maybe_finish, request_id=dsr.pk))
    return steps


def _claim(step_id: int, task_id: str) -> ErasureStep | None:
    steps = ErasureStep.objects.filter(pk=step_id, request__status=Status.FULFILLING)
    if not claim(steps, waiting=StepStatus.PENDING, working=StepStatus.RUNNING, task_id=task_id):
        return None
    return ErasureStep.objects.select_related("request").get(pk=step_id)


def erasure_run_step(*, step_id: int, task_id: str) -> bool:
    """Erase one store, then re-scan it. False when the step was not ours to run. The step runs
    only the approved plan: if the map now gives another, nothing changes and the request goes
    back for a new approval."""
    step = _claim(step_id, task_id)
    if step is None:
        return False
    store = datamap.current().stores.get(step.store)
    if store is None:
        raise RuleViolation(f"store '{step.store}' is no longer in the data map")
    drift = erasure_plan_drift(dsr=step.request, stores=[store])
    if drift:
        error = (
            "the plan for this store is no longer the approved one ("
            + "; ".join(drift)
            + "): nothing was changed; an approver must approve the new plan"
        )
        erasure_fail_step(step_id=step.pk, task_id=task_id, error=error)
        request_replan(dsr=step.request, changes=drift)
        return True
    connector = connector_for(store)
    subject = subject_of(step.request)
    outcomes = connector.erase(subject)
    total = {
        table: {
            key: int(step.outcome.get(table, {}).get(key, 0)) + value
            for key, value in outcome.as_dict().items()
        }
        for table, outcome in outcomes.items()
    }
    found = connector.leftovers(subject)
    leftovers = {t: r["left"] for t, r in found.items() if r["left"]}
    # Keep what this attempt did even if the re-scan fails it: a retry adds to it.
    ErasureStep.objects.filter(pk=step.pk, claimed_by=task_id).update(outcome=total, rescan=found)
    if leftovers:
        what = ", ".join(f"{t}: {n} record(s)" for t, n in sorted(leftovers.items()))
        erasure_fail_step(
            step_id=step.pk,
            task_id=task_id,
            error=f"the re-scan found the person's data still in {what}; nothing is certified "
            "until this store is clean",
        )
        return True
    finished = step_done(
        ErasureStep,
        step=step,
        task_id=task_id,
        record=lambda: event_append(
            dsr=step.request,
            actor="system",
            action="store_erased",
            payload={"store": step.store, "outcome": total, "rescan": found},
        ),
    )
    if not finished:
        return False
    erasure_maybe_finish(request_id=step.request_id)
    return True


def erasure_retry_later(*, step_id: int, task_id: str, error: str) -> None:
    step_retry_later(ErasureStep, step_id=step_id, task_id=task_id, error=error)


def erasure_fail_step(*, step_id: int, task_id: str, error: str) -> None:
    step_fail(
        ErasureStep, step_id=step_id, task_id=task_id, error=error, action="store_erasure_failed"
    )


@staff_action("retry_erasure")
def erasure_retry_store(*, dsr: DataSubjectRequest, store: str, actor: User) -> Step:
    """Staff run a failed store's erasure (and re-scan) again, after fixing the cause."""
    return step_retry(
        ErasureStep,
        dsr=dsr,
        store=store,
        task=Task.ERASE_STORE,
        actor=actor_label(actor),
        action="erasure_retry",
        refusal="Only a failed store of an erasure under way can be retried.",
    )


def erasure_done(dsr: DataSubjectRequest) -> bool:
    """Every store of an erasure under way is erased and clean: the certificate is due."""
    return (
        dsr.request_type == RequestType.ERASURE
        and dsr.status == Status.FULFILLING
        and not dsr.erasure_steps.exclude(status=StepStatus.DONE).exists()
    )


def erasure_maybe_finish(*, request_id: int) -> None:
    """Once every store is erased and clean, queue the certificate. Safe to call repeatedly."""
    if erasure_done(DataSubjectRequest.objects.get(pk=request_id)):
        later(Task.ISSUE_CERTIFICATE, request_id)


def erasure_steps_to_requeue() -> list[int]:
    return steps_to_requeue(ErasureStep, request_status=Status.FULFILLING)


def erasures_to_certify() -> list[int]:
    """Erasures whose stores are all done but whose certificate was never issued (a lost message)."""
    stale = timezone.now() - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    candidates = DataSubjectRequest.objects.filter(
        request_type=RequestType.ERASURE, status=Status.FULFILLING, updated_at__lt=stale
    )
    return [dsr.pk for dsr in candidates if erasure_done(dsr)]
