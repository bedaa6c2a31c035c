"""Gathering through the pipeline (tasks run in-process here; tests/integration uses a real worker)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from requests_app import tasks, workflow
from requests_app.gathering import gather
from requests_app.intake import verification
from requests_app.models import GatherStep, Status, StepStatus
from requests_app.review import case
from tests.requests_app.stores.conftest import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(demo_map: Any, verified: Any) -> Any:
    return verified(name="Alice Archer", email="alice@example.com")


def test_every_store_is_gathered_and_the_request_moves_to_review(alice: Any) -> None:
    alice.refresh_from_db()
    assert alice.status == Status.IN_REVIEW
    steps = {s.store: s for s in alice.gather_steps.all()}
    assert set(steps) == {"crm", "app", "billing", "analytics", "consent", "marketing", "support"}
    assert all(s.status == StepStatus.DONE for s in steps.values())
    assert steps["billing"].table_counts == {
        "billing_accounts": 1,
        "invoices": 3,
        "invoice_lines": 3,
        "payment_methods": 1,
    }
    assert steps["analytics"].category_counts == {"usage": 241}
    assert steps["marketing"].record_count == 7
    assert [e.action for e in alice.events.order_by("seq")][-1] == "finish_gathering"


def test_gathered_files_are_encrypted_and_decrypt_to_the_records(alice: Any) -> None:
    step = alice.gather_steps.get(store="crm")
    with default_storage.open(step.file_name, "rb") as handle:
        raw = handle.read()
    assert b"alice@example.com" not in raw
    assert b"Alice Archer" not in raw
    records = list(gather.gathered_records(step))
    assert [t for t, _ in records] == ["customers", "customer_notes"]
    assert records[0][1]["email"] == "alice@example.com"


def test_a_step_run_twice_does_not_duplicate(alice: Any) -> None:
    step = alice.gather_steps.get(store="billing")
    first = step.file_name
    GatherStep.objects.filter(pk=step.pk).update(status=StepStatus.PENDING)
    type(alice).objects.filter(pk=alice.pk).update(status=Status.GATHERING)
    tasks.gather_store(step.pk)
    tasks.gather_store(step.pk)  # delivered twice: the second finds it done
    step.refresh_from_db()
    assert step.record_count == 8
    assert step.attempts == 2
    assert len(list(gather.gathered_records(step))) == 8
    assert not default_storage.exists(first)  # the old file was replaced, not appended to
    assert (
        default_storage.listdir(f"gathered/{alice.reference}")[1].count(Path(step.file_name).name)
        == 1
    )


def test_a_store_that_is_down_fails_visibly_while_the_others_finish(
    demo_map: Any,
    verified: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
    reviewer: Any,
) -> None:
    # given the marketing partner is unreachable
    monkeypatch.setenv("DSAR_STORE_MARKETING_URL", f"http://127.0.0.1:{closed_port()}/marketing")
    slept: list[float] = []
    monkeypatch.setattr("requests_app.stores.http.time.sleep", slept.append)  # the clock: the edge
    dsr = verified(name="Alice", email="alice@example.com")
    steps = {s.store: s for s in dsr.gather_steps.all()}
    # then it was retried, then marked failed and retryable; every other store is done
    assert steps["marketing"].status == StepStatus.FAILED
    assert "unreachable" in steps["marketing"].error
    assert "gave up" in steps["marketing"].error
    assert steps["marketing"].attempts == tasks.STEP_MAX_RETRIES + 1
    # within each attempt the connector backed off 0.5 s, 1 s, 2 s before giving the task its error
    assert slept == [0.5, 1.0, 2.0] * (tasks.STEP_MAX_RETRIES + 1)
    assert all(s.status == StepStatus.DONE for n, s in steps.items() if n != "marketing")
    dsr.refresh_from_db()
    assert dsr.status == Status.GATHERING
    assert dsr.events.filter(action="store_failed").count() == 1
    # when the partner is back and staff retry just that store
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        gather.gathering_retry_store(dsr=dsr, store="marketing", actor=reviewer)
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW
    assert dsr.gather_steps.get(store="marketing").record_count == 7
    assert dsr.gather_steps.get(store="crm").attempts == 1  # the others were not gathered again


def test_retry_through_the_api(
    demo_map: Any, verified: Any, monkeypatch: Any, reviewer_api: Any
) -> None:
    monkeypatch.setenv("DSAR_STORE_MARKETING_TOKEN", "wrong")
    dsr = verified(email="alice@example.com")
    detail = reviewer_api.get(f"/api/v1/requests/{dsr.reference}/").json()
    marketing = next(s for s in detail["stores"] if s["store"] == "marketing")
    assert marketing["status"] == "failed"
    assert "credentials" in marketing["error"]
    assert marketing["attempts"] == 1  # a permanent error is not retried
    assert (
        reviewer_api.post(f"/api/v1/requests/{dsr.reference}/stores/crm/retry/").status_code == 409
    )
    assert (
        reviewer_api.post(f"/api/v1/requests/{dsr.reference}/stores/nope/retry/").status_code == 400
    )
    monkeypatch.undo()
    response = reviewer_api.post(f"/api/v1/requests/{dsr.reference}/stores/marketing/retry/")
    assert response.status_code == 200
    assert (
        next(s for s in response.json()["stores"] if s["store"] == "marketing")["status"]
        == "pending"
    )


def test_the_sweeper_takes_back_a_step_whose_worker_died(alice: Any, settings: Any) -> None:
    step = alice.gather_steps.get(store="crm")
    type(alice).objects.filter(pk=alice.pk).update(status=Status.GATHERING)
    GatherStep.objects.filter(pk=step.pk).update(
        status=StepStatus.RUNNING,
        claimed_by="dead-task",
        claimed_at=timezone.now() - timedelta(hours=1),
    )
    assert gather.steps_to_requeue() == [step.pk]
    tasks.sweep_lost_work()
    step.refresh_from_db()
    alice.refresh_from_db()
    assert step.status == StepStatus.DONE
    assert step.claimed_by != "dead-task"
    assert alice.status == Status.IN_REVIEW


def test_a_running_step_is_not_taken_by_a_second_worker(alice: Any) -> None:
    step = alice.gather_steps.get(store="crm")
    type(alice).objects.filter(pk=alice.pk).update(status=Status.GATHERING)
    GatherStep.objects.filter(pk=step.pk).update(
        status=StepStatus.RUNNING, claimed_by="busy", claimed_at=timezone.now()
    )
    assert gather.gathering_run_step(step_id=step.pk, task_id="another") is False
    assert gather.gathering_run_step(step_id=step.pk, task_id="busy") is True  # its own redelivery


def test_a_withdrawn_request_is_not_gathered(demo_map: Any, submit: Any, approver: Any) -> None:
    dsr = submit(email="alice@example.com")
    verification.request_mark_verified(dsr=dsr, actor="requester")  # on-commit work not run
    dsr = workflow.request_advance(dsr=type(dsr).objects.get(pk=dsr.pk))  # plans gathering
    case.request_withdraw(dsr=dsr, actor=approver, reason="changed their mind")
    step = dsr.gather_steps.get(store="crm")
    assert gather.gathering_run_step(step_id=step.pk, task_id="t") is False
    step.refresh_from_db()
    assert step.status == StepStatus.PENDING
    assert step.file_name == ""


def test_a_step_is_done_only_with_its_event_on_the_timeline(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a store step about to finish, and a worker that dies as it records the event
    step = alice.gather_steps.get(store="crm")
    type(alice).objects.filter(pk=alice.pk).update(status=Status.GATHERING)
    GatherStep.objects.filter(pk=step.pk).update(status=StepStatus.PENDING, claimed_by="")

    def dies(**kwargs: Any) -> None:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(gather, "event_append", dies)
    with pytest.raises(RuntimeError):
        gather.gathering_run_step(step_id=step.pk, task_id="t")
    # then the step is not done: the sweeper runs it again, and the timeline misses nothing
    step.refresh_from_db()
    assert step.status == StepStatus.RUNNING
    assert step.file_name == "" or default_storage.exists(step.file_name)
