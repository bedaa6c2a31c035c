"""No English left on the Welsh side: every public page, in each state it has, and every email
to the person, rendered in Welsh, shows no common English word. A sentence added to a template
without ``{% translate %}``, or left out of the catalogue, fails here."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape
from io import BytesIO
from typing import Any

import pypdf
import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from requests_app.core import alerts, notifications
from requests_app.intake import verification
from requests_app.models import NoticePurpose, ProcessorNotice, TokenPurpose
from requests_app.review import case, decisions
from smarct_dsar.crypto import decrypt, token_hash
from tests.factories import UserFactory
from tests.support.documents import PNG

pytestmark = pytest.mark.django_db

WELSH = {"HTTP_ACCEPT_LANGUAGE": "cy"}
# Words common in English sentences and never standalone Welsh words.
ENGLISH = re.compile(
    r"\b(the|your|you|we|our|and|this|that|with|will|please|request|link|here|have|has|been|"
    r"not|for|from|what|when|who|why|data is|file|files|email|confirm|send|download)\b",
    re.IGNORECASE,
)
ATTRIBUTES = re.compile(
    r'\b(?:aria-label|title|alt|placeholder|data-(?:agent|own)-(?:label|help))="([^"]*)"'
)
FORM = {
    "c-TOTAL_FORMS": "1",
    "c-INITIAL_FORMS": "0",
    "c-MIN_NUM_FORMS": "0",
    "c-MAX_NUM_FORMS": "20",
    "jurisdiction": "uk_gdpr",
}


def english_in(html: str, *data: str) -> list[str]:
    """The English words a person reads on ``html`` (its text and its accessible attributes),
    after removing the request's own data (names, references, addresses)."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    words = " ".join([re.sub(r"<[^>]+>", " ", text), *ATTRIBUTES.findall(text)])
    words = unescape(words)
    for value in data:
        words = words.replace(value, " ")
    words = re.sub(r"\S+@\S+|https?://\S+|/\S+/", " ", words)
    return sorted({m.group(0) for m in ENGLISH.finditer(words)})


def welsh_page(client: Client, url: str, post: dict[str, Any] | None = None) -> str:
    if post is not None:
        response = client.post(url, post, follow=True, **WELSH)
    else:
        response = client.get(url, **WELSH)
    page = response.content.decode()
    assert '<html lang="cy">' in page, (url, response.status_code)
    return page


def status_url(dsr: Any) -> str:
    raw = verification.token_issue(dsr=dsr, purpose=TokenPurpose.STATUS, ttl=timedelta(days=1))
    return f"/status/{raw}/"


