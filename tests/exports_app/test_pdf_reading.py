"""The access PDF as a person reads it: labels for column names, values in words (dates in their
time zone, money with its currency, Yes/No), rows newest first, the store as the person knows
it, every Article 15 item, and a tagged PDF a screen reader can read. Real WeasyPrint output,
read with pypdf and poppler's pdfinfo."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pypdf
import pytest

from demo import estate
from exports_app.models import Redaction
from requests_app import datamap
from tests.exports_app.conftest import export_bytes, withhold_first_ticket
from tests.support.pdf import assert_tagged, flat, pdf_text

pytestmark = pytest.mark.django_db

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
IN_WORDS = re.compile(rf"\b\d{{1,2}} ({MONTHS}) \d{{4}}, \d{{2}}:\d{{2}}\b")
RAW_COLUMNS = ("billing_account_id", "time_on_page_s", "account_manager_id", "created_at")
STAFF_DESCRIPTIONS = ("Web analytics (the largest store)", "Customer relationship management")
# UK GDPR Article 15(1)(a) to (h) and 15(2): each item's heading in the letter, and what the data
# map's register says of it for each category of the person's data
ARTICLE_15 = {
    "(a) purposes": ("Why we use it", lambda entry: entry.purposes),
    "(b) categories": ("What we hold", lambda entry: [entry.category]),
    "(c) recipients": ("Who receives it", lambda entry: entry.recipients or ["No one outside"]),
    "(d) retention": ("How long we keep it", lambda entry: [entry.retention]),
    "(e) rights": ("Your other rights", lambda entry: []),
    "(f) complaint": ("Your right to complain", lambda entry: []),
    "(g) source": ("Where it comes from", lambda entry: [entry.source]),
    "(h) automated decisions": ("Automated decisions", lambda entry: [entry.automated_decisions]),
    "15(2) transfers": ("International transfers and safeguards", lambda e: [e.transfers]),
}
RIGHTS = ("Rectification", "Erasure", "Restriction", "Objection", "Information Commissioner's")


def assert_reads_as_words(raw: bytes, held: list[str]) -> None:
    """``held``: the categories of the person's data (each must have its Article 15 facts)."""
    text = pdf_text(raw)
    words = flat(text)
    for raw_name in RAW_COLUMNS:
        assert raw_name not in text, raw_name
    for staff in STAFF_DESCRIPTIONS:
        assert staff not in words, staff
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", text), "a time with microseconds"
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text), "an ISO timestamp"
    register = datamap.current().register
    for item, (heading, facts) in ARTICLE_15.items():
        # per category: nothing held, nothing to say (the letter says it holds nothing)
        assert heading in words or (not held and facts(register["contact"])), item
        for category in held:
            for fact in facts(register[category]):
                assert fact in words, (item, category, fact)
    for right in RIGHTS:
        assert right in words, right


def held(raw: bytes, reference: str) -> list[str]:
    """The categories of the data, as the attached JSON file lists them."""
    attached = pypdf.PdfReader(io.BytesIO(raw)).attachments[f"{reference}-your-data.json"][0]
    return list(json.loads(attached)["article_15"]["categories"])


@pytest.fixture
def bob(bob_redacted: Any, approve: Any) -> Any:
    return approve(bob_redacted)


def test_bob_reads_labels_money_dates_in_words_and_newest_first(bob: Any) -> None:
    raw = export_bytes(bob.exports.get(format="pdf"))
    assert_reads_as_words(raw, held(raw, bob.reference))
    assert "Process payments and subscriptions" in flat(pdf_text(raw))
    assert "Stripe may process data in the USA" in flat(pdf_text(raw))  # 15(2), financial
    text = flat(pdf_text(raw))
    for label in ("Invoice number", "Issued on", "Time on page (seconds)", "Page views"):
        assert label in text, label
    assert "£49.00" in text
    assert IN_WORDS.search(text), "no date and time in words"
    assert "Our record of how you use our website" in text  # the store's public description
    # invoices newest first, as the map's order_by says
    attached = json.loads(
        pypdf.PdfReader(io.BytesIO(raw)).attachments[f"{bob.reference}-your-data.json"][0]
    )
    invoices = attached["data"]["billing"]["invoices"]["records"]
    newest_first = [i["number"] for i in sorted(invoices, key=lambda i: i["issued_on"])[::-1]]
    places = [text.index(number) for number in newest_first]
    assert places == sorted(places), newest_first


def test_no_file_the_person_receives_holds_a_staff_description(bob: Any) -> None:
    # the JSON (also attached to the PDF) and the CSV zip's README name each store as the
    # person knows it; the map's ``description`` is for staff
    stores = datamap.current().stores
    files = {f: export_bytes(bob.exports.get(format=f)) for f in ("json", "csv")}
    with zipfile.ZipFile(io.BytesIO(files["csv"])) as archive:
        readme = archive.read("README.txt").decode()
    searched = json.loads(files["json"])["searched"]
    assert searched
    for entry in searched:
        store = stores[entry["store"]]
        assert entry["description"] == store.public_title
        assert store.description not in files["json"].decode()
        assert store.description not in readme
    assert "Our record of how you use our website" in readme


