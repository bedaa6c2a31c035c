"""The staff dashboard through Django's test client (a real browser: tests/browser)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from requests_app.core import documents
from requests_app.models import DataSubjectRequest, GatherStep, Status, StepStatus
from tests.support.documents import PDF

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dsr(verified: Any) -> DataSubjectRequest:
    return verified(name="Dora Dash", email="dora@example.com")


def urls(reference: str, document: int = 1) -> list[tuple[str, str, bool]]:
    """Every dashboard URL: (method, url, approver only). The next test checks it is every one."""
    from requests_app.core.actions import ACTIONS
    from requests_app.core.permissions import APPROVER
    from requests_app.dashboard.forms import ACTION_TEXT

    base = f"/staff/requests/{reference}/"
    actions = [("get", f"{base}{a}/", ACTIONS[a].role == APPROVER) for a in ACTION_TEXT]
    return [
        ("get", "/staff/", False),
        ("get", "/staff/overview/", False),
        ("get", "/staff/overview/report.csv", False),
        ("get", "/staff/overview/report.pdf", False),
        ("get", base, False),
        ("get", f"{base}data/crm/", False),
        ("post", f"{base}data/crm/redact/", False),
        ("post", f"{base}data/crm/redactions/1/undo/", False),
        ("post", f"{base}data/crm/suggestions/dismiss/", False),
        ("post", f"{base}stores/crm/retry/", False),
        ("post", f"{base}erasure/crm/retry/", False),
        ("post", f"{base}notices/payments/confirm/", False),
        ("post", f"{base}corrections/1/decide/", False),
        ("get", f"{base}documents/{document}/", False),
        ("get", "/staff/requests/new/", False),
        ("get", "/staff/queue.csv", False),
        ("post", "/staff/bulk/", False),
        ("post", "/staff/views/", False),  # saves nothing without a name: a message, then back
        ("post", "/staff/views/1/delete/", False),  # not theirs or not there: the same answer
        ("get", "/staff/two-factor/", False),
        ("get", "/staff/two-factor/remove/", False),
        ("get", "/staff/notifications/", False),
        *actions,
    ]


def test_the_matrix_covers_every_dashboard_url() -> None:
    from requests_app.dashboard.urls import urlpatterns

    open_to_all = {"login", "logout", "dashboard-otp-verify"}
    covered = {
        "dashboard-queue",
        "dashboard-overview",
        "dashboard-report-csv",
        "dashboard-report-pdf",
        "dashboard-request",
        "dashboard-store-data",
        "dashboard-redact",
        "dashboard-redaction-undo",
        "dashboard-suggestion-dismiss",
        "dashboard-retry-store",
        "dashboard-retry-erasure",
        "dashboard-confirm-notice",
        "dashboard-decide-correction",
        "dashboard-otp-setup",
        "dashboard-otp-remove",
        "dashboard-otp-backup-codes",  # shown once after set-up: its own test (test_two_factor)
        "dashboard-action",
        "dashboard-document",
        "dashboard-log-request",
        "dashboard-queue-csv",
        "dashboard-bulk",
        "dashboard-saved-view-save",
        "dashboard-saved-view-delete",
        "dashboard-notifications",
    }
    assert {p.name for p in urlpatterns} - open_to_all == covered


def test_authorisation_matrix(
    dsr: Any, reviewer: Any, approver: Any, outsider: Any, demo_map: Any
) -> None:
    from requests_app.gathering import gather

    step = GatherStep.objects.create(request=dsr, store="crm")
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=Status.GATHERING)
    gather.gathering_run_step(step_id=step.pk, task_id="matrix")  # a real gathered file to preview
    document = documents.document_add(
        dsr=dsr,
        upload=documents.Upload(name="letter.pdf", content=PDF),
        kind="attachment",
        actor="staff:rita",
        allowed=documents.ATTACHMENT_TYPES,
    )
    for method, url, approver_only in urls(dsr.reference, document.pk):
        anonymous = getattr(Client(), method)(url)
        assert anonymous.status_code == 302, url
        assert anonymous["Location"].startswith("/staff/login/"), url
        assert getattr(login(outsider), method)(url).status_code == 403, url
        allowed = {"get": 200, "post": 302}[method]  # a POST acts, then redirects with a message
        if url.endswith(("/redact/", "/suggestions/dismiss/")):
            allowed = 400  # naming nothing to withhold or leave in: refused, the page again
        assert getattr(login(reviewer), method)(url).status_code == (
            403 if approver_only else allowed
        ), url
        assert getattr(login(approver), method)(url).status_code == allowed, url


def test_queue_shows_days_left_sorted_with_urgency(
    verified: Any, submit: Any, reviewer: Any
) -> None:
    late = verified(email="late@example.com")
    soon = verified(email="soon@example.com")
    today = timezone.localdate()
    DataSubjectRequest.objects.filter(pk=late.pk).update(due_on=today - dt.timedelta(days=3))
    DataSubjectRequest.objects.filter(pk=soon.pk).update(due_on=today + dt.timedelta(days=5))
    closed = verified(email="closed@example.com")
    DataSubjectRequest.objects.filter(pk=closed.pk).update(status=Status.COMPLETED)
    html = login(reviewer).get("/staff/").content.decode()
    assert html.index(late.reference) < html.index(soon.reference)
    assert 'class="overdue"' in html
    assert 'class="due-soon"' in html
    assert ">-3 <span" in html.replace("\n", "")
    assert closed.reference not in html  # only open requests by default


def test_queue_filters_and_search(verified: Any, submit: Any, reviewer: Any) -> None:
    erasure = verified(email="erase@example.com", request_type="erasure")
    access = verified(email="see@example.com")
    client = login(reviewer)
    assert erasure.reference in client.get("/staff/?type=erasure").content.decode()
    assert access.reference not in client.get("/staff/?type=erasure").content.decode()
    # the search goes by POST (it may be an email: never in a URL, so never in a log)
    posted = client.post("/staff/", {"q": "SEE@example.com", "type": ""})
    assert posted.status_code == 302
    assert "example.com" not in posted["Location"]
    found = client.get(posted["Location"]).content.decode()
    assert access.reference in found
    assert erasure.reference not in found
    assert (
        client.get("/staff/?status=bogus").status_code == 200
    )  # a bad filter shows the default queue


def test_queue_query_count_does_not_grow_with_requests(
    submit: Any, reviewer: Any, django_assert_max_num_queries: Any
) -> None:
    client = login(reviewer)
    for i in range(60):
        submit(email=f"p{i}@example.com")
    client.get("/staff/")  # warm the session
    with django_assert_max_num_queries(12):
        page = client.get("/staff/")
    assert page.status_code == 200
    assert b"Page 1 of 2" in page.content


def test_hold_is_confirmed_then_done_and_emailed(
    dsr: Any, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(reviewer)
    confirm = client.get(f"/staff/requests/{dsr.reference}/hold/")
    assert b"pause the statutory clock" in confirm.content
    missing = client.post(f"/staff/requests/{dsr.reference}/hold/", {"reason": ""})
    assert missing.status_code == 400
    assert b"This field is required" in missing.content
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"/staff/requests/{dsr.reference}/hold/", {"reason": "Which account?"}, follow=True
        )
    assert b"On hold; the question has been emailed." in done.content
    dsr.refresh_from_db()
    assert dsr.status == Status.ON_HOLD
    assert "Which account?" in mail.outbox[0].body


def test_reject_with_a_template(dsr: Any, approver: Any) -> None:
    client = login(approver)
    page = client.get(f"/staff/requests/{dsr.reference}/reject/")
    assert b"Identity not confirmed" in page.content
    assert b"complain to the ICO" in page.content
    template = "We could not confirm your identity"
    choice = next(
        v
        for v, _ in __import__("requests_app.dashboard.forms", fromlist=["x"]).REJECTION_TEMPLATES
        if v.startswith(template)
    )
    client.post(f"/staff/requests/{dsr.reference}/reject/", {"template": choice, "reason": ""})
    dsr.refresh_from_db()
    assert dsr.status == Status.REJECTED
    assert dsr.events.get(action="reject").payload["reason"].startswith(template)


def test_an_illegal_action_is_a_message_not_an_error(dsr: Any, reviewer: Any) -> None:
    response = login(reviewer).post(f"/staff/requests/{dsr.reference}/resume/", {}, follow=True)
    assert response.status_code == 200
    assert b"Cannot resume: the request is in review." in response.content


def test_a_failed_store_has_a_retry_button(
    dsr: Any, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status=Status.GATHERING)
    GatherStep.objects.create(
        request=dsr, store="crm", status=StepStatus.FAILED, error="store 'crm' is unreachable"
    )
    client = login(reviewer)
    page = client.get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert "Retry crm" in page
    assert "unreachable" in page
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/staff/requests/{dsr.reference}/stores/crm/retry/")
    assert GatherStep.objects.get(request=dsr, store="crm").status == StepStatus.PENDING


def test_failed_logins_are_rate_limited(reviewer: Any, settings: Any) -> None:
    settings.DSAR_LOGIN_FAILURES_ALLOWED = 3
    client = Client()
    codes = [
        client.post("/staff/login/", {"username": "rita", "password": "wrong"}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    # even the right password is refused until the window ends
    assert (
        client.post(
            "/staff/login/", {"username": "rita", "password": "correct horse battery staple"}
        ).status_code
        == 429
    )


def test_a_login_attempt_is_counted_before_the_password_is_checked(
    reviewer: Any, settings: Any
) -> None:
    # parallel wrong passwords all passed the check before any was counted (8 instead of 5 on
    # gunicorn): the attempt must be counted atomically first
    from tests.support import backends

    settings.AUTHENTICATION_BACKENDS = [
        "tests.support.backends.CountObserver",
        "django.contrib.auth.backends.ModelBackend",
    ]
    backends.SEEN.clear()
    client = Client()
    for _ in range(2):
        client.post("/staff/login/", {"username": "rita", "password": "wrong"})
    assert backends.SEEN == [1, 2]
    ok = client.post(
        "/staff/login/", {"username": "rita", "password": "correct horse battery staple"}
    )
    assert ok.status_code == 302
    assert backends.SEEN == [1, 2, 3]
    # a successful log-in gives its own attempt back: staff who log in often are not locked out
    from django.core.cache import cache

    from smarct_dsar.ratelimit import _key

    key, _ = _key("login-user", "rita", settings.DSAR_LOGIN_LOCKOUT_SECONDS)
    assert cache.get(key) == 2


def test_login_then_queue(reviewer: Any) -> None:
    client = Client()
    response = client.post(
        "/staff/login/", {"username": "rita", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_an_internal_note_goes_on_the_timeline_only(dsr: Any, reviewer: Any, client: Any) -> None:
    staff = login(reviewer)
    staff.post(
        f"/staff/requests/{dsr.reference}/note/", {"reason": "Called the customer; will send ID."}
    )
    assert "Called the customer" in staff.get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert dsr.events.get(action="note").payload == {"text": "Called the customer; will send ID."}


def test_the_queue_as_csv_holds_what_the_view_shows_and_is_logged(
    verified: Any, reviewer: Any, outsider: Any
) -> None:
    import csv
    import io

    from requests_app.models import RequestEvent

    erasure = verified(name="Eve Erase", email="erase@example.com", request_type="erasure")
    access = verified(name="Sam See", email="see@example.com")
    client = login(reviewer)
    client.post("/staff/", {"q": "erase", "type": ""})  # the search the view is showing
    response = client.get("/staff/queue.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["Reference"] for r in rows] == [erasure.reference]
    assert set(rows[0]) == {
        "Reference",
        "Type",
        "Requester",
        "Email",
        "Status",
        "Assignee",
        "Due",
        "Days left",
    }
    assert access.reference not in response.content.decode()
    logged = RequestEvent.objects.get(action="queue_exported")
    assert logged.actor == f"staff:{reviewer.username}"
    assert logged.payload["rows"] == 1
    assert "erase" not in str(logged.payload)  # the search itself is not written down
    assert login(outsider).get("/staff/queue.csv").status_code == 403


def test_a_name_a_spreadsheet_would_run_is_exported_as_text(verified: Any, reviewer: Any) -> None:
    import csv
    import io

    verified(name='=HYPERLINK("http://evil.example")', email="formula@example.com")
    content = login(reviewer).get("/staff/queue.csv").content.decode()
    (row,) = list(csv.DictReader(io.StringIO(content)))
    assert row["Requester"] == '\'=HYPERLINK("http://evil.example")'


def test_bulk_assign_and_withdraw_as_spam(
    verified: Any, reviewer: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from requests_app.core.permissions import actor_label

    first = verified(email="one@example.com")
    second = verified(email="two@example.com")
    closed = verified(email="three@example.com")
    DataSubjectRequest.objects.filter(pk=closed.pk).update(status=Status.COMPLETED)
    refs = [first.reference, second.reference]
    response = login(reviewer).post(
        "/staff/bulk/", {"action": "assign", "assignee": approver.pk, "refs": refs}, follow=True
    )
    assert "Assigned 2 requests" in response.content.decode()
    for dsr in (first, second):
        dsr.refresh_from_db()
        assert dsr.assignee == approver
        assert dsr.events.filter(action="assign", actor=actor_label(reviewer)).exists()
    # withdrawing as spam is an approver's, with a reason, each request checked on its own
    refused = login(reviewer).post(
        "/staff/bulk/", {"action": "withdraw_spam", "reason": "Spam", "refs": refs}
    )
    assert refused.status_code == 403
    no_reason = login(approver).post(
        "/staff/bulk/", {"action": "withdraw_spam", "reason": "", "refs": refs}, follow=True
    )
    assert "Give the reason" in no_reason.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = (
            login(approver)
            .post(
                "/staff/bulk/",
                {
                    "action": "withdraw_spam",
                    "reason": "Automated spam",
                    "refs": [*refs, closed.reference],
                },
                follow=True,
            )
            .content.decode()
        )
    assert "Withdrew 2 requests" in done
    assert f"{closed.reference}: Cannot withdraw" in done
    for dsr in (first, second):
        dsr.refresh_from_db()
        assert dsr.status == Status.WITHDRAWN
        assert "spam" in dsr.events.get(action="withdraw").payload["reason"].lower()
    assert len(mail.outbox) == 2  # each person is told, as for any withdrawal
