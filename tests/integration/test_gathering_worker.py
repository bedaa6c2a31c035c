"""Gathering on a real worker: every demo store; and a worker killed mid-gather."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from requests_app.gathering import gather
from requests_app.models import DataSubjectRequest, GatherStep, Status, StepStatus
from tests.requests_app.stores.conftest import CHINOOK

pytestmark = pytest.mark.integration


def _verify(api: Any, email: str) -> DataSubjectRequest:
    from requests_app.intake import verification

    created = api.post(
        "/api/v1/requests/",
        {"request_type": "access", "name": "Test", "email": email},
        format="json",
    )
    assert created.status_code == 202
    dsr = DataSubjectRequest.objects.filter(requester_email=email).latest("received_at")
    raw = verification.token_issue(
        dsr=dsr, purpose="verify", ttl=__import__("datetime").timedelta(hours=1)
    )
    assert api.post("/api/v1/requests/verify/", {"token": raw}, format="json").status_code == 200
    return dsr


def test_a_real_worker_gathers_every_demo_store(
    demo_map: Any, celery_worker: Any, wait_for: Any, api: Any
) -> None:
    dsr = _verify(api, "harriet.heavy@example.com")
    wait_for(
        lambda: DataSubjectRequest.objects.get(pk=dsr.pk).status == Status.IN_REVIEW,
        timeout=90,
        what="in_review after gathering",
    )
    steps = {s.store: s for s in dsr.gather_steps.all()}
    assert steps["analytics"].table_counts == {"visitors": 1, "page_views": 100_000}
    assert all(s.status == StepStatus.DONE and s.attempts == 1 for s in steps.values())


SLOW_MAP = """version: 1
register:
  contact: {{purposes: [x], legal_basis: x, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}}
  financial: {{purposes: [x], legal_basis: x, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}}
stores:
  chinook:
    kind: sql
    organisation: Chinook
    connection: {{env: UNUSED_CHINOOK_URL, default: "sqlite:///{chinook}"}}
    tables:
      Customer: {{category: contact, identity: {{Email: email}}}}
      Invoice: {{category: financial}}
  slow_partner:
    kind: http
    organisation: Slow Ltd
    connection: {{env: UNUSED_SLOW_URL, default: "{url}"}}
    timeout_seconds: 60
    resources:
      contacts:
        category: contact
        identity: {{email: email}}
        find: {{path: /contacts, params: {{email: "{{email}}"}}, records: items}}
        delete: {{method: DELETE, path: "/contacts/{{n}}"}}
"""


def test_a_worker_killed_mid_gather_and_the_sweeper_completes_the_request(
    crash_mid_step: Any,
    wait_for: Any,
    api: Any,
    settings: Any,
    tmp_path: Path,
    httpserver: HTTPServer,
) -> None:
    # given a partner that hangs on its first call (the worker is mid-gather) and answers later
    release, calls = threading.Event(), []

    def handler(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            release.wait(60)
        return Response(
            '{"items": [{"email": "luisg@embraer.com.br", "n": 1}]}',
            content_type="application/json",
        )

    httpserver.expect_request("/partner/contacts").respond_with_handler(handler)
    map_file = tmp_path / "map.yaml"
    map_file.write_text(SLOW_MAP.format(chinook=CHINOOK, url=httpserver.url_for("/partner")))
    settings.DSAR_DATA_MAP = str(map_file)
    gather.datamap.current.cache_clear()
    crash_mid_step.start()
    # when the worker is killed with SIGKILL in the middle of the slow step
    dsr = _verify(api, "luisg@embraer.com.br")
    slow = crash_mid_step.during(GatherStep, dsr, "slow_partner", release=release)
    # then, once the claim is stale, the sweeper re-queues it and a new worker completes the request
    wait_for(
        lambda: DataSubjectRequest.objects.get(pk=dsr.pk).status == Status.IN_REVIEW,
        timeout=60,
        what="in_review after the sweeper",
    )
    slow.refresh_from_db()
    assert slow.status == StepStatus.DONE
    assert slow.record_count == 1
    assert slow.attempts == 2
    assert (
        DataSubjectRequest.objects.get(pk=dsr.pk)
        .gather_steps.get(store="chinook")
        .table_counts["Invoice"]
        == 7
    )
    records = list(gather.gathered_records(slow))
    assert records == [("contacts", {"email": "luisg@embraer.com.br", "n": 1})]  # once, not twice
    files = default_storage.listdir(f"gathered/{dsr.reference}")[1]
    assert [f for f in files if f.startswith("slow_partner-")] == [
        Path(slow.file_name).name
    ]  # the killed attempt left none
