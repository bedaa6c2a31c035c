"""Every transition of the state machine, legal and illegal, through the real services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from requests_app.core import deadlines, lifecycle, permissions
from requests_app.core.actions import ACTIONS, available, refusal
from requests_app.core.audit import chain_verify
from requests_app.core.errors import IllegalTransition, NotPermitted, RuleViolation
from requests_app.core.locking import request_locked
from requests_app.intake import verification
from requests_app.models import DataSubjectRequest, RequestEvent, Status
from requests_app.review import case, decisions
from tests.support.workflow import submitter

pytestmark = pytest.mark.django_db


@request_locked
def _system_move(*, dsr: DataSubjectRequest, action: str) -> DataSubjectRequest:
    return lifecycle.transition(dsr, action, actor="system")


def _services(staff: Any) -> dict[str, Callable[[DataSubjectRequest], DataSubjectRequest]]:
    system = {
        action: lambda r, action=action: _system_move(dsr=r, action=action)
        for action in ("start_gathering", "finish_gathering", "start_fulfilment", "start_opt_out")
    }
    return {
        **system,
        "verify": lambda r: verification.request_mark_verified(dsr=r, actor="requester"),
        "submit": lambda r: decisions.request_submit(dsr=r, actor=submitter()),
        "send_back": lambda r: decisions.request_send_back(
            dsr=r, actor=staff, reason="Withhold the colleague's name"
        ),
        "approve": lambda r: decisions.request_approve(dsr=r, actor=staff),
        "complete": lambda r: lifecycle.request_complete(dsr=r),
        "reject": lambda r: decisions.request_reject(
            dsr=r, actor=staff, reason="Manifestly unfounded"
        ),
        "hold": lambda r: case.request_hold(dsr=r, actor=staff, question="Which account?"),
        "resume": lambda r: case.request_resume(dsr=r, actor=staff),
        "withdraw": lambda r: case.request_withdraw(dsr=r, actor=staff, reason="Asked by phone"),
        "expire": lambda r: lifecycle.request_expire(dsr=r),
        "replan": lambda r: lifecycle.request_replan(dsr=r, changes=["crm.customers: action"]),
        "reopen": lambda r: lifecycle.request_reopen(dsr=r, actor="staff:ada"),
    }


CASES = [(action, status) for action in lifecycle.TRANSITIONS for status in Status]


@pytest.mark.parametrize(("action", "status"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_transition_table(action: str, status: str, submit: Any, approver: Any) -> None:
    # given a request in `status` (with a clock, and a place to resume to)
    dsr = submit()
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        status=status,
        clock_started_on=dt.date(2026, 3, 2),
        due_on=dt.date(2026, 4, 2),
        held_from_status=Status.IN_REVIEW if status == Status.ON_HOLD else "",
    )
    dsr.refresh_from_db()
    rule = lifecycle.TRANSITIONS[action]
    events_before = RequestEvent.objects.filter(request=dsr).count()
    service = _services(approver)[action]
    # a staff move is also subject to the table of who may (approving from review needs the
    # two-person rule off)
    actor = submitter() if action == "submit" else approver
    staff_refused = action in ACTIONS and refusal(action, actor, dsr) is not None
    if status in rule.sources and not staff_refused:
        # when the move is legal, then it lands on its target and is recorded
        after = service(dsr)
        expected = rule.target or Status.IN_REVIEW
        assert after.status == expected
        event = RequestEvent.objects.filter(request=dsr, action=action).get()
        assert (event.from_status, event.to_status) == (status, expected)
        assert event.actor in {"system", "requester", "staff:ada", "staff:sam"}
    else:
        # when it is illegal, then it is refused and nothing changes
        with pytest.raises(IllegalTransition):
            service(dsr)
        dsr.refresh_from_db()
        assert dsr.status == status
        assert RequestEvent.objects.filter(request=dsr).count() == events_before


def test_closing_transitions_stamp_closed_at(verified: Any, approver: Any) -> None:
    dsr = verified()
    after = case.request_withdraw(dsr=dsr, actor=approver, reason="Changed their mind")
    assert after.closed_at is not None
    assert not after.is_open


def test_reject_needs_a_reason(verified: Any, approver: Any) -> None:
    dsr = verified()
    with pytest.raises(RuleViolation) as exc:
        decisions.request_reject(dsr=dsr, actor=approver, reason="   ")
    assert exc.value.field == "reason"


def test_marketing_opt_out_can_never_be_refused(verified: Any, approver: Any) -> None:
    dsr = verified(request_type="marketing_opt_out")
    with pytest.raises(IllegalTransition, match="never be refused"):
        decisions.request_reject(dsr=dsr, actor=approver, reason="Excessive")
    assert "reject" not in available(dsr, approver)


def test_rejection_email_gives_reason_and_ico_right(
    verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = verified()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_reject(dsr=dsr, actor=approver, reason="Identity not confirmed")
    (message,) = mail.outbox
    assert "Identity not confirmed" in message.body
    assert "Information Commissioner" in message.body
    assert "ico.org.uk" in message.alternatives[0][0]


def test_hold_pauses_and_resume_moves_the_due_date(
    verified: Any, approver: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    # given a request verified on Monday 2 March 2026 (due Thursday 2 April)
    monkeypatch.setattr(deadlines, "today", lambda: dt.date(2026, 3, 10))
    dsr = verified()
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        status=Status.IN_REVIEW, clock_started_on=dt.date(2026, 3, 2), due_on=dt.date(2026, 4, 2)
    )
    mail.outbox.clear()
    # when staff ask a question on 10 March and the answer comes on 17 March
    with django_capture_on_commit_callbacks(execute=True):
        held = case.request_hold(dsr=dsr, actor=approver, question="Which email did you use?")
    assert held.status == Status.ON_HOLD
    assert "Which email did you use?" in mail.outbox[0].body
    monkeypatch.setattr(deadlines, "today", lambda: dt.date(2026, 3, 17))
    resumed = case.request_resume(dsr=held, actor=approver)
    # then it returns to review and the due date moves by the 7 days paused:
    # 2 April + 7 = 9 April, a Thursday
    assert resumed.status == Status.IN_REVIEW
    assert resumed.due_on == dt.date(2026, 4, 9)
    assert resumed.pauses.get().ended_on == dt.date(2026, 3, 17)


def test_extension_once_before_the_deadline_with_email(
    verified: Any, approver: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(deadlines, "today", lambda: dt.date(2026, 3, 20))
    dsr = verified()
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        clock_started_on=dt.date(2026, 3, 2), due_on=dt.date(2026, 4, 2)
    )
    dsr.refresh_from_db()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        extended = case.request_extend(dsr=dsr, actor=approver, reason="Data in 9 systems")
    assert extended.due_on == dt.date(2026, 6, 2)  # three months from 2 March, a Tuesday
    assert "Data in 9 systems" in mail.outbox[0].body
    assert extended.extension.previous_due_on == dt.date(2026, 4, 2)
    with pytest.raises(RuleViolation, match="already been extended"):
        case.request_extend(dsr=extended, actor=approver, reason="More")


def test_extension_refused_once_the_deadline_has_passed(
    verified: Any, approver: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(deadlines, "today", lambda: dt.date(2026, 4, 3))
    dsr = verified()
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(due_on=dt.date(2026, 4, 2))
    dsr.refresh_from_db()
    with pytest.raises(RuleViolation, match="has passed"):
        case.request_extend(dsr=dsr, actor=approver, reason="Too late")


def test_verification_starts_the_clock_and_sets_the_due_date(verified: Any) -> None:
    dsr = verified()
    today = timezone.localdate()
    assert dsr.clock_started_on == today
    assert dsr.due_on is not None
    assert dsr.due_on >= today + dt.timedelta(days=28)
    # the eager gathering task ran after commit; with no stores it finished at once
    assert dsr.status == Status.IN_REVIEW
    assert [
        e.action
        for e in dsr.events.order_by("seq")
        if e.action in {"verify", "start_gathering", "finish_gathering"}
    ] == ["verify", "start_gathering", "finish_gathering"]


def test_ccpa_clock_starts_at_receipt(submit: Any) -> None:
    dsr = submit(jurisdiction="ccpa")
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        received_at=timezone.now() - dt.timedelta(days=3)
    )
    dsr.refresh_from_db()
    after = verification.request_mark_verified(dsr=dsr, actor="requester")
    received = timezone.localdate(after.received_at)
    assert after.clock_started_on == received
    assert after.due_on == received + dt.timedelta(days=45)


def test_assign_records_who(verified: Any, approver: Any, reviewer: Any) -> None:
    dsr = verified()
    after = case.request_assign(dsr=dsr, actor=approver, assignee=reviewer)
    assert after.assignee == reviewer
    assert RequestEvent.objects.filter(request=dsr, action="assign").get().payload == {
        "assignee": "rita"
    }


def test_every_service_leaves_the_chain_intact(verified: Any, approver: Any) -> None:
    dsr = verified()
    case.request_hold(dsr=dsr, actor=approver, question="?")
    case.request_resume(dsr=dsr, actor=approver)
    case.request_withdraw(dsr=dsr, actor=approver, reason="done")
    assert list(chain_verify()) == []


def test_two_person_rule_one_submits_another_approves(verified: Any, approver: Any) -> None:
    from tests.factories import UserFactory

    dsr = verified()
    # nobody approves a response nobody submitted
    with pytest.raises(IllegalTransition, match="submitted for approval"):
        decisions.request_approve(dsr=dsr, actor=approver)
    ready = decisions.request_submit(dsr=dsr, actor=approver)
    assert ready.status == Status.READY_FOR_APPROVAL
    assert (ready.submitted_by, ready.submitted_at is not None) == (approver, True)
    # nor approves their own submission
    with pytest.raises(NotPermitted, match="Two-person rule"):
        decisions.request_approve(dsr=dsr, actor=approver)
    other = UserFactory(username="bea", roles=["reviewer", "approver"])
    assert decisions.request_approve(dsr=dsr, actor=other).status == Status.APPROVED
    event = RequestEvent.objects.get(request=dsr, action="submit")
    assert (event.actor, event.to_status) == ("staff:ada", Status.READY_FOR_APPROVAL)


def test_two_person_rule_whoever_prepared_cannot_approve(verified: Any, approver: Any) -> None:
    from requests_app.core.audit import event_append
    from tests.factories import UserFactory

    dsr = verified()
    event_append(dsr=dsr, actor=permissions.actor_label(approver), action="redact", payload={})
    decisions.request_submit(dsr=dsr, actor=submitter())
    with pytest.raises(NotPermitted, match="Two-person rule"):
        decisions.request_approve(dsr=dsr, actor=approver)
    other = UserFactory(username="bea", roles=["reviewer", "approver"])
    assert decisions.request_approve(dsr=dsr, actor=other).status == Status.APPROVED


def test_sent_back_clears_the_submission(verified: Any, approver: Any) -> None:
    dsr = verified()
    decisions.request_submit(dsr=dsr, actor=submitter())
    with pytest.raises(RuleViolation, match="reason"):
        decisions.request_send_back(dsr=dsr, actor=approver, reason=" ")
    back = decisions.request_send_back(dsr=dsr, actor=approver, reason="Withhold Jane")
    assert (back.status, back.submitted_by, back.submitted_at) == (Status.IN_REVIEW, None, None)
    assert RequestEvent.objects.get(request=dsr, action="send_back").payload == {
        "reason": "Withhold Jane"
    }


def test_single_person_mode_lets_one_approver_do_it_all(
    verified: Any, approver: Any, settings: Any
) -> None:
    from requests_app.core.audit import event_append

    settings.DSAR_SINGLE_PERSON_MODE = True
    dsr = verified()
    event_append(dsr=dsr, actor=permissions.actor_label(approver), action="redact", payload={})
    assert decisions.request_approve(dsr=dsr, actor=approver).status == Status.APPROVED
