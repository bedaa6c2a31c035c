"""What a new user found on staff intake and the portal (issue 15): each test failed before its
fix."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from requests_app.core.actions import refusal
from requests_app.intake import verification
from requests_app.models import DataSubjectRequest
from requests_app.review import case, decisions
from tests.support.documents import PNG

pytestmark = pytest.mark.django_db


def staff(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def portal_of(dsr: DataSubjectRequest) -> str:
    return "/" + verification.status_link(dsr).split("://", 1)[1].split("/", 1)[1]


def test_proof_of_identity_asked_for_must_come_and_be_confirmed_before_submitting(
    client: Any, verified: Any, reviewer: Any, approver: Any
) -> None:
    dsr = verified(email="ida@example.com")
    case.request_hold(dsr=dsr, actor=reviewer, question="Please send ID", proof="identity")
    path = portal_of(dsr)
    refused = client.post(f"{path}reply/", {"body": "I have no passport"})
    assert refused.status_code == 400
    assert "Attach proof of your identity" in refused.content.decode()
    image = BytesIO(PNG)
    image.name = "id.png"
    assert client.post(f"{path}reply/", {"body": "Here", "files": [image]}).status_code == 302
    dsr.refresh_from_db()
    found = refusal("submit", reviewer, dsr)
    assert found is not None
    assert "confirm their identity" in found.message
    verification.request_confirm_identity(dsr=dsr, actor=reviewer)
    dsr.refresh_from_db()
    assert refusal("submit", reviewer, dsr) is None


def test_a_response_by_post_says_so_when_released_and_offers_no_link(
    reviewer: Any,
    approver: Any,
    verified: Any,
    ready: Any,
    demo_map: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dsr = verified(name="Bob Baker", email="bob@example.com")
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(delivery="post", postal_address="2 Low Rd")
    ready(dsr)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=dsr, actor=approver)
    page = staff(approver).get(f"/staff/requests/{dsr.reference}/release/").content.decode()
    assert "print the PDF" in page
    assert "emailed" not in page.split("<main", 1)[1].split("Nothing is emailed")[0]
    mail.outbox.clear()
    response = staff(approver).post(f"/staff/requests/{dsr.reference}/release/", follow=True)
    assert "Released: print the PDF and post it" in response.content.decode()
    assert mail.outbox == []
    dsr.refresh_from_db()
    found = refusal("reissue_link", approver, dsr)
    assert found is not None
    assert "by post" in found.message


def test_the_request_page_says_what_waits_on_whom(
    reviewer: Any, submit: Any, verified: Any, own_estate: Any, demo_map: Any
) -> None:
    agent = submit(
        email="pat@example.com",
        agent_name="Sol Icitor",
        agent_email="sol@lawfirm.example",
        agent_relationship="solicitor",
    )
    DataSubjectRequest.objects.filter(pk=agent.pk).update(email_verified_at=timezone.now())
    page = staff(reviewer).get(f"/staff/requests/{agent.reference}/").content.decode()
    assert "Awaiting the agent's authority" in page
    assert "not yet (awaiting the agent's authority)" in page
    opt_out = verified(email="carol@example.com", request_type="marketing_opt_out")
    page = staff(reviewer).get(f"/staff/requests/{opt_out.reference}/").content.decode()
    assert "Gathering starts once the request is verified" not in page
    assert "No store is searched for this request" in page


def test_a_new_link_asked_for_shows_on_the_request_page(reviewer: Any, verified: Any) -> None:
    from requests_app.core.audit import event_append

    dsr = verified(email="lin@example.com")
    event_append(dsr=dsr, actor="requester", action="link_requested")
    page = staff(reviewer).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert "The person asked for a new download link" in page