def test_the_letter_says_what_was_searched_and_what_could_not_be(bob: Any) -> None:
    text = flat(pdf_text(export_bytes(bob.exports.get(format="pdf"))))
    stores = datamap.current().stores
    searched = set(bob.gather_steps.values_list("store", flat=True))
    assert "every system" not in text  # a claim: the recipients told by email are not searched
    for name, store in stores.items():
        if name in searched:
            assert store.public_title in text, name
        elif not store.searchable:
            assert f"{store.public_title} ({store.organisation})" in text, name
    assert "We could not search these ourselves" in text
    reasons = {r.reason for r in Redaction.objects.in_force().filter(request=bob)}
    assert ("for this reason:" if len(reasons) == 1 else "for these reasons:") in text


ARTICLE_15_TERMS = (
    "Why we use it",
    "Our legal basis",
    "Who receives it",
    "How long we keep it",
    "Where it comes from",
    "International transfers and safeguards",
    "Automated decisions",
)


def test_no_page_ends_with_a_term_whose_answer_is_on_the_next(bob: Any) -> None:
    reader = pypdf.PdfReader(io.BytesIO(export_bytes(bob.exports.get(format="pdf"))))
    for number, page in enumerate(reader.pages, start=1):
        lines = [
            line.strip()
            for line in page.extract_text().splitlines()
            if line.strip()
            and not re.fullmatch(r"Page \d+ of \d+|DSR-[\d-]+|Smarct · .*", line.strip())
        ]
        assert lines, number
        assert lines[-1] not in ARTICLE_15_TERMS, (number, lines[-3:])


def test_the_letter_names_the_configured_controller(
    settings: Any, bob_redacted: Any, approve: Any
) -> None:
    settings.DSAR_CONTROLLER_NAME = "Acme Widgets"
    text = flat(pdf_text(export_bytes(approve(bob_redacted).exports.get(format="pdf"))))
    assert "No one outside Acme Widgets" in text  # account data has no recipients
    assert "outside Smarct" not in text


def test_the_pdf_is_tagged_for_screen_readers(bob: Any) -> None:
    raw = export_bytes(bob.exports.get(format="pdf"))
    assert_tagged(raw, "en-GB", f"Your data: {bob.reference}")


def test_the_heavy_subjects_preview_is_the_newest_views(
    demo_map: Any, verified: Any, approve: Any, settings: Any
) -> None:
    settings.DSAR_PDF_PREVIEW_ROWS = 3
    dsr = approve(verified(email="harriet.heavy@example.com"))
    raw = export_bytes(dsr.exports.get(format="pdf"))
    text = flat(pdf_text(raw))
    assert "100,000 records — too many to read on paper" in text
    attached = json.loads(
        pypdf.PdfReader(io.BytesIO(raw)).attachments[f"{dsr.reference}-your-data.json"][0]
    )
    views = attached["data"]["analytics"]["page_views"]["records"]
    assert len(views) == 100_000  # the attachment keeps everything
    newest = max(views, key=lambda v: v["viewed_at"])
    oldest = min(views, key=lambda v: v["viewed_at"])
    assert f" {newest['id']} " in f" {text} "
    assert f" {oldest['id']} " not in f" {text} " or oldest["id"] < 10


@pytest.mark.parametrize("subject", estate.SUBJECTS, ids=lambda s: s.email.split("@")[0])
def test_every_demo_subjects_pdf_reads_as_words(
    subject: estate.DemoSubject, demo_map: Any, verified: Any, approve: Any
) -> None:
    dsr = approve(verified(name=subject.name, email=subject.email))
    raw = export_bytes(dsr.exports.get(format="pdf"))
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)  # demo data, kept for a human to look at
    (artifacts / f"access-export-{subject.email.split('@')[0]}.pdf").write_bytes(raw)
    text = flat(pdf_text(raw))
    assert_reads_as_words(raw, held(raw, dsr.reference))
    if subject.invoices:
        assert "£49.00" in text
    if subject.page_views or subject.marketing:
        assert IN_WORDS.search(text)
    if not held(raw, dsr.reference):
        assert "We hold no personal information about you" in text
    assert_tagged(raw, "en-GB", f"Your data: {dsr.reference}")


def test_a_record_withheld_whole_reads_as_withheld_with_its_reason(
    demo_map: Any, verified: Any, approve: Any
) -> None:
    dsr = verified(name="Bob Baker", email="bob@example.com")
    withhold_first_ticket(dsr, reason="About another customer")
    text = flat(pdf_text(export_bytes(approve(dsr).exports.get(format="pdf"))))
    tickets = text[text.index("Support tickets Ticket number") :]
    assert tickets.startswith(
        "Support tickets Ticket number Email address Subject Status Opened Messages Withheld "
    )  # the marker is not a column's name
    assert "About another customer" in tickets  # the reason, in that column
