"""Staff work a request through the dashboard in a real browser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail

from requests_app.models import DataSubjectRequest, Status
from tests.browser.conftest import screenshot
from tests.exports_app.conftest import export_bytes
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
PASSWORD = "correct horse battery staple"


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/staff/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/staff/")


def test_redact_submit_refused_by_the_two_person_rule_then_approved(
    page: Any, live_server: Any, demo_map: Any, verified: Any
) -> None:
    base = live_server.url
    # a senior reviewer who may also approve, and a second approver
    UserFactory(username="rita", first_name="Rita", roles=["reviewer", "approver"])
    UserFactory(username="bea", first_name="Bea", roles=["reviewer", "approver"])
    bob = verified(name="Bob Baker", email="bob@example.com")
    verified(name="Alice Archer", email="alice@example.com", request_type="erasure")

    # the reviewer filters the queue and opens Bob's request
    log_in(page, base, "rita")
    page.get_by_label("Type").select_option("access")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("link", name=bob.reference).is_visible()
    assert page.get_by_text("Alice Archer").count() == 0
    screenshot(page, "queue")
    page.get_by_role("link", name=bob.reference).click()
    assert page.get_by_text("days left").is_visible()
    screenshot(page, "request")

    # withholds the colleague's message in the first support ticket
    page.get_by_role("link", name="support").click()
    first = page.locator("tr", has=page.locator("details")).first
    first.locator("summary").click()
    first.get_by_label("What").select_option("messages")
    first.get_by_label("Why (the person is told)").fill("Names a colleague")
    first.get_by_role("button", name="Withhold").click()
    assert page.get_by_text("will be withheld from every export").is_visible()

    # submits it for approval, and the page says who did and when
    page.goto(f"{base}/staff/requests/{bob.reference}/")
    page.get_by_role("link", name="Submit for approval").click()
    page.get_by_role("button", name="Submit for approval").click()
    assert page.get_by_text("Ready for approval: submitted by").is_visible()
    # and, having prepared it, is not offered approval, nor may she force it
    assert page.get_by_role("link", name="Approve").count() == 0
    page.goto(f"{base}/staff/requests/{bob.reference}/approve/")
    assert page.get_by_text("Two-person rule").is_visible()  # said before, not after, the form
    assert page.get_by_role("button", name="Approve").count() == 0
    bob.refresh_from_db()
    assert bob.status == Status.READY_FOR_APPROVAL

    # a second approver approves
    page.context.clear_cookies()
    log_in(page, base, "bea")
    page.goto(f"{base}/staff/requests/{bob.reference}/")
    page.get_by_role("link", name="Approve").click()
    page.get_by_role("button", name="Approve").click()
    assert page.get_by_text("Approved.").is_visible()

    # the files were built: she previews the PDF link and releases them to Bob
    page.reload()
    assert page.get_by_role("link", name="Preview PDF").is_visible()
    page.get_by_role("link", name="Release to the person").click()
    page.get_by_role("button", name="Release to the person").click()
    assert page.get_by_text("the person has been emailed their download link").is_visible()
    screenshot(page, "request-released")
    page.goto(f"{base}/staff/overview/")
    screenshot(page, "overview")

    bob = DataSubjectRequest.objects.get(pk=bob.pk)
    assert bob.status == Status.COMPLETED
    assert any("/downloads/" in m.body for m in mail.outbox)
    document = json.loads(export_bytes(bob.exports.get(format="json")))
    assert document["data"]["support"]["tickets"]["records"][0]["messages"] == "[REDACTED]"
    assert "jane.doe@example.org" not in json.dumps(document)


def test_a_plain_reviewer_is_not_offered_approval(
    page: Any, live_server: Any, verified: Any
) -> None:
    UserFactory(username="rob", roles=["reviewer"])
    dsr = verified(email="carol@example.com")
    log_in(page, live_server.url, "rob")
    page.goto(f"{live_server.url}/staff/requests/{dsr.reference}/")
    assert page.get_by_role("link", name="Ask for clarification").is_visible()
    assert page.get_by_role("link", name="Approve").count() == 0
