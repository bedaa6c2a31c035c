"""Issue 12, findings 4 and 5: the one table of staff actions (``requests_app.core.actions.ACTIONS``)
is what the services enforce, for every action, role and status; and what the table says about
withdrawing and releasing a hold.

The API's side of the same table is ``tests/hostile/test_security.py``'s matrix (built from
``ACTIONS``); the dashboard's is ``tests/requests_app/dashboard/test_dashboard.py``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from exports_app import services as exports
from requests_app.core.actions import ACTIONS, ON_A_REQUEST, PAGE_ACTIONS, available
from requests_app.core.errors import DomainError, IllegalTransition, NotPermitted
from requests_app.core.permissions import APPROVER
from requests_app.fulfilment import erasure, recipients, rectification, restriction
from requests_app.gathering import gather
from requests_app.intake import verification
from requests_app.models import DataSubjectRequest, LegalHold, RequestEvent, Restriction, Status
from requests_app.review import case, decisions

pytestmark = pytest.mark.django_db

Service = Callable[[DataSubjectRequest, Any], Any]

# Every staff action's service, called as a member of staff would call it.
SERVICES: dict[str, Service] = {
    "assign": lambda r, u: case.request_assign(dsr=r, actor=u, assignee=u),
    "note": lambda r, u: case.request_note(dsr=r, actor=u, text="A note"),
    "confirm_authority": lambda r, u: verification.request_confirm_authority(dsr=r, actor=u),
    "confirm_identity": lambda r, u: verification.request_confirm_identity(dsr=r, actor=u),
    "extend": lambda r, u: case.request_extend(dsr=r, actor=u, reason="Complex"),
    "hold": lambda r, u: case.request_hold(dsr=r, actor=u, question="Which account?"),
    "resume": lambda r, u: case.request_resume(dsr=r, actor=u),
    "legal_hold": lambda r, u: erasure.legal_hold_place(dsr=r, actor=u, reason="Claim"),
    "confirm_notice": lambda r, u: recipients.notice_confirm_by_staff(
        dsr=r, store="payments", actor=u, note="By post"
    ),
    "reissue_link": lambda r, u: exports.link_reissue(dsr=r, actor=u),
    "revoke_link": lambda r, u: exports.link_revoke(dsr=r, link=r.download_links.first(), actor=u),
    "retry_erasure": lambda r, u: erasure.erasure_retry_store(dsr=r, store="crm", actor=u),
    "retry_rectification": lambda r, u: rectification.rectification_retry(dsr=r, actor=u),
    "retry_store": lambda r, u: gather.gathering_retry_store(dsr=r, store="crm", actor=u),
    "decide_correction": lambda r, u: rectification.correction_decide(
        dsr=r, position=1, actor=u, decision="declined", reason="Not held"
    ),
    "redact": lambda r, u: exports.redaction_add(
        dsr=r, actor=u, store="crm", table="t", record_key="a" * 64, field="", reason="3rd"
    ),
    "unredact": lambda r, u: exports.redaction_undo(dsr=r, actor=u, redaction_id=1),
    "dismiss_suggestion": lambda r, u: exports.suggestions_dismiss(
        dsr=r,
        actor=u,
        store="crm",
        table="t",
        record_key="a" * 64,
        picks=[exports.Pick("f", "", 0, 1, "x")],
    ),
    "rebuild": lambda r, u: exports.exports_rebuild(dsr=r, actor=u),
    "submit": lambda r, u: decisions.request_submit(dsr=r, actor=u),
    "send_back": lambda r, u: decisions.request_send_back(dsr=r, actor=u, reason="Redo"),
    "approve": lambda r, u: decisions.request_approve(dsr=r, actor=u),
    "release": lambda r, u: decisions.request_release(dsr=r, actor=u),
    "reject": lambda r, u: decisions.request_reject(dsr=r, actor=u, reason="Unfounded"),
    "withdraw": lambda r, u: case.request_withdraw(dsr=r, actor=u, reason="By phone"),
    "release_hold": lambda r, u: erasure.legal_hold_release(dsr=r, actor=u, reason="Ended"),
    "lift_restriction": lambda r, u: restriction.restriction_lift(dsr=r, actor=u, reason="Checked"),
}


def test_every_action_in_the_table_has_its_service_here() -> None:
    # logging a new request has no request to act on: tests/requests_app/intake/test_staff_intake
    assert set(SERVICES) == set(ACTIONS) - {"log_request"}
    assert set(ON_A_REQUEST) == set(SERVICES)
    assert set(PAGE_ACTIONS) <= set(ACTIONS)


def _in(submit: Any, status: str, request_type: str) -> DataSubjectRequest:
    dsr = submit(request_type=request_type, email=f"{status}.{request_type}@example.com")
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        status=status,
        clock_started_on=dt.date(2026, 3, 2),
        due_on=dt.date(2026, 4, 2),
        held_from_status=Status.IN_REVIEW if status == Status.ON_HOLD else "",
    )
    dsr.refresh_from_db()
    return dsr


@pytest.mark.parametrize("action", sorted(ON_A_REQUEST))
def test_a_role_the_table_refuses_is_refused_by_the_service(
    action: str, submit: Any, reviewer: Any, outsider: Any
) -> None:
    spec = ACTIONS[action]
    status = sorted(spec.statuses)[0]
    dsr = _in(submit, status, sorted(spec.types)[0])
    events = RequestEvent.objects.filter(request=dsr).count()
    refused = [outsider] + ([reviewer] if spec.role == APPROVER else [])
    for user in refused:
        with pytest.raises(NotPermitted):
            SERVICES[action](dsr, user)
    assert RequestEvent.objects.filter(request=dsr).count() == events


@pytest.mark.parametrize("action", sorted(ON_A_REQUEST))
def test_a_status_or_type_the_table_refuses_is_refused_by_the_service(
    action: str, submit: Any, approver: Any
) -> None:
    spec = ACTIONS[action]
    for status in sorted(set(Status) - spec.statuses):
        dsr = _in(submit, status, sorted(spec.types)[0])
        with pytest.raises(IllegalTransition):
            SERVICES[action](dsr, approver)
        assert DataSubjectRequest.objects.get(pk=dsr.pk).status == status
    for request_type in sorted({"access", "erasure", "rectification"} - spec.types):
        dsr = _in(submit, sorted(spec.statuses)[0], request_type)
        with pytest.raises(IllegalTransition):
            SERVICES[action](dsr, approver)


@pytest.mark.parametrize("action", sorted(a for a in ACTIONS if ACTIONS[a].reason))
def test_an_action_that_needs_a_reason_is_refused_without_one(
    action: str, submit: Any, approver: Any
) -> None:
    spec = ACTIONS[action]
    dsr = _in(submit, sorted(spec.statuses)[0], sorted(spec.types)[0])
    if action == "release_hold":
        LegalHold.objects.create(request=dsr, reason="Claim", placed_by="staff:ada")
    if action == "lift_restriction":  # a restriction carried out: what is lifted
        Restriction.objects.create(request=dsr, restricted_at=timezone.now())
    blank: dict[str, Service] = {
        "note": lambda r, u: case.request_note(dsr=r, actor=u, text=" "),
        "extend": lambda r, u: case.request_extend(dsr=r, actor=u, reason=" "),
        "hold": lambda r, u: case.request_hold(dsr=r, actor=u, question=" "),
        "legal_hold": lambda r, u: erasure.legal_hold_place(dsr=r, actor=u, reason=" "),
        "confirm_notice": lambda r, u: recipients.notice_confirm_by_staff(
            dsr=r, store="payments", actor=u, note=" "
        ),
        "redact": lambda r, u: exports.redaction_add(
            dsr=r, actor=u, store="crm", table="t", record_key="a" * 64, field="", reason=" "
        ),
        "send_back": lambda r, u: decisions.request_send_back(dsr=r, actor=u, reason=" "),
        "reject": lambda r, u: decisions.request_reject(dsr=r, actor=u, reason=" "),
        "withdraw": lambda r, u: case.request_withdraw(dsr=r, actor=u, reason=" "),
        "release_hold": lambda r, u: erasure.legal_hold_release(dsr=r, actor=u, reason=" "),
        "lift_restriction": lambda r, u: restriction.restriction_lift(dsr=r, actor=u, reason=" "),
    }
    with pytest.raises(DomainError):
        blank[action](dsr, approver)
    assert DataSubjectRequest.objects.get(pk=dsr.pk).status == dsr.status


def test_buttons_offer_only_what_the_table_allows(submit: Any, reviewer: Any) -> None:
    for status in Status:
        dsr = _in(submit, status, "erasure")
        offered = available(dsr, reviewer)
        assert all(ACTIONS[a].role != APPROVER for a in offered), (status, offered)
        assert all(status in ACTIONS[a].statuses for a in offered), (status, offered)


def test_a_reviewer_may_neither_withdraw_nor_release_a_hold(
    verified: Any, reviewer: Any, reviewer_api: Any
) -> None:
    dsr = verified(request_type="erasure", email="held@example.com")
    erasure.legal_hold_place(dsr=dsr, actor=reviewer, reason="Claim 42")
    for path in ("withdraw", "legal-hold/release"):
        response = reviewer_api.post(
            f"/api/v1/requests/{dsr.reference}/{path}/", {"reason": "x"}, format="json"
        )
        assert response.status_code == 403, path
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW
    assert LegalHold.objects.filter(request=dsr, released_at__isnull=True).count() == 1


def test_a_staff_withdrawal_emails_the_person_the_reason(
    verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = verified(name="Wendy Wood", email="wendy@example.com")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case.request_withdraw(dsr=dsr, actor=approver, reason="Asked by phone on 3 March")
    (message,) = mail.outbox
    assert message.to == ["wendy@example.com"]
    assert dsr.reference in message.subject
    assert "withdrawn" in message.subject
    assert "Asked by phone on 3 March" in message.body
    assert "If you did not ask for this" in message.body


# --- From the outside attacker's review ---------------------------------------------------------


def test_releasing_a_hold_ends_only_the_hold_named(
    verified: Any, reviewer: Any, approver: Any, approver_api: Any
) -> None:
    dsr = verified(request_type="erasure", email="twoholds@example.com")
    first = erasure.legal_hold_place(dsr=dsr, actor=reviewer, reason="Claim 42")
    second = erasure.legal_hold_place(dsr=dsr, actor=reviewer, reason="Regulator")
    url = f"/api/v1/requests/{dsr.reference}/legal-hold/release/"
    # not saying which, with two active: refused (the approver may have seen only one)
    unnamed = approver_api.post(url, {"reason": "Settled"}, format="json")
    assert unnamed.status_code == 409
    assert "2 legal holds" in unnamed.json()["detail"]
    named = approver_api.post(url, {"reason": "Settled", "hold": first.pk}, format="json")
    assert named.status_code == 200
    active = LegalHold.objects.filter(request=dsr, released_at__isnull=True)
    assert list(active.values_list("pk", flat=True)) == [second.pk]
    again = approver_api.post(url, {"reason": "Again", "hold": first.pk}, format="json")
    assert again.status_code == 409
    # with one left, it may be released without naming it
    last = approver_api.post(url, {"reason": "Closed"}, format="json")
    assert last.status_code == 200
    assert not active.exists()


def test_the_dashboard_releases_the_hold_it_showed(
    verified: Any, reviewer: Any, approver: Any
) -> None:
    from django.test import Client

    dsr = verified(request_type="erasure", email="shown@example.com")
    shown = erasure.legal_hold_place(dsr=dsr, actor=reviewer, reason="Claim 42")
    client = Client()
    client.force_login(approver)
    page = client.get(f"/staff/requests/{dsr.reference}/release_hold/").content.decode()
    assert f'value="{shown.pk}"' in page
    later = erasure.legal_hold_place(dsr=dsr, actor=reviewer, reason="Placed meanwhile")
    client.post(
        f"/staff/requests/{dsr.reference}/release_hold/", {"hold": shown.pk, "reason": "Done"}
    )
    active = LegalHold.objects.filter(request=dsr, released_at__isnull=True)
    assert list(active.values_list("pk", flat=True)) == [later.pk]


def test_a_staff_username_is_unique_whatever_its_case_and_so_is_an_email(db: Any) -> None:
    from requests_app.core.errors import RuleViolation
    from requests_app.staff.accounts import staff_save

    staff_save(username="ann", role="approver", email="ann@smarct.example")
    with pytest.raises(RuleViolation, match="already"):
        staff_save(username="Ann", role="approver")
    with pytest.raises(RuleViolation, match="already"):
        staff_save(username="ann2", role="approver", email="ANN@smarct.example")


def test_staff_accounts_cannot_be_renamed_or_regrouped_in_the_admin(db: Any, settings: Any) -> None:
    from django.contrib import admin
    from django.contrib.auth.models import Group, User

    # only create_staff changes accounts, on the audit trail; the admin shows them read-only
    for model in (User, Group):
        model_admin = admin.site._registry[model]  # shown, read-only
        assert not model_admin.has_change_permission(_superuser_request())
        assert not model_admin.has_add_permission(_superuser_request())
        assert not model_admin.has_delete_permission(_superuser_request())


def _superuser_request() -> Any:
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    dsr = RequestFactory().get("/admin/")
    dsr.user = User(username="root", is_superuser=True, is_staff=True)
    return dsr


def test_a_nul_byte_in_a_file_format_is_a_404_not_a_500(
    verified: Any, approver_api: Any, client: Any
) -> None:
    from exports_app.services import link_issue

    dsr = verified(email="nul@example.com")
    for path in ("%00", "json%00"):
        preview = approver_api.get(f"/api/v1/requests/{dsr.reference}/exports/{path}/")
        assert preview.status_code == 404, path
    token = link_issue(dsr=dsr, actor="test").rstrip("/").split("/")[-1]
    assert client.get(f"/downloads/{token}/json%00/").status_code == 404
