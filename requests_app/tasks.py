"""Celery tasks: thin wrappers that take primary keys, load the row and call one service.

All progress lives in the database, so a task delivered twice, or re-queued by the sweeper
after its message was lost, finds the work done and does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import current_task, shared_task
from django import db
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from exports_app.services import exports_to_requeue
from requests_app import selectors, workflow
from requests_app.core import (
    alerts,
    checkpoints,
    documents,
    lifecycle,
    notifications,
    probes,
    retention,
    webhooks,
)
from requests_app.core.errors import IllegalTransition
from requests_app.core.queue import Task, send
from requests_app.fulfilment import (
    certificate,
    erasure,
    optout,
    recipients,
    rectification,
    restriction,
)
from requests_app.gathering import gather
from requests_app.models import DataSubjectRequest, Status
from requests_app.stores import PermanentStoreError, TransientStoreError
from smarct_dsar.celery import idempotent_task
from smarct_dsar.storage import StorageUnavailable

log = logging.getLogger(__name__)


@idempotent_task(name=Task.SEND_EMAIL, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_email(email_id: int) -> None:
    notifications.email_send(email_id=email_id)


@idempotent_task(name=Task.NOTIFY_STAFF)
def notify_staff() -> int:
    """Tell staff of requests due soon or overdue and of recipients overdue (hourly; each once)."""
    return alerts.notify_deadlines()


@idempotent_task(name=Task.SEND_DIGESTS)
def send_digests() -> int:
    """Each member of staff who chose a daily digest gets one email listing what is waiting."""
    return alerts.digests_send()


WEBHOOK_MAX_RETRIES = 8


@idempotent_task(name=Task.SEND_WEBHOOK, bind=True, max_retries=WEBHOOK_MAX_RETRIES)
def send_webhook(self: Any, webhook_id: int) -> Any:
    """POST one webhook call; a refusal is retried with backoff (30 s doubling to an hour), then
    left to the sweeper, which tries again up to ``DSAR_WEBHOOK_MAX_ATTEMPTS`` in all."""
    try:
        webhooks.webhook_send(webhook_id=webhook_id)
    except webhooks.WebhookUndelivered as exc:
        if self.request.retries >= WEBHOOK_MAX_RETRIES:
            return None
        # throw=False and returned, as in ``_run_store_step``: eager mode (the tests) runs it too
        return self.retry(exc=exc, countdown=min(3600, 30 * 2**self.request.retries), throw=False)
    return None


@idempotent_task(name=Task.ADVANCE)
def advance(request_id: int) -> None:
    """Do what follows verification, approval or completion (``workflow.ROUTES``)."""
    dsr = DataSubjectRequest.objects.filter(pk=request_id).first()
    if dsr is not None:  # gone: purged or deleted meanwhile
        workflow.request_advance(dsr=dsr)


# Gathering and erasure steps share their retry rules (``_run_store_step``).
STEP_MAX_RETRIES = 5


def _retry_without_database(task: Any, exc: Exception) -> Any:
    """The database went away mid-task (a restart, a failover): nothing can be recorded now, so
    drop the dead connection and run the task again shortly. Its claim is under the same task id,
    so the retry takes the step straight back; the sweeper covers a retry that is lost too."""
    log.warning("database unavailable in %s; retrying: %s", task.name, type(exc).__name__)
    db.connections.close_all()
    return task.retry(exc=exc, countdown=5, max_retries=None, throw=False)


def _run_store_step(
    task: Any,
    step_id: int,
    *,
    run: Callable[..., bool],
    retry_later: Callable[..., None],
    fail: Callable[..., None],
) -> Any:
    """Run one store's step. Transient errors retry with backoff; then, or on a permanent error,
    the step is marked failed (visible, and retryable by staff) and the other stores carry on."""
    task_id = task.request.id or f"local-{task.name}-{step_id}"
    try:
        run(step_id=step_id, task_id=task_id)
    except (TransientStoreError, StorageUnavailable) as exc:
        if task.request.retries >= STEP_MAX_RETRIES:
            fail(step_id=step_id, task_id=task_id, error=f"{exc} (gave up after retries)")
            return None
        retry_later(step_id=step_id, task_id=task_id, error=str(exc))
        # throw=False: the retry is queued and this run ends normally (acknowledged, as with a
        # raised Retry), so one store's retry never aborts work queued beside it. Returning the
        # Retry is what makes Celery's eager mode (the tests) run it too.
        return task.retry(exc=exc, countdown=min(600, 10 * 2**task.request.retries), throw=False)
    except PermanentStoreError as exc:
        fail(step_id=step_id, task_id=task_id, error=str(exc))
    except (OperationalError, InterfaceError) as exc:
        return _retry_without_database(task, exc)
    except Exception as exc:  # a bug must fail the one step visibly, not lose the request
        log.exception("%s: step %s failed unexpectedly", task.name, step_id)
        fail(step_id=step_id, task_id=task_id, error=f"internal error: {type(exc).__name__}")
    return None


@idempotent_task(name=Task.GATHER_STORE, bind=True, max_retries=STEP_MAX_RETRIES)
def gather_store(self: Any, step_id: int) -> Any:
    """Gather one store into its encrypted file."""
    return _run_store_step(
        self,
        step_id,
        run=gather.gathering_run_step,
        retry_later=gather.gathering_retry_later,
        fail=gather.gathering_fail_step,
    )


@idempotent_task(name=Task.ERASE_STORE, bind=True, max_retries=STEP_MAX_RETRIES)
def erase_store(self: Any, step_id: int) -> Any:
    """Erase one store and re-scan it."""
    return _run_store_step(
        self,
        step_id,
        run=erasure.erasure_run_step,
        retry_later=erasure.erasure_retry_later,
        fail=erasure.erasure_fail_step,
    )


@idempotent_task(
    name=Task.FULFIL_OPT_OUT, autoretry_for=(TransientStoreError,), retry_backoff=10, max_retries=8
)
def fulfil_opt_out(request_id: int) -> None:
    """Make an opt-out's changes in the stores, without staff. A permanent store error is left
    for the sweeper (and staff, who see it on the timeline) rather than dropped."""
    try:
        optout.opt_out_fulfil(request_id=request_id)
    except PermanentStoreError as exc:
        log.error("opt-out %s: %s", request_id, exc)
        optout.opt_out_record_failure(request_id=request_id, error=str(exc))


@idempotent_task(
    name=Task.APPLY_RESTRICTION,
    autoretry_for=(TransientStoreError,),
    retry_backoff=10,
    max_retries=8,
)
def apply_restriction(request_id: int) -> None:
    """Make an approved restriction's changes in the stores; a permanent store error is put on
    the timeline and left for the sweeper (and staff)."""
    try:
        restriction.restriction_apply(request_id=request_id)
    except PermanentStoreError as exc:
        log.error("restriction %s: %s", request_id, exc)
        restriction.restriction_record_failure(request_id=request_id, error=str(exc))


# How long a lift waits for its notice to be sent before looking again (then the sweeper does).
LIFT_NOTICE_WAIT_SECONDS = 30
LIFT_NOTICE_CHECKS = 10


@idempotent_task(
    name=Task.LIFT_RESTRICTION,
    bind=True,
    autoretry_for=(TransientStoreError,),
    retry_backoff=10,
    max_retries=8,
)
def lift_restriction(self: Any, request_id: int) -> Any:
    """Lift a restriction once the person's notice has been sent (Article 18(3))."""
    try:
        if restriction.restriction_lift_apply(request_id=request_id):
            return None
    except PermanentStoreError as exc:
        log.error("lifting restriction %s: %s", request_id, exc)
        restriction.restriction_record_failure(
            request_id=request_id, error=str(exc), action="restriction_lift_failed"
        )
        return None
    if restriction.lift_pending(request_id) and self.request.retries < LIFT_NOTICE_CHECKS:
        return self.retry(countdown=LIFT_NOTICE_WAIT_SECONDS, throw=False)
    return None


