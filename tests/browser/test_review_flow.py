"""Staff work a request through the dashboard in a real browser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail

from exports_app import services
from exports_app.models import Export
from requests_app import workflow
from requests_app.models import DataSubjectRequest, Status
from smarct_dsar.celery import app as celery_app
from tests.browser.conftest import log_in, screenshot
from tests.exports_app.conftest import export_bytes
from tests.exports_app.test_exports import _text
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_withhold_a_suggested_name_undo_submit_approve_and_watch_the_files_arrive(
    page: Any, live_server: Any, demo_map: Any, verified: Any
) -> None:
    """Issue 16's journey: a suggested third-party name withheld as a span, an address withheld
    and put back, submitted, refused to its preparer (shown disabled, with why), approved by a
    second approver who sees what they approve, the files appearing without a reload, and the
    released JSON, CSV and PDF checked for the name."""
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

    # the support tickets read as threads; Jane Doe and her address are suggested, Bob is not
    page.get_by_role("link", name="support").click()
    first = page.locator("article.record", has=page.locator("mark.suggested")).first
    assert first.get_by_text("Sam (Helpdesk)").is_visible()
    suggested = first.locator("form.suggestions li")
    assert suggested.filter(has_text="Jane Doe").count() == 1
    assert suggested.filter(has_text="bob@example.com").count() == 0
    screenshot(page, "record-viewer-suggestions")
    form = first.locator("form.suggestions")
    # no reason is chosen for her: withholding without one is refused by the browser and server
    assert form.get_by_label("Why (the person reads it)").input_value() == ""
    suggested.filter(has_text="another person's name").get_by_role("checkbox").check()
    form.get_by_label("Why (the person reads it)").select_option("third_party")
    form.get_by_role("button", name="Withhold the ticked").click()
    assert page.get_by_text("will be withheld from every file").is_visible()
    form = page.locator("article.record").first.locator("form.suggestions")
    form.locator("li", has_text="an email address").get_by_role("checkbox").check()
    form.get_by_label("Why (the person reads it)").select_option("third_party")
    form.get_by_role("button", name="Withhold the ticked").click()
    withheld = page.locator("#withheld-h + div table tbody tr")
    assert withheld.count() == 2
    assert "Rita (rita)" in withheld.first.inner_text()  # who, why and when, on the page
    # the address was a mistake: undo puts it back, and the row stays, marked
    withheld.nth(1).get_by_role("button", name="Undo").click()
    assert page.get_by_text("Put back by Rita (rita)").is_visible()
    screenshot(page, "record-viewer-withheld")

    # submits it for approval, and the page says who did and when
    page.goto(f"{base}/staff/requests/{bob.reference}/")
    page.get_by_role("link", name="Submit for approval").click()
    assert page.get_by_text("What you submit for approval").is_visible()
    page.get_by_role("button", name="Submit for approval").click()
    assert page.get_by_text("Ready for approval: submitted by").is_visible()
    # having prepared it, she sees Approve disabled, with why, and may not force it
    approve = page.get_by_role("button", name="Approve")
    assert approve.is_disabled()
    assert page.get_by_text("Two-person rule").first.is_visible()
    page.goto(f"{base}/staff/requests/{bob.reference}/approve/")
    assert page.get_by_text("Two-person rule").is_visible()
    assert page.get_by_role("button", name="Approve").count() == 0
    bob.refresh_from_db()
    assert bob.status == Status.READY_FOR_APPROVAL

    # a second approver sees what she approves (the withheld words, with their reason)
    page.context.clear_cookies()
    log_in(page, base, "bea")
    page.goto(f"{base}/staff/requests/{bob.reference}/")
    page.get_by_role("link", name="Approve").click()
    summary = page.locator("section", has_text="What you approve").first
    assert "“Jane Doe” in Messages" in summary.inner_text()  # the very words, for the approver
    assert "It is about another person" in summary.inner_text()
    screenshot(page, "approve-summary")
    # the files are built by a worker (here: by this test, after the page has loaded)
    celery_app.conf.task_always_eager = False
    try:
        page.get_by_role("button", name="Approve").click()
        assert page.get_by_text("Approved.").is_visible()
        assert page.get_by_text("Carrying out the approved response.").is_visible()
        page.evaluate("window.notReloaded = true")
        workflow.request_advance(dsr=DataSubjectRequest.objects.get(pk=bob.pk))  # plans them
        page.get_by_text("Building the files: 0 of 3 ready.").wait_for()
        for export in Export.objects.filter(request=bob):
            services.export_build(export_id=export.pk, task_id="browser-test")
        page.get_by_role("link", name="Preview PDF").wait_for()  # no reload: it polled
        assert page.evaluate("window.notReloaded") is True
        assert page.get_by_text("Building the files").count() == 0
    finally:
        celery_app.conf.task_always_eager = True
    screenshot(page, "request-files-arrived")
    page.get_by_role("link", name="Release to the person").click()
    page.get_by_role("button", name="Release to the person").click()
    assert page.get_by_text("the person has been emailed their download link").is_visible()
    screenshot(page, "request-released")
    page.goto(f"{base}/staff/overview/")
    screenshot(page, "overview")

    bob = DataSubjectRequest.objects.get(pk=bob.pk)
    assert bob.status == Status.COMPLETED
    assert any("/downloads/" in m.body for m in mail.outbox)
    for export in bob.exports.filter(format__in=["json", "csv", "pdf"]):
        text = _text(export)
        assert "Jane Doe" not in text, export.format
        assert "[REDACTED]" in text, export.format
        assert "jane.doe@example.org" in text, export.format  # put back: released
        assert "cannot log in either" in " ".join(text.split()), export.format  # Bob's words
    document = json.loads(export_bytes(bob.exports.get(format="json")))
    body = document["data"]["support"]["tickets"]["records"][0]["messages"][0]["body"]
    assert body.startswith("My colleague [REDACTED] (jane.doe@example.org) cannot log in")


def test_a_plain_reviewer_is_not_offered_approval(
    page: Any, live_server: Any, verified: Any
) -> None:
    UserFactory(username="rob", roles=["reviewer"])
    dsr = verified(email="carol@example.com")
    log_in(page, live_server.url, "rob")
    page.goto(f"{live_server.url}/staff/requests/{dsr.reference}/")
    assert page.get_by_role("link", name="Ask for clarification").is_visible()
    assert page.get_by_role("link", name="Approve").count() == 0


def test_the_queue_finds_a_request_by_part_of_a_name(
    page: Any, live_server: Any, verified: Any
) -> None:
    UserFactory(username="rob", roles=["reviewer"])
    bob = verified(name="Bob Baker", email="bob@example.com")
    alice = verified(name="Alice Archer", email="alice@example.com")
    log_in(page, live_server.url, "rob")
    page.get_by_label("Search: reference, name, email or phone").fill("bak")  # part of "Baker"
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("link", name=bob.reference).is_visible()
    assert page.get_by_role("link", name=alice.reference).count() == 0
    page.get_by_label("Search: reference, name, email or phone").fill("ARCH")  # any case
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("link", name=alice.reference).is_visible()
    assert page.get_by_role("link", name=bob.reference).count() == 0
