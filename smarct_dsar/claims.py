"""Claiming a unit of work (a gathering step, an export build) for one Celery task.

The row itself is the lock: a conditional UPDATE moves it to its working status only if it is
waiting, or already held by this same task id (Celery re-delivered our message after the worker
died: take it straight back), or held so long ago that its worker must be dead (the sweeper
re-queued it). Exactly one task wins; the others see 0 rows updated and do nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone


def claim(queryset: QuerySet[Any], *, waiting: str, working: str, task_id: str) -> bool:
    """Claim the single row of ``queryset`` for ``task_id``; True if this task now holds it.
    The model needs ``status``, ``claimed_by``, ``claimed_at`` and ``attempts`` fields."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    claimable = (
        Q(status=waiting)
        | Q(status=working, claimed_by=task_id)  # our own message, re-delivered
        | Q(status=working, claimed_at__lt=stale)  # a worker that died long ago
    )
    updated = queryset.filter(claimable).update(
        status=working, claimed_by=task_id, claimed_at=now, attempts=F("attempts") + 1
    )
    return updated == 1


def finish_with_file(
    queryset: QuerySet[Any],
    *,
    working: str,
    task_id: str,
    new_file: str,
    old_file: str,
    lock: Callable[[], Any],
    record: Callable[[], Any],
    **fields: Any,
) -> bool:
    """Finish a claimed unit whose result is a stored file. Only if this task still holds the row
    does its file become the file of record, and ``record()`` (its event on the audit trail) runs
    in the same transaction: a unit is never finished without its record, nor recorded without
    being finished. ``lock()`` runs first (the caller's lock order: its request's row before
    anything else). Then the previous attempt's file is deleted; if the row was taken from this
    task meanwhile, its own file is deleted instead. True when it finished."""
    with transaction.atomic():
        lock()
        finished = queryset.filter(status=working, claimed_by=task_id).update(
            file_name=new_file, **fields
        )
        if finished == 1:
            record()
    if finished != 1:
        default_storage.delete(new_file)
        return False
    if old_file and old_file != new_file:
        default_storage.delete(old_file)
    return True
