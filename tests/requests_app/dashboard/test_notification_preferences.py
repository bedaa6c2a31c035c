"""Each member of staff chooses how they are told: each notification as it happens, or a daily
digest; the page shows what they were told lately."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from requests_app.models import StaffPreferences

pytestmark = pytest.mark.django_db
URL = "/staff/notifications/"


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_reviewer_chooses_a_daily_digest_and_back(reviewer: Any) -> None:
    client = login(reviewer)
    page = client.get(URL).content.decode()
    assert "Each as it happens" in page
    assert re.search(r'value="each"[^>]*checked', page)  # no choice made yet: each
    response = client.post(URL, {"delivery": "daily"})
    assert response.status_code == 302
    assert StaffPreferences.objects.get(user=reviewer).delivery == "daily"
    assert "A daily digest" in client.get(response["Location"]).content.decode()
    client.post(URL, {"delivery": "each"})
    assert StaffPreferences.objects.get(user=reviewer).delivery == "each"


def test_a_choice_that_is_not_offered_is_refused(reviewer: Any) -> None:
    response = login(reviewer).post(URL, {"delivery": "hourly"})
    assert response.status_code == 400
    assert not StaffPreferences.objects.filter(user=reviewer).exists()


def test_only_privacy_staff_have_the_page(outsider: Any) -> None:
    assert login(outsider).get(URL).status_code == 403
    assert Client().get(URL).status_code == 302  # to the log-in page
