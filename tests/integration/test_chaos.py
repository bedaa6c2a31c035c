"""Issue 13, finding 12: the chaos run. Requests of every type go through real workers on Redis
while the worker is SIGKILLed (its whole process group) at random moments for a bounded time.
Then, with a worker left running and the sweeper doing its rounds, every request reaches its
expected end: each email delivered once, nothing done twice, nothing stuck."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from exports_app.models import DownloadLink, Export, ExportStatus
from requests_app import selectors, tasks
from requests_app.fulfilment import rectification
from requests_app.intake import verification
from requests_app.intake.receive import CorrectionInput, Submission, request_receive
from requests_app.models import DataSubjectRequest, GatherStep, RequestEvent, Status
from requests_app.review import decisions
from requests_app.review.decisions import request_release
from tests.conftest import OwnEstate
from tests.factories import UserFactory
from tests.integration.conftest import FAST_SWEEP
from tests.integration.conftest import delivered as _delivered

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
        reason="the chaos run is in the real-services pass (Redis broker)",
    ),
]
PER_TYPE = 2  # requests of each type
CHAOS_SECONDS = 30  # how long the worker is killed at random
SETTLE_SECONDS = 240  # then, at most, for every request to reach its end
TYPES = ["access", "portability", "erasure", "rectification", "marketing_opt_out"]


def _file(kind: str, n: int) -> DataSubjectRequest:
    number = TYPES.index(kind) * PER_TYPE + n + 1
    email = f"person{number:03d}@example.net"
    corrections = []
    if kind == "rectification":
        corrections = [CorrectionInput(field="Phone", corrected_value=f"07700 8{number:05d}")]
    request_receive(
        data=Submission(
            request_type=kind, name=f"Person {number:03d}", email=email, corrections=corrections
        )
    )
    dsr = DataSubjectRequest.objects.get(requester_email=email, request_type=kind)
    raw = verification.token_issue(dsr=dsr, purpose="verify", ttl=timedelta(hours=1))
    verification.request_verify_email(raw_token=raw)
    return dsr


def _staff_round(requests: list[DataSubjectRequest], sam: Any, ada: Any) -> None:
    """What the privacy team does when it looks: prepare, submit, approve, release."""
    for dsr in requests:
        dsr.refresh_from_db()
        try:
            if dsr.status == Status.IN_REVIEW:
                if dsr.request_type == "rectification":
                    rectification.correction_decide(
                        dsr=dsr,
                        position=1,
                        actor=sam,
                        decision="accepted",
                        target_field="phone",
                    )
                decisions.request_submit(dsr=dsr, actor=sam)
            elif dsr.status == Status.READY_FOR_APPROVAL:
                decisions.request_approve(dsr=dsr, actor=ada)
            elif dsr.status == Status.FULFILLING and dsr.request_type in {"access", "portability"}:
                exports = list(Export.objects.filter(request=dsr))
                if exports and all(e.status == ExportStatus.READY for e in exports):
                    request_release(dsr=dsr, actor=ada)
                elif any(e.status == ExportStatus.FAILED for e in exports):
                    raise AssertionError(f"{dsr.reference}: a build failed: {exports}")
        except Exception as exc:  # a refusal from a race with the workers: look again later
            if "failed" in str(exc):
                raise


def test_chaos_every_request_ends_as_expected_each_email_once(
    own_estate: OwnEstate,
    start_worker: Any,
    outbox: Path,
    settings: Any,
) -> None:
    settings.DSAR_SWEEP_AFTER_SECONDS = int(FAST_SWEEP["DSAR_SWEEP_AFTER_SECONDS"])
    env = FAST_SWEEP
    sam = UserFactory(username="sam", roles=["reviewer"])
    ada = UserFactory(username="ada", roles=["reviewer", "approver"])
    worker = start_worker(**env)
    requests = [_file(kind, n) for kind in TYPES for n in range(PER_TYPE)]

    # the chaos: the worker's process group killed at random moments, a new one started
    rng = random.Random(20261126)
    kills = 0
    ended = time.monotonic() + CHAOS_SECONDS
    while time.monotonic() < ended:
        time.sleep(rng.uniform(0.5, 3.0))
        _staff_round(requests, sam, ada)
        worker.kill()
        kills += 1
        worker = start_worker(**env)

    # then the team keeps working, and the sweeper does its rounds (beat's job)
    done = {Status.COMPLETED}
    statuses: dict[str, str] = {}
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        statuses = {
            d.reference: d.status
            for d in DataSubjectRequest.objects.filter(pk__in=[r.pk for r in requests])
        }
        if set(statuses.values()) <= done:
            break
        _staff_round(requests, sam, ada)
        time.sleep(2.1)
        tasks.sweep_lost_work()
    outcomes = Counter(
        DataSubjectRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list(
            "status", flat=True
        )
    )
    print(f"chaos: {len(requests)} requests, {kills} kills, outcomes {dict(outcomes)}")
    assert outcomes == {Status.COMPLETED: len(requests)}, statuses
    assert selectors.stalled_requests() == []

    for dsr in requests:
        # nothing done twice
        gathered = Counter(
            RequestEvent.objects.filter(request=dsr, action="store_gathered").values_list(
                "payload__store", flat=True
            )
        )
        assert all(n == 1 for n in gathered.values()), (dsr.reference, gathered)
        assert GatherStep.objects.filter(request=dsr).count() == len(gathered)
        once = ["approve", "complete", "exports_released", "certificate_issued", "rectified"]
        for action in once:
            assert RequestEvent.objects.filter(request=dsr, action=action).count() <= 1, action
        if dsr.request_type in {"access", "portability"}:
            assert DownloadLink.objects.filter(request=dsr).count() == 1
    # each email once: let the last ones go out, then count what was delivered
    time.sleep(3)
    tasks.sweep_lost_work()
    time.sleep(5)
    for dsr in requests:
        delivered = _delivered(dsr.reference)
        assert delivered, dsr.reference
        assert set(delivered.values()) == {1}, (dsr.reference, delivered)
