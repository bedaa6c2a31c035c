"""The public side in English and Welsh: the browser or the switcher chooses the pages'
language; the request remembers the language it was filed in, and every later email to the
person and the PDF covering letter are written in it, whoever sends them and whenever."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pypdf
import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from requests_app.intake import verification
from requests_app.models import DataSubjectRequest, TokenPurpose
from requests_app.review import case, decisions
from tests.exports_app.conftest import export_bytes

pytestmark = pytest.mark.django_db

WELSH = {"HTTP_ACCEPT_LANGUAGE": "cy"}
FORM = {
    "c-TOTAL_FORMS": "1",
    "c-INITIAL_FORMS": "0",
    "c-MIN_NUM_FORMS": "0",
    "c-MAX_NUM_FORMS": "20",
    "jurisdiction": "uk_gdpr",
    "request_type": "access",
    "name": "Siân Prys",
}
MONTHS_CY = [
    *("Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin"),
    *("Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr"),
]


def welsh_date(day: Any) -> str:
    return f"{day.day} {MONTHS_CY[day.month - 1]} {day.year}"


def test_a_welsh_browser_gets_the_form_in_welsh() -> None:
    page = Client().get("/", **WELSH).content.decode()
    assert '<html lang="cy">' in page
    assert "Gwneud cais am eich data personol" in page
    assert "Eich enw llawn" in page
    assert "Anfon fy nghais" in page
    assert "Make a request about your personal data" not in page


def test_an_english_browser_gets_the_form_in_english() -> None:
    page = Client().get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8").content.decode()
    assert '<html lang="en-GB">' in page
    assert "Make a request about your personal data" in page


def test_every_public_page_offers_the_other_language_named_in_it() -> None:
    english = Client().get("/").content.decode()
    assert 'action="/i18n/setlang/"' in english
    assert '<span lang="cy">Cymraeg</span>' in english
    welsh = Client().get("/", **WELSH).content.decode()
    assert '<span lang="en-GB">English</span>' in welsh


def test_the_switcher_changes_the_language_and_it_is_remembered() -> None:
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "cy", "next": "/submitted/"})
    assert response.status_code == 302
    assert response["Location"] == "/submitted/"
    page = client.get("/").content.decode()  # no Accept-Language: the cookie decides
    assert '<html lang="cy">' in page
    assert "Gwneud cais am eich data personol" in page
    client.post("/i18n/setlang/", {"language": "en-gb", "next": "/"})
    assert "Make a request about your personal data" in client.get("/", **WELSH).content.decode()


def test_the_switcher_goes_nowhere_but_this_site() -> None:
    response = Client().post("/i18n/setlang/", {"language": "cy", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_form_error_is_in_welsh() -> None:
    response = Client().post("/", {**FORM, "email": ""}, **WELSH)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Gwiriwch y ffurflen" in page
    assert "This field is required" not in page


def test_a_request_filed_in_welsh_remembers_it(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/", {**FORM, "email": "sian@example.com"}, **WELSH)
    dsr = DataSubjectRequest.objects.get()
    assert dsr.language == "cy"
    (message,) = mail.outbox
    assert message.subject.startswith("Cadarnhewch eich cais preifatrwydd")


def test_a_request_filed_in_english_is_english(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/", {**FORM, "email": "ann@example.com"})
    assert DataSubjectRequest.objects.get().language == "en-gb"


def test_the_api_takes_the_language(api: Any) -> None:
    response = api.post(
        "/api/v1/requests/",
        {"request_type": "access", "name": "Siân", "email": "sian@example.com", "language": "cy"},
        format="json",
    )
    assert response.status_code == 202, response.content
    assert DataSubjectRequest.objects.get().language == "cy"


def test_a_welsh_requests_emails_are_welsh_whoever_sends_them(
    verified: Any, reviewer: Any, approver: Any, ready: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Each email is rendered as a worker does, with no language activated: the request's own
    language decides, and an English request handled just after gets English emails."""
    translation.deactivate()
    dsr = verified(name="Siân Prys", email="sian@example.com", language="cy")
    to_sian = [m for m in mail.outbox if m.to == ["sian@example.com"]]  # not staff's
    verify, confirmed = to_sian[0], to_sian[-1]
    assert verify.subject == f"Cadarnhewch eich cais preifatrwydd {dsr.reference}"
    assert "I gadarnhau mai chi biau'r cyfeiriad e-bost hwn" in verify.body
    assert confirmed.subject.startswith(f"Cais {dsr.reference} wedi'i gadarnhau")
    assert welsh_date(dsr.due_on) in confirmed.subject
    assert "Helo Siân Prys" in confirmed.body
    assert 'lang="cy"' in confirmed.alternatives[0][0]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case.request_hold(dsr=dsr, actor=reviewer, question="Pa gyfrif?")
    (question,) = mail.outbox
    assert question.subject == f"Cais {dsr.reference}: cwestiwn i chi"
    with django_capture_on_commit_callbacks(execute=True):
        case.request_resume(dsr=dsr, actor=reviewer)

    translation.activate("cy")  # as if this process had just served a Welsh page
    english = verified(name="Ann Example", email="ann@example.com")
    translation.deactivate()
    assert english.language == "en-gb"
    to_ann = [m for m in mail.outbox if m.to == ["ann@example.com"]]
    assert to_ann[-1].subject.startswith(f"Request {english.reference} confirmed")

    dsr.refresh_from_db()
    ready(dsr)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=dsr, actor=approver)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_release(dsr=dsr, actor=approver)
    (download,) = mail.outbox
    assert download.subject == f"Mae eich data yn barod: cais {dsr.reference}"
    assert translation.get_language() == "en-gb"


