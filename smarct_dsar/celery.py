"""The Celery app. Configuration comes from Django settings (``CELERY_*``).

Redis (or the file-system broker of the demo) only carries messages: every task takes primary
keys, records its progress in the database, and a periodic sweeper re-queues work whose message
was lost. Nothing ever waits on a task result.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery, shared_task
from celery.schedules import crontab
from celery.signals import worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarct_dsar.settings")

app = Celery("smarct_dsar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _check_data_map(**kwargs: Any) -> None:
    """A worker with a broken data map must not start and fail every gathering one by one.
    (Celery logs and swallows exceptions from signal handlers; SystemExit gets through.)"""
    from requests_app import datamap

    try:
        datamap.current()
    except datamap.DataMapInvalid as exc:
        print(exc, file=sys.stderr, flush=True)
        raise SystemExit(1) from exc


@worker_ready.connect
def _check_stores(**kwargs: Any) -> None:
    """The cheap part of ``manage.py check_stores`` (databases and files, no partner calls), in
    the background so the worker starts consuming at once: a map that no longer fits a store's
    schema is in the worker's log before the first request fails on it."""
    threading.Thread(target=_log_store_problems, name="check-stores", daemon=True).start()


def _log_store_problems() -> None:
    import logging

    from requests_app import datamap
    from requests_app.stores.checks import check_store

    log = logging.getLogger("requests_app.stores")
    data_map = datamap.current()
    for store in data_map.stores.values():
        for problem in check_store(data_map, store, cheap=True):
            log.error("data map does not fit store %s: %s", store.name, problem)


app.conf.beat_schedule = {
    "sweep-lost-work": {"task": "requests_app.tasks.sweep_lost_work", "schedule": 60.0},
    "expire-export-files": {
        "task": "exports_app.tasks.expire_export_files",
        "schedule": crontab(minute=23),
    },
    "sweep-orphaned-files": {
        "task": "requests_app.tasks.sweep_orphaned_files",
        "schedule": crontab(minute=7, hour=4),
    },
    "purge-expired-requests": {
        "task": "requests_app.tasks.purge_expired_requests",
        "schedule": crontab(minute=53, hour=3),
    },
    "remind-recipients": {
        "task": "requests_app.tasks.remind_recipients",
        "schedule": crontab(minute=41, hour=9),
    },
    # Anchors the audit trail when it has grown (a no-op otherwise).
    "audit-checkpoint": {"task": "requests_app.tasks.audit_checkpoint", "schedule": 60.0},
    "expire-unverified-requests": {
        "task": "requests_app.tasks.expire_unverified_requests",
        "schedule": crontab(minute=17),
    },
}


def idempotent_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``shared_task`` for tasks that are safe to run twice: acknowledged only after they finish,
    and re-delivered if the worker process dies (OOM, SIGKILL) while running them."""
    return shared_task(acks_late=True, reject_on_worker_lost=True, **options)
