"""Moving a request through the two-person rule in tests."""

from __future__ import annotations

from typing import Any

from requests_app.models import DataSubjectRequest
from requests_app.review import decisions
from tests.factories import UserFactory


def submitter() -> Any:
    """Sam, a reviewer who prepares and submits responses (never the approver in these tests)."""
    return UserFactory(username="sam", roles=["reviewer"])


def submit_for_approval(dsr: DataSubjectRequest, by: Any = None) -> DataSubjectRequest:
    return decisions.request_submit(dsr=dsr, actor=by or submitter())


def submit_and_approve(
    dsr: DataSubjectRequest, approver: Any, reason: str = ""
) -> DataSubjectRequest:
    """Sam submits, ``approver`` approves. Run inside ``django_capture_on_commit_callbacks`` to
    carry the approval out."""
    submit_for_approval(dsr)
    return decisions.request_approve(dsr=dsr, actor=approver, reason=reason)
