"""The Celery app. Configuration comes from Django settings (``CELERY_*``).

Redis (or the file-system broker of the demo) only carries messages: every task takes primary
keys, records its progress in the database, and a periodic sweeper re-queues work whose message
was lost. Nothing ever waits on a task result.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery, shared_task
from celery.schedules import crontab
from celery.signals import worker_init, worker_process_init, worker_ready
from kombu.transport import TRANSPORT_ALIASES

from requests_app.core.queue import Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarct_dsar.settings")
# The embedded broker writes each message atomically (``smarct_dsar.broker``).
TRANSPORT_ALIASES["filesystem"] = "smarct_dsar.broker:Transport"

app = Celery("smarct_dsar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _check_data_map(**kwargs: Any) -> None:
    """A worker with a broken data map must not start and fail every gathering one by one.
    (Celery logs and swallows exceptions from signal handlers; SystemExit gets through.)"""
    # Imported here: this module is loaded before Django's app registry is ready.
    from requests_app import datamap

    try:
        datamap.current()
    except datamap.DataMapInvalid as exc:
        print(exc, file=sys.stderr, flush=True)
        raise SystemExit(1) from exc


@worker_process_init.connect
def _configure_fonts(**kwargs: Any) -> None:
    """Each worker process finds the system's fonts once, before its first PDF, not in it."""
    # Imported here: this module is loaded before Django's app registry is ready.
    from exports_app.renderers.pdf import font_config

    font_config()


@worker_ready.connect
def _check_stores(**kwargs: Any) -> None:
    """The cheap part of ``manage.py check_stores`` (databases and files, no partner calls), in
    the background so the worker starts consuming at once: a map that no longer fits a store's
    schema is in the worker's log before the first request fails on it."""
    threading.Thread(target=_log_store_problems, name="check-stores", daemon=True).start()


def _log_store_problems() -> None:
    # Imported here: this module is loaded before Django's app registry is ready.
    from requests_app import datamap
    from requests_app.stores.checks import check_store

    log = logging.getLogger("requests_app.stores")
    data_map = datamap.current()
    for store in data_map.stores.values():
        for problem in check_store(data_map, store, cheap=True):
            log.error("data map does not fit store %s: %s", store.name, problem)


app.conf.beat_schedule = {
    "sweep-lost-work": {"task": Task.SWEEP_LOST_WORK, "schedule": 60.0},
    "expire-export-files": {
        "task": Task.EXPIRE_EXPORT_FILES,
        "schedule": crontab(minute=23),
    },
    "sweep-orphaned-files": {
        "task": Task.SWEEP_ORPHANED_FILES,
        "schedule": crontab(minute=7, hour=4),
    },
    "expire-proof-documents": {
        "task": Task.EXPIRE_PROOF_DOCUMENTS,
        "schedule": crontab(minute=23, hour=3),
    },
    "purge-expired-requests": {
        "task": Task.PURGE_EXPIRED_REQUESTS,
        "schedule": crontab(minute=53, hour=3),
    },
    "remind-recipients": {
        "task": Task.REMIND_RECIPIENTS,
        "schedule": crontab(minute=41, hour=9),
    },
    # Staff notifications: due soon, overdue, recipients overdue (each told once), and the
    # daily digest for those who chose one.
    "notify-staff": {"task": Task.NOTIFY_STAFF, "schedule": crontab(minute=11)},
    "send-digests": {"task": Task.SEND_DIGESTS, "schedule": crontab(minute=30, hour=7)},
    # Anchors the audit trail when it has grown (a no-op otherwise).
    "audit-checkpoint": {"task": Task.AUDIT_CHECKPOINT, "schedule": 60.0},
    "expire-unverified-requests": {
        "task": Task.EXPIRE_UNVERIFIED_REQUESTS,
        "schedule": crontab(minute=17),
    },
}


def idempotent_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``shared_task`` for tasks that are safe to run twice: acknowledged only after they finish,
    and re-delivered if the worker process dies (OOM, SIGKILL) while running them."""
    return shared_task(acks_late=True, reject_on_worker_lost=True, **options)
