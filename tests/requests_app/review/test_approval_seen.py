"""An approval is of what the approver saw (attacker finding on issue 16): the approve page and
the API name the version they show, and approving refuses any other. What was left in of the
suggested third-party data is part of what is approved, and shown before the button."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from exports_app import services as exports
from exports_app.models import DismissedSuggestion, Redaction
from requests_app.models import RequestEvent, Status
from requests_app.review import decisions
from tests.factories import UserFactory
from tests.support.html import parse
from tests.support.workflow import submit_for_approval

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _seen(page: bytes) -> str:
    [field] = [e for e in parse(page).elements if e.attrs.get("name") == "seen"]
    return field.attrs["value"]


def _first_ticket(dsr: Any, reviewer: Any) -> str:
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/data/support/?table=tickets")
    return page.content.decode().split('name="record_key" value="')[1].split('"')[0]


def test_a_response_changed_after_the_approver_opened_it_is_not_approved_blind(
    demo_map: Any, verified: Any, reviewer: Any, approver: Any
) -> None:
    """The attacker's path: withheld, submitted; the approver opens the page; the reviewer sends
    it back, puts the withheld field back and submits again; the approver's Approve is refused."""
    dsr = verified(name="Bob Baker", email="bob@example.com")
    key = _first_ticket(dsr, reviewer)
    [withheld] = exports.redaction_add(
        dsr=dsr,
        actor=reviewer,
        store="support",
        table="tickets",
        record_key=key,
        field="messages",
        reason="Names a colleague",
    )
    submit_for_approval(dsr, reviewer)
    opened = login(approver).get(f"/staff/requests/{dsr.reference}/approve/")
    assert b"Names a colleague" in opened.content
    seen = _seen(opened.content)

    dsr.refresh_from_db()
    decisions.request_send_back(dsr=dsr, actor=reviewer, reason="tweak")
    exports.redaction_undo(dsr=dsr, actor=reviewer, redaction_id=withheld.pk)
    dsr.refresh_from_db()
    submit_for_approval(dsr, reviewer)

    refused = login(approver).post(
        f"/staff/requests/{dsr.reference}/approve/", {"reason": "", "seen": seen}, follow=True
    )
    assert "changed since you opened it" in refused.content.decode()
    dsr.refresh_from_db()
    assert dsr.status == Status.READY_FOR_APPROVAL
    assert not RequestEvent.objects.filter(request=dsr, action="approve").exists()

    # looked at again, it is what is approved, and the event says which version
    again = login(approver).get(f"/staff/requests/{dsr.reference}/approve/")
    assert b"Nothing is withheld" in again.content
    fresh = _seen(again.content)
    assert fresh != seen
    login(approver).post(f"/staff/requests/{dsr.reference}/approve/", {"seen": fresh})
    approve = RequestEvent.objects.get(request=dsr, action="approve")
    assert approve.payload["seen"] == fresh
    assert approve.payload["approved"]["redactions"] == []


def test_the_approve_form_without_the_version_seen_approves_nothing(
    verified: Any, reviewer: Any, approver: Any
) -> None:
    dsr = submit_for_approval(verified(email="blind@example.com"), reviewer)
    response = login(approver).post(f"/staff/requests/{dsr.reference}/approve/", {"reason": ""})
    assert response.status_code == 400
    dsr.refresh_from_db()
    assert dsr.status == Status.READY_FOR_APPROVAL


def test_the_api_approves_only_the_version_it_names(
    verified: Any, reviewer: Any, approver_api: Any
) -> None:
    dsr = submit_for_approval(verified(email="api-seen@example.com"), reviewer)
    url = f"/api/v1/requests/{dsr.reference}/approve/"
    detail = approver_api.get(f"/api/v1/requests/{dsr.reference}/").json()
    seen = detail["approval_seen"]
    assert len(seen) == 64

    missing = approver_api.post(url, {}, format="json")
    assert missing.status_code == 400
    assert "seen" in missing.json()

    Redaction.objects.create(
        request=dsr,
        store="support",
        table="tickets",
        record_key="c" * 64,
        field="messages",
        reason="Names a colleague",
        created_by="staff:sam",
    )
    stale = approver_api.post(url, {"seen": seen}, format="json")
    assert stale.status_code == 409
    assert "changed since" in stale.json()["detail"]
    assert not RequestEvent.objects.filter(request=dsr, action="approve").exists()

    fresh = approver_api.get(f"/api/v1/requests/{dsr.reference}/").json()["approval_seen"]
    assert fresh != seen
    assert approver_api.post(url, {"seen": fresh}, format="json").status_code == 200
    assert approver_api.get(f"/api/v1/requests/{dsr.reference}/").json()["approval_seen"] is None


