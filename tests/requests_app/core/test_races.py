"""Issue 12, finding 3: two people (or one person twice) change a request at the same moment.

Each test fires a pair of API calls from threads with their own database connections, released
together by a barrier, for several rounds, and asserts that exactly one wins and the other is
refused with 409, or, where both may legitimately succeed in either order, that the outcome is
one of the serial ones. Only a server database races like this: these run in CI's PostgreSQL
pass (SQLite serialises every writer).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from requests_app.core import lifecycle
from requests_app.core.locking import request_locked
from requests_app.fulfilment import erasure
from requests_app.intake.receive import CorrectionInput
from requests_app.models import DataSubjectRequest, LegalHold, RequestEvent, Status
from requests_app.review import decisions
from tests.factories import UserFactory
from tests.requests_app.conftest import phone_of
from tests.support.workflow import submit_for_approval

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks race only on a server database (CI's PostgreSQL pass)",
    ),
]
ROUNDS = 6


def client_for(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result() for future in futures]


def post(user: Any, dsr: DataSubjectRequest, path: str, data: dict[str, Any] | None = None) -> int:
    """An action by the API; an approval approves the version there is now, as a client that
    has just read the request would."""
    url = f"/api/v1/requests/{dsr.reference}/{path}/"
    if path == "approve" and data is None:
        data = {"seen": decisions.approval_seen(dsr)}
    return int(client_for(user).post(url, data or {}, format="json").status_code)


@pytest.fixture
def staff(db: Any) -> dict[str, Any]:
    return {
        "ada": UserFactory(username="ada", roles=["reviewer", "approver"]),
        "bea": UserFactory(username="bea", roles=["reviewer", "approver"]),
        "rita": UserFactory(username="rita", roles=["reviewer"]),
        "vera": UserFactory(username="vera", roles=["reviewer"]),
    }


def test_two_approvers_approving_at_once_approve_once(verified: Any, staff: Any) -> None:
    for n in range(ROUNDS):
        dsr = submit_for_approval(verified(email=f"twice{n}@example.com"))
        codes = race(
            lambda d=dsr: post(staff["ada"], d, "approve"),
            lambda d=dsr: post(staff["bea"], d, "approve"),
        )
        assert sorted(codes) == [200, 409], codes
        assert RequestEvent.objects.filter(request=dsr, action="approve").count() == 1


def test_approve_and_send_back_at_once_one_wins(verified: Any, staff: Any) -> None:
    for n in range(ROUNDS):
        dsr = submit_for_approval(verified(email=f"back{n}@example.com"))
        approve, back = race(
            lambda d=dsr: post(staff["ada"], d, "approve"),
            lambda d=dsr: post(staff["bea"], d, "send-back", {"reason": "Not yet"}),
        )
        assert sorted([approve, back]) == [200, 409], (approve, back)
        dsr.refresh_from_db()
        if approve == 200:
            assert dsr.status != Status.IN_REVIEW
        else:
            assert (dsr.status, dsr.submitted_by) == (Status.IN_REVIEW, None)


def test_a_legal_hold_placed_as_the_erasure_is_approved_is_never_ignored(
    verified: Any, staff: Any
) -> None:
    for n in range(ROUNDS):
        dsr = submit_for_approval(verified(email=f"hold{n}@example.com", request_type="erasure"))
        approve, hold = race(
            lambda d=dsr: post(staff["ada"], d, "approve"),
            lambda d=dsr: post(staff["rita"], d, "legal-hold", {"reason": "Claim 42"}),
        )
        assert approve == 200
        assert hold in {200, 409}, hold
        dsr.refresh_from_db()
        active = LegalHold.objects.filter(request=dsr, released_at__isnull=True).exists()
        if hold == 200:
            # the hold landed before fulfilment looked: nothing was erased
            assert active
            assert dsr.status == Status.APPROVED
            assert not dsr.erasure_steps.exists()
            assert not RequestEvent.objects.filter(request=dsr, action="start_fulfilment").exists()
        else:
            # refused because erasure was already under way, never placed and ignored
            assert not active
            assert dsr.status in {Status.FULFILLING, Status.COMPLETED}


def test_legal_holds_placed_at_once_all_land_without_a_deadlock(verified: Any, staff: Any) -> None:
    for n in range(ROUNDS):
        dsr = verified(email=f"holds{n}@example.com", request_type="erasure")
        codes = race(
            *[
                lambda d=dsr, who=who: post(staff[who], d, "legal-hold", {"reason": f"by {who}"})
                for who in ("ada", "bea", "rita", "vera")
            ]
        )
        assert codes == [200, 200, 200, 200]
        assert LegalHold.objects.filter(request=dsr, released_at__isnull=True).count() == 4
        assert RequestEvent.objects.filter(request=dsr, action="legal_hold_placed").count() == 4


def test_a_decision_racing_the_approval_is_in_what_was_approved_or_refused(
    verified: Any, staff: Any, phones: Path, settings: Any
) -> None:
    # one approver, alone (single-person mode), approves and edits a correction at once
    settings.DSAR_SINGLE_PERSON_MODE = True
    for n in range(ROUNDS):
        email = f"fix{n}@example.com"
        dsr = verified(
            request_type="rectification",
            email=email,
            corrections=[CorrectionInput(field="Phone", corrected_value="07700 900001")],
        )
        dsr.corrections.update(
            decision="accepted", target_field="phone", final_value="07700 900001"
        )
        approve, decide = race(
            lambda d=dsr: post(staff["ada"], d, "approve"),
            lambda d=dsr, n=n: post(
                staff["ada"],
                d,
                "corrections/1/decide",
                {"decision": "edited", "target_field": "phone", "value": f"07700 90099{n}"},
            ),
        )
        # The approval names the version read just before it: a decision landing in between is
        # a changed response, refused (409) until the approver reads it again, never approved
        # blind. Either way exactly one of the two changes the version.
        assert (approve, decide) in {(200, 200), (200, 409), (409, 200)}, (approve, decide)
        if approve == 409:
            assert not RequestEvent.objects.filter(request=dsr, action="approve").exists()
            assert post(staff["ada"], dsr, "approve") == 200  # read again, then approved
        approved = lifecycle.approved_snapshot(dsr)
        assert approved is not None
        (decided,) = approved["corrections"]
        correction = dsr.corrections.get()
        # what was approved is what is recorded now: no decision changed after the approval
        assert (decided["decision"], decided["value"]) == (
            correction.decision,
            correction.final_value,
        )
        assert (
            phone_of(phones, email) == decided["value"]
        )  # and what was written is what was approved


def test_a_deadlock_is_retried_once_and_both_changes_land(verified: Any) -> None:
    first, second = verified(email="dl1@example.com"), verified(email="dl2@example.com")
    both_locked = threading.Barrier(2)
    attempts: list[int] = []

    @request_locked
    def lock_the_other(*, dsr: DataSubjectRequest, other: DataSubjectRequest) -> None:
        attempts.append(dsr.pk)
        if attempts.count(dsr.pk) == 1:
            both_locked.wait(timeout=30)  # each holds its own row; each now wants the other's
        DataSubjectRequest.objects.select_for_update().get(pk=other.pk)
        DataSubjectRequest.objects.filter(pk=dsr.pk).update(details=f"changed by {dsr.pk}")

    race(
        lambda: lock_the_other(dsr=first, other=second),
        lambda: lock_the_other(dsr=second, other=first),
    )
    # PostgreSQL chose one as the deadlock's victim; it ran again and both changes landed
    assert len(attempts) == 3
    assert {attempts.count(first.pk), attempts.count(second.pk)} == {1, 2}
    for dsr in (first, second):
        dsr.refresh_from_db()
        assert dsr.details == f"changed by {dsr.pk}"


def test_releasing_the_hold_one_saw_never_ends_one_placed_meanwhile(
    verified: Any, staff: Any
) -> None:
    for n in range(ROUNDS):
        dsr = verified(email=f"rehold{n}@example.com", request_type="erasure")
        first = erasure.legal_hold_place(dsr=dsr, actor=staff["rita"], reason="Claim 1")
        submit_for_approval(dsr)
        assert post(staff["ada"], dsr, "approve") == 200  # approved, held
        release, place = race(
            lambda d=dsr, h=first.pk: post(
                staff["bea"], d, "legal-hold/release", {"reason": "Settled", "hold": h}
            ),
            lambda d=dsr: post(staff["vera"], d, "legal-hold", {"reason": "Claim 2"}),
        )
        assert release == 200
        assert place in {200, 409}, place
        dsr.refresh_from_db()
        active = LegalHold.objects.filter(request=dsr, released_at__isnull=True)
        if place == 200:
            # the new hold stands, and nothing was erased under it
            assert list(active.values_list("reason", flat=True)) == ["Claim 2"]
            assert dsr.status == Status.APPROVED
            assert not dsr.erasure_steps.exists()
        else:
            assert not active.exists()
            assert dsr.status in {Status.FULFILLING, Status.COMPLETED}
