"""The public form at / : it explains the rights, shows errors next to the field, and submits."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from requests_app.models import Correction, DataSubjectRequest
from tests.support.html import dangling_references, parse

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
    assert b"Please try again in" in response.content


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


# What a new user found on the form (issue 15).


def test_the_error_summary_lists_a_correction_rows_error_and_links_to_it(client: Any) -> None:
    response = client.post(
        "/",
        {
            **BASE,
            "request_type": "rectification",
            "name": "Ann",
            "email": "ann@example.com",
            "c-0-corrected_value": "0711",  # "what it should be", but not what is wrong
        },
    )
    assert response.status_code == 400
    summary = next(
        e for e in parse(response.content).elements if e.attrs.get("id") == "error-summary"
    )
    assert "Say which item this corrects" in summary.text
    assert 'href="#id_c-0-field"' in response.content.decode()
    assert DataSubjectRequest.objects.count() == 0


def test_every_help_text_and_error_is_announced_with_its_field(client: Any) -> None:
    page = client.get("/").content
    assert dangling_references(page) == []
    email = next(e for e in parse(page).elements if e.attrs.get("id") == "id_email")
    assert "confirm it is yours" in parse(page).ids[email.attrs["aria-describedby"]].text
    response = client.post("/", {**BASE, "request_type": "access", "name": "", "email": "nope"})
    assert dangling_references(response.content) == []
    email = next(e for e in parse(response.content).elements if e.attrs.get("id") == "id_email")
    described = " ".join(
        parse(response.content).ids[i].text for i in email.attrs["aria-describedby"].split()
    )
    assert "Enter a valid email address" in described
    assert email.attrs.get("aria-invalid") == "true"
    # one region announces the errors, not one per field
    assert len([e for e in parse(response.content).elements if e.attrs.get("role") == "alert"]) == 1


def test_one_correction_row_and_a_way_to_add_more(client: Any) -> None:
    page = client.get("/").content.decode()
    assert 'name="c-0-field"' in page
    assert 'name="c-1-field"' not in page
    response = client.post(
        "/",
        {
            **BASE,
            "c-TOTAL_FORMS": "1",
            "request_type": "rectification",
            "name": "Ann",
            "c-0-field": "phone",
            "c-0-corrected_value": "0711",
            "add_correction": "1",
        },
    )
    # without JavaScript the button asks the server for one more row: no errors, nothing lost
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="c-1-field"' in html
    assert 'value="0711"' in html
    assert "Please check the form" not in html
    assert DataSubjectRequest.objects.count() == 0


def _pressing_enter(client: Any) -> dict[str, str]:
    """What a browser adds when Enter is pressed in a field: the form's first submit button (its
    default button), with its name and value if it has a name."""
    page = parse(client.get("/").content)
    start = next(
        i for i, e in enumerate(page.elements) if e.tag == "form" and e.attrs["action"] == "/"
    )
    default = next(
        e
        for e in page.elements[start:]
        if (e.tag == "button" and e.attrs.get("type", "submit") == "submit")
        or (e.tag == "input" and e.attrs.get("type") == "submit")
    )
    assert "Send my request" in default.text + default.attrs.get("value", "")
    return (
        {default.attrs["name"]: default.attrs.get("value", "")} if "name" in default.attrs else {}
    )


@pytest.mark.parametrize("request_type", ["access", "rectification"])
def test_pressing_enter_sends_the_request(
    client: Any, django_capture_on_commit_callbacks: Any, request_type: str
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/",
            {
                **BASE,
                "c-TOTAL_FORMS": "1",
                "request_type": request_type,
                "name": "Ann",
                "email": "ann@example.com",
                **(
                    {"c-0-field": "phone", "c-0-corrected_value": "0711"}
                    if request_type == "rectification"
                    else {}
                ),
                **_pressing_enter(client),
            },
        )
    assert response.status_code == 302
    dsr = DataSubjectRequest.objects.get()
    assert dsr.request_type == request_type
    (message,) = mail.outbox
    assert dsr.reference in message.body
    if request_type == "rectification":
        assert [c.field for c in dsr.corrections.all()] == ["phone"]  # no empty second row


def test_acting_for_someone_with_no_agent_details_is_refused_not_filed_as_the_persons(
    client: Any,
) -> None:
    response = client.post(
        "/",
        {
            **BASE,
            "request_type": "access",
            "name": "Ann",
            "email": "ann@example.com",
            "acting_for_someone": "on",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("agent_name", "agent_email", "agent_relationship"):
        assert f'id="id_{field}_error"' in html
    assert DataSubjectRequest.objects.count() == 0
    # the labels say whose details go where
    assert "About the person" in html
    assert "About you" in html


def test_the_form_is_rate_limited_in_minutes_and_keeps_what_was_typed(
    client: Any, settings: Any
) -> None:
    settings.DSAR_RATE_LIMIT_PER_IP = 1
    client.post("/", {**BASE, "request_type": "access", "name": "Ann", "email": "a1@example.com"})
    response = client.post(
        "/", {**BASE, "request_type": "access", "name": "Ann Other", "email": "a2@example.com"}
    )
    assert response.status_code == 429
    html = response.content.decode()
    assert "minute" in html
    assert "seconds" not in html
    assert 'value="a2@example.com"' in html  # nothing lost: the form comes back filled in
    assert DataSubjectRequest.objects.count() == 1


def test_an_office_behind_one_address_can_file_many_requests_in_an_hour(client: Any) -> None:
    """The default per-address limit counts requests filed, not mistakes corrected: an office
    behind one IP files 50 in an hour (docs/operations.md says what it is and how to change it)."""
    for _ in range(3):  # three mistakes first: they cost nothing
        client.post("/", {**BASE, "request_type": "access", "name": "", "email": "bad"})
    for i in range(50):
        response = client.post(
            "/", {**BASE, "request_type": "access", "name": "Ann", "email": f"p{i}@example.com"}
        )
        assert response.status_code == 302, i


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
