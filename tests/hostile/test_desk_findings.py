"""An attacker's and a new user's findings on the review desk (issue 16, second round): each
test failed before its fix."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from requests_app.models import DataSubjectRequest, RequestEvent, Status
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_no_cell_of_the_queue_csv_can_start_a_formula_after_a_separator(
    submit: Any, reviewer: Any
) -> None:
    """A spreadsheet that splits on ";" (much of Europe) starts a new cell inside the name."""
    submit(name="Alice;=cmd|' /C calc'!A0", email="alice@example.com")
    submit(name="Bob, +SUM(A1)", email="bob@example.com")
    body = login(reviewer).get("/staff/queue.csv?status=all").content
    cells = [cell for row in _rows(body)[1:] for cell in row]
    for separator in ",;|\t":
        for cell in cells:
            for piece in cell.split(separator)[1:]:
                assert not piece.lstrip().startswith(("=", "+", "-", "@")), cell
    assert "Alice;'=cmd|' /C calc'!A0" in cells


def test_the_queue_csv_names_its_assignee_as_staff_know_them(submit: Any, reviewer: Any) -> None:
    rob = UserFactory(username="reviewer2", first_name="Rob", last_name="Reviewer")
    dsr = submit(name="Carol Clark", email="carol@example.com")
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(assignee=rob)
    [_, row] = _rows(login(reviewer).get("/staff/queue.csv?status=all").content)
    assert row[5] == "Rob Reviewer (reviewer2)"


def test_the_audit_trail_keeps_only_the_queue_filters_never_what_a_url_carries(
    submit: Any, reviewer: Any
) -> None:
    submit(name="Jane Doe", email="jane.doe@example.org")
    client = login(reviewer)
    bad = client.get("/staff/queue.csv?status=all&type=%00")
    assert bad.status_code == 400  # filters it cannot apply: no file, rather than another view
    client.get("/staff/queue.csv?status=all&q=jane.doe@example.org&anything=Jane+Doe+07700900123")
    event = RequestEvent.objects.get(action="queue_exported")
    text = str(event.payload)
    for secret in ("jane", "Jane", "07700900123", "anything"):
        assert secret not in text
    assert event.payload["filters"] == {"status": "all"}


def test_bulk_actions_refuse_bad_input_with_a_message_not_a_500(submit: Any, approver: Any) -> None:
    dsr = submit(name="Carol Clark", email="carol@example.com")
    client = login(approver)
    for data in (
        {"action": "assign", "assignee": "abc", "refs": [dsr.reference]},
        {"action": "assign", "assignee": "99999999999999999999999", "refs": [dsr.reference]},
        {"action": "assign", "assignee": "", "refs": []},  # nothing ticked
        {"action": "withdraw_spam", "reason": "spam", "refs": []},
    ):
        response = client.post("/staff/bulk/", data, follow=True)
        assert response.status_code == 200, data
        said = [str(m) for m in response.context["messages"]]
        assert said, data
        assert not [m for m in said if m.startswith(("Assigned 0", "Withdrew 0"))], said
    dsr.refresh_from_db()
    assert dsr.status != Status.WITHDRAWN
    assert dsr.assignee is None


@pytest.mark.parametrize("path", ["/staff/overview/", "/staff/overview/report.csv"])
def test_a_period_past_the_calendar_is_a_400(path: str, approver: Any) -> None:
    for query in ("from=9999-01-01&to=9999-12-31", "from=0001-01-01&to=0001-01-02"):
        response = login(approver).get(f"{path}?{query}")
        assert response.status_code == 400, query


def test_the_admin_never_loops_for_staff_without_admin_rights(reviewer: Any) -> None:
    response = login(reviewer).get("/admin/", follow=True)
    assert len(response.redirect_chain) < 3
    assert response.status_code in (200, 403)


def test_a_saved_view_refused_keeps_the_queue_as_it_was(reviewer: Any) -> None:
    """New user's finding: a duplicate name said so, then showed the queue unfiltered."""
    client = login(reviewer)
    client.post("/staff/views/", {"name": "Erasures", "query": "type=erasure&status=all"})
    again = client.post("/staff/views/", {"name": "Erasures", "query": "type=erasure&status=all"})
    assert again.status_code == 302
    assert again["Location"] == "/staff/?type=erasure&status=all"
    blank = client.post("/staff/views/", {"name": " ", "query": "type=access"})
    assert blank["Location"] == "/staff/?type=access"
    # filters the queue does not take are not carried back either
    odd = client.post("/staff/views/", {"name": "", "query": "type=nonsense&q=jane"})
    assert odd["Location"] == "/staff/"


def test_whoever_took_the_request_and_vouched_for_the_person_may_not_approve_it(
    approver: Any, reviewer: Any
) -> None:
    """Attacker's finding (round 2): an approver logged a phone request, vouched for identity,
    chose delivery by post to an address of their own, then approved and released it."""
    from requests_app.core import actions
    from tests.support.workflow import submit_for_approval

    client = login(approver)
    logged = client.post(
        "/api/v1/requests/",
        {
            "request_type": "access",
            "name": "Dan Dawson",
            "email": "dan@example.com",
            "jurisdiction": "uk_gdpr",
            "channel": "phone",
            "received_at": timezone.now().isoformat(),
            "identity_check": "known_details",
            "identity_note": "he knew his postcode",
            "delivery": "post",
            "postal_address": "1 Mallory Road",
        },
        content_type="application/json",
    )
    assert logged.status_code == 201, logged.content
    dsr = DataSubjectRequest.objects.get(reference=logged.json()["reference"])
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=Status.IN_REVIEW)
    dsr = submit_for_approval(dsr, reviewer)
    refused = actions.refusal("approve", approver, dsr)
    assert refused is not None
    assert "Two-person rule" in refused.message
    assert refused.forbidden
    # vouching for someone's identity, or an agent's authority, later on prepares it too
    assert actions.ACTIONS["confirm_identity"].prepares
    assert actions.ACTIONS["confirm_authority"].prepares


def test_a_store_that_found_nothing_says_so(demo_map: Any, verified: Any, reviewer: Any) -> None:
    dsr = verified(name="Bob Baker", email="bob@example.com")
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/data/marketing/")
    text = " ".join(page.content.decode().split())
    assert "marketing found nothing about this person." in text
    assert "records in ," not in text
