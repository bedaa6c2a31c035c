"""The staff API: who may call what, filters, and the actions through their services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from requests_app.models import DataSubjectRequest, Status

pytestmark = pytest.mark.django_db

ACTIONS = [
    "approve",
    "reject",
    "extend",
    "hold",
    "resume",
    "withdraw",
    "assign",
    "confirm-authority",
]


def staff_endpoints(reference: str) -> list[tuple[str, str]]:
    base = f"/api/v1/requests/{reference}/"
    return [("get", "/api/v1/requests/"), ("get", base)] + [
        ("post", f"{base}{a}/") for a in ACTIONS
    ]


@pytest.fixture
def dsr(verified: Any) -> DataSubjectRequest:
    return verified(name="Sam Subject", email="sam@example.com")


@pytest.mark.parametrize("who", ["api", "outsider_api"])
def test_every_staff_endpoint_refuses_anonymous_and_non_staff(
    request: Any, who: str, dsr: Any
) -> None:
    client = request.getfixturevalue(who)
    for method, url in staff_endpoints(dsr.reference):
        response = getattr(client, method)(url, {"reason": "x"}, format="json")
        assert response.status_code in (401, 403), (who, method, url, response.status_code)
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW


def test_session_login_works_too(client: Any, reviewer: Any, dsr: Any) -> None:
    client.force_login(reviewer)
    assert client.get("/api/v1/requests/").status_code == 200


def test_list_shows_days_left_and_filters(
    reviewer_api: Any, verified: Any, submit: Any, reviewer: Any
) -> None:
    late = verified(email="late@example.com")
    DataSubjectRequest.objects.filter(pk=late.pk).update(
        due_on=timezone.localdate() - dt.timedelta(days=2)
    )
    fresh = verified(email="fresh@example.com", request_type="erasure")
    waiting = submit(email="wait@example.com")
    body = reviewer_api.get("/api/v1/requests/").json()
    refs = [row["reference"] for row in body["results"]]
    assert refs[0] == late.reference  # sorted by due date
    row = next(r for r in body["results"] if r["reference"] == late.reference)
    assert row["days_left"] == -2
    assert row["overdue"] is True

    def refs_for(query: str) -> set[str]:
        return {
            r["reference"] for r in reviewer_api.get(f"/api/v1/requests/?{query}").json()["results"]
        }

    assert refs_for("overdue=true") == {late.reference}
    assert refs_for("type=erasure") == {fresh.reference}
    assert refs_for("status=awaiting_verification") == {waiting.reference}

    def found(search: str) -> set[str]:
        body = {"search": search}
        page = reviewer_api.post("/api/v1/requests/search/", body, format="json").json()
        return {r["reference"] for r in page["results"]}

    assert found("FRESH@example.com") == {fresh.reference}
    assert found(late.reference) == {late.reference}
    # never by a query string: it would reach access logs
    refused = reviewer_api.get("/api/v1/requests/?search=fresh@example.com")
    assert refused.status_code == 400
    assert "POST /api/v1/requests/search/" in refused.json()["search"][0]
    assert refs_for("assignee=none") == {late.reference, fresh.reference, waiting.reference}
    reviewer_api.post(
        f"/api/v1/requests/{fresh.reference}/assign/", {"assignee": "rita"}, format="json"
    )
    assert refs_for("assignee=rita") == {fresh.reference}


def test_bad_filter_is_a_400_naming_it(reviewer_api: Any) -> None:
    response = reviewer_api.get("/api/v1/requests/?status=sleeping")
    assert response.status_code == 400
    assert "status" in response.json()


def test_detail_has_events_and_allowed_actions(reviewer_api: Any, dsr: Any) -> None:
    body = reviewer_api.get(f"/api/v1/requests/{dsr.reference}/").json()
    assert [e["action"] for e in body["events"]] == [
        "received",
        "email_verified",
        "verify",
        "start_gathering",
        "finish_gathering",
    ]
    assert "submit" in body["allowed_actions"]
    assert "approve" not in body["allowed_actions"]  # a reviewer's view: approving is not hers
    assert "resume" not in body["allowed_actions"]
    assert body["due_on"] is not None


def test_unknown_reference_is_a_404(reviewer_api: Any) -> None:
    assert reviewer_api.get("/api/v1/requests/DSR-2026-999999/").status_code == 404


def test_reviewer_cannot_approve_or_reject(reviewer_api: Any, dsr: Any) -> None:
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=Status.IN_REVIEW)
    for action in ("approve", "reject"):
        response = reviewer_api.post(
            f"/api/v1/requests/{dsr.reference}/{action}/", {"reason": "x"}, format="json"
        )
        assert response.status_code == 403
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW


def test_approver_approves(approver_api: Any, dsr: Any, ready: Any) -> None:
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=Status.IN_REVIEW)
    ready(dsr)
    seen = approver_api.get(f"/api/v1/requests/{dsr.reference}/").json()["approval_seen"]
    response = approver_api.post(
        f"/api/v1/requests/{dsr.reference}/approve/", {"seen": seen}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "approved"


def test_illegal_action_is_a_409_with_the_reason(approver_api: Any, dsr: Any) -> None:
    response = approver_api.post(f"/api/v1/requests/{dsr.reference}/resume/", {}, format="json")
    assert response.status_code == 409
    assert "in review" in response.json()["detail"].lower()


@pytest.mark.parametrize("action", ["reject", "extend", "hold", "withdraw"])
def test_actions_that_the_law_requires_a_reason_for(
    approver_api: Any, dsr: Any, action: str
) -> None:
    response = approver_api.post(
        f"/api/v1/requests/{dsr.reference}/{action}/", {"reason": ""}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()


def test_hold_then_resume_through_the_api(reviewer_api: Any, dsr: Any) -> None:
    held = reviewer_api.post(
        f"/api/v1/requests/{dsr.reference}/hold/", {"reason": "Which account?"}, format="json"
    )
    assert held.json()["status"] == "on_hold"
    assert held.json()["pauses"][0]["question"] == "Which account?"
    resumed = reviewer_api.post(f"/api/v1/requests/{dsr.reference}/resume/", {}, format="json")
    assert resumed.json()["status"] == "in_review"


def test_extend_through_the_api(reviewer_api: Any, dsr: Any) -> None:
    before = dsr.due_on
    body = reviewer_api.post(
        f"/api/v1/requests/{dsr.reference}/extend/", {"reason": "Many systems"}, format="json"
    ).json()
    assert body["extension"]["reason"] == "Many systems"
    assert dt.date.fromisoformat(body["due_on"]) > before


def test_assign_only_to_privacy_staff(reviewer_api: Any, dsr: Any, outsider: Any) -> None:
    response = reviewer_api.post(
        f"/api/v1/requests/{dsr.reference}/assign/", {"assignee": "olly"}, format="json"
    )
    assert response.status_code == 400
    assert "assignee" in response.json()
    ok = reviewer_api.post(
        f"/api/v1/requests/{dsr.reference}/assign/", {"assignee": None}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["assignee"] is None


def test_schema_is_served_and_lists_the_endpoints(api: Any) -> None:
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/requests/" in paths
    assert "/api/v1/requests/verify/" in paths
    assert "/api/v1/requests/{reference}/reject/" in paths
