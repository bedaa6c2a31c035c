"""Erasure against the real demo stores (a fresh estate per test): the plan, holds, execution,
the re-scan, the signed certificate and what every other person's rows look like afterwards."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from exports_app.models import DownloadLink, Export, ExportFormat
from requests_app import tasks
from requests_app.core.errors import RuleViolation
from requests_app.fulfilment import erasure, erasure_plans
from requests_app.fulfilment.erasure import erasure_holds
from requests_app.models import ErasureStep, ProcessorNotice, Status, StepStatus
from requests_app.review import decisions
from smarct_dsar.crypto import iter_decrypted
from tests.conftest import OwnEstate
from tests.factories import UserFactory
from tests.support.pdf import assert_tagged, flat
from tests.support.workflow import submit_and_approve, submit_for_approval

pytestmark = pytest.mark.django_db

BOB = "bob@example.com"


@pytest.fixture
def bob_erasure(own_estate: OwnEstate, verified: Any) -> Any:
    dsr = verified(request_type="erasure", name="Bob Baker", email=BOB)
    assert dsr.status == Status.IN_REVIEW
    return dsr


def _approve(dsr: Any, approver: Any, capture: Any) -> Any:
    with capture(execute=True):
        submit_and_approve(dsr, approver, reason="checked")
    dsr.refresh_from_db()
    return dsr


def _file(export: Export) -> bytes:
    from django.core.files.storage import default_storage

    with default_storage.open(export.file_name, "rb") as handle:
        return b"".join(iter_decrypted(handle, context=export.file_context))


def _person_rows(estate: OwnEstate, email: str) -> dict[str, set[Any]]:
    """The primary keys of the person's rows, found with plain SQL independent of the connector."""
    queries = {
        ("crm", "customers"): "SELECT id FROM customers WHERE email = ?",
        ("crm", "customer_notes"): "SELECT n.id FROM customer_notes n JOIN customers c "
        "ON c.id = n.customer_id WHERE c.email = ?",
        ("app", "accounts"): "SELECT id FROM accounts WHERE email = ?",
        ("app", "preferences"): "SELECT p.id FROM preferences p JOIN accounts a "
        "ON a.id = p.account_id WHERE a.email = ?",
        ("app", "devices"): "SELECT d.id FROM devices d JOIN accounts a "
        "ON a.id = d.account_id WHERE a.email = ?",
        ("billing", "billing_accounts"): "SELECT id FROM billing_accounts WHERE email = ?",
        (
            "billing",
            "payment_methods",
        ): "SELECT p.id FROM payment_methods p JOIN billing_accounts b "
        "ON b.id = p.billing_account_id WHERE b.email = ?",
        ("billing", "invoices"): "SELECT i.id FROM invoices i JOIN billing_accounts b "
        "ON b.id = i.billing_account_id WHERE b.email = ?",
        ("billing", "invoice_lines"): "SELECT l.id FROM invoice_lines l JOIN invoices i "
        "ON i.id = l.invoice_id JOIN billing_accounts b ON b.id = i.billing_account_id "
        "WHERE b.email = ?",
        ("analytics", "visitors"): "SELECT id FROM visitors WHERE email = ?",
        ("analytics", "page_views"): "SELECT p.id FROM page_views p JOIN visitors v "
        "ON v.id = p.visitor_id WHERE v.email = ?",
    }
    found = {}
    for (store, table), sql in queries.items():
        with estate.sqlite(store) as conn:
            found[f"{store}.{table}"] = {row[0] for row in conn.execute(sql, (email,))}
    return found


def test_the_plan_shows_what_happens_in_every_store_before_anything_changes(
    bob_erasure: Any, own_estate: OwnEstate
) -> None:
    before = own_estate.snapshot()
    plan = {p.store: p for p in erasure_plans.erasure_plan(dsr=bob_erasure)}
    billing = {t.table: t for t in plan["billing"].tables}
    assert billing["invoices"].action == "retain"
    assert billing["invoices"].records == 8
    assert "HMRC" in billing["invoices"].legal_basis
    # Bob's latest invoice is dated 2024-01-01 + 7 x 30 days (+ his row offset), in the financial
    # year ending 31 March 2025: kept 6 years after that.
    assert billing["invoices"].until == dt.date(2031, 3, 31)
    assert billing["payment_methods"].action == "delete"
    assert ("phone", "null") in billing["billing_accounts"].anonymised_fields
    crm = {t.table: t for t in plan["crm"].tables}
    assert dict(crm["customers"].anonymised_fields) == {
        "email": "keyed_hash",
        "name": "fixed",
        "phone": "null",
        "company": "null",
        "created_at": "generalise_date",
        "processing_restricted": "null",
    }  # id (key) and account_manager_id (a foreign key, and retained) are kept
    assert plan["payments"].by_notice
    assert plan["payments"].notify_email
    assert plan["analytics"].count("delete") == 61  # the visitor row and 60 page views
    assert own_estate.snapshot() == before  # a dry run


