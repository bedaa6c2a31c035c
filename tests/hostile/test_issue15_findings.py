"""The attacker's findings on staff intake, the portal and documents (issue 15): each test failed
before its fix."""

from __future__ import annotations

import base64
from io import BytesIO
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from requests_app.core import documents
from requests_app.intake import receive, verification
from requests_app.models import DataSubjectRequest, DocumentKind
from requests_app.review import case
from tests.support.documents import PDF, PNG

pytestmark = pytest.mark.django_db


def portal_of(dsr: DataSubjectRequest) -> str:
    return "/" + verification.status_link(dsr).split("://", 1)[1].split("/", 1)[1]


def upload(content: bytes, name: str) -> BytesIO:
    handle = BytesIO(content)
    handle.name = name
    return handle


def test_f1_the_person_cannot_fill_the_disk_one_request_at_a_time(
    client: Any, submit: Any, settings: Any
) -> None:
    dsr = submit(
        name="Carol Clark",
        email="carol@example.com",
        agent_name="Mal Lory",
        agent_email="mallory@evil.example",
        agent_relationship="friend",
    )
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(email_verified_at=timezone.now())
    path = portal_of(dsr)
    limit = settings.DSAR_DOCUMENTS_PER_REQUEST
    for _ in range(limit // settings.DSAR_DOCUMENTS_PER_UPLOAD):
        files = [upload(PDF, f"p{i}.pdf") for i in range(settings.DSAR_DOCUMENTS_PER_UPLOAD)]
        assert client.post(f"{path}proof/", {"files": files}).status_code == 302
    response = client.post(f"{path}proof/", {"files": [upload(PDF, "more.pdf")]})
    assert response.status_code == 400
    assert "most files we take" in response.content.decode()
    assert dsr.documents.count() == limit


def test_f2_a_quoted_address_is_the_same_mailbox(submit: Any) -> None:
    for quoted in ('"dan"@example.com', '"\\dan"@example.com', '"d\\an"@example.com'):
        assert receive.email_key(quoted) == "dan@example.com", quoted
    first = submit(email="dan@example.com")
    again = receive.request_receive(
        data=receive.Submission(request_type="access", name="Dan", email='"dan"@example.com')
    )
    assert again.dsr == first  # the open duplicate, not a new request
    assert receive.email_key('"dan smith"@example.com') == '"dan smith"@example.com'


def test_f2_the_per_address_limit_says_it_is_the_address(client: Any, settings: Any) -> None:
    settings.DSAR_RATE_LIMIT_PER_EMAIL = 1
    form = {
        "c-TOTAL_FORMS": "1",
        "c-INITIAL_FORMS": "0",
        "request_type": "access",
        "name": "Dan",
        "email": "dan@example.com",
        "jurisdiction": "uk_gdpr",
    }
    client.post("/", form)
    response = client.post("/", {**form, "request_type": "erasure"})
    assert response.status_code == 429
    assert "for this email address" in response.content.decode()


def test_f3_the_api_counts_only_requests_filed(api: Any, settings: Any) -> None:
    settings.DSAR_RATE_LIMIT_PER_IP = 2
    for _ in range(5):
        bad = api.post(
            "/api/v1/requests/",
            {"request_type": "access", "name": "A", "email": "not-an-email"},
            format="json",
        )
        assert bad.status_code == 400
    good = api.post(
        "/api/v1/requests/",
        {"request_type": "access", "name": "A", "email": "a@example.com"},
        format="json",
    )
    assert good.status_code == 202


def test_f4_staff_attach_a_large_scan_through_the_api_and_too_large_is_json(
    reviewer_api: Any, settings: Any
) -> None:
    logged = reviewer_api.post(
        "/api/v1/requests/",
        {
            "channel": "letter",
            "received_at": timezone.now().isoformat(),
            "request_type": "access",
            "name": "Lee Letter",
            "email": "lee@example.com",
            "identity_check": "id_seen",
            "identity_note": "Passport copy enclosed",
        },
        format="json",
    )
    reference = logged.json()["reference"]
    scan = PDF + b"%" * (4 * 1024 * 1024)  # a 4 MB scanned letter
    response = reviewer_api.post(
        f"/api/v1/requests/{reference}/documents/",
        scan,
        content_type="application/pdf",
        HTTP_CONTENT_DISPOSITION='attachment; filename="letter.pdf"',
    )
    assert response.status_code == 201, response.content
    document = DataSubjectRequest.objects.get(reference=reference).documents.get()
    assert documents.document_bytes(document) == scan
    assert document.original_name == "letter.pdf"
    big = base64.b64encode(b"%PDF-" + b"x" * (3 * 1024 * 1024)).decode()
    too_big = reviewer_api.post(
        "/api/v1/requests/",
        {"channel": "letter", "attachments": [{"name": "x.pdf", "content_base64": big}]},
        format="json",
    )
    assert too_big.status_code == 413
    assert too_big["Content-Type"] == "application/json"
    assert "documents/" in too_big.json()["detail"]


def test_f5_the_staff_form_refuses_an_upload_too_large_rather_than_dropping_it(
    reviewer: Any, settings: Any
) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client()
    client.force_login(reviewer)
    response = client.post(
        "/staff/requests/new/",
        {
            "channel": "letter",
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "request_type": "access",
            "name": "Lee Letter",
            "email": "lee@example.com",
            "jurisdiction": "uk_gdpr",
            "identity_check": "id_seen",
            "identity_note": "Passport copy",
            "delivery": "email",
            "c-TOTAL_FORMS": "1",
            "c-INITIAL_FORMS": "0",
            "attachments": [upload(PDF + b"%" * 5000, "letter.pdf")],
        },
    )
    assert response.status_code == 400
    assert "too large" in response.content.decode()
    assert DataSubjectRequest.objects.count() == 0


def test_f6_an_email_in_an_unknown_charset_is_still_shown(reviewer: Any, verified: Any) -> None:
    odd = (
        b"From: a@example.com\r\nDate: Tue, 24 Nov 2026 09:12:00 +0000\r\n"
        b'Content-Type: text/plain; charset="x-no-such-charset"\r\n\r\nPlease send my data\r\n'
    )
    dsr = verified(email="odd@example.com")
    document = documents.document_add(
        dsr=dsr,
        upload=documents.Upload(name="odd.eml", content=odd),
        kind=DocumentKind.ATTACHMENT,
        actor="staff:rita",
        allowed=documents.ATTACHMENT_TYPES,
    )
    client = Client()
    client.force_login(reviewer)
    shown = client.get(f"/staff/requests/{dsr.reference}/documents/{document.pk}/")
    assert shown.status_code == 200
    assert "Please send my data" in shown.content.decode()


def test_f7_a_file_sent_in_any_answer_goes_a_set_time_after_the_request_closes(
    client: Any,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dsr = verified(email="pia@example.com")
    case.request_hold(dsr=dsr, actor=reviewer, question="Which account?")  # not for proof
    client.post(f"{portal_of(dsr)}reply/", {"body": "This one", "files": [upload(PNG, "p.png")]})
    (sent,) = dsr.documents.all()
    assert sent.kind == DocumentKind.ATTACHMENT
    case.request_withdraw(dsr=dsr, actor=approver, reason="Asked by phone")
    sent.refresh_from_db()
    assert sent.delete_after is not None


def test_f8_vouching_for_an_agent_without_proof_needs_a_reason_and_bars_approval(
    submit: Any, approver: Any, reviewer: Any
) -> None:
    from requests_app.core.actions import refusal
    from requests_app.core.errors import RuleViolation

    dsr = submit(
        name="Bob Baker",
        email="bob@example.com",
        agent_name="Acc Omplice",
        agent_email="acc@evil.example",
        agent_relationship="brother",
    )
    with pytest.raises(RuleViolation):
        verification.request_confirm_authority(dsr=dsr, actor=reviewer, reason="")
    verification.request_confirm_authority(
        dsr=dsr, actor=reviewer, reason="Signed letter of authority seen by post"
    )
    dsr.refresh_from_db()
    # whoever vouched for the agent prepared the response: another approver must approve it
    assert refusal("approve", reviewer, dsr) is not None
    # and the person was told at intake that someone asked for them
    assert any(m.to == ["bob@example.com"] and "on your behalf" in m.body for m in mail.outbox)
