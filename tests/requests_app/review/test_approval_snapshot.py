"""Issue 12, finding 3: the approve event records what was approved, and fulfilment carries out
that record only, whatever the rows say by then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from requests_app.core import lifecycle
from requests_app.core.audit import chain_verify
from requests_app.intake.receive import CorrectionInput
from requests_app.models import DataSubjectRequest, RequestEvent, Status
from tests.requests_app.conftest import phone_of
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db


def test_a_correction_changed_after_approval_is_not_what_is_written(
    verified: Any, approver: Any, phones: Path, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = verified(
        request_type="rectification",
        email="fix1@example.com",
        corrections=[CorrectionInput(field="Phone", corrected_value="07700 900001")],
    )
    dsr.corrections.update(decision="accepted", target_field="phone", final_value="07700 900001")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        submit_and_approve(dsr, approver)
    approve = RequestEvent.objects.get(request=dsr, action="approve")
    assert approve.payload["approved"]["corrections"] == [
        {"position": 1, "decision": "accepted", "field": "phone", "value": "07700 900001"}
    ]
    # someone with database access changes the decided value after the approval
    dsr.corrections.update(final_value="07700 666666")
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED
    assert phone_of(phones, "fix1@example.com") == "07700 900001"  # the approved value
    assert phone_of(phones, "fix2@example.com") == "01632 960000"  # nobody else's changed


def test_an_erasure_plan_changed_after_approval_sends_it_back_having_erased_nothing(
    verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = verified(request_type="erasure", email="planned@example.com")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        submit_and_approve(dsr, approver)
    plan = DataSubjectRequest.objects.get(pk=dsr.pk).erasure_plan
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(erasure_plan={**plan, "digest": "0" * 64})
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW
    assert not dsr.erasure_steps.exists()
    replan = RequestEvent.objects.get(request=dsr, action="replan")
    assert replan.payload["changes"] == ["the stored erasure plan is not the one that was approved"]
    assert list(chain_verify()) == []


def test_the_approval_records_what_is_withheld(
    verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from exports_app.models import Redaction

    dsr = verified(email="withheld@example.com")
    Redaction.objects.create(
        request=dsr,
        store="support",
        table="tickets",
        record_key="b" * 64,
        field="messages",
        reason="Names a colleague",
        created_by="staff:sam",
    )
    with django_capture_on_commit_callbacks(execute=False):
        submit_and_approve(dsr, approver)
    approved = lifecycle.approved_snapshot(dsr)
    assert approved is not None
    assert approved["redactions"] == [
        ["support", "tickets", "b" * 64, "messages", "", 0, 0, "Names a colleague"]
    ]
