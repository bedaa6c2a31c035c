"""Every sentence the person (and each recipient) reads about what was done is a fact from the
database: the workflow is driven for real against a fresh demo estate, then each claim of the
email is checked against the rows it speaks of."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.utils import translation
from django.utils.dateformat import format as date_format
from pypdf import PdfReader

from exports_app.models import Export, ExportFormat
from requests_app import datamap
from requests_app.fulfilment import rectification
from requests_app.intake.receive import CorrectionInput
from requests_app.models import (
    DataSubjectRequest,
    OutgoingEmail,
    ProcessorNotice,
    Status,
    Suppression,
)
from requests_app.review import decisions
from smarct_dsar.crypto import iter_decrypted
from tests.conftest import ROOT, OwnEstate
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db

BOB, CAROL, DAN = "bob@example.com", "carol@example.com", "dan@example.com"
CONTROLLER = "Acme Lettings Ltd"
PARTNERS_HEADING = "At the organisations that hold your data for us:"


@pytest.fixture(autouse=True)
def _controller(settings: Any) -> None:
    """Not the default name: an email that says "Smarct" did not take it from the settings."""
    settings.DSAR_CONTROLLER_NAME = CONTROLLER


@pytest.fixture
def edit_map(own_estate: OwnEstate, tmp_path: Path, settings: Any) -> Callable[..., None]:
    """Run the demo estate under a changed copy of the demo data map."""

    def _edit(change: Callable[[dict[str, Any]], None]) -> None:
        data = yaml.safe_load((ROOT / "demo" / "data-map.yaml").read_text())
        change(data)
        path = tmp_path / "data-map.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        settings.DSAR_DATA_MAP = str(path)
        datamap.current.cache_clear()

    return _edit


def _without_recipients(data: dict[str, Any]) -> None:
    del data["stores"]["payments"]  # the only recipient told by an Article 19 notice


def _mail(mailoutbox: list[Any], to: str, words: str) -> Any:
    (found,) = [m for m in mailoutbox if m.to == [to] and words in m.subject]
    return found


def _texts(message: Any) -> tuple[str, str]:
    """The text body and the HTML body, with the HTML's tags gone and spaces made single."""
    html = message.alternatives[0][0]
    inline = re.sub(r"</?(strong|em|a)\b[^>]*>", "", html)
    plain = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", inline)).split())
    return _straight(" ".join(message.body.split())), _straight(plain)


def _day(day: dt.date) -> str:
    """A date as an English request's email and certificate write it."""
    with translation.override("en-gb"):
        return str(date_format(day, "j F Y"))


def _straight(text: str) -> str:
    return text.replace("“", '"').replace("”", '"')


def _both(message: Any) -> list[str]:
    return list(_texts(message))


# --- rectification ---------------------------------------------------------------------------


def _correct_dans_phone(verified: Any, reviewer: Any, approver: Any, capture: Any) -> Any:
    dsr = verified(
        request_type="rectification",
        name="Dan Dawson",
        email=DAN,
        corrections=[
            CorrectionInput(
                field="Phone number", current_value="07700 900005", corrected_value="07700 900099"
            )
        ],
    )
    rectification.correction_decide(
        dsr=dsr, position=1, actor=reviewer, decision="accepted", target_field="phone"
    )
    decisions.request_submit(dsr=dsr, actor=reviewer)
    with capture(execute=True):
        decisions.request_act(action="approve", dsr=dsr, actor=approver)
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED
    return dsr


