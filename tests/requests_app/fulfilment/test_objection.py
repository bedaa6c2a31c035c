"""Objection (UK GDPR Article 21): to direct marketing it is absolute and carried out exactly like
a marketing opt-out, never reviewed; to other processing staff decide it, with reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from requests_app.core.errors import IllegalTransition, RuleViolation
from requests_app.intake import receive
from requests_app.models import DataSubjectRequest, Status, Suppression
from requests_app.review import decisions
from tests.conftest import OwnEstate
from tests.support.workflow import submit_and_approve, submit_for_approval

pytestmark = pytest.mark.django_db

CAROL = "carol@example.com"
GROUNDS = "I do not want my page views analysed to profile me: I am a journalist."


def _stores_after_opt_out(estate: OwnEstate) -> tuple[list[str], list[str]]:
    contacts = estate.sandbox.data["marketing"]["contacts"]
    consent = Path(estate.urls["consent"]) / "consents.jsonl"
    return [c["status"] for c in contacts], consent.read_text().splitlines()


def test_an_objection_to_direct_marketing_is_carried_out_exactly_like_an_opt_out(
    own_estate: OwnEstate, verified: Any, mailoutbox: Any
) -> None:
    # given the estate as seeded, when Carol objects to direct marketing
    untouched = _stores_after_opt_out(own_estate)
    objection = verified(
        request_type="objection", name="Carol Chen", email=CAROL, objection_scope="direct_marketing"
    )
    # then it completes at once, never reviewed, by the opt-out's own steps
    assert objection.status == Status.COMPLETED
    actions = list(objection.events.values_list("action", flat=True))
    assert actions[-4:] == ["verify", "start_opt_out", "complete", "opted_out"]
    assert "start_gathering" not in actions
    assert Suppression.objects.get().reference == objection.reference
    statuses, consent = _stores_after_opt_out(own_estate)
    contacts = own_estate.sandbox.data["marketing"]["contacts"]
    assert [c["status"] for c in contacts if c["email"] == CAROL] == ["unsubscribed"]
    for before, after, contact in zip(untouched[0], statuses, contacts, strict=True):
        assert after == ("unsubscribed" if contact["email"] == CAROL else before)
    for before, after in zip(untouched[1], consent, strict=True):
        if json.loads(before)["email"] == CAROL:
            assert json.loads(after) == {**json.loads(before), "marketing": False}
        else:
            assert after == before
    # and the email answers the objection she made
    (done,) = [m for m in mailoutbox if "no more marketing" in m.subject]
    assert "objected to our use of your information for direct marketing" in done.body
    assert "absolute right" in done.body


def test_an_objection_to_direct_marketing_can_never_be_refused(
    submit: Any, verified: Any, approver: Any
) -> None:
    waiting = submit(request_type="objection", email=CAROL, objection_scope="direct_marketing")
    assert waiting.status == Status.AWAITING_VERIFICATION
    with pytest.raises(IllegalTransition, match="never be refused"):
        decisions.request_act(action="reject", dsr=waiting, actor=approver, reason="no")
    done = verified(
        request_type="objection", email="x@example.com", objection_scope="direct_marketing"
    )
    assert done.status == Status.COMPLETED


def test_the_sweeper_finishes_a_marketing_objection_left_fulfilling(
    verified: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from requests_app import tasks

    dsr = verified(
        request_type="objection", email="lost@example.com", objection_scope="direct_marketing"
    )
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        status=Status.FULFILLING, closed_at=None, updated_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_lost_work()
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED


@pytest.fixture
def other_objection(verified: Any) -> DataSubjectRequest:
    dsr = verified(
        request_type="objection",
        name="Olive Object",
        email="olive@example.com",
        objection_scope="other",
        grounds=GROUNDS,
    )
    assert dsr.status == Status.IN_REVIEW  # reviewed like any decided request
    return dsr


def test_an_upheld_objection_needs_a_reason_and_tells_the_person_it(
    other_objection: DataSubjectRequest,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    submit_for_approval(other_objection)
    with pytest.raises(RuleViolation, match="reason"):
        decisions.request_act(action="approve", dsr=other_objection, actor=approver, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_act(
            action="approve",
            dsr=other_objection,
            actor=approver,
            reason="Our interest in analytics does not override yours: we have stopped it.",
        )
    other_objection.refresh_from_db()
    assert other_objection.status == Status.COMPLETED
    upheld = other_objection.events.get(action="objection_upheld")
    assert upheld.payload["reason"].startswith("Our interest in analytics")
    (answer,) = [m for m in mailoutbox if "objection" in m.subject]
    assert "upheld" in answer.body
    assert "Our interest in analytics does not override yours" in answer.body
    assert GROUNDS in answer.body
    assert Suppression.objects.count() == 0  # not a marketing objection


def test_a_refused_objection_says_why_and_names_the_ico(
    other_objection: DataSubjectRequest,
    approver: Any,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with pytest.raises(RuleViolation, match="reason"):
        decisions.request_act(action="reject", dsr=other_objection, actor=approver, reason="")
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_act(
            action="reject",
            dsr=other_objection,
            actor=approver,
            reason="Security logging is needed to protect every customer's account.",
        )
    other_objection.refresh_from_db()
    assert other_objection.status == Status.REJECTED
    (refusal,) = [m for m in mailoutbox if "our decision" in m.subject]
    assert "Security logging is needed" in refusal.body
    assert "Information Commissioner" in refusal.body
    assert "objection" in refusal.body


def test_an_upheld_objection_goes_through_the_two_person_rule(
    other_objection: DataSubjectRequest, approver: Any
) -> None:
    with pytest.raises(IllegalTransition, match="two-person rule"):
        decisions.request_act(action="approve", dsr=other_objection, actor=approver, reason="ok")
    submit_and_approve(other_objection, approver, reason="Upheld.")
    assert other_objection.events.filter(action="approve").exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"request_type": "objection"}, "objection_scope", "Say what you object to"),
        ({"request_type": "objection", "objection_scope": "other"}, "grounds", "Tell us why"),
        ({"request_type": "restriction"}, "grounds", "Tell us why"),
        (
            {"request_type": "access", "objection_scope": "other"},
            "objection_scope",
            "only with an objection",
        ),
    ],
)
def test_the_shared_rules_refuse_an_incomplete_objection_or_restriction(
    fields: dict[str, str], field: str, message: str, api: Any
) -> None:
    data = {"name": "Ann Example", "email": "ann@example.com", **fields}
    errors = receive.submission_errors(receive.Submission(**data))
    assert field in errors
    assert message in errors[field][0]
    answer = api.post("/api/v1/requests/", data, format="json")
    assert answer.status_code == 400
    assert message in json.dumps(answer.json())


def test_the_api_files_an_objection_with_its_scope_and_grounds(api: Any) -> None:
    answer = api.post(
        "/api/v1/requests/",
        {
            "request_type": "objection",
            "name": "Olive Object",
            "email": "olive@example.com",
            "objection_scope": "other",
            "grounds": GROUNDS,
        },
        format="json",
    )
    assert answer.status_code == 202
    dsr = DataSubjectRequest.objects.get()
    assert (dsr.objection_scope, dsr.grounds) == ("other", GROUNDS)


def test_a_marketing_objection_is_not_swallowed_by_an_open_objection_of_another_scope(
    submit: Any,
) -> None:
    other = submit(request_type="objection", email=CAROL, objection_scope="other", grounds=GROUNDS)
    marketing = submit(request_type="objection", email=CAROL, objection_scope="direct_marketing")
    assert marketing.pk != other.pk
