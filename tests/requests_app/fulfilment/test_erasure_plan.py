"""The approved plan is the plan executed: a plan that conflicts with a store's schema cannot be
approved; a map changed after approval sends the erasure back for a new approval, visibly,
having changed nothing; the plan's counts, the erasure's and the certificate's agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from requests_app import datamap
from requests_app.core.errors import RuleViolation
from requests_app.fulfilment import erasure, erasure_plans
from requests_app.fulfilment.certificate import StoreReport
from requests_app.models import ErasureStep, Status, StepStatus
from tests.conftest import ROOT, OwnEstate
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db
BOB = "bob@example.com"
DEMO = ROOT / "demo" / "data-map.yaml"


@pytest.fixture
def bob_erasure(own_estate: OwnEstate, verified: Any) -> Any:
    return verified(request_type="erasure", name="Bob Baker", email=BOB)


def _use_map(settings: Any, tmp_path: Path, *edits: tuple[str, str]) -> None:
    text = DEMO.read_text()
    for find, replace in edits:
        assert find in text
        text = text.replace(find, replace)
    path = tmp_path / f"map-{len(list(tmp_path.glob('map-*')))}.yaml"
    path.write_text(text)
    settings.DSAR_DATA_MAP = str(path)
    datamap.current.cache_clear()


LINES_WITH_INVOICE = 'period: "with their invoice", with_owner: true}'
LINES_FOR_EVER = 'period: "with their invoice"}'
INVOICES_KEPT = 'erase: {action: retain, legal_basis: "UK tax law (HMRC)", period: "6 years after the end of the financial year", years: 6, from_field: issued_on, year_end: "03-31"}'
INVOICES_DELETED = "erase: delete"
LINES_KEPT = 'erase: {action: retain, legal_basis: "UK tax law (HMRC)", period: "with their invoice", with_owner: true}'
LINES_DELETED = "erase: delete"


def test_a_plan_that_conflicts_with_the_schema_cannot_be_approved(
    bob_erasure: Any, approver: Any, settings: Any, tmp_path: Path, approver_api: Any
) -> None:
    # invoice lines kept for ever while their invoices are deleted when their period ends
    _use_map(settings, tmp_path, (LINES_WITH_INVOICE, LINES_FOR_EVER))
    plan = approver_api.get(f"/api/v1/requests/{bob_erasure.reference}/erasure-plan/").json()
    (billing,) = [s for s in plan["stores"] if s["store"] == "billing"]
    (problem,) = billing["problems"]
    assert "give invoice_lines erase.with_owner: true" in problem
    with pytest.raises(RuleViolation, match="cannot be approved until its plan has no problems"):
        submit_and_approve(bob_erasure, approver, reason="ok")
    bob_erasure.refresh_from_db()
    assert bob_erasure.status == Status.IN_REVIEW
    assert bob_erasure.erasure_plan is None


def test_a_map_changed_after_approval_sends_the_erasure_back_having_changed_nothing(
    bob_erasure: Any,
    own_estate: OwnEstate,
    approver: Any,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = own_estate.snapshot()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        submit_and_approve(bob_erasure, approver, reason="ok")
    bob_erasure.refresh_from_db()
    approved_digest = bob_erasure.erasure_plan["digest"]
    event = bob_erasure.events.get(action="approve")
    assert event.payload["approved"]["plan_digest"] == approved_digest
    # now the map says invoices are deleted: not what was approved
    _use_map(settings, tmp_path, (INVOICES_KEPT, INVOICES_DELETED), (LINES_KEPT, LINES_DELETED))
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    bob_erasure.refresh_from_db()
    assert bob_erasure.status == Status.IN_REVIEW
    replan = bob_erasure.events.get(action="replan")
    assert any("billing.invoices: action" in change for change in replan.payload["changes"])
    assert own_estate.snapshot() == before
    assert not ErasureStep.objects.filter(request=bob_erasure).exists()


def test_a_step_retried_under_a_changed_map_runs_nothing_and_asks_for_approval(
    bob_erasure: Any,
    own_estate: OwnEstate,
    approver: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # the billing database goes away after approval: its step fails
    with django_capture_on_commit_callbacks(execute=False) as queued:
        submit_and_approve(bob_erasure, approver, reason="ok")
    monkeypatch.setenv("DSAR_STORE_BILLING_URL", f"sqlite:///{tmp_path}/missing/billing.sqlite3")
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    step = ErasureStep.objects.get(request=bob_erasure, store="billing")
    assert step.status == StepStatus.FAILED
    billing_before = own_estate.snapshot()["billing"]
    # the database is back, and someone "corrected" the map: invoices deleted, not retained
    monkeypatch.setenv("DSAR_STORE_BILLING_URL", own_estate.urls["billing"])
    _use_map(settings, tmp_path, (INVOICES_KEPT, INVOICES_DELETED), (LINES_KEPT, LINES_DELETED))
    with django_capture_on_commit_callbacks(execute=True):
        erasure.erasure_retry_store(dsr=bob_erasure, store="billing", actor=approver)
    step.refresh_from_db()
    bob_erasure.refresh_from_db()
    assert step.status == StepStatus.FAILED
    assert "no longer the approved one" in step.error
    assert "billing.invoices" in step.error
    assert bob_erasure.status == Status.IN_REVIEW
    assert own_estate.snapshot()["billing"] == billing_before


def test_plan_erasure_and_certificate_counts_agree(
    bob_erasure: Any, own_estate: OwnEstate, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(bob_erasure, approver, reason="ok")
    bob_erasure.refresh_from_db()
    assert bob_erasure.status == Status.COMPLETED
    approved = erasure_plans.plan_from_json(bob_erasure.erasure_plan["stores"])
    steps = {s.store: s for s in bob_erasure.erasure_steps.all()}
    compared = 0
    for store in approved:
        if store.by_notice:
            continue
        report = StoreReport(store, steps[store.store])
        for table, row in zip(store.tables, report.tables(), strict=True):
            done = steps[store.store].outcome[table.table]
            for key in ("deleted", "anonymised", "retained", "shared", "expired"):
                assert getattr(table, key) == done[key] == row[key], (store.store, table.table)
            compared += 1
    assert compared == 16
