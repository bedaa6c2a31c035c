"""The journeys of issue 15 in a real browser: a phone request logged by staff to a printed
response; a conversation on the person's portal; an agent with proof of authority; a restriction
and an objection. axe-core checks every public page on the way, at 1280 and 390 px."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from exports_app.models import DownloadLink, FileDownloads
from requests_app.models import (
    DataSubjectRequest,
    OutgoingEmail,
    RequestType,
    Status,
    Suppression,
)
from tests.browser.conftest import accessible, log_in, screenshot
from tests.factories import UserFactory
from tests.support.documents import PDF, PNG

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def link_in(kind: str, to: str | None = None) -> str:
    """The path of the last link of ``kind`` emailed (to ``to``, if given)."""
    for message in reversed(mail.outbox):
        if to is not None and message.to != [to]:
            continue
        found = re.search(rf"https?://[^/\s]+(/{kind}/[^/\s]+/)", message.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no /{kind}/ link emailed to {to}: {[m.subject for m in mail.outbox]}")


def as_the_person(page: Any) -> None:
    page.context.clear_cookies()


def approve_and_release(
    page: Any, base: str, dsr: DataSubjectRequest, release: str = "Release to the person"
) -> None:
    """Rita submits the prepared response; Bea approves it and releases the files."""
    log_in(page, base, "rita")
    page.goto(f"{base}/staff/requests/{dsr.reference}/")
    page.get_by_role("link", name="Submit for approval").click()
    page.get_by_role("button", name="Submit for approval").click()
    log_in(page, base, "bea")
    page.goto(f"{base}/staff/requests/{dsr.reference}/")
    page.get_by_role("link", name="Approve").click()
    page.get_by_role("button", name="Approve").click()
    page.goto(f"{base}/staff/requests/{dsr.reference}/")
    page.get_by_role("link", name=release).click()
    page.get_by_role("button", name=release).click()


@pytest.fixture
def staff(db: Any) -> None:
    UserFactory(username="rita", first_name="Rita", roles=["reviewer", "approver"])
    UserFactory(username="bea", first_name="Bea", roles=["reviewer", "approver"])


def test_a_phone_request_logged_by_staff_through_to_a_printed_response(
    page: Any, live_server: Any, demo_map: Any, staff: None
) -> None:
    base = live_server.url
    log_in(page, base, "rita")
    page.get_by_role("link", name="Log a request").click()
    page.get_by_label("Phone", exact=True).check()
    two_days_ago = timezone.localtime() - timedelta(days=2)
    page.get_by_label("When was it received?").fill(two_days_ago.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Access (a copy of your data)").check()
    page.get_by_label("The person's full name").fill("Bob Baker")
    page.get_by_label("Their email address").fill("bob@example.com")
    page.get_by_label("Phone number").fill("07700 900002")
    page.get_by_label("Known customer details matched").check()
    page.get_by_label("What you checked").fill("Date of birth and postcode matched the account")
    page.get_by_label("By post (printed)").check()
    page.get_by_label("Postal address (for a response by post)").fill("2 Low Road\nTown AB1 2CD")
    page.set_input_files(
        "#id_attachments",
        files=[{"name": "call-notes.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    screenshot(page, "log-request")
    page.get_by_role("button", name="Log the request").click()
    assert page.get_by_text("Logged as DSR-").is_visible()
    dsr = DataSubjectRequest.objects.get()
    assert dsr.clock_started_on == two_days_ago.date()
    assert page.get_by_text("Phone, taken by Rita").is_visible()
    assert page.get_by_role("link", name="call-notes.pdf").is_visible()
    screenshot(page, "logged-request")

    approve_and_release(page, base, dsr, release="Release the response")
    assert page.get_by_text("Released: print the PDF and post it").is_visible()
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED
    assert page.get_by_text("Send by post").is_visible()
    printed = page.get_by_role("link", name="print the PDF")
    response = page.request.get(base + printed.get_attribute("href"))
    assert response.body().startswith(b"%PDF-")
    # by post: no email to the person; staff alone are told (ready for review, for approval)
    assert {m.template for m in OutgoingEmail.objects.filter(request=dsr)} == {"staff-notification"}
    assert mail.outbox
    assert not any(dsr.requester_email in m.to for m in mail.outbox)
    screenshot(page, "printed-response")


def test_a_conversation_on_the_portal_then_the_files_and_a_new_link(
    page: Any, live_server: Any, demo_map: Any, verified: Any, staff: None
) -> None:
    base = live_server.url
    alice = verified(name="Alice Archer", email="alice@example.com")
    log_in(page, base, "rita")
    page.goto(f"{base}/staff/requests/{alice.reference}/")
    page.get_by_role("link", name="Ask for clarification").click()
    page.get_by_label("Your question to the person").fill("Which of your two accounts do you mean?")
    page.get_by_label("Ask for proof of identity").check()
    page.get_by_role("button", name="Ask for clarification").click()

    as_the_person(page)
    portal = link_in("status", "alice@example.com")
    page.goto(base + portal)
    assert page.get_by_text("Which of your two accounts do you mean?").is_visible()
    accessible(page, "portal-question")
    page.get_by_role("textbox", name="Your answer").fill("The one for Archer Design Ltd")
    page.set_input_files(
        "#reply-files", files=[{"name": "passport.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.get_by_role("button", name="Send my answer").click()
    assert page.get_by_text("we have your answer, and work has resumed").is_visible()
    assert page.get_by_text("You answered our question, and work resumed").is_visible()
    accessible(page, "portal-answered")
    alice.refresh_from_db()
    assert alice.status == Status.IN_REVIEW
    assert alice.pauses.get().ended_on == timezone.localdate()

    # staff see the answer and the proof, confirm the identity, and the response goes out
    log_in(page, base, "rita")
    page.goto(f"{base}/staff/requests/{alice.reference}/")
    assert (
        page.get_by_role("region", name="Conversation with the person")
        .get_by_text("The one for Archer Design Ltd")
        .is_visible()
    )
    proof = page.get_by_role("link", name="passport.png").first.get_attribute("href")
    shown = page.request.get(base + proof)
    assert shown.headers["content-type"] == "image/png"
    assert "sandbox" in shown.headers["content-security-policy"]
    page.get_by_role("link", name="Confirm identity").click()
    page.get_by_role("button", name="Confirm identity").click()
    approve_and_release(page, base, alice)

    # the email's download page, and the person's portal, both give the files
    as_the_person(page)
    page.goto(base + link_in("downloads", "alice@example.com"))
    accessible(page, "download")
    # the person downloads the PDF from the portal
    page.goto(base + portal)
    assert page.get_by_role("heading", name="Your files").is_visible()
    accessible(page, "portal-files")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF").click()
    with open(download.value.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    # the link is used up (every file of it): a new one is asked for, and staff are told
    link = DownloadLink.objects.get(request=alice)
    for export in alice.exports.all():
        FileDownloads.objects.update_or_create(
            link=link, format=export.format, defaults={"downloads": link.max_downloads}
        )
    page.reload()
    page.get_by_role("button", name="Ask for a new download link").click()
    assert page.get_by_text("You have asked for a new download link").is_visible()
    accessible(page, "portal-link-asked")
    assert alice.events.filter(action="link_requested").exists()


def test_an_agent_request_with_proof_of_authority(
    page: Any, live_server: Any, demo_map: Any, staff: None
) -> None:
    base = live_server.url
    page.goto(base + "/")
    accessible(page, "form")
    page.get_by_label("Access (a copy of your data)").check()
    page.get_by_label("I am making this request on someone else's behalf").check()
    assert page.get_by_text("About the person", exact=True).is_visible()
    page.get_by_label("The person's full name").fill("Carol Clark")
    page.get_by_label("The person's email address").fill("carol@example.com")
    page.get_by_label("Your full name").fill("Sol Icitor")
    page.get_by_label("Your email address").fill("sol@lawfirm.example")
    page.get_by_label("Your relationship to the person").fill("Solicitor")
    accessible(page, "form-agent")
    page.get_by_role("button", name="Send my request").click()
    assert page.get_by_role("heading", name="Check your email").is_visible()
    accessible(page, "submitted")

    page.goto(base + link_in("verify", "sol@lawfirm.example"))
    accessible(page, "verify")
    page.get_by_role("button", name="Confirm my request").click()
    accessible(page, "verified-agent")
    page.goto(base + link_in("status", "sol@lawfirm.example"))
    assert page.get_by_text("Proof that you may act for Carol Clark").is_visible()
    accessible(page, "portal-authority")
    page.set_input_files(
        "#proof-files",
        files=[{"name": "authority.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.get_by_role("button", name="Send my proof").click()
    assert page.get_by_text("we will check your proof").is_visible()

    dsr = DataSubjectRequest.objects.get()
    log_in(page, base, "rita")
    page.goto(f"{base}/staff/requests/{dsr.reference}/")
    assert page.get_by_role("link", name="authority.pdf").first.is_visible()
    page.get_by_role("link", name="Confirm agent's authority").click()
    page.get_by_role("button", name="Confirm agent's authority").click()
    dsr.refresh_from_db()
    assert dsr.clock_started_on == timezone.localdate()
    assert dsr.documents.get().delete_after is not None
    assert any(m.to == ["carol@example.com"] and "on your behalf" in m.body for m in mail.outbox)


def test_a_restriction_and_an_objection_from_the_form(
    page: Any, live_server: Any, demo_map: Any, own_estate: Any
) -> None:
    base = live_server.url
    page.goto(base + "/")
    page.get_by_label("Restriction (stop using your data for a time)").check()
    page.get_by_label("Why? (for a restriction, or an objection to another use)").fill(
        "My address is wrong; please stop using it until you have checked"
    )
    page.get_by_role("textbox", name="Your full name", exact=True).fill("Dan Dawson")
    page.get_by_role("textbox", name="Your email address", exact=True).fill("dan@example.com")
    page.get_by_role("button", name="Send my request").click()
    page.goto(base + link_in("verify", "dan@example.com"))
    page.get_by_role("button", name="Confirm my request").click()
    restriction = DataSubjectRequest.objects.get(request_type=RequestType.RESTRICTION)
    assert restriction.status == Status.IN_REVIEW  # decided by staff, on the clock
    assert restriction.due_on is not None

    page.goto(base + "/")
    page.get_by_label("Objection to how we use your data").check()
    page.get_by_role("radio", name="Direct marketing", exact=True).check()
    accessible(page, "form-objection")
    page.get_by_role("textbox", name="Your full name", exact=True).fill("Erin Evans")
    page.get_by_role("textbox", name="Your email address", exact=True).fill("erin@example.com")
    page.get_by_role("button", name="Send my request").click()
    assert page.get_by_text("We stop marketing to you as soon as you confirm").is_visible()
    page.goto(base + link_in("verify", "erin@example.com"))
    page.get_by_role("button", name="Confirm my request").click()
    assert page.get_by_text("We are stopping all marketing to you now").is_visible()
    accessible(page, "verified-at-once")
    objection = DataSubjectRequest.objects.get(request_type=RequestType.OBJECTION)
    assert objection.status == Status.COMPLETED  # like an opt-out: at once, never reviewed
    assert Suppression.objects.filter(reference=objection.reference).exists()
    page.goto(base + link_in("status", "erin@example.com"))
    accessible(page, "portal-completed")


def test_the_other_public_pages_are_accessible(
    page: Any, live_server: Any, verified: Any, settings: Any
) -> None:
    base = live_server.url
    page.goto(base + "/")
    page.get_by_role("button", name="Send my request").click()  # nothing filled in
    assert page.get_by_role("heading", name="Please check the form").is_visible()
    accessible(page, "form-errors")
    page.goto(base + "/status/not-a-real-link/")
    accessible(page, "link-problem")
    page.goto(base + "/downloads/not-a-real-link/")
    accessible(page, "download-problem")
    page.goto(base + "/recipients/confirm/not-a-real-link/")
    accessible(page, "recipient-confirm-problem")
    dsr = verified(name="Wyn Draw", email="wyn@example.com")
    page.goto(base + link_in("status", "wyn@example.com"))
    accessible(page, "portal")
    page.get_by_role("link", name="Withdraw this request").click()
    accessible(page, "withdraw")
    page.get_by_role("button", name="Yes, withdraw my request").click()
    assert page.get_by_text("Your request is withdrawn").is_visible()
    dsr.refresh_from_db()
    assert dsr.status == Status.WITHDRAWN
    settings.DSAR_RATE_LIMIT_VERIFY_PER_IP = 0
    page.goto(base + "/verify/whatever/")
    accessible(page, "rate-limited")


def test_the_welsh_form_submitted_and_its_emails_in_welsh(
    browser: Any, live_server: Any, demo_map: Any
) -> None:
    """A Welsh browser: the form, the pages and the emails in Welsh; axe on each, and the
    switcher to English and back."""
    base = live_server.url
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="cy-GB",
        extra_http_headers={"Accept-Language": "cy"},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(base + "/")
        assert page.locator("html").get_attribute("lang") == "cy"
        assert page.get_by_role("heading", name="Gwneud cais am eich data personol").is_visible()
        accessible(page, "cy-form")
        page.get_by_role("button", name="English").click()
        assert page.get_by_role(
            "heading", name="Make a request about your personal data"
        ).is_visible()
        page.get_by_role("button", name="Cymraeg").click()
        assert page.locator("html").get_attribute("lang") == "cy"
        page.get_by_label("Mynediad (copi o'ch data)").check()
        page.locator("#id_name").fill("Alice Archer")
        page.locator("#id_email").fill("alice@example.com")
        page.get_by_role("button", name="Anfon fy nghais").click()
        assert page.get_by_role("heading", name="Edrychwch ar eich e-bost").is_visible()
        accessible(page, "cy-submitted")
        dsr = DataSubjectRequest.objects.get()
        assert dsr.language == "cy"
        (verify,) = mail.outbox
        assert "Cadarnhau fy nghais" in verify.body
        page.goto(base + link_in("verify", "alice@example.com"))
        accessible(page, "cy-verify")
        page.get_by_role("button", name="Cadarnhau fy nghais").click()
        assert page.get_by_role(
            "heading", name="Diolch, mae eich cais wedi'i gadarnhau"
        ).is_visible()
        accessible(page, "cy-verified")
        confirmed = next(m for m in mail.outbox if "/status/" in m.body)
        assert confirmed.body.startswith("Helo Alice Archer,")
        page.goto(base + link_in("status", "alice@example.com"))
        assert page.locator("html").get_attribute("lang") == "cy"
        accessible(page, "cy-portal")
    finally:
        context.close()


@pytest.mark.parametrize("right", ["Access (a copy of your data)", "Correction of inaccurate data"])
def test_pressing_enter_in_a_field_sends_the_request(
    page: Any, live_server: Any, right: str
) -> None:
    page.goto(live_server.url + "/")
    page.get_by_label(right).check()
    if right.startswith("Correction"):
        page.locator("#id_c-0-field").fill("Phone number")
        page.locator("#id_c-0-corrected_value").fill("07700 900099")
    page.get_by_role("textbox", name="Your full name", exact=True).fill("Ann Archer")
    email = page.get_by_role("textbox", name="Your email address", exact=True)
    email.fill("ann@example.com")
    email.press("Enter")
    page.get_by_role("heading", name="Check your email").wait_for()
    dsr = DataSubjectRequest.objects.get()
    assert dsr.corrections.count() == (1 if right.startswith("Correction") else 0)
    assert any(m.to == ["ann@example.com"] for m in mail.outbox)
