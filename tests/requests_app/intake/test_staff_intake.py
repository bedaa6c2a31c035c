"""Staff log a request received by phone, letter, email, in person or social media (issue 15)."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from requests_app.core import documents
from requests_app.core.permissions import actor_label
from requests_app.models import DataSubjectRequest, DocumentKind, Status
from tests.support.documents import EML, PDF, PNG

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def received(days_ago: int) -> str:
    moment = timezone.localtime() - timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M")


def phone_call(**fields: Any) -> dict[str, Any]:
    return {
        "c-TOTAL_FORMS": "1",
        "c-INITIAL_FORMS": "0",
        "c-MIN_NUM_FORMS": "0",
        "c-MAX_NUM_FORMS": "20",
        "channel": "phone",
        "received_at": received(2),
        "request_type": "access",
        "name": "Bob Baker",
        "email": "bob@example.com",
        "jurisdiction": "uk_gdpr",
        "identity_check": "known_details",
        "identity_note": "Date of birth and postcode matched the account.",
        "delivery": "email",
        **fields,
    }


def test_a_phone_request_with_identity_checked_starts_the_clock_on_the_day_it_was_received(
    reviewer: Any, demo_map: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = login(reviewer).post("/staff/requests/new/", phone_call())
    dsr = DataSubjectRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/requests/{dsr.reference}/"
    assert dsr.channel == "phone"
    assert dsr.received_by == reviewer
    assert dsr.identity_check == "known_details"
    assert dsr.clock_started_on == timezone.localdate() - timedelta(days=2)
    assert dsr.status == Status.IN_REVIEW  # verified at once, and gathered
    first = dsr.events.order_by("seq").first()
    assert (first.action, first.actor) == ("received", actor_label(reviewer))
    assert first.payload["channel"] == "phone"
    (confirmed,) = [m for m in mail.outbox if m.to == ["bob@example.com"]]
    assert dsr.due_on.strftime("%-d %B %Y") in confirmed.body
    assert "/status/" in confirmed.body


def test_a_letter_by_post_with_no_email_keeps_its_attachments_encrypted_and_sends_no_email(
    reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    letter = BytesIO(PDF)
    letter.name = "letter.pdf"
    forwarded = BytesIO(EML)
    forwarded.name = "forwarded.eml"
    with django_capture_on_commit_callbacks(execute=True):
        response = login(reviewer).post(
            "/staff/requests/new/",
            phone_call(
                channel="letter",
                identity_check="id_seen",
                identity_note="Copy of driving licence enclosed",
                delivery="post",
                postal_address="1 High Street\nTown\nAB1 2CD",
                attachments=[letter, forwarded],
            ),
        )
    assert response.status_code == 302, response.content.decode()
    dsr = DataSubjectRequest.objects.get()
    assert dsr.delivery == "post"
    # the person, by post, is not emailed; the team is told the request is ready for review
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([settings.DSAR_TEAM_INBOX], f"{dsr.reference}: ready for review")
    ]
    stored = {d.original_name: d for d in dsr.documents.all()}
    assert set(stored) == {"letter.pdf", "forwarded.eml"}
    assert stored["letter.pdf"].content_type == "application/pdf"
    assert stored["forwarded.eml"].content_type == "message/rfc822"
    for document, content in ((stored["letter.pdf"], PDF), (stored["forwarded.eml"], EML)):
        assert document.kind == DocumentKind.ATTACHMENT
        with default_storage.open(document.file_name, "rb") as handle:
            assert content[:40] not in handle.read()  # encrypted at rest
        assert documents.document_bytes(document) == content


def test_not_checked_sends_the_confirmation_link_and_waits(
    reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        login(reviewer).post(
            "/staff/requests/new/", phone_call(identity_check="", identity_note="")
        )
    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == Status.AWAITING_VERIFICATION
    assert dsr.clock_started_on is None
    (message,) = mail.outbox
    assert "/verify/" in message.body


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"delivery": "post", "postal_address": "1 High St", "identity_check": ""},
            "identity_check",
            "Say how you checked",
        ),
        ({"received_at": received(-2)}, "received_at", "cannot be in the future"),
        ({"received_at": received(400)}, "received_at", "check the date"),
        ({"delivery": "post"}, "postal_address", "Give the address"),
        ({"email": ""}, "email", "every store is searched by it"),
        ({"identity_note": ""}, "identity_note", "Say what you checked"),
        ({"channel": "web"}, "channel", "Select a valid choice"),
        ({"acting_for_someone": "on"}, "agent_name", "Needed when"),
    ],
)
def test_bad_input_is_a_clear_400_that_keeps_what_was_typed(
    reviewer: Any, fields: dict[str, Any], field: str, words: str
) -> None:
    response = login(reviewer).post("/staff/requests/new/", phone_call(**fields))
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html
    assert f'href="#id_{field}' in html  # the summary links to the field
    assert "Bob Baker" in html
    assert DataSubjectRequest.objects.count() == 0


def test_after_an_error_staff_are_told_to_attach_the_letter_again(reviewer: Any) -> None:
    letter = BytesIO(PDF)
    letter.name = "letter.pdf"
    response = login(reviewer).post(
        "/staff/requests/new/", phone_call(delivery="post", attachments=[letter])
    )
    assert response.status_code == 400
    assert "Attach the file again" in response.content.decode()


def test_a_file_is_judged_by_its_content_not_its_name(reviewer: Any) -> None:
    disguised = BytesIO(b"MZ\x90\x00 this is a Windows program")
    disguised.name = "letter.pdf"
    response = login(reviewer).post("/staff/requests/new/", phone_call(attachments=[disguised]))
    assert response.status_code == 400
    assert "letter.pdf is not a PDF, JPEG, PNG or email (.eml) file" in response.content.decode()
    assert DataSubjectRequest.objects.count() == 0
    image = BytesIO(PNG)
    image.name = "scan.txt"
    response = login(reviewer).post("/staff/requests/new/", phone_call(attachments=[image]))
    assert response.status_code == 302
    assert DataSubjectRequest.objects.get().documents.get().content_type == "image/png"


def test_an_open_duplicate_is_named_not_logged_twice(reviewer: Any, submit: Any) -> None:
    existing = submit(name="Bob Baker", email="BOB@example.com")
    response = login(reviewer).post("/staff/requests/new/", phone_call())
    assert response.status_code == 400
    assert existing.reference in response.content.decode()
    assert DataSubjectRequest.objects.count() == 1


def test_no_public_rate_limit_applies_to_staff(reviewer: Any, settings: Any) -> None:
    settings.DSAR_RATE_LIMIT_PER_IP = 1
    settings.DSAR_RATE_LIMIT_PER_EMAIL = 1
    client = login(reviewer)
    for i in range(4):
        response = client.post("/staff/requests/new/", phone_call(email=f"caller{i}@example.com"))
        assert response.status_code == 302
    assert DataSubjectRequest.objects.count() == 4


def test_the_service_itself_refuses_anyone_outside_the_privacy_team(outsider: Any) -> None:
    from requests_app.core.errors import NotPermitted
    from requests_app.intake import receive
    from requests_app.intake.staff import LoggedRequest, request_log

    logged = LoggedRequest(
        submission=receive.Submission(
            request_type="access", name="Bob", email="bob@example.com", channel="phone"
        ),
        received_at=timezone.now(),
        identity_check="known_details",
        identity_note="matched",
    )
    with pytest.raises(NotPermitted):
        request_log(data=logged, staff=outsider)
    assert DataSubjectRequest.objects.count() == 0


def test_only_the_privacy_team_logs_requests(outsider: Any, db: Any) -> None:
    assert login(outsider).get("/staff/requests/new/").status_code == 403
    assert login(outsider).post("/staff/requests/new/", phone_call()).status_code == 403
    assert Client().get("/staff/requests/new/").status_code == 302  # to the login page
    assert DataSubjectRequest.objects.count() == 0


def test_the_page_says_what_each_choice_means(reviewer: Any) -> None:
    html = login(reviewer).get("/staff/requests/new/").content.decode()
    for words in (
        "Phone",
        "Letter",
        "In person",
        "Social media",
        "Identity document seen",
        "Known customer details matched",
        "By post",
    ):
        assert words in html


def test_an_agents_request_tells_the_person_unless_staff_say_why_not(
    reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    agent = {
        "acting_for_someone": "on",
        "agent_name": "Sol Icitor",
        "agent_email": "sol@lawfirm.example",
        "agent_relationship": "solicitor",
        "email": "pat@example.com",
        "name": "Pat Person",
    }
    with django_capture_on_commit_callbacks(execute=True):
        login(reviewer).post("/staff/requests/new/", phone_call(**agent))
    told = DataSubjectRequest.objects.get()
    assert told.status == Status.AWAITING_VERIFICATION  # the agent's authority is still to see
    told_person, asked_agent = sorted(mail.outbox, key=lambda m: m.to)
    assert told_person.to == ["pat@example.com"]
    assert "on your behalf" in told_person.body
    assert asked_agent.to == ["sol@lawfirm.example"]  # for proof of authority, on the portal
    assert "/status/" in asked_agent.body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        login(reviewer).post(
            "/staff/requests/new/",
            phone_call(**agent, request_type="erasure", untold_reason="Risk of harm to the person"),
        )
    untold = DataSubjectRequest.objects.exclude(pk=told.pk).get()
    assert [m.to for m in mail.outbox] == [["sol@lawfirm.example"]]  # the agent only
    note = untold.events.get(action="note")
    assert "Risk of harm" in note.payload["reason"]


def api_body(**fields: Any) -> dict[str, Any]:
    return {
        "channel": "email",
        "received_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "request_type": "access",
        "name": "Bob Baker",
        "email": "bob@example.com",
        "identity_check": "email_verified",
        "identity_note": "Came from the address on the account",
        **fields,
    }


def test_the_api_logs_a_request_for_staff_only(
    reviewer_api: Any, api: Any, outsider_api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import base64

    body = api_body(
        attachments=[{"name": "request.eml", "content_base64": base64.b64encode(EML).decode()}]
    )
    for client in (api, outsider_api):
        assert client.post("/api/v1/requests/", body, format="json").status_code == 403
    assert DataSubjectRequest.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = reviewer_api.post("/api/v1/requests/", body, format="json")
    assert response.status_code == 201, response.json()
    dsr = DataSubjectRequest.objects.get(reference=response.json()["reference"])
    assert (dsr.channel, dsr.identity_check) == ("email", "email_verified")
    assert dsr.clock_started_on == timezone.localdate() - timedelta(days=1)
    assert documents.document_bytes(dsr.documents.get()) == EML


@pytest.mark.parametrize(
    "fields",
    [
        {"channel": "carrier pigeon"},
        {"received_at": "yesterday"},
        {"email": "", "identity_check": ""},
        {"attachments": [{"name": "x.pdf", "content_base64": "not base64!"}]},
        {"attachments": [{"name": "x.pdf", "content_base64": "TVqQAA=="}]},  # a Windows program
    ],
)
def test_the_api_refuses_bad_staff_intake_with_a_400(reviewer_api: Any, fields: Any) -> None:
    response = reviewer_api.post("/api/v1/requests/", api_body(**fields), format="json")
    assert response.status_code == 400, response.content
    assert DataSubjectRequest.objects.count() == 0


def test_staff_see_a_document_in_the_browser_where_it_cannot_run(
    reviewer: Any, outsider: Any, django_capture_on_commit_callbacks: Any
) -> None:
    hostile = EML.replace(b"Please send", b"<script>alert(1)</script> Please send")
    letter, mail_file = BytesIO(PDF), BytesIO(hostile)
    letter.name, mail_file.name = "letter.pdf", "mail.eml"
    client = login(reviewer)
    client.post("/staff/requests/new/", phone_call(attachments=[letter, mail_file]))
    dsr = DataSubjectRequest.objects.get()
    pdf, eml = (dsr.documents.get(content_type=t) for t in ("application/pdf", "message/rfc822"))
    page = client.get(f"/staff/requests/{dsr.reference}/").content.decode()
    assert "letter.pdf" in page
    assert "mail.eml" in page
    shown = client.get(f"/staff/requests/{dsr.reference}/documents/{pdf.pk}/")
    assert shown.status_code == 200
    assert shown.content == PDF
    assert shown["Content-Type"] == "application/pdf"
    assert shown["Content-Disposition"] == "inline"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in shown["Content-Security-Policy"]
    text = client.get(f"/staff/requests/{dsr.reference}/documents/{eml.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Please send" in text
    assert "<script>" not in text
    assert (
        login(outsider).get(f"/staff/requests/{dsr.reference}/documents/{pdf.pk}/").status_code
        == 403
    )
    other = DataSubjectRequest.objects.create(
        reference="DSR-2026-999999",
        request_type="access",
        requester_name="X",
        requester_email="x@example.com",
        received_at=timezone.now(),
    )
    assert client.get(f"/staff/requests/{other.reference}/documents/{pdf.pk}/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        documents.document_delete(document=pdf, actor="system", why="test")
    assert client.get(f"/staff/requests/{dsr.reference}/documents/{pdf.pk}/").status_code == 404
    assert not default_storage.exists(pdf.file_name)
