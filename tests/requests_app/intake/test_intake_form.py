"""The public form at / : it explains the rights, shows errors next to the field, and submits."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from requests_app.models import Correction, DataSubjectRequest

pytestmark = pytest.mark.django_db

BASE = {
    "c-TOTAL_FORMS": "3",
    "c-INITIAL_FORMS": "0",
    "c-MIN_NUM_FORMS": "0",
    "c-MAX_NUM_FORMS": "20",
    "jurisdiction": "uk_gdpr",
}


def test_form_explains_each_right_from_the_policy(client: Any) -> None:
    html = client.get("/").content.decode()
    for phrase in (
        "copy of the personal information",
        "inaccurate or incomplete",
        "six years",
        "machine-readable",
        "never refuse",
    ):
        assert phrase in html
    assert 'for="id_email"' in html
    assert 'autocomplete="email"' in html


def test_submission_creates_the_request_and_emails_the_reference(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/",
            {**BASE, "request_type": "access", "name": "Ann", "email": "ann@example.com"},
            follow=True,
        )
    dsr = DataSubjectRequest.objects.get()
    assert response.status_code == 200
    assert "We have sent an email to the address you gave" in response.content.decode()
    (message,) = mail.outbox
    assert dsr.reference in message.body  # the reference goes to the mailbox, not the page


def test_errors_are_shown_next_to_the_field(client: Any) -> None:
    response = client.post("/", {**BASE, "request_type": "access", "name": "", "email": "nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email_error"' in html
    assert "Enter a valid email address" in html
    assert 'id="id_name_error"' in html
    assert DataSubjectRequest.objects.count() == 0


def test_rectification_lists_corrections(client: Any) -> None:
    response = client.post(
        "/",
        {
            **BASE,
            "request_type": "rectification",
            "name": "Ann",
            "email": "ann@example.com",
            "c-0-field": "phone",
            "c-0-current_value": "0700",
            "c-0-corrected_value": "0711",
            "c-1-field": "",
            "c-1-corrected_value": "",
        },
    )
    assert response.status_code == 302
    assert list(Correction.objects.values_list("field", "corrected_value")) == [("phone", "0711")]


def test_rectification_without_corrections_is_refused(client: Any) -> None:
    response = client.post(
        "/", {**BASE, "request_type": "rectification", "name": "Ann", "email": "ann@example.com"}
    )
    assert response.status_code == 400
    assert "at least one field to correct" in response.content.decode()


def test_honeypot_pretends_success_and_keeps_nothing(client: Any) -> None:
    response = client.post(
        "/",
        {
            **BASE,
            "request_type": "access",
            "name": "Bot",
            "email": "bot@example.com",
            "website": "http://spam.example",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert b"Check your email" in response.content
    assert DataSubjectRequest.objects.count() == 0
    assert mail.outbox == []


def test_script_in_name_is_inert_on_the_error_page(client: Any) -> None:
    response = client.post(
        "/", {**BASE, "request_type": "access", "name": "<script>alert(1)</script>", "email": "bad"}
    )
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_form_rate_limit_is_a_friendly_429(client: Any, settings: Any) -> None:
    settings.DSAR_RATE_LIMIT_PER_IP = 1
    client.post("/", {**BASE, "request_type": "access", "name": "Ann", "email": "a1@example.com"})
    response = client.post(
        "/", {**BASE, "request_type": "access", "name": "Ann", "email": "a2@example.com"}
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many attempts" in response.content


def test_csrf_is_enforced_on_the_form(db: Any) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/", {**BASE, "request_type": "access", "name": "Ann", "email": "ann@example.com"}
    )
    assert response.status_code == 403
    assert DataSubjectRequest.objects.count() == 0


def test_duplicate_via_form_reveals_neither_the_duplicate_nor_the_reference(client: Any) -> None:
    data = {**BASE, "request_type": "access", "name": "Ann", "email": "ann@example.com"}
    client.post("/", data)
    first = DataSubjectRequest.objects.get()
    response = client.post("/", data, follow=True)
    html = response.content.decode()
    assert "We have sent an email to the address you gave" in html
    assert first.reference not in html
    assert DataSubjectRequest.objects.count() == 1


def test_the_form_explains_restriction_and_objection_in_plain_words(client: Any) -> None:
    html = client.get("/").content.decode()
    assert "Stop using your information for a time" in html
    assert "while we check it is accurate" in html
    assert "Object to how we use your information" in html
    assert 'name="objection_scope"' in html
    assert 'name="grounds"' in html


def test_an_objection_to_other_processing_is_filed_with_its_grounds(client: Any) -> None:
    data = {**BASE, "request_type": "objection", "name": "Ann", "email": "ann@example.com"}
    refused = client.post("/", {**data, "objection_scope": "other"})
    assert refused.status_code == 400
    assert "Tell us why" in refused.content.decode()
    response = client.post(
        "/", {**data, "objection_scope": "other", "grounds": "Stop profiling me."}
    )
    assert response.status_code == 302
    dsr = DataSubjectRequest.objects.get()
    assert (dsr.request_type, dsr.objection_scope, dsr.grounds) == (
        "objection",
        "other",
        "Stop profiling me.",
    )
