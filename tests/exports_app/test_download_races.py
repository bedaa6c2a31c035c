"""Downloads of one file at the same moment: never more than the limit, whatever the timing.

Threads with their own database connections, released together by a barrier (as in
``tests/requests_app/core/test_races.py``). SQLite serialises writers, so there the test proves
the count; CI's PostgreSQL pass proves the row lock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from exports_app.models import DownloadLink, FileDownloads
from requests_app.review import decisions

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, call) for call in calls]]


def _get(url: str) -> int:
    response = Client().get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return int(response.status_code)


def test_eight_downloads_of_one_file_at_once_count_five_and_leave_the_others_whole(
    demo_map: Any, verified: Any, approve: Any, approver: Any, settings: Any
) -> None:
    settings.DSAR_RATE_LIMIT_VERIFY_PER_IP = 1000
    dsr = approve(verified(email="alice@example.com"))
    mail.outbox.clear()
    decisions.request_release(dsr=dsr, actor=approver)
    match = re.search(r"https?://[^/\s]+(/downloads/[^/\s]+/)", mail.outbox[-1].body)
    assert match
    path = match.group(1)
    statuses = race(*[lambda: _get(f"{path}json/") for _ in range(8)])
    assert sorted(statuses) == [200] * 5 + [410] * 3
    link = DownloadLink.objects.get(request=dsr)
    assert FileDownloads.objects.get(link=link, format="json").downloads == 5
    assert link.downloads == 5
    assert dsr.events.filter(action="downloaded").count() == 5
    assert _get(f"{path}pdf/") == 200  # the other files still have all theirs
