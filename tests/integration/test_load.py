"""Load without loss: 1,000 people submit at once through the API, served by gunicorn with
several processes on the test database; some submit twice. Every address gets exactly one
request and exactly one verification email (its link sent again to whoever asked twice)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from requests_app.models import DataSubjectRequest, OutgoingEmail

pytestmark = pytest.mark.integration

PEOPLE = 1000
TWICE = 200  # of them submit a second time, at the same moment as everyone else
CLIENTS = 32


def test_a_thousand_concurrent_submissions_lose_nothing_and_duplicate_nothing(
    web_server: Any,
) -> None:
    url = web_server(
        workers=4,
        DSAR_RATE_LIMIT_PER_IP="100000",  # one client machine sends them all: not abuse here
        DSAR_RATE_LIMIT_PER_EMAIL="100000",
    )
    emails = [f"load{i:04d}@example.net" for i in range(PEOPLE)]
    submissions = emails + emails[:TWICE]

    def submit(email: str) -> int:
        body = {"request_type": "access", "name": "Load Test", "email": email}
        for _ in range(3):  # a connection refused under load is retried, as a browser would
            try:
                return httpx.post(f"{url}/api/v1/requests/", json=body, timeout=60).status_code
            except httpx.TransportError:
                continue
        return 0

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = Counter(pool.map(submit, submissions))

    # every submission gets the same answer; the repeats were emailed about, not created
    assert statuses == {202: PEOPLE + TWICE}
    stored = Counter(DataSubjectRequest.objects.values_list("requester_email", flat=True))
    assert len(stored) == PEOPLE
    assert set(stored.values()) == {1}
    verify = Counter(
        OutgoingEmail.objects.filter(template="verify").values_list(
            "request__requester_email", flat=True
        )
    )
    # one verification email per address; an address that asked twice while unverified is
    # sent its link again (the person may have lost the first), never a second request's link
    assert verify == Counter({e: 2 if i < TWICE else 1 for i, e in enumerate(emails)})
    assert OutgoingEmail.objects.exclude(template="verify").count() == 0
