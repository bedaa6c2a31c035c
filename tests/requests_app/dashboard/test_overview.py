"""The overview page's figures, checked against requests made for the purpose."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_page_renders_charts(submit: Any, reviewer: Any) -> None:
    submit()
    client = Client()
    client.force_login(reviewer)
    html = client.get("/staff/overview/").content.decode()
    assert "<svg" in html
    assert "<rect" in html
    assert "open now" in html
    assert html.count(">Open now, by status<") == 1  # once, its chart and figures side by side
    assert 'style="' not in html  # the CSP forbids inline styles
