"""An erasure tells no recipient about a person whose data it never received, and certifies no
action on data that was not there: each pair of tests drives the real workflow for a person who
has the data (Bob, Dan: billing records, which feed the card processor) and one who has none
(Carol: a newsletter subscriber only), against a fresh demo estate."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from exports_app.models import Export, ExportFormat
from requests_app.dashboard.reports import KEPT_BY_LAW, Period, report
from requests_app.fulfilment import rectification
from requests_app.intake.receive import CorrectionInput
from requests_app.models import DataSubjectRequest, OutgoingEmail, ProcessorNotice, Status
from requests_app.public.status import where_it_stands
from requests_app.review import decisions
from smarct_dsar.crypto import decrypt, iter_decrypted
from tests.conftest import OwnEstate
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db

BOB, CAROL, DAN = "bob@example.com", "carol@example.com", "dan@example.com"
STRIPE = "privacy@payments.example"


def _erase(verified: Any, approver: Any, capture: Any, name: str, email: str) -> Any:
    dsr = verified(request_type="erasure", name=name, email=email)
    with capture(execute=True):
        submit_and_approve(dsr, approver, reason="checked")
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED
    return dsr


def _outbox_to(address: str, dsr: DataSubjectRequest) -> list[OutgoingEmail]:
    """The request's queued emails addressed to ``address`` (the outbox, decrypted)."""
    return [
        e
        for e in OutgoingEmail.objects.filter(request=dsr)
        if decrypt(bytes(e.to_encrypted)).decode() == address
    ]


def _bodies(mailoutbox: list[Any], to: str, words: str) -> list[str]:
    (message,) = [m for m in mailoutbox if m.to == [to] and words in m.subject]
    return [" ".join(message.body.split()), " ".join(message.alternatives[0][0].split())]


def _certificate(dsr: DataSubjectRequest) -> str:
    export = Export.objects.get(request=dsr, format=ExportFormat.CERTIFICATE)
    with default_storage.open(export.file_name, "rb") as handle:
        pdf = b"".join(iter_decrypted(handle, context=export.file_context))
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split()
    )


# --- Article 19: only a recipient that received the person's data is told ----------------------


