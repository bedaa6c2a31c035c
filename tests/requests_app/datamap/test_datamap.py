"""The data map: the shipped maps load; a broken one is rejected with file, line, path and fix."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from requests_app import datamap

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "demo" / "data-map.yaml"


def test_demo_and_chinook_maps_load() -> None:
    demo = datamap.load(DEMO)
    assert set(demo.stores) == {
        "crm",
        "app",
        "billing",
        "analytics",
        "consent",
        "marketing",
        "support",
        "payments",
    }
    assert demo.stores["payments"].kind == "notify"
    assert demo.stores["payments"].receives_from == (
        ("billing", "billing_accounts"),
        ("billing", "payment_methods"),
    )
    assert [a.store for a in demo.opt_out] == ["marketing", "consent"]
    assert [(r.store, r.table, r.set, r.lift) for r in demo.restrict] == [
        ("crm", "customers", {"processing_restricted": True}, {"processing_restricted": False}),
        ("app", "accounts", {"processing_restricted": True}, {"processing_restricted": False}),
    ]
    assert demo.stores["billing"].tables["invoices"].erase.action == "retain"
    assert demo.stores["billing"].tables["invoices"].erase.years == 6
    assert demo.stores["marketing"].tables["contacts"].find.pagination.type == "cursor"  # type: ignore[union-attr]
    assert set(demo.register) == {
        "contact",
        "account",
        "financial",
        "usage",
        "device",
        "cookies",
        "marketing",
        "support",
    }
    chinook = datamap.load(ROOT / "demo" / "chinook-data-map.yaml")
    assert list(chinook.stores["chinook"].tables) == ["Customer", "Invoice", "InvoiceLine"]


def test_a_recipient_that_receives_a_whole_store_receives_each_of_its_tables(
    tmp_path: Path,
) -> None:
    path = _broken(
        tmp_path,
        "receives_from: [billing.billing_accounts, billing.payment_methods]",
        "receives_from: [billing, consent.consents.jsonl]",
    )
    assert datamap.load(path).stores["payments"].receives_from == (
        ("billing", "billing_accounts"),
        ("billing", "invoices"),
        ("billing", "invoice_lines"),
        ("billing", "payment_methods"),
        ("consent", "consents.jsonl"),
    )


def test_unlisted_columns_inherit_the_table_defaults() -> None:
    table = datamap.load(DEMO).stores["analytics"].tables["page_views"]
    assert table.field_spec("ip_address").category == "device"
    assert table.field_spec("browser").category == "usage"
    assert table.field_spec("browser").erase.action == "delete"  # type: ignore[union-attr]


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = DEMO.read_text()
    assert old in text
    path = tmp_path / "map.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "strategy: keyed_hash",
            "strategy: keyed_hsh",
            "fields.email.erase.strategy: 'keyed_hsh' is not one of",
        ),
        (
            "      customers:\n        label: Customer record\n        category: contact",
            "      customers:\n        label: Customer record\n        categry: contact",
            "unknown key 'categry'. Fix: did you mean 'category'?",
        ),
        (
            "    kind: files",
            "    kind: file",
            "stores.consent.kind: 'file' is not one of sql, http, files, notify. Fix: did you mean 'files'?",
        ),
        (
            'connection: {env: DSAR_STORE_CRM_URL, default: "sqlite:///{var}/demo/crm.sqlite3"}',
            'connection: "postgres://admin:hunter2@db/crm"',
            "must come from the environment",
        ),
        ("  usage:\n    purposes:", "  usages:\n    purposes:", "register.usages: unknown key"),
        (
            "{column: visitor_id, to: visitors.id}",
            "{column: visitor_id, to: visitor.id}",
            "links to 'visitor'",
        ),
        ('legal_basis: "PECR: proof of consent", ', "", "retained data needs its 'legal_basis'"),
        ("          path: /v1/contacts\n", "", "find: 'path' is missing"),
        (
            "pagination: {type: next_link, next: next}",
            "pagination: {type: next_link}",
            "next_link pagination needs 'next'",
        ),
        (
            '        delete: {method: DELETE, path: "/api/tickets/{id}"}\n',
            "",
            "support.resources.tickets: erasure deletes these records, but there is no 'delete' call",
        ),
        (
            "          ip_address: {label: IP address, category: device}",
            "          ip_address: {label: IP address, category: device, erase: {action: anonymise}}",
            "page_views.fields.ip_address.erase: the table's rows are deleted",
        ),
        (
            "{store: consent, table: consents.jsonl, set: {marketing: false}}",
            "{store: consent, table: consent.jsonl, set: {marketing: false}}",
            "marketing_opt_out.1.table: store 'consent' lists no 'consent.jsonl'",
        ),
        (
            "{store: crm, table: customers, set:",
            "{store: crms, table: customers, set:",
            "restrict.0.store: no store called 'crms'",
        ),
        (
            "{store: crm, table: customers, set:",
            "{store: crm, table: customer, set:",
            "restrict.0.table: store 'crm' lists no 'customer'",
        ),
        (
            "lift: {processing_restricted: false}}",
            "lift: {processing_restrictd: false}}",
            "restrict.0.lift: 'set' changes 'processing_restricted' but 'lift' gives no value to "
            "write back. Fix: add processing_restricted: <the value that undoes it> to 'lift'",
        ),
        (
            ", lift: {processing_restricted: false}}",
            "}",
            "restrict.0: 'lift' is missing",
        ),
        (
            "{store: crm, table: customers, set: {processing_restricted: true}",
            "{store: payments, table: card_customers, set: {processing_restricted: true}",
            "restrict.0.store: a notify store cannot be changed by Smarct",
        ),
        (
            "    notify_email: privacy@payments.example\n",
            "",
            "stores.payments: 'notify_email' is missing",
        ),
        (
            "total: {format: {money: GBP}}",
            "total: {format: {money: pounds}}",
            "fields.total.format.money: 'pounds' is not an ISO 4217 currency code. Fix: write the "
            "three capital letters of the currency (GBP, EUR, USD)",
        ),
        (
            "issued_on: {label: Issued on, format: date}",
            "issued_on: {label: Issued on, format: dat}",
            "fields.issued_on.format: 'dat' is not one of date, datetime, boolean, money. Fix: did "
            "you mean 'date'?",
        ),
        (
            "order_by: -issued_on",
            "order_by: -issued on",
            "tables.invoices.order_by: '-issued on' is not a column name",
        ),
        (
            "public_description: Our record of how you use our website",
            "public_description: [a, b]",
            "stores.analytics.public_description: expected text, found list",
        ),
        # what a notify recipient receives: said, and said of stores and tables that exist
        (
            "    receives_from: [billing.billing_accounts, billing.payment_methods]\n",
            "",
            "stores.payments: 'receives_from' is missing",
        ),
        (
            "receives_from: [billing.billing_accounts, billing.payment_methods]",
            "receives_from: [biling.billing_accounts, billing.payment_methods]",
            "stores.payments.receives_from.0: no store called 'biling'. Fix: did you mean "
            "'billing'?",
        ),
        (
            "receives_from: [billing.billing_accounts, billing.payment_methods]",
            "receives_from: [billing.billing_accounts, billing.payment_method]",
            "stores.payments.receives_from.1: store 'billing' lists no 'payment_method'. Fix: did "
            "you mean 'billing.payment_methods'?",
        ),
        (
            "receives_from: [billing.billing_accounts, billing.payment_methods]",
            "receives_from: [payments]",
            "stores.payments.receives_from.0: 'payments' is a notify recipient: Smarct finds "
            "nothing there",
        ),
        (
            "receives_from: [billing.billing_accounts, billing.payment_methods]",
            "receives_from: []",
            "stores.payments.receives_from: the list is empty, so this recipient would never be "
            "told of any request",
        ),
        (
            "    notify_email: privacy@mailflow.example\n",
            "    notify_email: privacy@mailflow.example\n    receives_from: [crm]\n",
            "stores.marketing.receives_from: 'receives_from' is for notify recipients only",
        ),
    ],
)
def test_a_broken_map_names_file_line_path_and_fix(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(datamap.DataMapInvalid) as caught:
        datamap.load(path)
    messages = [str(p) for p in caught.value.problems]
    assert any(expected in m for m in messages), messages
    assert all(m.startswith(f"{path}:") for m in messages)
    assert all("Fix:" in m for m in messages)


def test_the_line_number_points_at_the_mistake(tmp_path: Path) -> None:
    path = _broken(tmp_path, "strategy: keyed_hash", "strategy: keyed_hsh")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "keyed_hsh" in text)
    with pytest.raises(datamap.DataMapInvalid) as caught:
        datamap.load(path)
    assert caught.value.problems[0].line == line


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    path = _broken(tmp_path, "strategy: keyed_hash", "strategy: keyed_hsh")
    path.write_text(path.read_text().replace("    kind: files", "    kind: file"))
    with pytest.raises(datamap.DataMapInvalid) as caught:
        datamap.load(path)
    assert len(caught.value.problems) == 2


def test_a_category_without_register_entry_is_refused(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "  device:\n    purposes: [Keep your account secure, Improve our services]\n",
        "  device_x:\n    purposes: [x]\n",
    )
    with pytest.raises(datamap.DataMapInvalid) as caught:
        datamap.load(path)
    assert any("no entry for 'device'" in str(p) for p in caught.value.problems)


REGISTER_ENTRY = """register:
  contact:
    purposes: [Sell to you]
    legal_basis: Contract
    retention: 2 years
    source: You
    recipients: []
    transfers: Held and processed in the UK.
    automated_decisions: None.
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    transfers: Held and processed in the UK.\n",
            "",
            "register.contact: 'transfers' is missing. Fix: add 'transfers:' saying where the data "
            "is processed and, for any transfer outside the UK, its safeguard",
        ),
        (
            "    automated_decisions: None.\n",
            "",
            "register.contact: 'automated_decisions' is missing. Fix: add 'automated_decisions:' "
            "saying whether decisions with legal or similarly significant effects are made "
            "automatically",
        ),
        (
            "    recipients: []\n",
            "",
            "register.contact: 'recipients' is missing. Fix: add 'recipients:' listing who receives "
            "this data ([] if no one outside the controller)",
        ),
        ("    recipients: []\n", "    recipients:\n", "register.contact.recipients: a list is"),
        ("transfers: Held and processed in the UK.", "transfers: ''", "contact.transfers: a value"),
    ],
)
def test_a_register_entry_states_recipients_transfers_and_automated_decisions(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    """The access letter prints what the register says: nothing is assumed when it is silent."""
    path = tmp_path / "map.yaml"
    path.write_text(f"version: 1\n{REGISTER_ENTRY.replace(old, new)}stores: {{}}\n")
    with pytest.raises(datamap.DataMapInvalid) as caught:
        datamap.load(path)
    messages = [str(p) for p in caught.value.problems]
    assert any(expected in m for m in messages), messages


def test_a_register_entry_with_no_recipients_states_it(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(f"version: 1\n{REGISTER_ENTRY}stores: {{}}\n")
    entry = datamap.load(path).register["contact"]
    assert entry.recipients == ()
    assert entry.transfers == "Held and processed in the UK."
    assert entry.automated_decisions == "None."


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nstores: [unclosed\n")
    with pytest.raises(datamap.DataMapInvalid, match="not valid YAML"):
        datamap.load(bad)
    with pytest.raises(datamap.DataMapInvalid, match="cannot be read"):
        datamap.load(tmp_path / "missing.yaml")


def test_manage_py_check_reports_the_problems(tmp_path: Path) -> None:
    path = _broken(tmp_path, "strategy: keyed_hash", "strategy: keyed_hsh")
    env = {"DSAR_DATA_MAP": str(path), "VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "dsar.E001" in result.stderr
    assert "keyed_hsh" in result.stderr
    assert f"{path}:" in result.stderr


def test_worker_refuses_to_start_with_a_broken_map(tmp_path: Path) -> None:
    path = _broken(tmp_path, "strategy: keyed_hash", "strategy: keyed_hsh")
    env = {"DSAR_DATA_MAP": str(path), "VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "smarct_dsar", "worker", "--pool=solo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "keyed_hsh" in result.stderr + result.stdout


@pytest.mark.django_db
def test_discover_store_proposes_a_section(capsys: Any) -> None:
    from django.core.management import call_command

    chinook = ROOT.parent / "shared" / "datasets" / "chinook.sqlite"
    call_command("discover_store", "chinook", url=f"sqlite:///{chinook}")
    out = capsys.readouterr().out
    assert "      Customer:" in out
    assert "identity: {Email: email}" in out
    assert "# link discovered from a foreign key: Invoice.CustomerId → Customer.CustomerId" in out
    assert "Phone: {category: contact}" in out
    assert "      Genre:\n        category: TODO" in out  # a genre's name is not a person


def test_a_phone_number_cannot_identify_anyone(tmp_path: Path) -> None:
    # typed into the form, never verified: anyone could get the data of whoever has that number
    text = (
        (ROOT / "demo" / "data-map.yaml")
        .read_text()
        .replace(
            "      accounts:\n        category: account\n        identity: {email: email}",
            "      accounts:\n        category: account\n        identity: {email: email, phone: phone}",
        )
    )
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(datamap.DataMapInvalid) as caught:
        datamap.load(path)
    (problem,) = caught.value.problems
    assert problem.path == "stores.app.tables.accounts.identity.phone"
    assert "never verified" in problem.problem


def test_the_stores_are_searched_only_by_what_the_person_proved(verified: Any) -> None:
    from requests_app.gathering.gather import subject_of

    dsr = verified(email="ann@example.com", phone="07700 900123")
    subject = subject_of(dsr)
    assert subject.email == "ann@example.com"
    assert not hasattr(subject, "phone")
    assert subject.key("phone") is None


def test_tables_and_fields_have_a_label_or_a_readable_name() -> None:
    demo = datamap.load(DEMO)
    tickets = demo.stores["support"].tables["tickets"]
    assert tickets.label == "Support tickets"  # the map's own words
    assert tickets.field_spec("messages").title == "Messages"
    notes = demo.stores["crm"].tables["customer_notes"]
    assert notes.title == notes.label == "Notes by our staff"
    views = demo.stores["analytics"].tables["page_views"]
    assert views.label is None
    assert views.title == "Page views"  # no label: the name, readable
    assert views.field_spec("browser").title == "Browser"
    assert views.field_spec("time_on_page_s").title == "Time on page (seconds)"
    consents = demo.stores["consent"].tables["consents.jsonl"]
    assert consents.title == "Cookie consents"
    assert replace(consents, label=None).title == "Consents"  # a file's extension dropped


def test_the_staff_pages_use_the_labels(demo_map: Any, verified: Any, reviewer: Any) -> None:
    from django.test import Client

    dsr = verified(name="Bob Baker", email="bob@example.com")
    client = Client()
    client.force_login(reviewer)
    page = client.get(f"/staff/requests/{dsr.reference}/data/support/").content.decode()
    assert "Support tickets" in page
    assert "Opened" in page  # tickets.created_at's label
    plan = client.get(f"/staff/requests/{dsr.reference}/submit/").content.decode()
    assert "Page views" in plan
    assert "page_views" not in plan


def test_fields_tables_and_stores_say_how_the_person_reads_them() -> None:
    demo = datamap.load(DEMO)
    invoices = demo.stores["billing"].tables["invoices"]
    assert invoices.field_spec("total").format == "money"
    assert invoices.field_spec("total").currency == "GBP"
    assert invoices.field_spec("issued_on").format == "date"
    assert invoices.order_by == "-issued_on"
    assert invoices.field_spec("currency").format is None
    assert demo.stores["crm"].tables["customers"].field_spec("processing_restricted").format == (
        "boolean"
    )
    analytics = demo.stores["analytics"]
    assert analytics.public_description == "Our record of how you use our website"
    assert analytics.public_title == "Our record of how you use our website"
    unsaid = replace(demo.stores["payments"], public_description=None)
    assert unsaid.public_title == "Payments"  # without a public description: its name in words


def test_every_demo_table_reads_as_words_and_every_store_has_a_public_description() -> None:
    for store in datamap.load(DEMO).stores.values():
        assert store.public_description, store.name
        for table in store.tables.values():
            assert not re.search(r"[_.]", table.title), (store.name, table.title)
