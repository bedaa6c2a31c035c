"""Export tasks: thin, primary keys in, one service each; progress lives in the database."""

from __future__ import annotations

import logging
from typing import Any

from exports_app import services
from requests_app.core.queue import Task
from smarct_dsar.celery import idempotent_task
from smarct_dsar.storage import StorageUnavailable

log = logging.getLogger(__name__)


@idempotent_task(name=Task.BUILD_EXPORT, bind=True, max_retries=5, default_retry_delay=30)
def build_export(self: Any, export_id: int) -> Any:
    task_id = self.request.id or f"local-{export_id}"
    try:
        services.export_build(export_id=export_id, task_id=task_id)
    except StorageUnavailable as exc:  # transient: built again, with backoff, then failed
        if self.request.retries < self.max_retries:
            services.export_release_claim(export_id=export_id, task_id=task_id)
            delay = self.default_retry_delay * 2**self.request.retries
            return self.retry(exc=exc, countdown=delay, throw=False)
        services.export_fail(export_id=export_id, task_id=task_id, error=f"{exc} (gave up)")
    except Exception as exc:  # a failed build is shown to staff, who can rebuild it
        log.exception("export %s failed", export_id)
        services.export_fail(
            export_id=export_id, task_id=task_id, error=f"{type(exc).__name__}: {exc}"
        )


@idempotent_task(name=Task.EXPIRE_EXPORT_FILES)
def expire_export_files() -> int:
    return services.exports_expire_files()
