"""What gathering and erasure steps share (``models.StoreStep``): a task gives a step back to
retry later, or fails it visibly with the reason on the timeline; the sweeper finds the steps
whose message was lost or whose worker died."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from requests_app.audit import event_append
from requests_app.models import ErasureStep, GatherStep, StepStatus

StepModel = type[GatherStep] | type[ErasureStep]


def step_retry_later(model: StepModel, *, step_id: int, task_id: str, error: str) -> None:
    model.objects.filter(pk=step_id, status=StepStatus.RUNNING, claimed_by=task_id).update(
        status=StepStatus.PENDING, error=f"retrying: {error}"[:1000]
    )


def step_fail(model: StepModel, *, step_id: int, task_id: str, error: str, action: str) -> None:
    """Mark the step failed (if this task holds it, or nobody does) and say why on the timeline."""
    updated = model.objects.filter(
        Q(claimed_by=task_id) | Q(claimed_by=""),
        pk=step_id,
        status__in=[StepStatus.RUNNING, StepStatus.PENDING],
    ).update(status=StepStatus.FAILED, error=error[:1000], finished_at=timezone.now())
    if updated:
        step = model.objects.select_related("request").get(pk=step_id)
        event_append(
            request=step.request,
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