def test_the_pdf_covering_letter_of_a_welsh_request_is_welsh(
    verified: Any, approver: Any, ready: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = ready(verified(name="Siân Prys", email="sian@example.com", language="cy"))
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=dsr, actor=approver)
    raw = export_bytes(dsr.exports.get(format="pdf"))
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(raw)).pages)
    assert "Eich cais am eich data personol" in text
    assert "Annwyl Siân Prys" in text
    assert "Yn gywir" in text
    assert "Swyddfa'r Comisiynydd Gwybodaeth" in text
    assert welsh_date(dsr.received_at) in text
    assert "Your request for your personal data" not in text
    assert "Tudalen 1 o" in text


def test_the_staff_dashboard_stays_english(reviewer: Any, verified: Any) -> None:
    dsr = verified(language="cy")
    client = Client()
    client.force_login(reviewer)
    client.cookies["django_language"] = "cy"
    for url in ("/staff/", f"/staff/requests/{dsr.reference}/", "/staff/requests/new/"):
        page = client.get(url, **WELSH).content.decode()
        assert '<html lang="en-GB">' in page, url
        assert "/i18n/setlang/" not in page, url
    queue = client.get("/staff/", **WELSH).content.decode()
    assert "Queue" in queue
    assert "Access (a copy of your data)" in queue


def test_staff_log_a_request_in_welsh(
    reviewer: Any, reviewer_api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    client.force_login(reviewer)
    assert "Language for letters and emails" in client.get("/staff/requests/new/").content.decode()
    received = timezone.localtime() - timedelta(days=1)
    form = {
        "c-TOTAL_FORMS": "1",
        "c-INITIAL_FORMS": "0",
        "c-MIN_NUM_FORMS": "0",
        "c-MAX_NUM_FORMS": "20",
        "channel": "phone",
        "received_at": received.strftime("%Y-%m-%dT%H:%M"),
        "request_type": "access",
        "name": "Siân Prys",
        "email": "sian@example.com",
        "jurisdiction": "uk_gdpr",
        "language": "cy",
        "delivery": "email",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/staff/requests/new/", form).status_code == 302
    assert DataSubjectRequest.objects.get().language == "cy"
    assert mail.outbox[-1].subject.startswith("Cadarnhewch eich cais preifatrwydd")
    body = {
        "channel": "letter",
        "received_at": received.isoformat(),
        "request_type": "access",
        "name": "Gwyn Jones",
        "email": "gwyn@example.com",
        "language": "cy",
    }
    response = reviewer_api.post("/api/v1/requests/", body, format="json")
    assert response.status_code == 201, response.content
    assert DataSubjectRequest.objects.get(requester_email="gwyn@example.com").language == "cy"


def test_a_welsh_status_page_gives_its_dates_in_welsh(verified: Any) -> None:
    dsr = verified(language="cy")
    raw = verification.token_issue(dsr=dsr, purpose=TokenPurpose.STATUS, ttl=timedelta(days=1))
    page = Client().get(f"/status/{raw}/", **WELSH).content.decode()
    assert f"Eich cais {dsr.reference}" in page
    assert welsh_date(dsr.due_on) in page