def test_the_correction_email_names_the_recipients_told_and_that_they_have_not_confirmed(
    own_estate: OwnEstate,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    dsr = _correct_dans_phone(verified, reviewer, approver, django_capture_on_commit_callbacks)
    told = list(ProcessorNotice.objects.filter(request=dsr, purpose="rectification"))
    assert [n.organisation for n in told] == ["Stripe Payments UK Ltd"]
    assert all(n.confirmed_at is None for n in told)
    for body in _both(_mail(mailoutbox, DAN, "your corrections")):
        assert "We have told Stripe Payments UK Ltd" in body
        assert "not yet confirmed" in body
        assert "Smarct" not in body
    # each system the phone number was corrected in, as the person knows it
    (correction,) = dsr.corrections.all()
    stores = datamap.current().stores
    written = {where.split(".", 1)[0] for where, r in correction.results.items() if r["read_back"]}
    assert written
    for body in _both(_mail(mailoutbox, DAN, "your corrections")):
        for name in written:
            assert stores[name].public_where in body
            assert stores[name].description not in body


def test_with_no_recipients_the_correction_email_says_nothing_about_telling_anyone(
    edit_map: Callable[..., None],
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    edit_map(_without_recipients)
    dsr = _correct_dans_phone(verified, reviewer, approver, django_capture_on_commit_callbacks)
    assert not ProcessorNotice.objects.filter(request=dsr).exists()
    for body in _both(_mail(mailoutbox, DAN, "your corrections")):
        assert "told" not in body
        assert "organisations we share" not in body
        assert 'now "07700 900099"' in body


def test_a_correction_no_store_held_says_so_and_names_no_system(
    own_estate: OwnEstate,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    # given Carol, a newsletter subscriber with no phone in any of our systems
    dsr = verified(
        request_type="rectification",
        name="Carol Chen",
        email=CAROL,
        corrections=[CorrectionInput(field="Phone", corrected_value="07700 900123")],
    )
    rectification.correction_decide(
        dsr=dsr, position=1, actor=reviewer, decision="accepted", target_field="phone"
    )
    decisions.request_submit(dsr=dsr, actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_act(action="approve", dsr=dsr, actor=approver)
    results = dsr.corrections.get(position=1).results
    assert results
    assert not any(r["read_back"] for r in results.values())
    for body in _both(_mail(mailoutbox, CAROL, "your corrections")):
        assert "in none of our systems (we found no copy to correct)." in body
        assert ", in ." not in body


# --- Article 19 notices ----------------------------------------------------------------------


def test_each_article_19_notice_reads_as_english(
    own_estate: OwnEstate,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    dsr = _correct_dans_phone(verified, reviewer, approver, django_capture_on_commit_callbacks)
    notice = _mail(mailoutbox, "privacy@payments.example", "please correct")
    for body in _both(notice):
        assert f"{CONTROLLER} has received a correction request ({dsr.reference})" in body
        assert "right to complain" not in body  # a right of the person's, not the recipient's
    erasure = verified(request_type="erasure", name="Bob Baker", email=BOB)
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(erasure, approver, reason="checked")
    notice = _mail(mailoutbox, "privacy@payments.example", "please erase")
    for body in _both(notice):
        assert f"{CONTROLLER} has received an erasure request ({erasure.reference})" in body
        assert " a erasure" not in body


def test_each_article_19_notice_names_data_as_the_map_labels_it(
    own_estate: OwnEstate,
    verified: Any,
    reviewer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    """A recipient reads the map's labels and the category in words, never the code names."""
    _correct_dans_phone(verified, reviewer, approver, django_capture_on_commit_callbacks)
    notice = _mail(mailoutbox, "privacy@payments.example", "please correct")
    for body in _both(notice):
        assert '- Phone number: "07700 900099"' in body or 'Phone number: "07700 900099"' in body
        assert "phone:" not in body
    assert "\n\n\n" not in notice.body  # no stray blank line after the list
    assert '\n- Phone number: "07700 900099"\n\nWhen it is done' in notice.body
    erasure = verified(request_type="erasure", name="Bob Baker", email=BOB)
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(erasure, approver, reason="checked")
    notice = _mail(mailoutbox, "privacy@payments.example", "please erase")
    for body in _both(notice):
        assert "Please erase their data: Card payment details (financial information)." in body
        assert "card_customers" not in body
    assert "\n\n\n" not in notice.body


# --- marketing opt-out -----------------------------------------------------------------------


def _opted_out(dsr: DataSubjectRequest) -> list[dict[str, Any]]:
    (event,) = dsr.events.filter(action="opted_out")
    return list(event.payload["changes"])


def test_the_opt_out_email_lists_the_suppression_and_each_store_changed(
    own_estate: OwnEstate, verified: Any, mailoutbox: Any
) -> None:
    dsr = verified(request_type="marketing_opt_out", name="Carol Chen", email=CAROL)
    assert dsr.status == Status.COMPLETED
    assert Suppression.objects.filter(reference=dsr.reference).exists()
    stores = datamap.current().stores
    changes = _opted_out(dsr)
    assert {c["store"] for c in changes if c["records"]} == {"marketing", "consent"}
    for body in _both(_mail(mailoutbox, CAROL, "no more marketing")):
        assert "suppression list" in body
        assert f"no more marketing from {CONTROLLER}" in body
        for change in changes:
            if not change["records"]:
                continue  # a store that held nothing of hers is not named
            store = stores[change["store"]]
            records = change["records"]
            # the store as the person knows it: its staff description is never theirs to read
            assert f"{store.public_where}: {records} record" in body
            assert store.description not in body


def test_with_no_email_partner_the_opt_out_email_mentions_none(
    edit_map: Callable[..., None], verified: Any, mailoutbox: Any
) -> None:
    def no_partner(data: dict[str, Any]) -> None:
        del data["stores"]["marketing"]
        data["marketing_opt_out"] = [
            c for c in data["marketing_opt_out"] if c["store"] != "marketing"
        ]

    edit_map(no_partner)
    dsr = verified(request_type="marketing_opt_out", name="Carol Chen", email=CAROL)
    assert [c["store"] for c in _opted_out(dsr)] == ["consent"]
    for body in _both(_mail(mailoutbox, CAROL, "no more marketing")):
        assert "partner" not in body
        assert "unsubscribed" not in body
        assert "MailFlow" not in body
        assert "Your cookie choices" in body  # the store as the person knows it
        assert "Cookie consent records exported by the consent manager" not in body


def test_with_no_store_to_change_the_opt_out_email_says_only_the_suppression(
    edit_map: Callable[..., None], verified: Any, mailoutbox: Any
) -> None:
    edit_map(lambda data: data.pop("marketing_opt_out"))
    dsr = verified(request_type="marketing_opt_out", name="Carol Chen", email=CAROL)
    assert _opted_out(dsr) == []
    for body in _both(_mail(mailoutbox, CAROL, "no more marketing")):
        assert "suppression list" in body
        assert "record" not in body.replace("recorded", "")


# --- erasure ---------------------------------------------------------------------------------


def _erase_bob(verified: Any, approver: Any, capture: Any) -> DataSubjectRequest:
    dsr = verified(request_type="erasure", name="Bob Baker", email=BOB)
    with capture(execute=True):
        submit_and_approve(dsr, approver, reason="checked")
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED
    return dsr


def _retained(dsr: DataSubjectRequest) -> list[dict[str, Any]]:
    return [
        {**table, "store": store["store"]}
        for store in dsr.erasure_plan["stores"]
        for table in store["tables"]
        if table["action"] == "retain" and table["retained"]
    ]


def test_the_erasure_email_names_the_recipients_still_to_confirm_and_what_was_kept(
    own_estate: OwnEstate,
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    dsr = _erase_bob(verified, approver, django_capture_on_commit_callbacks)
    waiting = ProcessorNotice.objects.filter(request=dsr, confirmed_at__isnull=True)
    assert [n.organisation for n in waiting] == ["Stripe Payments UK Ltd"]
    kept = _retained(dsr)
    assert {t["table"] for t in kept} >= {"invoices", "billing_accounts"}
    email = _mail(mailoutbox, BOB, "erase")
    assert "has been erased" not in email.subject
    for body in _both(email):
        assert "We have erased your personal data" not in body
        assert "Stripe Payments UK Ltd, with whom we share your data, has not yet confirmed" in body
        assert "not complete there" in body
        for table in kept:
            assert table["legal_basis"] in body
            if table["until"]:
                until = _day(dt.date.fromisoformat(table["until"]))
                assert f"until {until}" in body
        for step in dsr.erasure_steps.all():
            deleted = sum(int(t.get("deleted", 0)) for t in step.outcome.values())
            store = datamap.current().stores[step.store]
            if deleted:  # each of our systems changed is named, as the map names it
                assert f"{store.public_where}: {deleted} record" in body
                # under its own heading: a partner's system is not one of "our own systems"
                partners = body.find(PARTNERS_HEADING)
                place = body.index(f"{store.public_where}: {deleted} record")
                if store.role == "processor":
                    assert 0 < partners < place, store.name
                else:
                    assert partners == -1 or place < partners, store.name
            assert store.description not in body
        for table in kept:  # each kept table by its name in the map's words
            title = datamap.current().stores[table["store"]].tables[table["table"]].title
            assert f", {title}:" in body


def test_with_no_recipients_the_erasure_email_speaks_of_none(
    edit_map: Callable[..., None],
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    edit_map(_without_recipients)
    dsr = _erase_bob(verified, approver, django_capture_on_commit_callbacks)
    assert not ProcessorNotice.objects.filter(request=dsr).exists()
    for body in _both(_mail(mailoutbox, BOB, "erase")):
        assert "confirm" not in body
        assert "asked" not in body


def test_only_an_erasure_with_nothing_kept_and_no_one_to_confirm_says_the_data_is_erased(
    edit_map: Callable[..., None],
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    # given a map that keeps nothing and has no recipient to tell
    def keep_nothing(data: dict[str, Any]) -> None:
        _without_recipients(data)
        for store in data["stores"].values():
            for table in (store.get("tables") or store.get("files") or {}).values():
                if "retain" in str(table.get("erase")):
                    table["erase"] = "delete"
                    for spec in (table.get("fields") or {}).values():
                        if isinstance(spec, dict):
                            spec.pop("erase", None)

    edit_map(keep_nothing)
    dsr = _erase_bob(verified, approver, django_capture_on_commit_callbacks)
    assert _retained(dsr) == []
    email = _mail(mailoutbox, BOB, "erase")
    assert "your data has been erased" in email.subject
    for body in _both(email):
        assert "We have erased your personal data as you asked" in body
        assert "keep some records" not in body


# --- retention: the words and the date agree -------------------------------------------------


def _certificate_text(dsr: DataSubjectRequest) -> str:
    from django.core.files.storage import default_storage

    export = Export.objects.get(request=dsr, format=ExportFormat.CERTIFICATE)
    with default_storage.open(export.file_name, "rb") as handle:
        pdf = b"".join(iter_decrypted(handle, context=export.file_context))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return _straight(" ".join(text.split()))


def test_a_retention_date_says_what_it_is_counted_from(
    own_estate: OwnEstate,
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    dsr = _erase_bob(verified, approver, django_capture_on_commit_callbacks)
    (invoices,) = [t for t in _retained(dsr) if t["table"] == "invoices"]
    assert invoices["until"].endswith("-03-31")  # the end of a financial year, 6 years on
    counted = 'counted as 6 years after the end of the financial year (ending 31 March) in which the latest "Issued on" date falls.'
    text = _certificate_text(dsr)
    until = _day(dt.date.fromisoformat(invoices["until"]))
    assert f"Kept until {until}, {counted}" in text
    for body in _both(_mail(mailoutbox, BOB, "erase")):
        assert f"Kept until {until}, {counted}" in body


def test_a_period_whose_words_say_financial_year_but_counts_from_the_date_says_so(
    edit_map: Callable[..., None],
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    # given a map whose words say "financial year" but whose rule counts from the invoice date
    def no_year_end(data: dict[str, Any]) -> None:
        data["stores"]["billing"]["tables"]["invoices"]["erase"].pop("year_end")

    edit_map(no_year_end)
    dsr = _erase_bob(verified, approver, django_capture_on_commit_callbacks)
    (invoices,) = [t for t in _retained(dsr) if t["table"] == "invoices"]
    assert not invoices["until"].endswith("-03-31")
    text = _certificate_text(dsr)
    # then the date is said to be counted from the invoice date, whatever the words say
    until = _day(dt.date.fromisoformat(invoices["until"]))
    assert f'Kept until {until}, counted as 6 years after the latest "Issued on" date.' in text
    assert "financial year (ending" not in text
    assert OutgoingEmail.objects.filter(request=dsr, template="erasure-done").exists()
