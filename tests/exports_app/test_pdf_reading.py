"""The access PDF as a person reads it: labels for column names, values in words (dates in their
time zone, money with its currency, Yes/No), rows newest first, the store as the person knows
it, every Article 15 item, and a tagged PDF a screen reader can read. Real WeasyPrint output,
read with pypdf and poppler's pdfinfo."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pypdf
import pytest

from demo import estate
from tests.exports_app.conftest import export_bytes

pytestmark = pytest.mark.django_db

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
IN_WORDS = re.compile(rf"\b\d{{1,2}} ({MONTHS}) \d{{4}}, \d{{2}}:\d{{2}}\b")
RAW_COLUMNS = ("billing_account_id", "time_on_page_s", "account_manager_id", "created_at")
STAFF_DESCRIPTIONS = ("Web analytics (the largest store)", "Customer relationship management")
# UK GDPR Article 15(1)(a) to (h) and 15(2): the heading and, from the demo map, a fact under it
ARTICLE_15 = {
    "(a) purposes": ("Why we use it", "Process payments and subscriptions"),
    "(b) categories": ("What we hold", "financial"),
    "(c) recipients": ("Who receives it", "Stripe Payments UK Ltd"),
    "(d) retention": ("How long we keep it", "6 years after the end of the financial year"),
    "(e) rights": ("Rectification", "Erasure"),
    "(e) rights, continued": ("Restriction", "Objection"),
    "(f) complaint": ("Your right to complain", "Information Commissioner's Office"),
    "(g) source": ("Where it comes from", "You, and our payment processor"),
    "(h) automated decisions": ("Automated decisions", "made automatically"),
    "15(2) transfers": ("International transfers and safeguards", "Data Transfer Addendum"),
}


def pdf_text(raw: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(raw)).pages)


def flat(text: str) -> str:
    """The text with line breaks as spaces (a cell wraps inside a table)."""
    return " ".join(text.split())


def assert_reads_as_words(raw: bytes) -> None:
    text = pdf_text(raw)
    words = flat(text)
    for raw_name in RAW_COLUMNS:
        assert raw_name not in text, raw_name
    for staff in STAFF_DESCRIPTIONS:
        assert staff not in words, staff
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", text), "a time with microseconds"
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text), "an ISO timestamp"
    for item, facts in ARTICLE_15.items():
        for fact in facts:
            assert fact in words, (item, fact)


def assert_tagged(raw: bytes, language: str, title: str) -> None:
    reader = pypdf.PdfReader(io.BytesIO(raw))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == language
    assert reader.metadata is not None
    assert reader.metadata.title == title
    kinds: set[str] = set()

    def walk(node: Any, depth: int = 0) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for child in node:
                walk(child, depth)
        elif isinstance(node, dict) and depth < 60:
            if "/S" in node:
                kinds.add(str(node["/S"]))
            if "/K" in node:
                walk(node["/K"], depth + 1)

    walk(root["/StructTreeRoot"])
    assert {"/Table", "/TH", "/TD", "/TR"} <= kinds, kinds
    assert kinds & {"/H1", "/H2", "/H3"}, kinds
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo:  # poppler-utils (the Dockerfile and CI install it)
        info = subprocess.run([pdfinfo, "-"], input=raw, capture_output=True, check=True).stdout
        assert b"Tagged:          yes" in info


@pytest.fixture
def bob(bob_redacted: Any, approve: Any) -> Any:
    return approve(bob_redacted)


def test_bob_reads_labels_money_dates_in_words_and_newest_first(bob: Any) -> None:
    raw = export_bytes(bob.exports.get(format="pdf"))
    assert_reads_as_words(raw)
    text = flat(pdf_text(raw))
    for label in ("Invoice number", "Issued on", "Time on page (seconds)", "Pages you viewed"):
        assert label in text, label
    assert "£49.00" in text
    assert IN_WORDS.search(text), "no date and time in words"
    assert "Our record of how you use our website" in text  # the store's public description
    # invoices newest first, as the map's order_by says
    attached = json.loads(pypdf.PdfReader(io.BytesIO(raw)).attachments[f"{bob.reference}.json"][0])
    invoices = attached["data"]["billing"]["invoices"]["records"]
    newest_first = [i["number"] for i in sorted(invoices, key=lambda i: i["issued_on"])[::-1]]
    places = [text.index(number) for number in newest_first]
    assert places == sorted(places), newest_first


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
    assert "100,000 records" in text or "100000 records" in text
    attached = json.loads(pypdf.PdfReader(io.BytesIO(raw)).attachments[f"{dsr.reference}.json"][0])
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
    (Path(__file__).resolve().parents[2] / "test-artifacts").mkdir(exist_ok=True)
    text = flat(pdf_text(raw))
    if dsr.gather_steps.filter(record_count__gt=0).exists():
        assert_reads_as_words(raw)
        assert IN_WORDS.search(text)
        if subject.invoices:
            assert "£49.00" in text
    assert_tagged(raw, "en-GB", f"Your data: {dsr.reference}")