def test_erasure_removes_exactly_the_plan_and_leaves_everyone_else_byte_for_byte(
    bob_erasure: Any,
    own_estate: OwnEstate,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    mine = _person_rows(own_estate, BOB)
    before = own_estate.snapshot()
    cookies = Path(own_estate.urls["consent"]) / "cookie_preferences.csv"
    consents = Path(own_estate.urls["consent"]) / "consents.jsonl"
    cookie_lines, consent_text = (
        cookies.read_bytes().splitlines(keepends=True),
        consents.read_text(),
    )
    dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    assert dsr.status == Status.COMPLETED
    after = own_estate.snapshot()

    for store, tables in before.items():
        for table, rows in tables.items():
            others = {
                pk: row for pk, row in rows.items() if pk not in mine.get(f"{store}.{table}", set())
            }
            assert {pk: after[store][table].get(pk) for pk in others} == others, f"{store}.{table}"

    def kept(store: str, table: str) -> dict[Any, Any]:
        return {pk: after[store][table].get(pk) for pk in mine[f"{store}.{table}"]}

    for deleted in (
        "crm.customer_notes",
        "app.accounts",
        "app.preferences",
        "app.devices",
        "billing.payment_methods",
        "analytics.visitors",
        "analytics.page_views",
    ):
        store, table = deleted.split(".")
        assert mine[deleted], deleted
        assert set(kept(store, table).values()) == {None}, deleted
    for retained in ("billing.invoices", "billing.invoice_lines"):
        store, table = retained.split(".")
        assert kept(store, table) == {pk: before[store][table][pk] for pk in mine[retained]}
    (account,) = kept("billing", "billing_accounts").values()
    assert account[1] == BOB
    assert account[3] is None
    (customer,) = kept("crm", "customers").values()
    _, email, name, phone, company, created_at, manager, restricted = customer
    assert email.startswith("anon:")
    assert BOB not in email
    assert (name, phone, company, manager, restricted) == (
        "[erased]",
        None,
        None,
        before["crm"]["customers"][customer[0]][6],
        None,
    )
    assert created_at.startswith("2024-01-01 00:00:00")

    # files: Bob's cookie preferences deleted, every other line byte for byte; consent kept (PECR)
    assert cookies.read_bytes() == b"".join(
        line for line in cookie_lines if BOB.encode() not in line
    )
    assert len(cookie_lines) - len(cookies.read_bytes().splitlines()) == 2
    assert consents.read_text() == consent_text

    partners = own_estate.sandbox
    calls = {(m, p) for m, p, _, _ in partners.calls}
    assert ("DELETE", "/support/api/tickets/1003") in calls  # Bob's three tickets, one by one
    assert sum(1 for m, p in calls if p.startswith("/support/api/tickets/")) == 3
    assert not [c for c in partners.data["support"]["tickets"] if c["email"] == BOB]
    assert [t for t in partners.data["support"]["tickets"] if t["email"] == "alice@example.com"]

    steps = {s.store: s for s in dsr.erasure_steps.all()}
    assert all(s.status == StepStatus.DONE for s in steps.values())
    assert steps["analytics"].outcome["page_views"]["deleted"] == 60
    assert steps["billing"].rescan["invoices"] == {"left": 0, "retained": 8}
    notice = ProcessorNotice.objects.get(request=dsr)
    assert notice.organisation == "Stripe Payments UK Ltd"
    assert notice.confirmed_at is None
    assert not any(s.file_name for s in dsr.gather_steps.all())  # the gathered copy is gone too
    subjects = [m.subject for m in mailoutbox]
    assert any("please erase" in s for s in subjects)
    assert any("what we have erased" in s for s in subjects)


def test_running_the_erasure_again_changes_nothing(
    bob_erasure: Any, own_estate: OwnEstate, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    after_first = own_estate.snapshot()
    calls = len(own_estate.sandbox.calls)
    ErasureStep.objects.filter(request=dsr).update(status=StepStatus.PENDING, claimed_by="")
    type(dsr).objects.filter(pk=dsr.pk).update(status=Status.FULFILLING)
    for step in ErasureStep.objects.filter(request=dsr):
        tasks.erase_store(step.pk)
        tasks.erase_store(step.pk)  # and delivered twice
    assert own_estate.snapshot() == after_first
    assert own_estate.sandbox.calls[calls:] == []  # nothing left to ask the partners either
    assert all(s.status == StepStatus.DONE for s in ErasureStep.objects.filter(request=dsr))


def test_a_rescan_that_finds_data_left_fails_the_step_and_blocks_the_certificate(
    bob_erasure: Any, own_estate: OwnEstate, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # A row for Bob appears after erasure ran (an import racing it): the re-scan must notice.
    original = erasure.connector_for

    def racing(store: Any) -> Any:
        connector = original(store)
        if store.name == "app":
            erase = connector.erase

            def erase_then_reimport(subject: Any) -> Any:
                outcome = erase(subject)
                with own_estate.sqlite("app") as conn:
                    conn.execute("INSERT INTO accounts (email, login) VALUES (?, 'bob')", (BOB,))
                return outcome

            connector.erase = erase_then_reimport  # type: ignore[method-assign]
        return connector

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(erasure, "connector_for", racing)
        dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    assert dsr.status == Status.FULFILLING
    step = dsr.erasure_steps.get(store="app")
    assert step.status == StepStatus.FAILED
    assert "accounts: 1 record" in step.error
    assert not Export.objects.filter(request=dsr).exists()
    with django_capture_on_commit_callbacks(execute=True):  # staff retry once the import is fixed
        erasure.erasure_retry_store(dsr=dsr, store="app", actor=approver)
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED


def test_the_certificate_is_signed_verifies_and_fails_after_one_byte_changes(
    bob_erasure: Any,
    own_estate: OwnEstate,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    tmp_path: Path,
) -> None:
    dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    pdf = _file(Export.objects.get(request=dsr, format=ExportFormat.CERTIFICATE))
    signature = _file(Export.objects.get(request=dsr, format=ExportFormat.SIGNATURE))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert dsr.reference in text
    assert "Certificate of erasure" in text
    assert BOB not in text
    assert "Bob" not in text
    assert "UK tax law (HMRC)" in text
    assert "Stripe Payments UK Ltd" in text
    assert "60 records deleted" in text  # Bob's page views
    assert "Email address (replaced by a keyed hash)" in text  # the field's label
    assert "Notes by our staff" in text  # the table's label, never its code name
    assert "customer_notes" not in text
    assert "None held: nothing to do." in text  # Bob was never on the marketing list
    assert json.loads(signature)["reference"] == dsr.reference
    # each store in the person's words: the staff's description is not for them
    assert "Our record of how you use our website" in flat(text)
    assert "Web analytics (the largest store)" not in flat(text)
    assert_tagged(pdf, "en-GB", f"Deletion certificate {dsr.reference}")

    certificate = tmp_path / f"{dsr.reference}-deletion-certificate.pdf"
    certificate.write_bytes(pdf)
    (tmp_path / (certificate.name + ".sig")).write_bytes(signature)
    out = io.StringIO()
    call_command("verify_certificate", str(certificate), stdout=out)
    assert "GENUINE" in out.getvalue()

    tampered = bytearray(pdf)
    tampered[len(tampered) // 2] ^= 0x01
    certificate.write_bytes(bytes(tampered))
    with pytest.raises(CommandError, match="altered after it was signed"):
        call_command("verify_certificate", str(certificate))
    certificate.write_bytes(pdf)
    forged = json.loads(signature)
    forged["reference"] = "DSR-2026-999999"
    (tmp_path / (certificate.name + ".sig")).write_text(json.dumps(forged))
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("verify_certificate", str(certificate))


def test_an_open_access_request_holds_erasure_until_it_is_answered(
    own_estate: OwnEstate, verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    access = verified(request_type="access", name="Bob Baker", email=BOB)
    dsr = verified(request_type="erasure", name="Bob Baker", email=BOB)
    assert any(access.reference in r for r in erasure.erasure_holds(dsr))
    dsr = _approve(dsr, approver, django_capture_on_commit_callbacks)
    assert dsr.status == Status.APPROVED  # waiting, and the timeline says why
    assert dsr.events.filter(action="erasure_waiting").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        tasks.advance(dsr.pk)  # the sweeper's retry changes nothing while it waits
    assert dsr.events.filter(action="erasure_waiting").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_act(action="withdraw", dsr=access, actor=approver, reason="done by phone")
    # withdrawal is not completion; the sweeper picks the erasure up
    with django_capture_on_commit_callbacks(execute=True):
        tasks.advance(dsr.pk)
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED


def test_a_staff_legal_hold_stops_erasure_until_released(
    bob_erasure: Any, own_estate: OwnEstate, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with pytest.raises(RuleViolation):
        erasure.legal_hold_place(dsr=bob_erasure, actor=approver, reason=" ")
    erasure.legal_hold_place(dsr=bob_erasure, actor=approver, reason="Litigation: claim 42")
    dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    assert dsr.status == Status.APPROVED
    assert own_estate.table("app", "accounts")  # nothing erased
    with django_capture_on_commit_callbacks(execute=True):
        erasure.legal_hold_release(dsr=dsr, actor=approver, reason="Claim settled")
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED


def test_a_recipient_confirms_the_notice_through_its_link(
    bob_erasure: Any,
    own_estate: OwnEstate,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
    client: Any,
) -> None:
    _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    (notice_mail,) = [m for m in mailoutbox if "please erase" in m.subject]
    assert notice_mail.to == ["privacy@payments.example"]
    assert BOB in notice_mail.body
    link = next(line for line in notice_mail.body.splitlines() if "/recipients/confirm/" in line)
    path = (
        link.strip().split("testserver")[-1]
        if "testserver" in link
        else "/" + link.split("/", 3)[3]
    )
    assert client.get(path).status_code == 200
    assert (
        ProcessorNotice.objects.get().confirmed_at is None
    )  # a GET (a mail scanner) confirms nothing
    response = client.post(path, {"note": "Deleted from our vault"})
    assert response.status_code == 200
    assert b"Thank you: confirmed" in response.content
    notice = ProcessorNotice.objects.get()
    assert notice.confirmed_at is not None
    assert notice.confirmation_note == "Deleted from our vault"


def test_unconfirmed_recipients_are_reminded_then_flagged_overdue(
    bob_erasure: Any,
    own_estate: OwnEstate,
    approver: Any,
    reviewer: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
    client: Any,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from requests_app.fulfilment import recipients

    dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    assert recipients.notices_remind() == 0  # just told: nothing to remind yet
    ProcessorNotice.objects.update(sent_at=timezone.now() - timedelta(days=8))
    with django_capture_on_commit_callbacks(execute=True):
        assert recipients.notices_remind() == 1
    assert recipients.notices_remind() == 0  # once per interval, not once per run
    (reminder,) = [m for m in mailoutbox if m.subject.startswith("Reminder")]
    assert reminder.to == ["privacy@payments.example"]
    assert "reminder 1" in reminder.body
    client.force_login(reviewer)
    assert b"Recipients overdue" not in client.get("/staff/").content
    ProcessorNotice.objects.update(sent_at=timezone.now() - timedelta(days=22))
    queue = client.get("/staff/").content.decode()
    assert "Recipients overdue" in queue
    assert dsr.reference in queue  # though the request itself is completed


def test_the_certificate_outlives_the_download_link_and_the_purge(
    bob_erasure: Any, own_estate: OwnEstate, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from exports_app.models import DownloadLink
    from exports_app.services import exports_expire_files
    from requests_app.core.retention import request_purge_personal_data

    dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    DownloadLink.objects.update(expires_at=timezone.now() - timedelta(days=1))
    assert exports_expire_files() == 0
    request_purge_personal_data(dsr=dsr)
    certificate = Export.objects.get(request=dsr, format=ExportFormat.CERTIFICATE)
    assert certificate.file_deleted_at is None
    assert _file(certificate).startswith(b"%PDF")


def test_closed_requests_are_purged_after_24_months_and_keep_only_the_certificate(
    bob_erasure: Any, own_estate: OwnEstate, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from requests_app.core import retention

    dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    assert tasks.purge_expired_requests() == 0  # closed today: kept
    type(dsr).objects.filter(pk=dsr.pk).update(closed_at=timezone.now() - timedelta(days=735))
    assert tasks.purge_expired_requests() == 1
    dsr.refresh_from_db()
    assert dsr.personal_data_purged_at is not None
    assert dsr.requester_email == ""
    certificate = Export.objects.get(request=dsr, format=ExportFormat.CERTIFICATE)
    assert default_storage.exists(certificate.file_name)
    assert tasks.purge_expired_requests() == 0  # once
    assert retention.months_before(timezone.datetime(2026, 3, 31), 1).day == 28


def test_purge_deletes_an_access_requests_gathered_data_and_exports(
    demo_map: Any, verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.files.storage import default_storage

    from requests_app.core.retention import request_purge_personal_data

    dsr = verified(name="Alice Archer", email="alice@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(dsr, approver)
    files = [s.file_name for s in dsr.gather_steps.all() if s.file_name]
    files += [e.file_name for e in Export.objects.filter(request=dsr)]
    assert files
    assert all(default_storage.exists(f) for f in files)
    request_purge_personal_data(dsr=dsr)
    assert not any(default_storage.exists(f) for f in files)
    assert not Export.objects.filter(request=dsr, file_deleted_at__isnull=True).exists()


# --- Issue 13, finding 5: erasure leaves no copies ------------------------------------------------


def test_an_erasure_deletes_the_copies_made_for_the_persons_earlier_requests(
    own_estate: OwnEstate,
    verified: Any,
    approver: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from requests_app.review.decisions import request_release

    # Bob's access request was answered: its files were released, with a live link
    access = verified(name="Bob Baker", email=BOB)
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(access, approver)
    with django_capture_on_commit_callbacks(execute=True):
        request_release(dsr=access, actor=UserFactory(username="bea", roles=["approver"]))
    found = re.search(r"https?://[^/\s]+(/downloads/[^/\s]+/)", mail.outbox[-1].body)
    assert found is not None
    path = found.group(1)
    assert client.get(f"{path}json/").status_code == 200
    # (an answered access request keeps its files, not its gathered copy)
    assert not any(s.file_name for s in access.gather_steps.all())
    copies = [e.file_name for e in Export.objects.filter(request=access)]
    assert copies
    assert all(default_storage.exists(name) for name in copies)

    # then Bob asks for erasure
    erased = verified(name="Bob Baker", email=BOB, request_type="erasure")
    dsr = _approve(erased, approver, django_capture_on_commit_callbacks)
    assert dsr.status == Status.COMPLETED
    assert not any(default_storage.exists(name) for name in copies)
    assert all(e.file_deleted_at for e in Export.objects.filter(request=access))
    assert client.get(f"{path}json/").status_code in {404, 410}
    assert DownloadLink.objects.get(request=access).revoked_at is not None
    assert not any(s.file_name for s in dsr.gather_steps.all())
    # the certificate says so, and is itself kept
    pdf = _file(Export.objects.get(request=dsr, format=ExportFormat.CERTIFICATE))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())
    assert f"{access.reference}: 3 files deleted" in text
    assert "its download link no longer works" in text


def test_an_access_request_awaiting_approval_holds_the_erasure(verified: Any) -> None:
    access = submit_for_approval(verified(email="alice@example.com"))
    erasure = verified(email="alice@example.com", request_type="erasure")
    assert access.status == "ready_for_approval"
    assert any(access.reference in reason for reason in erasure_holds(erasure))


def test_a_store_is_erased_only_with_its_event_on_the_timeline(
    bob_erasure: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsr = _approve(bob_erasure, approver, django_capture_on_commit_callbacks)
    step = ErasureStep.objects.filter(request=dsr).first()
    assert step is not None
    ErasureStep.objects.filter(pk=step.pk).update(status=StepStatus.PENDING, claimed_by="")
    type(dsr).objects.filter(pk=dsr.pk).update(status=Status.FULFILLING)

    def dies(**kwargs: Any) -> None:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(erasure, "event_append", dies)
    with pytest.raises(RuntimeError):
        erasure.erasure_run_step(step_id=step.pk, task_id="t")
    step.refresh_from_db()
    assert step.status == StepStatus.RUNNING  # not done without its store_erased event