@idempotent_task(name=Task.APPLY_RECTIFICATION)
def apply_rectification(request_id: int) -> None:
    rectification.rectification_apply(request_id=request_id)


@idempotent_task(
    name=Task.ISSUE_CERTIFICATE,
    autoretry_for=(OSError, StorageUnavailable),
    retry_backoff=30,
    max_retries=5,
)
def issue_certificate(request_id: int) -> None:
    certificate.certificate_issue(request_id=request_id)


@shared_task(name=Task.PROBE, ignore_result=True)
def probe(nonce: str) -> None:
    """Answer a health probe (``manage.py worker_probe``)."""
    probes.probe_answer(nonce=nonce, hostname=current_task.request.hostname or "")


@idempotent_task(name=Task.REMIND_RECIPIENTS)
def remind_recipients() -> int:
    return recipients.notices_remind()


@idempotent_task(name=Task.EXPIRE_UNVERIFIED_REQUESTS)
def expire_unverified_requests() -> int:
    expired = 0
    for request_id in retention.requests_to_expire():
        try:
            lifecycle.request_expire(dsr=DataSubjectRequest.objects.get(pk=request_id))
            expired += 1
        except IllegalTransition:
            continue  # verified in the meantime
    return expired


@idempotent_task(name=Task.AUDIT_CHECKPOINT)
def audit_checkpoint() -> int | None:
    """Anchor the audit trail outside the database: a signed checkpoint of its head, in storage
    (after changes, and every minute when the chain has grown). Returns the seq anchored."""
    try:
        written = checkpoints.checkpoint_write()
    except OSError as exc:  # the storage is away: beat tries again within the minute
        log.warning("audit checkpoint not written: the file storage refused it (%s)", exc)
        return None
    return written.seq if written else None


