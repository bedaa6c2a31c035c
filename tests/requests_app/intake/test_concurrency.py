"""Simultaneous submissions, on real connections (one per thread): no duplicate is created."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from requests_app.intake import receive
from requests_app.models import DataSubjectRequest


@pytest.mark.django_db(transaction=True)
def test_simultaneous_identical_requests_create_one(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    start, results, errors = threading.Barrier(8), [], []

    def submit() -> None:
        try:
            start.wait()
            result = receive.request_receive(
                data=receive.Submission(
                    request_type="erasure", name="Twin", email="twin@example.com"
                )
            )
            results.append(result.created)
        except Exception as exc:  # collected and reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == [False] * 7 + [True]
    assert DataSubjectRequest.objects.filter(requester_email="twin@example.com").count() == 1
