"""The worker probe: does this worker still consume tasks? A task sent to the worker's own queue
must be answered within the timeout (``manage.py worker_probe``, the containers' health check)."""

from __future__ import annotations

import time
from datetime import timedelta

from celery.utils.nodenames import worker_direct
from django.utils import timezone

from requests_app.core.queue import Task, send
from requests_app.models import WorkerProbe
from smarct_dsar.crypto import new_token


def probe_answer(*, nonce: str, hostname: str) -> None:
    WorkerProbe.objects.get_or_create(nonce=nonce, defaults={"hostname": hostname})


def probe_worker(*, hostname: str, timeout: float) -> float | None:
    """Send a probe to ``hostname``'s own queue; seconds until it was answered, or None."""
    WorkerProbe.objects.filter(answered_at__lt=timezone.now() - timedelta(hours=1)).delete()
    nonce = new_token()
    started = time.monotonic()
    send(Task.PROBE, nonce, queue=worker_direct(hostname), expires=timeout)
    while time.monotonic() - started < timeout:
        if WorkerProbe.objects.filter(nonce=nonce).exists():
            return time.monotonic() - started
        time.sleep(0.2)
    return None
