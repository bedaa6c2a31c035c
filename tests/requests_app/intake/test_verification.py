"""Verification links and the status page: expired, reused, tampered; agents; what is shown."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from requests_app.core.actions import available
from requests_app.intake import verification
from requests_app.models import DataSubjectRequest, RequestToken, Status
from requests_app.review import case
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def link_from(message: Any, kind: str) -> str:
    match = re.search(rf"https?://[^/\s]+(/{kind}/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def to_vera() -> list[Any]:
    """The person's emails (staff are told too: the request is ready for review)."""
    return [m for m in mail.outbox if m.to == ["vera@example.com"]]


@pytest.fixture
def verify_path(submit: Any) -> tuple[DataSubjectRequest, str]:
    dsr = submit(name="Vera Fied", email="vera@example.com")
    return dsr, link_from(mail.outbox[-1], "verify")


def test_only_a_hash_of_the_token_is_stored(verify_path: Any) -> None:
    _dsr, path = verify_path
    raw = path.split("/")[2]
    assert len(raw) >= 43  # 256 bits, url-safe base64
    assert not RequestToken.objects.filter(token_hash=raw).exists()
    assert raw not in str(list(RequestToken.objects.values()))


def test_get_does_not_spend_the_link_post_does(
    client: Any, verify_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr, path = verify_path
    # a mail scanner following the link
    page = client.get(path)
    assert page.status_code == 200
    assert b"Confirm my request" in page.content
    dsr.refresh_from_db()
    assert dsr.status == Status.AWAITING_VERIFICATION
    # the person presses the button
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path)
    assert done.status_code == 200
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW  # verified; gathering (no stores) finished at once
    assert dsr.due_on.strftime("%-d %B %Y").encode() in done.content
    verified_mail = to_vera()[-1]
    assert "confirmed" in verified_mail.subject.lower()
    assert dsr.due_on.strftime("%-d %B %Y") in verified_mail.body
    assert "/status/" in verified_mail.body


def test_reused_link_is_refused(client: Any, verify_path: Any) -> None:
    _, path = verify_path
    assert client.post(path).status_code == 200
    again = client.post(path)
    assert again.status_code == 400
    assert b"already been used" in again.content


def test_expired_link_is_refused(client: Any, verify_path: Any) -> None:
    dsr, path = verify_path
    RequestToken.objects.filter(request=dsr).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.post(path)
    assert response.status_code == 400
    assert b"expired" in response.content
    dsr.refresh_from_db()
    assert dsr.status == Status.AWAITING_VERIFICATION


@pytest.mark.parametrize(
    "mutate",
    [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t[:20], lambda t: "x" * 200],
)
def test_tampered_link_is_refused(client: Any, verify_path: Any, mutate: Any) -> None:
    dsr, path = verify_path
    token = path.split("/")[2]
    response = client.post(f"/verify/{mutate(token)}/")
    assert response.status_code == 400
    assert b"not valid" in response.content
    dsr.refresh_from_db()
    assert dsr.status == Status.AWAITING_VERIFICATION


def test_verify_api(api: Any, verify_path: Any) -> None:
    dsr, path = verify_path
    token = path.split("/")[2]
    ok = api.post("/api/v1/requests/verify/", {"token": token}, format="json")
    assert ok.status_code == 200
    assert ok.json()["reference"] == dsr.reference
    reused = api.post("/api/v1/requests/verify/", {"token": token}, format="json")
    assert reused.status_code == 400
    assert reused.json()["reason"] == "used"
    assert api.post("/api/v1/requests/verify/", {}, format="json").status_code == 400


def test_a_token_from_one_purpose_cannot_be_used_for_another(client: Any, verify_path: Any) -> None:
    _, path = verify_path
    token = path.split("/")[2]
    assert client.get(f"/status/{token}/").status_code == 404


def test_agent_request_waits_for_authority_before_the_clock_starts(
    client: Any, submit: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = submit(
        name="Pat Person",
        email="pat@example.com",
        agent_name="Sol Icitor",
        agent_email="sol@lawfirm.example",
        agent_relationship="solicitor",
    )
    to_agent, to_person = mail.outbox[-2:]
    assert to_agent.to == ["sol@lawfirm.example"]  # we write to the agent
    assert to_person.to == ["pat@example.com"]  # and tell the person someone asked for them
    assert "on your behalf" in to_person.body
    path = link_from(to_agent, "verify")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path)
    dsr.refresh_from_db()
    assert dsr.email_verified_at is not None
    assert dsr.status == Status.AWAITING_VERIFICATION
    assert dsr.due_on is None
    assert "confirm_authority" in available(dsr, UserFactory(username="rita", roles=["reviewer"]))
    with django_capture_on_commit_callbacks(execute=True):
        verification.request_confirm_authority(
            dsr=dsr, actor=approver, reason="Signed letter of authority"
        )
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_REVIEW
    assert dsr.clock_started_on == timezone.localdate()


def test_status_page_shows_plain_words_and_no_other_personal_data(
    client: Any, verify_path: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr, path = verify_path
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(
        requester_phone="07700 900123", requester_company="Acme"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path)
    status_path = link_from(to_vera()[-1], "status")
    case.request_assign(dsr=dsr, actor=approver, assignee=approver)
    page = client.get(status_path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Vera Fied" in html
    assert dsr.reference in html
    assert "checking what we found" in html
    assert "You confirmed your email address, and we started work" in html
    # the page's words, without the random CSRF token (which may hold "ada" by chance)
    words = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    for private in ("vera@example.com", "07700 900123", "Acme", "ada", "staff:"):
        assert private not in words


def test_wrong_status_link_is_a_friendly_404(client: Any, db: Any) -> None:
    response = client.get("/status/nonsense-token/")
    assert response.status_code == 404
    assert b"not valid" in response.content
