"""In a real browser: the overview for a chosen period, its CSV downloaded and read, and a saved
view of the queue made, used and deleted (issue 16, points 3 and 5)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from requests_app.models import DataSubjectRequest, Status
from tests.browser.conftest import STAFF_WIDTHS, accessible, log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_the_report_for_a_period_and_its_csv(page: Any, live_server: Any, submit: Any) -> None:
    base = live_server.url
    UserFactory(username="rita", roles=["reviewer"])
    today = timezone.localdate()
    answered = submit(name="Wanda Withheld", email="wanda@example.com", request_type="erasure")
    DataSubjectRequest.objects.filter(pk=answered.pk).update(
        status=Status.COMPLETED,
        received_at=timezone.now() - dt.timedelta(days=20),
        closed_at=timezone.now() - dt.timedelta(days=2),
        due_on=today + dt.timedelta(days=5),
    )
    late = submit(name="Larry Late", email="larry@example.com", request_type="access")
    DataSubjectRequest.objects.filter(pk=late.pk).update(
        status=Status.IN_REVIEW, due_on=today - dt.timedelta(days=1)
    )
    log_in(page, base, "rita")
    page.get_by_role("link", name="Overview").click()
    start = (today - dt.timedelta(days=60)).isoformat()
    page.get_by_label("From").fill(start)
    page.get_by_label("To").fill(today.isoformat())
    page.get_by_role("button", name="Show this period").click()
    page.wait_for_url(f"**/staff/overview/?from={start}*")
    assert page.get_by_role("heading", name="Answered on time, by type").is_visible()
    assert page.get_by_role("img", name="Requests received each month, stacked by type").count()
    accessible(page, "staff-overview-period", STAFF_WIDTHS)
    screenshot(page, "staff-overview-period-1280")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    text = Path(download.value.path()).read_text()
    rows = {tuple(r[:3]): r[3] for r in list(csv.reader(io.StringIO(text)))[1:]}
    assert rows[("Summary", "From", "")] == start
    assert rows[("Summary", "Overdue now", "")] == "1"
    assert rows[("On time by type", "Erasure", "On time")] == "1"
    for personal in ("Wanda", "wanda@example.com", "Larry", "larry@example.com"):
        assert personal not in text

    page.get_by_label("From").fill(today.isoformat())
    page.get_by_label("To").fill(start)
    page.get_by_role("button", name="Show this period").click()
    assert page.get_by_role("alert").get_by_text("The start must be on or before the end.").count()


def test_a_saved_view_of_the_queue(page: Any, live_server: Any, verified: Any) -> None:
    base = live_server.url
    UserFactory(username="rita", roles=["reviewer"])
    verified(name="Eric Erasure", email="eric@example.com", request_type="erasure")
    verified(name="Alma Access", email="alma@example.com", request_type="access")
    log_in(page, base, "rita")
    page.get_by_label("Type").select_option("erasure")
    page.get_by_role("button", name="Filter").click()
    page.get_by_label("Save these filters as").fill("Erasures")
    page.get_by_role("button", name="Save view").click()
    assert page.get_by_text("Saved “Erasures”").is_visible()
    page.get_by_role("button", name="Show every open request").click()
    assert page.get_by_text("Alma Access").is_visible()
    saved = page.get_by_role("button", name="Erasures", exact=True)
    # a link's colour, not the header's white on the page's white
    assert saved.evaluate("e => getComputedStyle(e).color") != "rgb(255, 255, 255)"
    saved.click()
    assert page.get_by_text("Eric Erasure").is_visible()
    assert not page.get_by_text("Alma Access").count()
    accessible(page, "staff-queue-saved-views", STAFF_WIDTHS)
    page.get_by_role("button", name="Delete the saved view Erasures").click()
    assert page.get_by_text("Saved view deleted.").is_visible()
    assert not page.get_by_role("button", name="Erasures", exact=True).count()
