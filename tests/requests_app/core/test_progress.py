"""Issue 13, finding 12: no request is left stuck. The sweeper finishes any stage whose work is
all done, and the health check names a request that has made no progress for too long."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from requests_app import tasks
from requests_app.models import DataSubjectRequest, GatherStep, Status, StepStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Move the clock on (the one edge these tests patch): nothing has happened meanwhile."""

    def _later(seconds: int) -> None:
        moved = timezone.now() + timedelta(seconds=seconds)
        monkeypatch.setattr(timezone, "now", lambda: moved)

    return _later


def test_a_request_whose_stores_are_all_done_but_still_gathering_is_moved_on(
    submit: Any, settings: Any, later: Any
) -> None:
    # the chaos run's request: its last steps were marked done, then the worker was killed
    # before it moved the request on
    dsr = submit(email="stuck@example.com")
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=Status.GATHERING)
    GatherStep.objects.create(request=dsr, store="crm", status=StepStatus.DONE)
    GatherStep.objects.create(request=dsr, store="app", status=StepStatus.DONE)
    later(settings.DSAR_SWEEP_AFTER_SECONDS + 5)
    tasks.sweep_lost_work()
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW


def test_the_health_check_names_a_request_that_made_no_progress(
    submit: Any, client: Any, settings: Any, later: Any
) -> None:
    stuck = submit(email="stuck@example.com")
    DataSubjectRequest.objects.filter(pk=stuck.pk).update(status=Status.GATHERING)
    GatherStep.objects.create(request=stuck, store="crm", status=StepStatus.RUNNING)
    waiting = submit(email="waiting@example.com")  # waits for the person: not stalled
    del waiting
    later(3 * settings.DSAR_SWEEP_AFTER_SECONDS)
    body = client.get("/healthz").json()
    assert body["status"] == "attention"
    assert body["stalled_requests"] == [stuck.reference]
    fresh = client.get("/healthz")
    assert fresh.status_code == 200  # the web process itself is fine: no restart loop


def test_the_health_check_is_ok_when_everything_moves(submit: Any, client: Any) -> None:
    submit(email="fresh@example.com")
    body = client.get("/healthz").json()
    assert body["stalled_requests"] == []
    assert body["status"] in {"ok", "degraded"}  # degraded only when the broker is away
