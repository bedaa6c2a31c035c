"""End to end with a real worker: intake → email (sent by the worker) → verify → gathering →
review (the unit-test data map has no stores, so gathering finishes at once)."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from requests_app.models import DataSubjectRequest, EmailStatus, OutgoingEmail, Status

pytestmark = pytest.mark.integration


def _outbox_link(address: str, kind: str) -> str | None:
    for path in sorted(Path(settings.DSAR_OUTBOX_DIR).glob("*.eml"), reverse=True):  # newest first
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]):
            body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            match = re.search(rf"/{kind}/([^/\s]+)/", body)
            if match:
                return match.group(1)
    return None


def test_verified_request_is_gathered_on_a_real_worker(
    celery_worker: Any, wait_for: Any, api: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "smarct_dsar.mail.OutboxBackend"
    address = f"worker-{id(celery_worker)}@example.com"
    # given a request filed through the API; the worker sends its verification email
    created = api.post(
        "/api/v1/requests/",
        {"request_type": "access", "name": "Wendy Worker", "email": address},
        format="json",
    )
    assert created.status_code == 202
    token = wait_for(
        lambda: _outbox_link(address, "verify"), what="the verification email from the worker"
    )
    # when the person verifies
    verified = api.post("/api/v1/requests/verify/", {"token": token}, format="json")
    assert verified.status_code == 200
    # then the worker picks up gathering, and the confirmation email goes out
    assert created.status_code == 202
    dsr = DataSubjectRequest.objects.filter(requester_email=address).latest("received_at")
    wait_for(
        lambda: DataSubjectRequest.objects.get(pk=dsr.pk).status == Status.IN_REVIEW,
        what="gathering, then review",
    )
    wait_for(
        lambda: _outbox_link(address, "status"), what="the confirmation email with the status link"
    )
    # the person's emails and staff's (ready for review), each sent by the worker
    emails = OutgoingEmail.objects.filter(request=dsr)
    wait_for(
        lambda: set(emails.values_list("status", flat=True)) == {EmailStatus.SENT},
        what="every email of the request sent",
    )
    assert "staff-notification" in set(emails.values_list("template", flat=True))
    assert [e.action for e in dsr.events.order_by("seq")][-2:] == [
        "start_gathering",
        "finish_gathering",
    ]


def test_the_worker_probe_proves_consumption_not_just_a_live_process(
    celery_worker: Any,
) -> None:
    import socket

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from requests_app.core.probes import probe_worker

    assert probe_worker(hostname=f"celery@{socket.gethostname()}", timeout=30) is not None
    # a worker that does not consume (here: one that does not exist) fails the check
    with pytest.raises(CommandError, match="did not answer"):
        call_command("worker_probe", "--hostname", "celery@nobody-home", "--timeout", "2")


def test_a_worker_reports_a_map_that_no_longer_fits_its_store_at_start_up(
    start_worker: Any, wait_for: Any, tmp_path: Path
) -> None:
    # the Chinook map with a misspelt field: the loader cannot know, the live schema does
    chinook = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "chinook.sqlite"
    text = (Path(settings.BASE_DIR) / "demo" / "chinook-data-map.yaml").read_text()
    broken = tmp_path / "map.yaml"
    broken.write_text(text.replace("Phone: {rectifiable: true}", "Phnoe: {rectifiable: true}"))
    worker = start_worker(DSAR_DATA_MAP=str(broken), DSAR_STORE_CHINOOK_URL=f"sqlite:///{chinook}")
    line = wait_for(
        lambda: next((x for x in worker.lines if "does not fit store chinook" in x), None),
        what="the start-up check's report",
    )
    assert "fields.Phnoe" in line
    assert "did you mean 'Phone'?" in line
