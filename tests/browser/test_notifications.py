"""Issue 16, point 4, in a browser: an overdue request's email takes its assignee to the request;
her Notifications page lists what she was told and lets her choose a daily digest (axe-checked
at three widths)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from requests_app import tasks
from requests_app.models import DataSubjectRequest, StaffPreferences
from tests.browser.conftest import STAFF_WIDTHS, accessible, log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_an_overdue_email_leads_its_assignee_to_the_request_and_she_chooses_a_digest(
    page: Any, live_server: Any, verified: Any, django_capture_on_commit_callbacks: Any
) -> None:
    base = live_server.url
    rita = UserFactory(username="rita", roles=["reviewer"])
    dsr = verified(name="Olive Overdue", email="olive@example.com")
    # given the request is hers and was due yesterday (its data, not the clock, is moved)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        assignee=rita, due_on=timezone.localdate() - dt.timedelta(days=1)
    )
    mail.outbox.clear()
    # when beat's scan runs
    with django_capture_on_commit_callbacks(execute=True):
        tasks.notify_staff.delay()
    # then her email names the request, not the person, and its link opens the request
    (told,) = mail.outbox
    assert told.to == [rita.email]
    assert "overdue" in told.subject
    assert "Olive" not in told.body
    link = re.search(r"https?://\S+(/staff/requests/\S+/)", told.body)
    assert link is not None
    log_in(page, base, "rita")
    page.goto(base + link.group(1))
    assert page.get_by_role("heading", name=re.compile(dsr.reference)).first.is_visible()
    # and her Notifications page lists it; she chooses a daily digest
    page.get_by_role("link", name="Notifications").click()
    assert page.get_by_role("heading", name="Your notifications").is_visible()
    assert page.get_by_role("cell", name=re.compile("was due on")).is_visible()
    accessible(page, "staff-notifications", STAFF_WIDTHS)
    page.get_by_label("A daily digest").check()
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Saved: a daily digest.").is_visible()
    screenshot(page, "staff-notifications")
    assert StaffPreferences.objects.get(user=rita).delivery == "daily"
