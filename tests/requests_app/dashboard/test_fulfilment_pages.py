"""The dashboard's erasure plan, legal hold, recipients and correction decisions, through the
pages as staff use them (tasks run in-process; the stores are a fresh demo estate)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from requests_app.intake.receive import CorrectionInput
from requests_app.models import ProcessorNotice, Status
from tests.conftest import OwnEstate
from tests.factories import UserFactory
from tests.support.html import parse

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_see_the_plan_hold_it_and_a_second_approver_runs_it(
    own_estate: OwnEstate,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dsr = verified(request_type="erasure", name="Bob Baker", email="bob@example.com")
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert "Erasure plan (nothing has changed yet)" in page
    assert "UK tax law (HMRC)" in page
    assert "Invoices" in page
    assert "Article 19 notice" in page
    assert "privacy@payments.example" in page

    hold = login(reviewer).post(
        f"/staff/requests/{dsr.reference}/legal_hold/", {"reason": "Claim 42 pending"}
    )
    assert hold.status_code == 302
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert "Erasure is held back" in page
    assert "Claim 42 pending" in page

    submitted = login(reviewer).post(f"/staff/requests/{dsr.reference}/submit/", {"reason": ""})
    assert submitted.status_code == 302
    opened = login(approver).get(f"/staff/requests/{dsr.reference}/approve/")
    [seen] = [
        e.attrs["value"] for e in parse(opened.content).elements if e.attrs.get("name") == "seen"
    ]
    with django_capture_on_commit_callbacks(execute=True):
        login(approver).post(
            f"/staff/requests/{dsr.reference}/approve/", {"reason": "ok", "seen": seen}
        )
    dsr.refresh_from_db()
    assert dsr.status == Status.APPROVED  # held

    second = UserFactory(username="bea", roles=["reviewer", "approver"])
    with django_capture_on_commit_callbacks(execute=True):
        login(second).post(
            f"/staff/requests/{dsr.reference}/release_hold/",
            {"reason": "Claim settled", "hold": dsr.legal_holds.get().pk},  # the one shown
        )
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert "Deletion certificate (PDF)" in page
    assert "awaiting" in page  # the card processor has not confirmed yet
    login(reviewer).post(
        f"/staff/requests/{dsr.reference}/notices/payments/confirm/",
        {"reason": "Their DPO replied by email on 3 Dec"},
    )
    assert ProcessorNotice.objects.get().confirmed_by == "staff:rita"


def test_corrections_are_decided_on_the_page(
    own_estate: OwnEstate, verified: Any, reviewer: Any
) -> None:
    dsr = verified(
        request_type="rectification",
        name="Dan Dawson",
        email="dan@example.com",
        corrections=[CorrectionInput(field="Mobile", corrected_value="07700 900099")],
    )
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert "Record decision" in page
    bad = login(reviewer).post(
        f"/staff/requests/{dsr.reference}/corrections/1/decide/",
        {"c1-decision": "accepted", "c1-target_field": ""},
        follow=True,
    )
    assert "Choose the field it corrects" in bad.content.decode()
    login(reviewer).post(
        f"/staff/requests/{dsr.reference}/corrections/1/decide/",
        {"c1-decision": "accepted", "c1-target_field": "phone"},
    )
    correction = dsr.corrections.get()
    assert (correction.decision, correction.final_value) == ("accepted", "07700 900099")


def test_a_correction_form_guesses_the_field_keeps_the_decision_and_says_what_is_missing(
    own_estate: OwnEstate, verified: Any, reviewer: Any
) -> None:
    dsr = verified(
        request_type="rectification",
        name="Dan Dawson",
        email="dan@example.com",
        corrections=[CorrectionInput(field="Phone", corrected_value="07700 900099")],
    )
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert '<option value="phone" selected>' in page  # "Phone" → phone
    bad = (
        login(reviewer)
        .post(
            f"/staff/requests/{dsr.reference}/corrections/1/decide/",
            {"c1-decision": "accepted", "c1-target_field": ""},
            follow=True,
        )
        .content.decode()
    )
    assert "Choose the field it corrects" in bad
    assert "''" not in bad
    login(reviewer).post(
        f"/staff/requests/{dsr.reference}/corrections/1/decide/",
        {"c1-decision": "declined", "c1-reason": "We hold no phone for you"},
    )
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert '<option value="declined" selected>' in page  # the form shows what was decided
    assert "We hold no phone for you" in page
    assert "Declined by rita" in page  # staff by name, never "staff:rita"
    assert "staff:" not in page


def test_a_correction_shows_what_each_store_holds_now_for_each_field_it_may_correct(
    own_estate: OwnEstate, verified: Any, reviewer: Any
) -> None:
    """Staff decide a correction seeing what each store held when gathered, field by field, in
    the map's words; read from each store (the app holds another number than the CRM), of this
    person only."""
    with own_estate.sqlite("app") as conn:
        conn.execute("UPDATE accounts SET phone = '07700 900777' WHERE email = 'dan@example.com'")
    dsr = verified(
        request_type="rectification",
        name="Dan Dawson",
        email="dan@example.com",
        corrections=[CorrectionInput(field="Phone", corrected_value="07700 900099")],
    )
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/")
    held = " ".join(parse(page.content).ids["held-now"].text.split())
    assert "What the stores held when gathered" in held
    assert "Phone number (phone)" in held
    assert "crm: Customer record: 07700 900005" in held
    assert "billing: Billing accounts: 07700 900005" in held
    assert "app: Accounts: 07700 900777" in held
    # nobody else's number, though other customers hold numbers of the same shape
    with own_estate.sqlite("crm") as conn:
        others = {
            r[0]
            for r in conn.execute(
                "SELECT phone FROM customers WHERE email != 'dan@example.com' AND phone != ''"
            )
        } - {"07700 900005", "07700 900777"}
    assert others
    assert not [phone for phone in others if phone in held]


def test_the_approval_page_shows_what_is_approved(
    demo_map: Any, verified: Any, reviewer: Any, approver: Any, ready: Any
) -> None:
    from exports_app.models import Redaction

    bob = verified(name="Bob Baker", email="bob@example.com")
    Redaction.objects.create(
        request=bob,
        store="support",
        table="tickets",
        record_key="a" * 64,
        field="messages",
        reason="Names a colleague",
        created_by="staff:sam",
    )
    ready(bob)
    page = login(approver).get(f"/staff/requests/{bob.reference}/approve/").content.decode()
    assert "What you approve" in page
    assert "Billing accounts" in page  # per store and table, counted, in words
    assert "Invoices" in page
    assert "Names a colleague" in page  # what is withheld, with its reason and author
    assert "sam" in page.split('id="approving"')[1]  # by whom
    for built in ("JSON", "CSV", "PDF"):
        assert built in page.split("What you approve", 1)[1]
    erase = verified(name="Alice Archer", email="alice@example.com", request_type="erasure")
    ready(erase)
    page = login(approver).get(f"/staff/requests/{erase.reference}/approve/").content.decode()
    assert "cannot be undone" in page
    assert "JSON" not in page.split("What you approve", 1)[1]


def test_approve_shows_disabled_with_the_reason_to_the_approver_who_prepared_it(
    verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from requests_app.review import decisions

    dsr = verified(name="Ann Other", email="ann@example.com")
    decisions.request_submit(dsr=dsr, actor=approver)  # the only approver prepared it
    page = login(approver).get(f"/staff/requests/{dsr.reference}/").content.decode()
    actions = page.split("<h2>Actions</h2>", 1)[1].split("</section>", 1)[0]
    assert 'href="/staff/requests/' + dsr.reference + '/approve/"' not in actions
    assert "<button" in actions
    assert "disabled" in actions
    assert ">Approve<" in actions
    assert "Two-person rule" in actions
    assert "No other approver" in actions  # nobody else can: say so, and what to do
    second = UserFactory(username="bea", roles=["approver"])
    theirs = login(second).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert f'href="/staff/requests/{dsr.reference}/approve/"' in theirs
    page = login(approver).get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert "No other approver" not in page  # bea may


def test_the_request_page_polls_while_work_runs_and_stops_after(
    submit: Any, verified: Any, reviewer: Any
) -> None:
    from requests_app.models import Status

    waiting = submit(name="Gus Gather", email="gus@example.com")
    waiting.status = Status.GATHERING
    waiting.save(update_fields=["status"])
    page = login(reviewer).get(f"/staff/requests/{waiting.reference}/").content.decode()
    assert 'hx-trigger="every' in page
    assert "/static/js/vendor/htmx-" in page  # served by us: no CDN
    for region in ("live-status", "live-actions", "live-stores", "live-files", "live-timeline"):
        assert f'id="{region}"' in page
    done = verified(name="Dot Done", email="dot@example.com")  # no stores: straight to review
    assert done.status == Status.IN_REVIEW
    page = login(reviewer).get(f"/staff/requests/{done.reference}/").content.decode()
    assert 'hx-trigger="every' not in page  # nothing running: nothing to poll for


def test_the_release_page_shows_what_is_released(
    demo_map: Any,
    verified: Any,
    approver: Any,
    ready: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from exports_app import services
    from exports_app.content import record_key
    from requests_app.gathering import gather
    from requests_app.review import decisions
    from tests.factories import UserFactory

    bob = verified(name="Bob Baker", email="bob@example.com")
    ticket = next(r for t, r in gather.gathered_records(bob.gather_steps.get(store="support")))
    rita = UserFactory(username="rita2", roles=["reviewer"])
    services.redaction_add(
        dsr=bob, actor=rita, store="support", table="tickets", record_key=record_key(ticket),
        field="messages", path="/0/body", passage="Jane Doe", reason="About someone else",
    )  # fmt: skip
    ready(bob)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=bob, actor=approver)
    page = login(approver).get(f"/staff/requests/{bob.reference}/release/").content.decode()
    releasing = page.split('id="releasing"')[1]
    for name in ("JSON", "CSV (zip)", "PDF"):
        assert name in releasing  # each file, with its records and size
    assert '“<mark class="withheld">Jane Doe</mark>”' in releasing  # what stays withheld
    assert "About someone else" in releasing
