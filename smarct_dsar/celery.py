"""The Celery app. Configuration comes from Django settings (``CELERY_*``).

Redis (or the file-system broker of the demo) only carries messages: every task takes primary
keys, records its progress in the database, and a periodic sweeper re-queues work whose message
was lost. Nothing ever waits on a task result.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from celery import Celery, shared_task
from celery.schedules import crontab
from celery.signals import worker_init

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


app.conf.beat_schedule = {
    "sweep-lost-work": {"task": "requests_app.tasks.sweep_lost_work", "schedule": 60.0},
    "expire-export-files": {
        "task": "exports_app.tasks.expire_export_files",
        "schedule": crontab(minute=23),
    },
    "purge-expired-requests": {
        "task": "requests_app.tasks.purge_expired_requests",
        "schedule": crontab(minute=53, hour=3),
    },
    "remind-recipients": {
        "task": "requests_app.tasks.remind_recipients",
        "schedule": crontab(minute=41, hour=9),
    },
    "expire-unverified-requests": {
        "task": "requests_app.tasks.expire_unverified_requests",
        "schedule": crontab(minute=17),
    },
}


def idempotent_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``shared_task`` for tasks that are safe to run twice: acknowledged only after they finish,
    and re-delivered if the worker process dies (OOM, SIGKILL) while running them."""
    return shared_task(acks_late=True, reject_on_worker_lost=True, **options)
