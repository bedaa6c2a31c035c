"""POST /api/v1/requests/: the public intake, including hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from requests_app.models import Correction, DataSubjectRequest, OutgoingEmail

pytestmark = pytest.mark.django_db
URL = "/api/v1/requests/"


def post(api: Any, body: Any, **extra: Any) -> Any:
    return api.post(URL, body, format="json", **extra)


def test_valid_request_is_created_and_a_verification_email_sent(
    api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api,
            {
                "request_type": "access",
                "name": "Zoë Łukasiewicz-O'Brien 王小明",
                "email": "Zoe@Example.COM",
            },
        )
    assert response.status_code == 202
    assert "reference" not in response.json()  # the mailbox gets it (tests/…/test_intake_abuse)
    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == "awaiting_verification"
    assert dsr.reference.startswith("DSR-")
    assert dsr.requester_name == "Zoë Łukasiewicz-O'Brien 王小明"
    assert dsr.requester_email == "Zoe@example.com"  # domain lower-cased, local part kept
    (message,) = mail.outbox
    assert message.to == ["Zoe@example.com"]
    assert "/verify/" in message.body


def test_references_are_sequential_per_year(api: Any) -> None:
    post(api, {"request_type": "access", "name": "A", "email": "a@example.com"})
    post(api, {"request_type": "access", "name": "B", "email": "b@example.com"})
    first, second = DataSubjectRequest.objects.order_by("pk").values_list("reference", flat=True)
    year, n1 = first.split("-")[1:]
    assert second == f"DSR-{year}-{int(n1) + 1:06d}"


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"request_type": "access", "name": "A", "email": "not-an-email"}, "email", "valid email"),
        ({"request_type": "access", "email": "a@example.com"}, "name", "required"),
        ({"request_type": "access", "name": "", "email": "a@example.com"}, "name", "blank"),
        (
            {"request_type": "teleport", "name": "A", "email": "a@example.com"},
            "request_type",
            "not a valid choice",
        ),
        (
            {"request_type": "rectification", "name": "A", "email": "a@example.com"},
            "corrections",
            "at least one",
        ),
        (
            {
                "request_type": "access",
                "name": "A",
                "email": "a@example.com",
                "corrections": [{"field": "phone", "corrected_value": "1"}],
            },
            "corrections",
            "only",
        ),
        (
            {"request_type": "access", "name": "Ann\x1b[31m", "email": "a@example.com"},
            "name",
            "control character",
        ),
        (
            {"request_type": "access", "name": "Ann\u202eevil", "email": "a@example.com"},
            "name",
            "control character",
        ),
        (
            {"request_type": "access", "name": "Ann\nSmith", "email": "a@example.com"},
            "name",
            "control character",
        ),
        (
            {
                "request_type": "access",
                "name": "A",
                "email": "a@example.com",
                "details": "x" * 5001,
            },
            "details",
            "no more than",
        ),
        (
            {"request_type": "access", "name": "A" * 201, "email": "a@example.com"},
            "name",
            "no more than",
        ),
        (
            {
                "request_type": "access",
                "name": "A",
                "email": "a@example.com",
                "phone": "call me maybe",
            },
            "phone",
            "phone number",
        ),
        (
            {"request_type": "access", "name": "A", "email": "a@example.com", "agent_name": "Bob"},
            "agent_email",
            "behalf",
        ),
        (
            {
                "request_type": "access",
                "name": "A",
                "email": "a@example.com",
                "jurisdiction": "narnia",
            },
            "jurisdiction",
            "valid choice",
        ),
        (
            {
                "request_type": "access",
                "name": "A",
                "email": "a@example.com",
                "agent_name": "Bob",
                "agent_email": "A@example.com",
                "agent_relationship": "self",
            },
            "agent_email",
            "differ",
        ),
    ],
)
def test_bad_input_names_the_field(
    api: Any, body: dict[str, Any], field: str, fragment: str
) -> None:
    response = post(api, body)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert fragment in " ".join(map(str, errors[field])).lower() or fragment in str(errors[field])
    assert DataSubjectRequest.objects.count() == 0


def test_a_one_megabyte_body_is_refused_cleanly(api: Any) -> None:
    response = post(
        api,
        {
            "request_type": "access",
            "name": "A",
            "email": "a@example.com",
            "details": "x" * 1_048_576,
        },
    )
    assert response.status_code == 400
    assert "details" in response.json()


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"a string"', b"null", b"\xff\xfe"])
def test_malformed_json_is_a_400(api: Any, raw: bytes) -> None:
    response = api.post(URL, raw, content_type="application/json")
    assert response.status_code == 400


def test_script_tags_are_stored_as_text_and_never_reach_an_email_unverified(
    api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    name = '<script>alert("x")</script>'
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, {"request_type": "access", "name": name, "email": "a@example.com"})
    assert response.status_code == 202
    assert DataSubjectRequest.objects.get().requester_name == name  # kept as typed, as text
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html
    assert "alert" not in html  # an unverified name is not echoed at all


def test_rectification_keeps_its_corrections(api: Any) -> None:
    response = post(
        api,
        {
            "request_type": "rectification",
            "name": "A",
            "email": "a@example.com",
            "corrections": [
                {
                    "field": "phone",
                    "current_value": "0700 000000",
                    "corrected_value": "07467 133216",
                },
                {"field": "surname", "corrected_value": "Smith"},
            ],
        },
    )
    assert response.status_code == 202
    dsr = DataSubjectRequest.objects.get()
    assert list(Correction.objects.filter(request=dsr).values_list("field", "corrected_value")) == [
        ("phone", "07467 133216"),
        ("surname", "Smith"),
    ]


def test_duplicate_open_request_is_not_created_and_the_person_is_told(
    api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    body = {"request_type": "erasure", "name": "A", "email": "dup@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        assert post(api, body).status_code == 202
        second = post(api, {**body, "email": "DUP@example.com"})
    assert second.status_code == 202  # the same answer as a new request: nothing revealed
    assert DataSubjectRequest.objects.count() == 1
    assert len(mail.outbox) == 2
    assert "already have open with us" in mail.outbox[1].body
    assert "/verify/" in mail.outbox[1].body  # unverified: the link is sent again


def test_a_different_type_is_not_a_duplicate(api: Any) -> None:
    post(api, {"request_type": "erasure", "name": "A", "email": "a@example.com"})
    assert (
        post(api, {"request_type": "access", "name": "A", "email": "a@example.com"}).status_code
        == 202
    )


def test_rate_limit_per_email_returns_429_with_retry_after(api: Any, settings: Any) -> None:
    settings.DSAR_RATE_LIMIT_PER_EMAIL = 2
    for kind in ("access", "erasure"):
        assert (
            post(api, {"request_type": kind, "name": "A", "email": "same@example.com"}).status_code
            == 202
        )
    response = post(api, {"request_type": "portability", "name": "A", "email": "same@example.com"})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.DSAR_RATE_LIMIT_WINDOW_SECONDS
    assert DataSubjectRequest.objects.count() == 2


def test_rate_limit_per_ip(api: Any, settings: Any) -> None:
    settings.DSAR_RATE_LIMIT_PER_IP = 3
    codes = [
        post(
            api,
            {"request_type": "access", "name": "A", "email": f"p{i}@example.com"},
            REMOTE_ADDR="203.0.113.9",
        ).status_code
        for i in range(5)
    ]
    assert codes == [202, 202, 202, 429, 429]
    # another client is not affected
    assert (
        post(
            api,
            {"request_type": "access", "name": "A", "email": "q@example.com"},
            REMOTE_ADDR="203.0.113.10",
        ).status_code
        == 202
    )


def test_forged_forwarded_for_does_not_escape_the_limit(api: Any, settings: Any) -> None:
    settings.DSAR_RATE_LIMIT_PER_IP = 2
    settings.DSAR_TRUSTED_PROXY_COUNT = 1
    settings.DSAR_TRUSTED_PROXIES = ["10.0.0.0/8"]
    codes = [
        post(
            api,
            {"request_type": "access", "name": "A", "email": f"f{i}@example.com"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.5",
        ).status_code
        for i in range(3)
    ]
    # the proxy appended the real client (203.0.113.5); what the client wrote before it is ignored
    assert codes == [202, 202, 429]


def test_email_bodies_are_encrypted_at_rest_until_sent(api: Any) -> None:
    post(api, {"request_type": "access", "name": "Secret Name", "email": "enc@example.com"})
    email = OutgoingEmail.objects.get()
    assert email.status == "pending"  # on-commit did not run: still queued
    stored = bytes(email.text_encrypted) + bytes(email.to_encrypted)
    assert b"Secret Name" not in stored
    assert b"enc@example.com" not in stored
    assert b"/verify/" not in stored
