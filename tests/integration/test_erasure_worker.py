"""Erasure on real workers: one is SIGKILLed in the middle of erasing a store; the sweeper and a
new worker finish it, and the person still gets exactly one certificate."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from exports_app.models import Export
from requests_app import datamap
from requests_app.intake import verification
from requests_app.models import (
    DataSubjectRequest,
    ErasureStep,
    OutgoingEmail,
    Status,
    StepStatus,
)
from tests.conftest import OwnEstate
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.integration

MAP = """version: 1
register:
  account: {{purposes: [x], legal_basis: x, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}}
  marketing: {{purposes: [x], legal_basis: x, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}}
stores:
  app:
    kind: sql
    organisation: Smarct Ltd
    connection: {{env: DSAR_STORE_APP_URL}}
    tables:
      accounts: {{category: account, identity: {{email: email}}, erase: delete}}
      preferences: {{category: account, erase: delete}}
      devices: {{category: account, erase: delete}}
  slow_partner:
    kind: http
    organisation: Slow Ltd
    role: processor
    connection: {{env: UNUSED_SLOW_URL, default: "{url}"}}
    timeout_seconds: 60
    resources:
      contacts:
        category: marketing
        identity: {{email: email}}
        find: {{path: /contacts, params: {{email: "{{email}}"}}, records: items}}
        delete: {{method: DELETE, path: "/contacts/{{id}}"}}
"""


def test_a_worker_killed_mid_erasure_and_the_request_still_completes(
    own_estate: OwnEstate,
    crash_mid_step: Any,
    wait_for: Any,
    api: Any,
    approver: Any,
    settings: Any,
    tmp_path: Path,
    httpserver: HTTPServer,
) -> None:
    # given a partner whose first delete hangs (the worker is mid-erasure), and which forgets
    # the record once a delete has been answered
    release, deletes, deleted = threading.Event(), [], threading.Event()

    def contacts(request: Request) -> Response:
        items = [] if deleted.is_set() else [{"email": "bob@example.com", "id": "c1"}]
        return Response(
            f'{{"items": {__import__("json").dumps(items)}}}', content_type="application/json"
        )

    def delete(request: Request) -> Response:
        deletes.append(time.monotonic())
        if len(deletes) == 1:
            release.wait(60)
            return Response("", status=204)  # answered to a dead worker
        deleted.set()
        return Response("", status=204)

    httpserver.expect_request("/partner/contacts").respond_with_handler(contacts)
    httpserver.expect_request("/partner/contacts/c1", method="DELETE").respond_with_handler(delete)
    map_file = tmp_path / "map.yaml"
    map_file.write_text(MAP.format(url=httpserver.url_for("/partner")))
    settings.DSAR_DATA_MAP = str(map_file)
    datamap.current.cache_clear()
    crash_mid_step.start()

    created = api.post(
        "/api/v1/requests/",
        {"request_type": "erasure", "name": "Bob Baker", "email": "bob@example.com"},
        format="json",
    )
    assert created.status_code == 202
    dsr = DataSubjectRequest.objects.filter(requester_email="bob@example.com").latest("received_at")
    raw = verification.token_issue(dsr=dsr, purpose="verify", ttl=timedelta(hours=1))
    assert api.post("/api/v1/requests/verify/", {"token": raw}, format="json").status_code == 200
    wait_for(lambda: DataSubjectRequest.objects.get(pk=dsr.pk).status == Status.IN_REVIEW)
    others_before = {
        k: v for k, v in own_estate.table("app", "accounts").items() if v[1] != "bob@example.com"
    }
    submit_and_approve(dsr, approver, reason="ok")
    # when the worker is killed with SIGKILL in the middle of the partner's erasure
    slow = crash_mid_step.during(
        ErasureStep, dsr, "slow_partner", release=release, called=lambda: deletes
    )
    # then the sweeper re-queues it once the claim is stale, and a new worker completes the request
    wait_for(
        lambda: DataSubjectRequest.objects.get(pk=dsr.pk).status == Status.COMPLETED,
        timeout=60,
        what="completed after the sweeper",
    )
    slow.refresh_from_db()
    assert slow.status == StepStatus.DONE
    assert slow.attempts == 2
    assert len(deletes) == 2  # asked again after the crash; harmless
    accounts = own_estate.table("app", "accounts")
    assert not [row for row in accounts.values() if row[1] == "bob@example.com"]
    assert {k: accounts[k] for k in others_before} == others_before
    assert Export.objects.filter(request=dsr).count() == 2  # one certificate, one signature
    assert OutgoingEmail.objects.filter(request=dsr, template="erasure-done").count() == 1
