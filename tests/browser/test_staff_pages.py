"""Every staff page at 390, 768 and 1280 px: no serious or critical axe-core finding, nothing
wider than the window (issue 16, point 6)."""

from __future__ import annotations

from typing import Any

import pytest

from requests_app.intake.receive import CorrectionInput
from tests.browser.conftest import PASSWORD, STAFF_WIDTHS, accessible, log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _totp(secret: str) -> str:
    import base64

    from django_otp.oath import totp

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def test_every_staff_page_is_accessible_and_fits_at_three_widths(
    page: Any, live_server: Any, demo_map: Any, verified: Any, ready: Any
) -> None:
    base = live_server.url
    UserFactory(
        username="rita", first_name="Rita", last_name="Reviewer", roles=["reviewer", "approver"]
    )
    UserFactory(username="rob", roles=["reviewer"])
    bob = verified(name="Bob Baker", email="bob@example.com")
    alice = verified(name="Alice Archer", email="alice@example.com", request_type="erasure")
    carol = ready(verified(name="Carol Clark", email="carol@example.com"))  # submitted by sam
    dan = verified(
        request_type="rectification",
        name="Dan Dawson",
        email="dan@example.com",
        corrections=[CorrectionInput(field="Phone", corrected_value="07700 900099")],
    )

    page.goto(f"{base}/staff/login/")
    accessible(page, "staff-login", STAFF_WIDTHS)
    log_in(page, base, "rita")
    pages = {
        "staff-queue": "/staff/",
        "staff-overview": "/staff/overview/",
        "staff-log-request": "/staff/requests/new/",
        "staff-request": f"/staff/requests/{bob.reference}/",
        "staff-store-data": f"/staff/requests/{bob.reference}/data/support/",
        "staff-action-hold": f"/staff/requests/{bob.reference}/hold/",
        "staff-two-factor": "/staff/two-factor/",
        "staff-notifications": "/staff/notifications/",
        "staff-erasure-plan": f"/staff/requests/{alice.reference}/",
        "staff-correction-decision": f"/staff/requests/{dan.reference}/",
        "staff-approve": f"/staff/requests/{carol.reference}/approve/",
    }
    for name, path in pages.items():
        page.goto(base + path)
        accessible(page, name, STAFF_WIDTHS)
    # approved: the files are built (in-process here), then the request and release pages
    page.goto(f"{base}/staff/requests/{carol.reference}/approve/")
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("link", name="Preview PDF").wait_for()
    accessible(page, "staff-request-files", STAFF_WIDTHS)
    page.goto(f"{base}/staff/requests/{carol.reference}/release/")
    accessible(page, "staff-release", STAFF_WIDTHS)
    # two-factor: the codes page on setting it up, then the code asked for at the next log-in
    page.goto(f"{base}/staff/two-factor/")
    secret = page.locator("code").first.inner_text().replace(" ", "")
    page.locator("input[name=token]").fill(_totp(secret))
    page.get_by_label("Your password, again").fill(PASSWORD)
    page.get_by_role("button", name="Turn on two-factor").click()
    accessible(page, "staff-backup-codes", STAFF_WIDTHS)
    page.goto(f"{base}/staff/two-factor/remove/")
    accessible(page, "staff-two-factor-remove", STAFF_WIDTHS)
    page.context.clear_cookies()
    page.goto(f"{base}/staff/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/staff/login/verify/**")
    accessible(page, "staff-two-factor-code", STAFF_WIDTHS)
    log_in(page, base, "rob")
    page.goto(f"{base}/staff/requests/{bob.reference}/withdraw/")  # an approver's action
    assert page.get_by_role("heading", name="You may not do this").is_visible()
    accessible(page, "staff-403", STAFF_WIDTHS)
