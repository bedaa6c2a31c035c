"""``/healthz``: is the database answering, can we reach the broker, is any request stuck?
(Whether one worker still consumes tasks is ``core/probes.py``.)"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from requests_app import selectors
from smarct_dsar.celery import app


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # a health check reports, it does not raise
        return f"error: {type(exc).__name__}"


def _broker() -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _stalled() -> list[str]:
    try:
        return [reference for reference, _status in selectors.stalled_requests()]
    except Exception:  # the database check above says why
        return []


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """503 when this process cannot work (database, broker). A request that has made no progress
    is flagged (``"status": "attention"``, its reference listed) with a 200: the web process is
    fine, and a restart would not help; monitoring alerts on the status."""
    checks = {"database": _database(), "broker": _broker()}
    healthy = all(value == "ok" for value in checks.values())
    stalled = _stalled() if checks["database"] == "ok" else []
    status = "degraded" if not healthy else "attention" if stalled else "ok"
    return JsonResponse(
        {"status": status, **checks, "stalled_requests": stalled}, status=200 if healthy else 503
    )
