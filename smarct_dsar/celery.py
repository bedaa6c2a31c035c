"""The Celery app. Configuration comes from Django settings (``CELERY_*``).

Redis (or the file-system broker of the demo) only carries messages: every task takes primary
keys, records its progress in the database, and a periodic sweeper re-queues work whose message
was lost. Nothing ever waits on a task result.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarct_dsar.settings")

app = Celery("smarct_dsar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "sweep-lost-work": {"task": "requests_app.tasks.sweep_lost_work", "schedule": 60.0},
    "expire-unverified-requests": {
        "task": "requests_app.tasks.expire_unverified_requests",
        "schedule": crontab(minute=17),
    },
}
