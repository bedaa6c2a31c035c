"""What gathering and erasure steps share (``models.StoreStep``), so both run one way: a plan
makes one step per store and queues it after commit; a task gives a step back to retry later, or
fails it visibly with the reason on the timeline; staff retry a failed store; the sweeper finds
the steps whose message was lost or whose worker died."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from requests_app.core.audit import event_append
from requests_app.core.errors import IllegalTransition, RuleViolation
from requests_app.core.locking import lock
from requests_app.core.queue import Task, later
from requests_app.models import DataSubjectRequest, ErasureStep, GatherStep, StepStatus

StepModel = type[GatherStep] | type[ErasureStep]
Step = GatherStep | ErasureStep
_RESET = {"status": StepStatus.PENDING, "error": "", "claimed_by": "", "claimed_at": None}


def steps_plan(
    model: StepModel, *, dsr: DataSubjectRequest, stores: list[str], task: Task
) -> list[Step]:
    """One step per store, each pending one queued on ``task`` after commit; a step that failed
    before (an erasure approved again) runs again. Idempotent: existing steps are kept."""
    steps = [model.objects.get_or_create(request=dsr, store=name)[0] for name in stores]
    for step in steps:
        if step.status == StepStatus.FAILED:
            model.objects.filter(pk=step.pk, status=StepStatus.FAILED).update(**_RESET)
            step.status = StepStatus.PENDING
        if step.status == StepStatus.PENDING:
            later(task, step.pk)
    return steps


def step_retry(
    model: StepModel,
    *,
    dsr: DataSubjectRequest,
    store: str,
    task: Task,
    actor: str,
    action: str,
    refusal: str,
) -> Step:
    """Staff run a failed store's step again, after fixing the cause; the others keep theirs."""
    step = model.objects.filter(request=dsr, store=store).first()
    if step is None:
        raise RuleViolation(f"This request has no step for the store '{store}'.", field="store")
    if step.status != StepStatus.FAILED:
        raise IllegalTransition(refusal)
    model.objects.filter(pk=step.pk, status=StepStatus.FAILED).update(**_RESET)
    event_append(dsr=dsr, actor=actor, action=action, payload={"store": store})
    later(task, step.pk)
    step.refresh_from_db()
    return step


def step_done(model: StepModel, *, step: Step, task_id: str, record: Callable[[], Any]) -> bool:
    """Mark the step done if this task still holds it, and ``record()`` its event in the same
    transaction: never done without the event, nor the event without done."""
    with transaction.atomic():
        lock(step.request)  # the request's row first, as every service does
        finished = model.objects.filter(
            pk=step.pk, status=StepStatus.RUNNING, claimed_by=task_id
        ).update(status=StepStatus.DONE, finished_at=timezone.now(), error="")
        if finished:
            record()
    return bool(finished)


def step_retry_later(model: StepModel, *, step_id: int, task_id: str, error: str) -> None:
    model.objects.filter(pk=step_id, status=StepStatus.RUNNING, claimed_by=task_id).update(
        status=StepStatus.PENDING, error=f"retrying: {error}"[:1000]
    )


def step_fail(model: StepModel, *, step_id: int, task_id: str, error: str, action: str) -> None:
    """Mark the step failed (if this task holds it, or nobody does) and say why on the timeline,
    both in one transaction."""
    with transaction.atomic():
        lock(model.objects.select_related("request").get(pk=step_id).request)
        _step_fail(model, step_id=step_id, task_id=task_id, error=error, action=action)


def _step_fail(model: StepModel, *, step_id: int, task_id: str, error: str, action: str) -> None:
    updated = model.objects.filter(
        Q(claimed_by=task_id) | Q(claimed_by=""),
        pk=step_id,
        status__in=[StepStatus.RUNNING, StepStatus.PENDING],
    ).update(status=StepStatus.FAILED, error=error[:1000], finished_at=timezone.now())
    if updated:
        step = model.objects.select_related("request").get(pk=step_id)
        event_append(
            dsr=step.request,
            actor="system",
            action=action,
            payload={"store": step.store, "error": error[:300]},
        )


def steps_to_requeue(model: StepModel, *, request_status: str) -> list[int]:
    """Steps whose message was lost (pending too long) or whose worker died (running too long),
    of requests still in ``request_status``."""
    stale = timezone.now() - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    lost = Q(status=StepStatus.PENDING) & (
        Q(claimed_at__lt=stale) | Q(claimed_at__isnull=True, created_at__lt=stale)
    )
    dead = Q(status=StepStatus.RUNNING, claimed_at__lt=stale)
    return list(
        model.objects.filter(lost | dead, request__status=request_status).values_list(
            "pk", flat=True
        )
    )