def test_an_erasure_tells_the_card_processor_only_about_a_person_whose_billing_data_it_has(
    own_estate: OwnEstate,
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    # given Bob, who has billing records, and Carol, who has none
    bob = _erase(verified, approver, django_capture_on_commit_callbacks, "Bob Baker", BOB)
    carol = _erase(verified, approver, django_capture_on_commit_callbacks, "Carol Chen", CAROL)

    # then Stripe is told about Bob
    assert [n.organisation for n in ProcessorNotice.objects.filter(request=bob)] == [
        "Stripe Payments UK Ltd"
    ]
    assert len(_outbox_to(STRIPE, bob)) == 1
    # and nothing about Carol goes to Stripe: no notice, no email, no row in the outbox
    assert not ProcessorNotice.objects.filter(request=carol).exists()
    assert _outbox_to(STRIPE, carol) == []
    assert not [m for m in mailoutbox if m.to == [STRIPE] and CAROL in m.body]
    assert not carol.events.filter(action="recipient_notified").exists()
    # and Carol is not told that anyone "with whom we share your data" has yet to confirm
    for body in _bodies(mailoutbox, CAROL, "erase"):
        assert "Stripe" not in body
        assert "not yet confirmed" not in body
        assert "with whom we share your data" not in body
    _heading, words = where_it_stands(carol)
    assert "Not yet confirmed" not in str(words)
    assert "Stripe" not in str(words)
    assert "Stripe" in str(where_it_stands(bob)[1])  # Bob's page still names it


def test_a_correction_tells_the_card_processor_only_about_a_person_whose_billing_data_it_has(
    own_estate: OwnEstate,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    def correct(name: str, email: str) -> DataSubjectRequest:
        dsr = verified(
            request_type="rectification",
            name=name,
            email=email,
            corrections=[CorrectionInput(field="Phone number", corrected_value="07700 900099")],
        )
        rectification.correction_decide(
            dsr=dsr, position=1, actor=reviewer, decision="accepted", target_field="phone"
        )
        decisions.request_submit(dsr=dsr, actor=reviewer)
        with django_capture_on_commit_callbacks(execute=True):
            decisions.request_act(action="approve", dsr=dsr, actor=approver)
        dsr.refresh_from_db()
        assert dsr.status == Status.COMPLETED
        return dsr

    dan, carol = correct("Dan Dawson", DAN), correct("Carol Chen", CAROL)

    assert ProcessorNotice.objects.filter(request=dan, purpose="rectification").count() == 1
    assert len(_outbox_to(STRIPE, dan)) == 1
    assert not ProcessorNotice.objects.filter(request=carol).exists()
    assert _outbox_to(STRIPE, carol) == []
    for body in _bodies(mailoutbox, CAROL, "your corrections"):
        assert "Stripe" not in body
        assert "not yet confirmed" not in body


def test_a_source_nobody_searched_for_the_person_counts_as_holding_their_data(
    own_estate: OwnEstate,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Billing was never gathered for these requests (as if added to the map since): a
    correction cannot show Carol has no billing data there, so Stripe is told; an erasure's
    plan counted billing on the store itself at approval (nothing), so Stripe is not."""
    correction = verified(
        request_type="rectification",
        name="Carol Chen",
        email=CAROL,
        corrections=[CorrectionInput(field="Phone number", corrected_value="07700 900099")],
    )
    correction.gather_steps.filter(store="billing").delete()
    rectification.correction_decide(
        dsr=correction, position=1, actor=reviewer, decision="accepted", target_field="phone"
    )
    decisions.request_submit(dsr=correction, actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_act(action="approve", dsr=correction, actor=approver)
    assert ProcessorNotice.objects.filter(request=correction).count() == 1

    erasure = verified(request_type="erasure", name="Carol Chen", email=CAROL)
    erasure.gather_steps.filter(store="billing").delete()
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(erasure, approver, reason="checked")
    erasure.refresh_from_db()
    assert erasure.status == Status.COMPLETED
    assert not ProcessorNotice.objects.filter(request=erasure).exists()


def test_the_certificates_download_page_speaks_of_recipients_only_when_one_has_not_confirmed(
    own_estate: OwnEstate,
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
    client: Any,
) -> None:
    def page(name: str, email: str) -> str:
        _erase(verified, approver, django_capture_on_commit_callbacks, name, email)
        (message,) = [m for m in mailoutbox if m.to == [email] and "erase" in m.subject]
        found = re.search(r"https?://[^/\s]+(/downloads/[^/\s]+/)", message.body)
        assert found is not None
        response = client.get(found.group(1))
        assert response.status_code == 200
        return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())

    assert "not yet confirmed" in page("Bob Baker", BOB)
    carols = page("Carol Chen", CAROL)
    assert "Your certificate of erasure" in carols
    assert "not yet confirmed" not in carols
    assert "we share your data with" not in carols


# --- The certificate claims no action on nothing ------------------------------------------------


def test_the_certificate_says_none_held_nothing_to_do_where_nothing_was_held(
    own_estate: OwnEstate,
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    bob = _erase(verified, approver, django_capture_on_commit_callbacks, "Bob Baker", BOB)
    carol = _erase(verified, approver, django_capture_on_commit_callbacks, "Carol Chen", CAROL)

    text = _certificate(carol)
    # Carol has no customer record and no billing account: no action is claimed on them
    assert "Customer record (contact) None held: nothing to do." in text
    assert "Billing accounts (financial) None held: nothing to do." in text
    assert "Anonymised None held" not in text
    assert "Retained None held" not in text
    assert "Deleted None held" not in text
    assert "None held." not in text.replace("None held: nothing to do.", "")
    # Bob's rows were there: his certificate says what was done to them
    bobs = _certificate(bob)
    assert "Customer record (contact) Anonymised 1 record anonymised" in bobs
    assert "Billing accounts (financial) Retained 1 record kept." in bobs
    # and Carol's email lists no table she had nothing in
    for body in _bodies(mailoutbox, CAROL, "erase"):
        assert "Billing" not in body
        assert "HMRC" not in body


# --- The exemptions register counts a retention only where rows were kept ------------------------


def test_the_register_counts_a_retention_only_for_an_erasure_that_kept_rows(
    own_estate: OwnEstate,
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a period holding Bob's erasure (invoices kept for HMRC) and Carol's (nothing billed)
    bob = _erase(verified, approver, django_capture_on_commit_callbacks, "Bob Baker", BOB)
    carol = _erase(verified, approver, django_capture_on_commit_callbacks, "Carol Chen", CAROL)
    today = timezone.localdate()

    figures = report(Period(today - dt.timedelta(days=1), today), today=today)

    register = {row.label: row for row in figures.exemptions}
    for basis in ("UK tax law (HMRC)", "UK tax law (HMRC): records behind invoices"):
        kept = register[KEPT_BY_LAW.format(basis=basis)]
        assert kept.references == [bob.reference]
        assert kept.uses == 1
    # Carol's cookie consent record is kept (PECR): that retention did happen, and counts
    consent = register[KEPT_BY_LAW.format(basis="PECR: proof of consent")]
    assert sorted(consent.references) == sorted([bob.reference, carol.reference])


def test_the_erasure_plan_says_which_recipients_will_be_told(
    own_estate: OwnEstate, verified: Any, reviewer: Any
) -> None:
    """The plan staff approve says the card processor is emailed only where it will be."""
    from django.test import Client

    client = Client()
    client.force_login(reviewer)
    pages = {}
    for name, email in (("Bob Baker", BOB), ("Carol Clark", CAROL)):
        dsr = verified(request_type="erasure", name=name, email=email)
        pages[email] = " ".join(
            client.get(f"/staff/requests/{dsr.reference}/").content.decode().split()
        )
    assert f"Emailed to {STRIPE}" in pages[BOB]
    assert f"Emailed to {STRIPE}" not in pages[CAROL]
    assert (
        "Not told: none of this person's data was found where it receives data from" in pages[CAROL]
    )
