"""Celery tasks: thin wrappers that take primary keys, load the row and call one service.

All progress lives in the database, so a task delivered twice, or re-queued by the sweeper
after its message was lost, finds the work done and does nothing.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from requests_app import gathering, lifecycle, notifications, retention
from requests_app.errors import IllegalTransition
from requests_app.models import DataSubjectRequest, Status
from requests_app.stores import PermanentStoreError, TransientStoreError
from smarct_dsar.celery import idempotent_task

log = logging.getLogger(__name__)


@idempotent_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_email(email_id: int) -> None:
    notifications.email_send(email_id=email_id)


@idempotent_task()
def start_gathering(request_id: int) -> None:
    request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if request is None or request.status != Status.VERIFIED:
        return  # gone, or already past this step: a re-delivered message
    try:
        lifecycle.request_start_gathering(request=request)
    except IllegalTransition:
        log.info("request %s moved on before gathering started", request_id)


GATHER_MAX_RETRIES = 5


@idempotent_task(bind=True, max_retries=GATHER_MAX_RETRIES)
def gather_store(self: Any, step_id: int) -> Any:
    """Gather one store. Transient errors retry with backoff; then, or on a permanent error, the
    step is marked failed (visible, and retryable by staff) and the other stores carry on."""
    task_id = self.request.id or f"local-{step_id}"
    try:
        gathering.gathering_run_step(step_id=step_id, task_id=task_id)
    except TransientStoreError as exc:
        if self.request.retries >= GATHER_MAX_RETRIES:
            gathering.gathering_fail_step(
                step_id=step_id, task_id=task_id, error=f"{exc} (gave up after retries)"
            )
            return None
        gathering.gathering_retry_later(step_id=step_id, task_id=task_id, error=str(exc))
        # throw=False: the retry is queued and this run ends normally (acknowledged, as with a
        # raised Retry), so one store's retry never aborts work queued beside it. Returning the
        # Retry is what makes Celery's eager mode (the tests) run it too.
        return self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries), throw=False)
    except PermanentStoreError as exc:
        gathering.gathering_fail_step(step_id=step_id, task_id=task_id, error=str(exc))
    except Exception as exc:  # a bug must fail the one step visibly, not lose the request
        log.exception("gathering step %s failed unexpectedly", step_id)
        gathering.gathering_fail_step(
            step_id=step_id, task_id=task_id, error=f"internal error: {type(exc).__name__}"
        )


@idempotent_task()
def start_fulfilment(request_id: int) -> None:
    request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if request is None or request.status != Status.APPROVED:
        return  # already under way: a re-delivered message
    with contextlib.suppress(IllegalTransition):
        lifecycle.request_start_fulfilment(request=request)


@idempotent_task()
def expire_unverified_requests() -> int:
    expired = 0
    for request_id in retention.requests_to_expire():
        try:
            lifecycle.request_expire(request=DataSubjectRequest.objects.get(pk=request_id))
            expired += 1
        except IllegalTransition:
            continue  # verified in the meantime
    return expired


@idempotent_task()
def sweep_lost_work() -> None:
    """Re-queue what a lost message or a dead worker left behind. The database is the truth."""
    for email_id in notifications.emails_to_resend():
        send_email.delay(email_id)
    stale = timezone.now() - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    stuck = DataSubjectRequest.objects.filter(status=Status.VERIFIED, verified_at__lt=stale)
    for request_id in stuck.values_list("pk", flat=True):
        start_gathering.delay(request_id)
    for step_id in gathering.steps_to_requeue():
        gather_store.delay(step_id)
    approved = DataSubjectRequest.objects.filter(status=Status.APPROVED, updated_at__lt=stale)
    for request_id in approved.values_list("pk", flat=True):
        start_fulfilment.delay(request_id)
    from exports_app.services import exports_to_requeue
    from exports_app.tasks import build_export

    for export_id in exports_to_requeue():
        build_export.delay(export_id)
