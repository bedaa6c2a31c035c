"""Restriction of processing (UK GDPR Article 18): decided by staff under the two-person rule,
carried out through the data map's ``restrict:`` section on a fresh demo estate per test, and
lifted later by an approver, who must tell the person first (Article 18(3))."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from requests_app.core import notifications
from requests_app.core.errors import IllegalTransition, NotPermitted
from requests_app.fulfilment import restriction
from requests_app.models import (
    DataSubjectRequest,
    EmailStatus,
    OutgoingEmail,
    Restriction,
    Status,
)
from requests_app.public import status as public_status
from tests.conftest import OwnEstate
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"
# What the demo map's ``restrict:`` section changes: (store, table) → the flag column.
RESTRICTED = {
    ("crm", "customers"): "processing_restricted",
    ("app", "accounts"): "processing_restricted",
}


@pytest.fixture
def alice_restriction(own_estate: OwnEstate, verified: Any) -> DataSubjectRequest:
    dsr = verified(
        request_type="restriction",
        name="Alice Archer",
        email=ALICE,
        grounds="My phone number is wrong: please stop using my details until you check it.",
    )
    assert dsr.status == Status.IN_REVIEW  # gathered every store, like any reviewed request
    return dsr


@pytest.fixture
def restricted(
    alice_restriction: DataSubjectRequest, approver: Any, django_capture_on_commit_callbacks: Any
) -> DataSubjectRequest:
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(alice_restriction, approver)
    alice_restriction.refresh_from_db()
    assert alice_restriction.status == Status.COMPLETED
    return alice_restriction


def _columns(estate: OwnEstate, store: str, table: str) -> list[str]:
    with closing(estate.sqlite(store)) as conn:
        return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _expected_after(
    estate: OwnEstate, before: dict[str, Any], value: int
) -> dict[str, dict[str, dict[Any, tuple[Any, ...]]]]:
    """The snapshot as the map says it must be: Alice's rows of the restricted tables with the flag
    at ``value``, every other row of every table exactly as before."""
    expected = {
        store: {t: dict(rows) for t, rows in tables.items()} for store, tables in before.items()
    }
    for (store, table), column in RESTRICTED.items():
        names = _columns(estate, store, table)
        email, flag = names.index("email"), names.index(column)
        for key, row in before[store][table].items():
            if row[email] == ALICE:
                expected[store][table][key] = (*row[:flag], value, *row[flag + 1 :])
    return expected


def test_the_demo_estate_starts_unrestricted(own_estate: OwnEstate) -> None:
    for (store, table), column in RESTRICTED.items():
        with closing(own_estate.sqlite(store)) as conn:
            assert {v for (v,) in conn.execute(f'SELECT "{column}" FROM "{table}"')} == {0}


def test_an_approved_restriction_changes_only_the_persons_rows_as_the_map_says(
    alice_restriction: DataSubjectRequest,
    own_estate: OwnEstate,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    # given Alice's restriction in review, and every row of every store as it is now
    before = own_estate.snapshot()
    # when it is submitted by one member of staff and approved by another
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(alice_restriction, approver)
    alice_restriction.refresh_from_db()
    # then it is carried out and completed with no one else's row touched
    assert alice_restriction.status == Status.COMPLETED
    assert own_estate.snapshot() == _expected_after(own_estate, before, 1)
    event = alice_restriction.events.get(action="restricted")
    assert event.payload["changes"] == [
        {
            "store": "crm",
            "table": "customers",
            "set": {"processing_restricted": True},
            "lift": {"processing_restricted": False},
            "records": 1,
        },
        {
            "store": "app",
            "table": "accounts",
            "set": {"processing_restricted": True},
            "lift": {"processing_restricted": False},
            "records": 1,
        },
    ]
    assert alice_restriction.restriction.changes == event.payload["changes"]
    # and Alice is told what was restricted, where
    (done,) = [m for m in mailoutbox if "restricted" in m.subject]
    assert done.to == [ALICE]
    assert alice_restriction.reference in done.subject
    # each store and table as the map names them to the person, never the staff's description
    assert "Our customer records: Customer record, 1 record" in done.body
    assert "Your account in our app: Accounts, 1 record" in done.body
    assert "Customer relationship management database" not in done.body
    assert "tell you before we lift it" in done.body


def test_a_restriction_is_rejected_with_a_reason_and_nothing_changes(
    alice_restriction: DataSubjectRequest,
    own_estate: OwnEstate,
    approver: Any,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from requests_app.review import decisions

    before = own_estate.snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_act(
            action="reject",
            dsr=alice_restriction,
            actor=approver,
            reason="We checked: it is accurate.",
        )
    assert own_estate.snapshot() == before
    (refusal,) = [m for m in mailoutbox if "our decision" in m.subject]
    assert "We checked: it is accurate." in refusal.body
    assert "Information Commissioner" in refusal.body


def test_lifting_tells_the_person_first_then_writes_back_the_lift_values(
    restricted: DataSubjectRequest,
    own_estate: OwnEstate,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    # given the restriction in force
    restricted_rows = own_estate.snapshot()
    # when an approver lifts it, giving the reason, and the notice is not sent yet
    restriction.restriction_lift(
        dsr=restricted, actor=approver, reason="Your details are accurate."
    )
    # then nothing is lifted while the person has not been told (Article 18(3))
    assert restriction.restriction_lift_apply(request_id=restricted.pk) is False
    assert own_estate.snapshot() == restricted_rows
    notice = OutgoingEmail.objects.get(request=restricted, template="restriction-lifting")
    assert notice.status == EmailStatus.PENDING
    # when the notice is sent, the lift goes ahead: the flags are back to the map's lift values
    notifications.email_send(email_id=notice.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert restriction.restriction_lift_apply(request_id=restricted.pk) is True
    assert own_estate.snapshot() == _expected_after(own_estate, restricted_rows, 0)
    # and a second run changes nothing and records nothing
    assert restriction.restriction_lift_apply(request_id=restricted.pk) is False
    # the trail: who decided, why; then the system lifting, after the notice went
    decided = restricted.events.get(action="restriction_lift_decided")
    assert decided.actor == "staff:ada"
    assert decided.payload["reason"] == "Your details are accurate."
    lifted = restricted.events.get(action="restriction_lifted")
    notice.refresh_from_db()
    assert notice.sent_at is not None
    assert notice.sent_at <= lifted.at
    assert [c["records"] for c in lifted.payload["changes"]] == [1, 1]
    restricted.restriction.refresh_from_db()
    assert restricted.restriction.lifted_at == lifted.at
    # the email said so before, with the reason and when
    (told,) = [m for m in mailoutbox if "lift" in m.subject]
    assert "Your details are accurate." in told.body
    assert "before we lift it" in told.body
    assert f"{timezone.localtime(lifted.at):%-d %B %Y}" in told.body
    assert "Our customer records: Customer record" in told.body
    assert "Your account in our app: Accounts" in told.body


def test_lifting_end_to_end_through_the_api(
    restricted: DataSubjectRequest,
    own_estate: OwnEstate,
    approver_api: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = f"/api/v1/requests/{restricted.reference}/lift-restriction/"
    detail = approver_api.get(f"/api/v1/requests/{restricted.reference}/").json()
    assert "lift_restriction" in detail["allowed_actions"]
    assert detail["restriction"]["lifted_at"] is None
    with django_capture_on_commit_callbacks(execute=True):
        answer = approver_api.post(url, {"reason": "Accuracy checked."}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["restriction"]["lift_reason"] == "Accuracy checked."
    restricted.restriction.refresh_from_db()
    assert restricted.restriction.lifted_at is not None
    again = approver_api.post(url, {"reason": "twice"}, format="json")
    assert again.status_code == 409
    assert "already lifted" in again.json()["detail"]
    assert (
        "lift_restriction"
        not in approver_api.get(f"/api/v1/requests/{restricted.reference}/").json()[
            "allowed_actions"
        ]
    )


def test_who_may_lift_and_when(
    restricted: DataSubjectRequest,
    approver: Any,
    reviewer: Any,
    reviewer_api: Any,
    approver_api: Any,
    verified: Any,
) -> None:
    url = f"/api/v1/requests/{restricted.reference}/lift-restriction/"
    # a reviewer may not: lifting lets processing start again, an approver's decision
    refused = reviewer_api.post(url, {"reason": "x"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Your role does not allow this action."
    with pytest.raises(NotPermitted, match="Only an approver may lift the restriction"):
        restriction.restriction_lift(dsr=restricted, actor=reviewer, reason="x")
    assert (
        "lift_restriction"
        not in reviewer_api.get(f"/api/v1/requests/{restricted.reference}/").json()[
            "allowed_actions"
        ]
    )
    # a reason is required: the person is told it
    missing = approver_api.post(url, {"reason": "  "}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()
    # not a restriction: refused with the reason, never a 500
    other = verified(request_type="marketing_opt_out", email="quiet@example.com")
    assert other.status == Status.COMPLETED
    wrong = approver_api.post(
        f"/api/v1/requests/{other.reference}/lift-restriction/", {"reason": "x"}, format="json"
    )
    assert wrong.status_code == 409
    assert "Only a restriction of processing can be lifted" in wrong.json()["detail"]
    # an open restriction (not yet decided): nothing to lift
    open_one = verified(
        request_type="restriction", email="alice@example.com", grounds="Check my address."
    )
    assert open_one.status == Status.IN_REVIEW
    early = approver_api.post(
        f"/api/v1/requests/{open_one.reference}/lift-restriction/", {"reason": "x"}, format="json"
    )
    assert early.status_code == 409
    assert "in review" in early.json()["detail"]
    with pytest.raises(IllegalTransition):
        restriction.restriction_lift(dsr=open_one, actor=approver, reason="x")


def test_a_lifted_restriction_shows_as_lifted_to_staff_and_to_the_person(
    restricted: DataSubjectRequest, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    staff = Client()
    staff.force_login(approver)
    page = staff.get(f"/staff/requests/{restricted.reference}/").content.decode()
    assert "Restriction in force" in page
    assert "Lift the restriction" in page
    assert "in force" in public_status.summary(restricted)["status_words"]
    with django_capture_on_commit_callbacks(execute=True):
        restriction.restriction_lift(dsr=restricted, actor=approver, reason="Checked.")
    restricted.refresh_from_db()
    page = staff.get(f"/staff/requests/{restricted.reference}/").content.decode()
    assert "Restriction lifted" in page
    assert "Checked." in page
    assert "Lift the restriction" not in page
    seen = public_status.summary(restricted)
    assert "lifted" in seen["status_words"]
    assert any("lifted" in item["words"] for item in seen["history"])


def test_a_map_without_a_restrict_section_leaves_it_fulfilling_and_says_why(
    alice_restriction: DataSubjectRequest,
    own_estate: OwnEstate,
    approver: Any,
    settings: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    from requests_app import datamap
    from tests.conftest import ROOT

    text = (ROOT / "demo" / "data-map.yaml").read_text()
    path = tmp_path / "map.yaml"
    path.write_text(text[: text.index("\nrestrict:")] + "\n")
    settings.DSAR_DATA_MAP = str(path)
    datamap.current.cache_clear()
    before = own_estate.snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(alice_restriction, approver)
    alice_restriction.refresh_from_db()
    assert alice_restriction.status == Status.FULFILLING  # never completed with an untrue email
    assert own_estate.snapshot() == before
    (failed,) = alice_restriction.events.filter(action="restriction_failed")
    assert "restrict" in failed.payload["error"]
    assert not [m for m in mailoutbox if "restricted" in m.subject]
    # the same problem is said once, however often the sweeper tries again
    assert restriction.restriction_apply(request_id=alice_restriction.pk) is False
    assert alice_restriction.events.filter(action="restriction_failed").count() == 1


def test_the_live_check_names_a_restrict_column_the_store_does_not_have(
    own_estate: OwnEstate, tmp_path: Any
) -> None:
    from requests_app import datamap
    from requests_app.stores.checks import check_map
    from tests.conftest import ROOT

    text = (ROOT / "demo" / "data-map.yaml").read_text()
    path = tmp_path / "map.yaml"
    path.write_text(
        text.replace(
            "set: {processing_restricted: true}, lift: {processing_restricted: false}}\n  - {store: app",
            "set: {processing_restrictd: true}, lift: {processing_restrictd: false}}\n  - {store: app",
            1,
        )
    )
    problems = [str(p) for p in check_map(datamap.load(path), ["crm"])]
    assert any(
        "restrict.0.set" in p
        and "no column 'processing_restrictd'" in p
        and "processing_restricted" in p
        for p in problems
    ), problems


def test_the_demo_flag_is_a_boolean_column(own_estate: OwnEstate) -> None:
    with closing(sqlite3.connect(own_estate.urls["crm"].removeprefix("sqlite:///"))) as conn:
        kinds = {row[1]: row[2] for row in conn.execute('PRAGMA table_info("customers")')}
    assert kinds["processing_restricted"] == "BOOLEAN"


def test_a_restriction_in_force_keeps_its_record_past_the_retention_period(
    restricted: DataSubjectRequest, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import datetime as dt

    from requests_app.core import retention

    long_ago = timezone.now() - dt.timedelta(days=800)
    DataSubjectRequest.objects.filter(pk=restricted.pk).update(closed_at=long_ago)
    # the person's address is what lifting needs (to find their rows, and to tell them first)
    assert restricted.pk not in retention.requests_to_purge()
    with django_capture_on_commit_callbacks(execute=True):
        restriction.restriction_lift(dsr=restricted, actor=approver, reason="Checked.")
    # once lifted, the record is kept the retention period from the lift, then purged
    assert restricted.pk not in retention.requests_to_purge()
    Restriction.objects.filter(request=restricted).update(lifted_at=long_ago)
    assert restricted.pk in retention.requests_to_purge()
