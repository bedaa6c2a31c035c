"""Corrections reaching every store and read back, and opt-outs carried out without staff,
against a fresh demo estate per test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from requests_app.core.errors import IllegalTransition, NotPermitted, RuleViolation
from requests_app.fulfilment import rectification
from requests_app.intake.receive import CorrectionInput
from requests_app.models import (
    CorrectionDecision,
    DataSubjectRequest,
    ProcessorNotice,
    Status,
    Suppression,
)
from requests_app.review import decisions
from tests.conftest import OwnEstate

pytestmark = pytest.mark.django_db

DAN = "dan@example.com"
CAROL = "carol@example.com"
OLD, NEW = "07700 900005", "07700 900099"


@pytest.fixture
def dan_correction(own_estate: OwnEstate, verified: Any) -> Any:
    dsr = verified(
        request_type="rectification",
        name="Dan Dawson",
        email=DAN,
        corrections=[
            CorrectionInput(field="Phone number", current_value=OLD, corrected_value=NEW),
            CorrectionInput(field="Favourite colour", corrected_value="green"),
        ],
    )
    assert dsr.status == Status.IN_REVIEW
    return dsr


def _phones(estate: OwnEstate) -> dict[str, list[tuple[str, str]]]:
    found = {}
    for store, table in (
        ("crm", "customers"),
        ("app", "accounts"),
        ("billing", "billing_accounts"),
    ):
        with estate.sqlite(store) as conn:
            found[store] = list(conn.execute(f"SELECT email, phone FROM {table} ORDER BY id"))
    return found


def test_an_accepted_correction_reaches_every_store_and_is_read_back(
    dan_correction: Any,
    own_estate: OwnEstate,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    before = _phones(own_estate)
    rectification.correction_decide(
        dsr=dan_correction,
        position=1,
        actor=reviewer,
        decision="accepted",
        target_field="phone",
    )
    rectification.correction_decide(
        dsr=dan_correction,
        position=2,
        actor=reviewer,
        decision="declined",
        reason="We do not hold a favourite colour.",
    )
    decisions.request_submit(dsr=dan_correction, actor=reviewer)
    with pytest.raises(NotPermitted, match="Only an approver"):  # rita prepared it
        decisions.request_act(action="approve", dsr=dan_correction, actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_act(action="approve", dsr=dan_correction, actor=approver)
    dan_correction.refresh_from_db()
    assert dan_correction.status == Status.COMPLETED

    after = _phones(own_estate)
    for store, rows in after.items():
        for (email, phone), (_, old_phone) in zip(rows, before[store], strict=True):
            assert phone == (NEW if email == DAN else old_phone), store
    results = dan_correction.corrections.get(position=1).results
    assert results == {
        "crm.customers": {"changed": 1, "held": 1, "read_back": True},
        "app.accounts": {"changed": 1, "held": 1, "read_back": True},
        "billing.billing_accounts": {"changed": 1, "held": 1, "read_back": True},
    }
    (confirmation,) = [m for m in mailoutbox if "your corrections" in m.subject]
    assert confirmation.to == [DAN]
    assert f'now "{NEW}"' in confirmation.body
    assert "We do not hold a favourite colour." in confirmation.body
    notice = ProcessorNotice.objects.get(request=dan_correction)  # Article 19: the card processor
    assert notice.purpose == "rectification"
    (notice_mail,) = [m for m in mailoutbox if "please correct" in m.subject]
    assert f'- Phone number: "{NEW}"' in notice_mail.body  # as the map labels it


def test_approval_waits_until_every_correction_is_decided(
    dan_correction: Any, reviewer: Any, approver: Any
) -> None:
    rectification.correction_decide(
        dsr=dan_correction,
        position=1,
        actor=reviewer,
        decision="edited",
        target_field="phone",
        value="+44 7700 900099",
    )
    with pytest.raises(RuleViolation, match="Decide every correction"):
        decisions.request_submit(dsr=dan_correction, actor=reviewer)
    with pytest.raises(IllegalTransition, match="submitted for approval"):
        decisions.request_act(action="approve", dsr=dan_correction, actor=approver)
    assert dan_correction.corrections.get(position=1).final_value == "+44 7700 900099"


@pytest.mark.parametrize(
    ("decision", "target", "value", "reason", "field"),
    [
        ("accepted", "favourite_colour", "", "", "target_field"),
        ("edited", "phone", "", "", "value"),
        ("declined", "", "", "  ", "reason"),
        ("maybe", "phone", "", "", "decision"),
    ],
)
def test_a_bad_decision_names_the_field(
    dan_correction: Any,
    reviewer_api: Any,
    decision: str,
    target: str,
    value: str,
    reason: str,
    field: str,
) -> None:
    response = reviewer_api.post(
        f"/api/v1/requests/{dan_correction.reference}/corrections/1/decide/",
        {"decision": decision, "target_field": target, "value": value, "reason": reason},
        format="json",
    )
    assert response.status_code == 400
    assert field in json.dumps(response.json())
    assert dan_correction.corrections.get(position=1).decision == CorrectionDecision.PENDING


def test_an_opt_out_completes_without_staff_and_the_address_is_suppressed(
    own_estate: OwnEstate, verified: Any, mailoutbox: Any, reviewer_api: Any, api: Any
) -> None:
    consent = Path(own_estate.urls["consent"]) / "consents.jsonl"
    lines_before = consent.read_text().splitlines()
    dsr = verified(request_type="marketing_opt_out", name="Carol Chen", email=CAROL)
    assert dsr.status == Status.COMPLETED
    assert Suppression.objects.count() == 1
    assert CAROL not in Suppression.objects.get().email_hash  # a keyed hash, not the address

    contacts = own_estate.sandbox.data["marketing"]["contacts"]
    assert [c["status"] for c in contacts if c["email"] == CAROL] == ["unsubscribed"]
    assert {c["status"] for c in contacts if c["email"] != CAROL} == {"subscribed"}
    lines_after = consent.read_text().splitlines()
    for before, after in zip(lines_before, lines_after, strict=True):
        if json.loads(before)["email"] == CAROL:
            assert json.loads(after) == {**json.loads(before), "marketing": False}
        else:
            assert after == before
    assert any("no more marketing" in m.subject for m in mailoutbox)

    check = "/api/v1/suppression/check/"
    answer = reviewer_api.post(check, {"email": "Carol@Example.com"}, format="json").json()
    assert answer["suppressed"] is True
    assert answer["since"]
    assert reviewer_api.post(check, {"email": "alice@example.com"}, format="json").json() == {
        "suppressed": False,
        "since": None,
    }
    # never by a query string: it would reach access logs
    assert reviewer_api.get(check, {"email": "alice@example.com"}).status_code == 405
    bad = reviewer_api.post(check, {"email": "not-an-address"}, format="json")
    assert bad.status_code == 400
    assert "email" in bad.json()
    assert api.get(check, {"email": CAROL}).status_code in {401, 403}


def test_an_opt_out_is_never_refused_and_a_repeat_changes_nothing(
    own_estate: OwnEstate, verified: Any, approver: Any
) -> None:
    first = verified(request_type="marketing_opt_out", name="Carol Chen", email=CAROL)
    with pytest.raises(IllegalTransition, match="never be refused"):
        decisions.request_act(action="reject", dsr=first, actor=approver, reason="no")
    calls = len(own_estate.sandbox.calls)
    second = verified(request_type="marketing_opt_out", name="Carol Chen", email=CAROL)
    assert second.status == Status.COMPLETED
    assert Suppression.objects.count() == 1
    # the partner already shows her unsubscribed: the same value is written again, harmlessly
    assert all(c[0] == "PATCH" for c in own_estate.sandbox.calls[calls:])


def test_a_correction_with_no_approval_on_record_fails_once_not_every_sweep(
    verified: Any,
) -> None:
    # given a correction left fulfilling with no approve event (a row changed in the database)
    dsr = verified(request_type="rectification", email="noapproval@example.com")
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=Status.FULFILLING)
    # when the sweeper runs it again and again
    for _ in range(3):
        assert rectification.rectification_apply(request_id=dsr.pk) is False
    # then nothing is written, it is said once on the timeline, and it waits a sweep interval
    failures = dsr.events.filter(action="rectification_failed")
    assert failures.count() == 1
    assert "no approved corrections" in failures.get().payload["problems"][0]
    assert DataSubjectRequest.objects.get(pk=dsr.pk).status == Status.FULFILLING
