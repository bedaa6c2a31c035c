"""The gathered-data preview and withholding records from the dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from exports_app.models import Redaction
from requests_app.core.errors import NotPermitted
from requests_app.review import decisions
from tests.exports_app.conftest import export_bytes

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_heavy_subjects_last_page_is_reachable(
    demo_map: Any, verified: Any, reviewer: Any
) -> None:
    dsr = verified(email="harriet.heavy@example.com")
    client = login(reviewer)
    page = client.get(f"/staff/requests/{dsr.reference}/data/analytics/?table=page_views&page=2000")
    html = page.content.decode()
    assert page.status_code == 200
    assert "100,000 records in Page views" in html
    assert 'name="page" min="1" max="2000"' in html  # a page can be gone to at once
    assert "Page 2000 of 2000" in html
    assert html.count('name="record_key"') == 50


def test_withholding_a_field_reaches_the_export_and_blocks_self_approval(
    demo_map: Any, verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.factories import UserFactory

    dsr = verified(email="bob@example.com")
    client = login(approver)
    page = client.get(
        f"/staff/requests/{dsr.reference}/data/support/?table=tickets"
    ).content.decode()
    key = page.split('name="record_key" value="')[1].split('"')[0]
    client.post(
        f"/staff/requests/{dsr.reference}/data/support/redact/",
        {
            "table": "tickets",
            "page": 1,
            "record_key": key,
            "what": "field:messages",
            "reason": "other",
            "other_reason": "Names a colleague",
        },
    )
    assert Redaction.objects.get(request=dsr).field == "messages"
    assert (
        "withheld"
        in client.get(
            f"/staff/requests/{dsr.reference}/data/support/?table=tickets"
        ).content.decode()
    )
    decisions.request_submit(dsr=dsr, actor=approver)
    with pytest.raises(NotPermitted, match="Two-person rule"):
        decisions.request_approve(dsr=dsr, actor=approver)
    second = UserFactory(username="bea", roles=["reviewer", "approver"])
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=dsr, actor=second)
    document = json.loads(export_bytes(dsr.exports.get(format="json")))
    assert document["data"]["support"]["tickets"]["records"][0]["messages"] == "[REDACTED]"
    assert "jane.doe@example.org" not in json.dumps(document)


def test_a_redaction_needs_a_reason(demo_map: Any, verified: Any, reviewer: Any) -> None:
    dsr = verified(email="bob@example.com")
    response = login(reviewer).post(
        f"/staff/requests/{dsr.reference}/data/support/redact/",
        {"table": "tickets", "record_key": "a" * 64, "reason": ""},
        follow=True,
    )
    assert b"Choose why it is withheld" in response.content
    assert not Redaction.objects.exists()


def test_a_store_with_no_data_page_is_a_404(verified: Any, reviewer: Any) -> None:
    dsr = verified()
    assert login(reviewer).get(f"/staff/requests/{dsr.reference}/data/crm/").status_code == 404


def test_a_missing_gathered_file_is_a_message_not_an_error(
    demo_map: Any, verified: Any, reviewer: Any
) -> None:
    from django.core.files.storage import default_storage

    dsr = verified(email="alice@example.com")
    default_storage.delete(dsr.gather_steps.get(store="crm").file_name)
    response = login(reviewer).get(f"/staff/requests/{dsr.reference}/data/crm/", follow=True)
    assert response.status_code == 200
    assert b"cannot be read" in response.content
