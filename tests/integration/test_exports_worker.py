"""Access end to end on a real worker: verify → gather → approve → build → release → the emailed
link downloads the three files."""

from __future__ import annotations

import io
import json
from typing import Any

import pypdf
import pytest

from exports_app.models import Export, ExportStatus
from requests_app.models import DataSubjectRequest, Status
from tests.integration.test_gathering_worker import _verify
from tests.integration.test_worker import _outbox_link

pytestmark = pytest.mark.integration


def test_an_access_request_is_fulfilled_by_a_real_worker(
    demo_map: Any,
    celery_worker: Any,
    wait_for: Any,
    api: Any,
    approver_api: Any,
    reviewer_api: Any,
    client: Any,
    settings: Any,
) -> None:
    settings.EMAIL_BACKEND = "smarct_dsar.mail.OutboxBackend"
    dsr = _verify(api, "alice@example.com")
    wait_for(
        lambda: DataSubjectRequest.objects.get(pk=dsr.pk).status == Status.IN_REVIEW,
        timeout=90,
        what="gathering",
    )
    submitted = reviewer_api.post(f"/api/v1/requests/{dsr.reference}/submit/", {}, format="json")
    assert submitted.json()["status"] == "ready_for_approval"
    seen = submitted.json()["approval_seen"]
    assert (
        approver_api.post(
            f"/api/v1/requests/{dsr.reference}/approve/", {"seen": seen}, format="json"
        ).status_code
        == 200
    )
    wait_for(
        lambda: Export.objects.filter(request=dsr, status=ExportStatus.READY).count() == 3,
        timeout=120,
        what="three exports built by the worker",
    )
    preview = approver_api.get(f"/api/v1/requests/{dsr.reference}/exports/pdf/")
    assert b"".join(preview.streaming_content).startswith(b"%PDF")
    # staff build the files again: the PDF follows the new JSON and CSV, and attaches them
    first = Export.objects.get(request=dsr, format="json").sha256
    rebuilt = reviewer_api.post(f"/api/v1/requests/{dsr.reference}/exports/rebuild/")
    assert rebuilt.status_code == 200, rebuilt.content

    def built_again() -> bool:
        files = {e.format: e for e in Export.objects.filter(request=dsr)}
        return (
            all(e.status == ExportStatus.READY for e in files.values())
            and files["json"].sha256 != first
            and files["pdf"].attached == {"json": files["json"].sha256, "csv": files["csv"].sha256}
        )

    wait_for(built_again, timeout=120, what="the three exports built again")
    released = approver_api.post(f"/api/v1/requests/{dsr.reference}/release/")
    assert released.json().get("status") == "completed", released.json()
    token = wait_for(
        lambda: _outbox_link("alice@example.com", "downloads"), what="the download email"
    )
    bodies = {}
    for format_ in ("json", "csv", "pdf"):
        response = client.get(f"/downloads/{token}/{format_}/")
        assert response.status_code == 200, format_
        bodies[format_] = body = b"".join(response.streaming_content)
        if format_ == "json":
            assert json.loads(body)["request"]["reference"] == dsr.reference
    # the PDF attaches the very JSON and zip released with it
    attached = pypdf.PdfReader(io.BytesIO(bodies["pdf"])).attachments
    assert attached[f"{dsr.reference}-your-data.json"] == [bodies["json"]]
    assert attached[f"{dsr.reference}-your-data.zip"] == [bodies["csv"]]
