"""The one table of what happens next (``requests_app/workflow.py``), as the ``advance`` task and
the sweeper read it: each type's route, a message delivered twice, a request that moved on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from requests_app import tasks, workflow
from requests_app.core.queue import Task
from requests_app.fulfilment import erasure
from requests_app.models import DataSubjectRequest, RequestEvent, RequestType, Status
from requests_app.review import case
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db


def _events(dsr: DataSubjectRequest) -> list[str]:
    return list(
        RequestEvent.objects.filter(request=dsr).order_by("seq").values_list("action", flat=True)
    )


def test_every_request_type_has_a_route_and_only_opt_outs_skip_review() -> None:
    assert set(workflow.ROUTES) == set(RequestType.values)
    carried = {kind for kind, route in workflow.ROUTES.items() if route.carry_out}
    assert carried == {
        RequestType.RECTIFICATION,
        RequestType.MARKETING_OPT_OUT,
        RequestType.RESTRICTION,
    }
    assert workflow.ROUTES[RequestType.RECTIFICATION].carry_out == Task.APPLY_RECTIFICATION
    assert workflow.ROUTES[RequestType.RESTRICTION].carry_out == Task.APPLY_RESTRICTION


def test_an_objection_to_direct_marketing_takes_the_opt_outs_route(submit: Any) -> None:
    marketing = submit(request_type="objection", objection_scope="direct_marketing")
    other = submit(
        request_type="objection", objection_scope="other", grounds="x", email="o@example.com"
    )
    assert workflow.route_of(marketing) is workflow.ROUTES[RequestType.MARKETING_OPT_OUT]
    assert workflow.route_of(other) is workflow.ROUTES[RequestType.OBJECTION]


def test_advance_delivered_twice_moves_a_verified_request_on_once(verified: Any) -> None:
    # given an access request, verified and (no stores) already in review
    dsr = verified()
    assert dsr.status == Status.IN_REVIEW
    before = _events(dsr)
    # when the advance message is delivered again, twice
    tasks.advance(dsr.pk)
    tasks.advance(dsr.pk)
    # then nothing more happens
    assert _events(dsr) == before
    assert before.count("start_gathering") == 1


def test_an_approved_erasure_held_by_staff_stays_approved_however_often_it_is_advanced(
    verified: Any, reviewer: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = verified(request_type="erasure", email="held@example.com")
    erasure.legal_hold_place(dsr=dsr, actor=reviewer, reason="litigation")
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(dsr, approver)
    for _ in range(3):
        tasks.advance(dsr.pk)
    dsr.refresh_from_db()
    assert dsr.status == Status.APPROVED
    assert _events(dsr).count("erasure_waiting") == 1  # said once on the timeline
    assert not dsr.erasure_steps.exists()


def test_a_withdrawn_request_is_not_advanced(verified: Any, approver: Any) -> None:
    dsr = verified(request_type="erasure", email="gone@example.com")
    case.request_withdraw(dsr=dsr, actor=approver, reason="asked by phone")
    before = _events(dsr)
    tasks.advance(dsr.pk)
    assert _events(dsr) == before
    dsr.refresh_from_db()
    assert dsr.status == Status.WITHDRAWN


def test_a_verified_opt_out_is_carried_out_by_its_carry_out_task(verified: Any) -> None:
    dsr = verified(request_type="marketing_opt_out", email="quiet@example.com")
    assert dsr.status == Status.COMPLETED
    assert _events(dsr)[-4:] == ["verify", "start_opt_out", "complete", "opted_out"]


def test_the_sweeper_runs_the_carry_out_task_of_an_opt_out_left_fulfilling(
    verified: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given an opt-out whose carrying-out message was lost: fulfilling, untouched for an hour
    dsr = verified(request_type="marketing_opt_out", email="lost@example.com")
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        status=Status.FULFILLING, closed_at=None, updated_at=timezone.now() - timedelta(hours=1)
    )
    # when the sweeper runs, then the table's carry_out task completes it
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_lost_work()
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED


def test_the_sweeper_advances_an_approved_request_whose_message_was_lost(
    verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given an approved access request whose advance message never arrived
    dsr = verified(email="approved@example.com")
    submit_and_approve(dsr, approver)  # on-commit work (the advance) not run
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    assert DataSubjectRequest.objects.get(pk=dsr.pk).status == Status.APPROVED
    # when the sweeper runs, then the workflow starts its fulfilment: the files are planned
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_lost_work()
    dsr.refresh_from_db()
    assert dsr.status == Status.FULFILLING
    assert sorted(dsr.exports.values_list("format", flat=True)) == ["csv", "json", "pdf"]