def test_the_forms_pages_have_no_english(django_capture_on_commit_callbacks: Any) -> None:
    client = Client()
    pages = {"form": welsh_page(client, "/")}
    pages["every error"] = welsh_page(
        client,
        "/",
        {**FORM, "request_type": "rectification", "acting_for_someone": "on", "email": "x"},
    )
    pages["objection errors"] = welsh_page(
        client, "/", {**FORM, "request_type": "objection", "name": "Siân", "email": "s@ex.com"}
    )
    pages["another correction"] = welsh_page(
        client, "/", {**FORM, "add_correction": "1", "acting_for_someone": "on"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/", {**FORM, "request_type": "access", "name": "Siân", "email": "s@ex.com"}, **WELSH
        )
    pages["submitted"] = welsh_page(client, "/submitted/")
    verify = re.search(r"/verify/[^/\s]+/", mail.outbox[-1].body)
    assert verify
    pages["verify"] = welsh_page(client, verify.group(0))
    with django_capture_on_commit_callbacks(execute=True):
        pages["verified"] = welsh_page(client, verify.group(0), {})
    pages["used link"] = welsh_page(client, verify.group(0), {})
    pages["unknown link"] = welsh_page(client, "/verify/nonsense/")
    pages["unknown status link"] = welsh_page(client, "/status/nonsense/")
    for name, page in pages.items():
        assert english_in(page, "Siân", "Smarct") == [], name


def test_the_rate_limited_page_has_no_english(settings: Any) -> None:
    settings.DSAR_RATE_LIMIT_VERIFY_PER_IP = 0
    page = welsh_page(Client(), "/verify/nonsense/")
    assert english_in(page, "Smarct") == []


def test_the_portal_has_no_english_in_any_state(
    verified: Any,
    submit: Any,
    reviewer: Any,
    approver: Any,
    ready: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = Client()
    pages = {}
    agent = submit(
        language="cy",
        name="Siân Prys",
        email="sian@example.com",
        agent_name="Gwyn Jones",
        agent_email="gwyn@example.com",
        agent_relationship="cyfreithiwr",
        acting_for_someone=True,
    )
    pages["awaiting verification, an agent"] = welsh_page(client, status_url(agent))
    agent.email_verified_at = timezone.now()
    agent.save()
    pages["awaiting proof"] = welsh_page(client, status_url(agent))

    dsr = verified(language="cy", name="Siân Prys", email="sian2@example.com")
    url = status_url(dsr)
    pages["in review"] = welsh_page(client, url)
    pages["withdraw"] = welsh_page(client, f"{url}withdraw/")
    with django_capture_on_commit_callbacks(execute=True):
        case.request_hold(dsr=dsr, actor=reviewer, question="Pa gyfrif?", proof="identity")
    pages["a question"] = welsh_page(client, url)
    pages["an empty answer"] = welsh_page(client, f"{url}reply/", {"body": ""})
    pages["no proof attached"] = welsh_page(client, f"{url}reply/", {"body": "Fy nghyfrif i"})
    proof = BytesIO(PNG)
    proof.name = "pasbort.png"
    with django_capture_on_commit_callbacks(execute=True):
        pages["answered"] = welsh_page(
            client, f"{url}reply/", {"body": "Fy nghyfrif i", "files": [proof]}
        )
    dsr.refresh_from_db()
    verification.request_confirm_identity(dsr=dsr, actor=reviewer)
    ready(dsr)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=dsr, actor=approver)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_release(dsr=dsr, actor=approver)
    pages["files"] = welsh_page(client, url)
    download = re.search(r"/downloads/[^/\s]+/", mail.outbox[-1].body)
    assert download
    pages["download"] = welsh_page(client, download.group(0))
    pages["download problem"] = welsh_page(client, "/downloads/nonsense/")
    pages["file problem"] = welsh_page(client, f"{download.group(0)}json-x/")
    dsr.download_links.update(expires_at=timezone.now() - timedelta(minutes=1))
    pages["link expired"] = welsh_page(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        pages["link asked"] = welsh_page(client, f"{url}new-link/", {})
    # File names stay as they are in every language (the person may already have the files).
    names = f"{dsr.reference}-your-data"
    data = (
        "Siân Prys",
        "Gwyn Jones",
        "Smarct",
        "Pa gyfrif?",
        "Fy nghyfrif i",
        names,
        dsr.reference,
    )
    for name, page in pages.items():
        assert english_in(page, *data, agent.reference) == [], name


def test_the_recipients_page_has_no_english(submit: Any) -> None:
    dsr = submit(language="cy")
    ProcessorNotice.objects.create(
        request=dsr,
        store="payments",
        organisation="Taliadau Cyf",
        notify_email="dpo@taliadau.example",
        purpose=NoticePurpose.ERASURE,
        token_hash=token_hash("the-token"),
        sent_at=timezone.now(),
    )
    client = Client()
    pages = {
        "unknown": welsh_page(client, "/recipients/confirm/nonsense/"),
        "to confirm": welsh_page(client, "/recipients/confirm/the-token/"),
        "confirmed": welsh_page(client, "/recipients/confirm/the-token/", {"note": ""}),
    }
    for name, page in pages.items():
        assert english_in(page, "Taliadau Cyf", "Smarct", dsr.reference) == [], name


PERSON_EMAILS = [
    "agent-notice",
    "authority-needed",
    "clarification",
    "download",
    "duplicate",
    "erasure-done",
    "extension",
    "objection-upheld",
    "opt-out-done",
    "rectification-done",
    "rejection",
    "restriction-done",
    "restriction-lifting",
    "verified",
    "verify",
    "withdrawn",
]


@pytest.mark.parametrize("template", PERSON_EMAILS)
@pytest.mark.parametrize("variant", [{}, {"resent": True, "proof": True, "by_person": True}])
def test_every_email_to_a_welsh_person_has_no_english(
    template: str, variant: dict[str, Any], submit: Any
) -> None:
    dsr = submit(
        language="cy",
        name="Siân Prys",
        agent_name="Gwyn Jones",
        agent_email="gwyn@example.com",
        agent_relationship="cyfreithiwr",
        acting_for_someone=True,
    )
    dsr.due_on = timezone.localdate()
    context = {
        "dsr": dsr,
        "status_url": "https://x.example/status/t/",
        "verify_url": "https://x.example/verify/t/",
        "download_url": "https://x.example/downloads/t/",
        "ttl_days": 7,
        "max_downloads": 5,
        "retention_days": 30,
        "question": "Pa gyfrif?",
        "reason": "Rheswm da",
        "previous_due_on": timezone.localdate(),
        "on": timezone.localdate(),
        "exports": [],
        "changes": [{"where": "CRM", "table": "cwsmeriaid", "records": 2}],
        "corrections": [
            {"field": "ffôn", "decision": "accepted", "final_value": "0", "results": {}},
            {"field": "ffôn", "decision": "edited", "final_value": "0", "results": {}},
            {"field": "ffôn", "decision": "declined", "decision_reason": "Rheswm da"},
        ],
        **variant,
    }
    for kind in ("objection", "restriction"):
        dsr.request_type = kind
        with translation.override("en-gb"):  # what is active must not matter
            email = notifications.email_queue(
                template=template, to="sian@example.com", dsr=dsr, context=context
            )
        assert email is not None
        for part in (email.subject_encrypted, email.text_encrypted, email.html_encrypted):
            text = decrypt(bytes(part)).decode()
            found = english_in(text, "Siân Prys", "Gwyn Jones", "Smarct", dsr.reference)
            assert found == [], (template, text)


def test_staff_only_emails_stay_english(submit: Any) -> None:
    dsr = submit(language="cy")
    with translation.override("cy"):
        (told,) = alerts.staff_notify(dsr=dsr, kind="reply", occasion="message:1")
    assert told.email is not None
    subject = decrypt(bytes(told.email.subject_encrypted)).decode()
    assert "the person answered your question" in subject
    with translation.override("cy"):
        (told,) = alerts.staff_notify(dsr=dsr, kind="entered_review", occasion="event:1")
    assert "is ready for review: access (a copy of your data)" in told.detail
    user = UserFactory(username="rita", roles=["reviewer"])
    with translation.override("cy"):
        email = notifications.email_queue(
            template="two-factor-added",
            to="rita@example.com",
            context={"user": user, "device": "ffôn", "at": timezone.now()},
        )
    assert email is not None
    assert "Reference" in decrypt(bytes(email.html_encrypted)).decode()
    notice = ProcessorNotice(organisation="Taliadau Cyf", purpose=NoticePurpose.ERASURE)
    with translation.override("cy"):
        email = notifications.email_queue(
            template="notice-erasure",
            to="dpo@taliadau.example",
            dsr=dsr,
            context={"dsr": dsr, "notice": notice, "tables": [], "confirm_url": "https://x/"},
        )
    assert email is not None
    assert "To the data protection team" in decrypt(bytes(email.text_encrypted)).decode()


def test_the_deletion_certificate_of_a_welsh_request_has_no_english(verified: Any) -> None:
    from requests_app.fulfilment.certificate import certificate_render

    dsr = verified(language="cy", request_type="erasure")
    raw = certificate_render(dsr)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(raw)).pages)
    assert "Tystysgrif dileu" in text
    assert "Tudalen 1 o 1" in text
    names = f"{dsr.reference}-deletion-certificate.pdf"
    found = english_in(text, names, "manage.py verify_certificate", "Smarct", dsr.reference)
    assert found == [], text
