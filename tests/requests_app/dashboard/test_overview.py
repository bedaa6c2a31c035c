"""The overview page's figures, checked against requests made for the purpose."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from requests_app.dashboard.reports import overview
from requests_app.models import DataSubjectRequest, Status

pytestmark = pytest.mark.django_db


def test_figures(submit: Any) -> None:
    now = timezone.now()
    today = timezone.localdate()
    # three closed in the last year: received 10, 20 and 40 days before closing; one of them late
    for days, late in ((10, False), (20, False), (40, True)):
        dsr = submit(email=f"closed{days}@example.com", request_type="erasure")
        closed = now - dt.timedelta(days=5)
        DataSubjectRequest.objects.filter(pk=dsr.pk).update(
            status=Status.COMPLETED,
            received_at=closed - dt.timedelta(days=days),
            closed_at=closed,
            due_on=(closed - dt.timedelta(days=1 if late else -1)).date(),
        )
    overdue = submit(email="late@example.com")
    DataSubjectRequest.objects.filter(pk=overdue.pk).update(
        status=Status.IN_REVIEW, due_on=today - dt.timedelta(days=2)
    )
    submit(email="waiting@example.com")
    figures = overview(today)
    assert figures.closed_12m == 3
    assert figures.on_time_rate == pytest.approx(2 / 3)
    assert figures.median_days == pytest.approx(20)
    assert figures.overdue == 1
    assert figures.open_count == 2
    assert dict(figures.status_table)["In review"] == 1
    this_week = figures.weekly_table[-1][1]
    assert this_week.get("access") == 2
    assert len(figures.weekly.bars) >= 1


def test_the_page_renders_charts(submit: Any, reviewer: Any) -> None:
    submit()
    client = Client()
    client.force_login(reviewer)
    html = client.get("/staff/overview/").content.decode()
    assert "<svg" in html
    assert "<rect" in html
    assert "open requests" in html
    assert 'style="' not in html  # the CSP forbids inline styles