def test_suggestions_left_in_are_shown_to_the_approver_and_are_part_of_what_is_approved(
    demo_map: Any, verified: Any, reviewer: Any, approver: Any
) -> None:
    dsr = verified(name="Bob Baker", email="bob@example.com")
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/data/support/?table=tickets")
    html = page.content.decode()
    key = html.split('name="record_key" value="')[1].split('"')[0]
    assert [e for e in parse(html).elements if e.attrs.get("name") == "suggestion"]
    submit_for_approval(dsr, reviewer)
    opened = login(approver).get(f"/staff/requests/{dsr.reference}/approve/")
    seen = _seen(opened.content)
    assert "Left in" not in parse(opened.content).ids["what-you-approve"].text

    # a reviewer leaves a suggested name in while the approver has the page open
    from exports_app.suggestions import for_record
    from requests_app.gathering.gather import gathered_records

    step = dsr.gather_steps.get(store="support")
    record = next(r for t, r in gathered_records(step) if t == "tickets" and _key(r) == key)
    jane = next(s for s in for_record(dsr, "support", "tickets", record) if s.text == "Jane Doe")
    dsr.refresh_from_db()
    decisions.request_send_back(dsr=dsr, actor=reviewer, reason="tweak")
    exports.suggestions_dismiss(
        dsr=dsr,
        actor=UserFactory(username="vera", roles=["reviewer"]),
        store="support",
        table="tickets",
        record_key=key,
        picks=[exports.Pick(jane.field, jane.path, jane.start, jane.end, jane.text)],
    )
    dsr.refresh_from_db()
    submit_for_approval(dsr, reviewer)
    refused = login(approver).post(f"/staff/requests/{dsr.reference}/approve/", {"seen": seen})
    assert refused.status_code in (302, 400)
    assert not RequestEvent.objects.filter(request=dsr, action="approve").exists()

    again = login(approver).get(f"/staff/requests/{dsr.reference}/approve/")
    shown = " ".join(parse(again.content).ids["what-you-approve"].text.split())
    assert "Suggestions left in" in shown
    assert "“Jane Doe”" in shown
    assert "vera" in shown


def _key(record: dict[str, Any]) -> str:
    from exports_app.passages import record_key

    return record_key(record)


def test_a_dismissal_must_be_a_suggestion_of_that_record_now(
    demo_map: Any, verified: Any, reviewer: Any
) -> None:
    dsr = verified(name="Bob Baker", email="bob@example.com")
    key = _first_ticket(dsr, reviewer)
    from requests_app.core.errors import RuleViolation

    for pick in (
        exports.Pick("messages", "/0/body", 0, 3, "My "),  # words, but nothing suggested there
        exports.Pick("nope", "", 0, 5, "xxxxx"),  # no such field
        exports.Pick("messages", "/0/body", 10**12, 10**12 + 1, "x"),  # out of the text
    ):
        with pytest.raises(RuleViolation):
            exports.suggestions_dismiss(
                dsr=dsr,
                actor=reviewer,
                store="support",
                table="tickets",
                record_key=key,
                picks=[pick],
            )
    assert not DismissedSuggestion.objects.filter(request=dsr).exists()


