"""The one way a service queues background work: by the task's name, once the change commits.

Services never import a tasks module: the tasks import the services, so imports point one way
(web and tasks → workflow → concerns → core). ``Task`` names every Celery task the project
registers, so a task name is never a free string; ``tests/test_architecture.py`` checks that
this list and Celery's registry agree, and beat's schedule (``smarct_dsar/celery.py``) uses it.

A message may still be lost (a broker restart): every row it points at records its progress, and
the sweeper queues again what has waited too long (``requests_app.tasks.sweep_lost_work``).
"""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction


class Task(StrEnum):
    """Every task, by the name Celery registers it under (``<module>.<function>``)."""

    # the workflow (``requests_app.workflow``)
    ADVANCE = "requests_app.tasks.advance"
    SWEEP_LOST_WORK = "requests_app.tasks.sweep_lost_work"
    # gathering and fulfilment
    GATHER_STORE = "requests_app.tasks.gather_store"
    ERASE_STORE = "requests_app.tasks.erase_store"
    ISSUE_CERTIFICATE = "requests_app.tasks.issue_certificate"
    APPLY_RECTIFICATION = "requests_app.tasks.apply_rectification"
    FULFIL_OPT_OUT = "requests_app.tasks.fulfil_opt_out"
    APPLY_RESTRICTION = "requests_app.tasks.apply_restriction"
    LIFT_RESTRICTION = "requests_app.tasks.lift_restriction"
    REMIND_RECIPIENTS = "requests_app.tasks.remind_recipients"
    # delivery
    BUILD_EXPORT = "exports_app.tasks.build_export"
    EXPIRE_EXPORT_FILES = "exports_app.tasks.expire_export_files"
    # the core: emails, the audit trail's anchor, retention, health
    SEND_EMAIL = "requests_app.tasks.send_email"
    # staff notifications: the hourly deadline scan, the daily digests, the webhook
    NOTIFY_STAFF = "requests_app.tasks.notify_staff"
    SEND_DIGESTS = "requests_app.tasks.send_digests"
    SEND_WEBHOOK = "requests_app.tasks.send_webhook"
    AUDIT_CHECKPOINT = "requests_app.tasks.audit_checkpoint"
    EXPIRE_UNVERIFIED_REQUESTS = "requests_app.tasks.expire_unverified_requests"
    PURGE_EXPIRED_REQUESTS = "requests_app.tasks.purge_expired_requests"
    EXPIRE_PROOF_DOCUMENTS = "requests_app.tasks.expire_proof_documents"
    SWEEP_ORPHANED_FILES = "requests_app.tasks.sweep_orphaned_files"
    PROBE = "requests_app.tasks.probe"


def send(task: Task, *args: Any, **options: Any) -> None:
    """Queue ``task`` now (options as for ``apply_async``: a queue, an expiry)."""
    registry = current_app.tasks
    if task not in registry:  # a web process: the tasks modules are not imported yet
        current_app.loader.import_default_modules()  # Celery's autodiscovery imports them
    registry[task].apply_async(args=args, **options)


def later(task: Task, *args: Any) -> None:
    """Queue ``task`` once the current transaction commits (never for a change rolled back)."""
    transaction.on_commit(partial(send, task, *args))