@idempotent_task(name=Task.SWEEP_ORPHANED_FILES)
def sweep_orphaned_files() -> int:
    """Files no row points at, a day old (a worker killed between writing and recording)."""
    return retention.orphans_sweep()


@idempotent_task(name=Task.PURGE_EXPIRED_REQUESTS)
def purge_expired_requests() -> int:
    """Closed requests past the retention period lose their personal data (daily)."""
    return retention.purge_expired()


@idempotent_task(name=Task.EXPIRE_PROOF_DOCUMENTS)
def expire_proof_documents() -> int:
    """Proof of identity or authority past its time after the decision is deleted (daily)."""
    return documents.documents_expire()


@idempotent_task(name=Task.SWEEP_LOST_WORK)
def sweep_lost_work() -> None:
    """Queue again what a lost message or a dead worker left behind. The database is the truth,
    and the workflow's table says what each waiting request needs."""
    for email_id in notifications.emails_to_resend():
        send_email.delay(email_id)
    for webhook_id in webhooks.webhooks_to_resend():
        send_webhook.delay(webhook_id)
    stale = timezone.now() - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    # verified or approved, never moved on: advance them
    stuck = Q(status=Status.VERIFIED, verified_at__lt=stale) | Q(
        status=Status.APPROVED, updated_at__lt=stale
    )
    for request_id in DataSubjectRequest.objects.filter(stuck).values_list("pk", flat=True):
        advance.delay(request_id)
    # fulfilling, carried out by one task (an opt-out, corrections, a restriction): run it again
    fulfilling = DataSubjectRequest.objects.filter(status=Status.FULFILLING, updated_at__lt=stale)
    for dsr in fulfilling.only("pk", "request_type", "objection_scope"):
        carry_out = workflow.route_of(dsr).carry_out
        if carry_out is not None:
            send(carry_out, dsr.pk)
    for request_id in restriction.lifts_to_requeue():
        send(Task.LIFT_RESTRICTION, request_id)
    for step_id in gather.steps_to_requeue():
        gather_store.delay(step_id)
    # every store done but the request never moved on (its worker died in between)
    for request_id in gather.gatherings_to_finish():
        gather.gathering_maybe_finish(request_id=request_id)
    for step_id in erasure.erasure_steps_to_requeue():
        erase_store.delay(step_id)
    for request_id in erasure.erasures_to_certify():
        issue_certificate.delay(request_id)
    for export_id in exports_to_requeue():
        send(Task.BUILD_EXPORT, export_id)
    for reference, status in selectors.stalled_requests():
        log.error(
            "%s has made no progress for longer than the sweep interval (%s): look at it",
            reference,
            status,
        )