def test_suggestions_not_yet_decided_are_named_before_submitting_approving_and_releasing(
    demo_map: Any, verified: Any, reviewer: Any, approver: Any, settings: Any
) -> None:
    """New user's finding: a response went out with the app's own third-party warnings never
    looked at. Each page that moves it on names what is still undecided, where to find it."""
    dsr = verified(name="Bob Baker", email="bob@example.com")
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/submit/")
    undecided = " ".join(parse(page.content).ids["undecided"].text.split())
    assert "not yet decided" in undecided
    assert "“Jane Doe” (another person's name) in support · Support tickets, record 1" in undecided
    assert "bob@example.com" not in undecided  # his own address is never suggested

    # each is withheld or left in: nothing is left to decide
    key = _first_ticket(dsr, reviewer)
    from exports_app.suggestions import for_record
    from requests_app.gathering.gather import gathered_records

    step = dsr.gather_steps.get(store="support")
    for table, record in gathered_records(step):
        found = for_record(dsr, "support", table, record)
        if found:
            exports.suggestions_dismiss(
                dsr=dsr,
                actor=reviewer,
                store="support",
                table=table,
                record_key=_key(record),
                picks=[exports.Pick(s.field, s.path, s.start, s.end, s.text) for s in found],
            )
    assert key
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/submit/")
    assert "undecided" not in parse(page.content).ids, parse(page.content).ids["undecided"].text
    assert b"Nothing suggested as someone else's data is left to decide" in page.content

    # a store too large to scan while the page loads says so, rather than "nothing to decide"
    settings.DSAR_SUGGEST_SCAN_MAX = 2
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/submit/")
    undecided = " ".join(parse(page.content).ids["undecided"].text.split())
    assert "not scanned" in undecided
    assert "support" in undecided


def test_leaving_a_suggestion_in_after_approval_needs_approving_again_and_release_checks_it(
    demo_map: Any,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Attacker's finding (round 2): after approval a reviewer left every suggestion in, the
    release page stopped warning and the approver released Jane's address."""
    from exports_app.suggestions import for_record
    from requests_app.core import actions
    from requests_app.gathering.gather import gathered_records

    dsr = verified(name="Bob Baker", email="bob@example.com")
    submit_for_approval(dsr, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=dsr, actor=approver, seen=decisions.approval_seen(dsr))
    dsr.refresh_from_db()
    assert dsr.status == Status.FULFILLING
    assert actions.can_release(dsr) is None

    # a row left in behind the service's back: release refuses what was not approved
    step = dsr.gather_steps.get(store="support")
    table, record = next(
        (t, r) for t, r in gathered_records(step) if for_record(dsr, "support", t, r)
    )
    jane = for_record(dsr, "support", table, record)[0]
    sneaked = DismissedSuggestion.objects.create(
        request=dsr,
        store="support",
        table=table,
        record_key=_key(record),
        field=jane.field,
        path=jane.path,
        span_start=jane.start,
        span_end=jane.end,
        dismissed_by="staff:rita",
    )
    refused = actions.can_release(dsr)
    assert refused is not None
    assert "left in" in refused.message
    sneaked.delete()

    # through the service: the response goes back to review, to be approved again
    exports.suggestions_dismiss(
        dsr=dsr,
        actor=reviewer,
        store="support",
        table=table,
        record_key=_key(record),
        picks=[exports.Pick(jane.field, jane.path, jane.start, jane.end, jane.text)],
    )
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW


def test_an_erasure_is_not_warned_of_suggestions_it_never_sends(
    demo_map: Any, verified: Any, reviewer: Any
) -> None:
    """New user's finding (round 2): an erasure's submit page listed Jane Doe "not yet decided"
    and said it "goes to the person as it is"; an erasure sends the person no data."""
    dsr = verified(request_type="erasure", name="Bob Baker", email="bob@example.com")
    page = login(reviewer).get(f"/staff/requests/{dsr.reference}/submit/")
    assert "undecided" not in parse(page.content).ids
    assert b"Nothing suggested as someone else's data is left to decide" not in page.content


def test_the_release_page_repeats_what_was_left_in(
    demo_map: Any,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from exports_app.suggestions import for_record
    from requests_app.gathering.gather import gathered_records

    dsr = verified(name="Bob Baker", email="bob@example.com")
    step = dsr.gather_steps.get(store="support")
    table, record = next(
        (t, r) for t, r in gathered_records(step) if for_record(dsr, "support", t, r)
    )
    raj = for_record(dsr, "support", table, record)[0]
    exports.suggestions_dismiss(
        dsr=dsr,
        actor=reviewer,
        store="support",
        table=table,
        record_key=_key(record),
        picks=[exports.Pick(raj.field, raj.path, raj.start, raj.end, raj.text)],
    )
    submit_for_approval(dsr, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=dsr, actor=approver, seen=decisions.approval_seen(dsr))
    page = login(approver).get(f"/staff/requests/{dsr.reference}/release/").content.decode()
    released = page.split("What you release", 1)[1]
    assert "Suggestions left in" in released
    assert f"“{raj.text}”" in released
