"""The outside engineer's second round, each a finding that failed before its fix: threads of the
person's own rows, notes under a shared address, identities that stay or disagree, collations that
call different addresses equal, dates written as text, more keys than a query takes, and maps that
would fail only after approval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from requests_app.stores import Subject, connector_for
from requests_app.stores.checks import check_map
from tests.requests_app.stores.conftest import scratch_map as _map
from tests.requests_app.stores.conftest import table_rows as _rows

ALICE = Subject(email="alice@example.com")


def _problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, tables: str) -> list[str]:
    return [str(p) for p in check_map(_map(tmp_path, monkeypatch, url, tables))]


def test_a_thread_of_the_persons_own_comments_goes_whole_and_a_reply_by_another_keeps_its_parent(
    dialect: str, scratch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = scratch(
        dialect,
        "CREATE TABLE person (id int PRIMARY KEY, email varchar(80), name varchar(20))",
        "CREATE TABLE comment (id int PRIMARY KEY, author_id int NOT NULL, parent_id int, "
        "body varchar(40), FOREIGN KEY (author_id) REFERENCES person(id), "
        "FOREIGN KEY (parent_id) REFERENCES comment(id))",
        "INSERT INTO person VALUES (1, 'alice@example.com', 'Alice'), (2, 'bob@example.com', 'Bob')",
        "INSERT INTO comment VALUES (1, 1, NULL, 'alice starts'), (10, 2, NULL, 'bob starts')",
        "INSERT INTO comment VALUES (2, 1, 1, 'alice again'), (11, 1, 10, 'alice answers bob')",
        "INSERT INTO comment VALUES (3, 1, 2, 'alice once more'), (4, 1, NULL, 'alice asks')",
        "INSERT INTO comment VALUES (5, 2, 4, 'bob answers alice')",
    )
    tables = """      person: {category: contact, identity: {email: email}, erase: {action: anonymise, strategy: "null"}, fields: {email: {erase: {action: anonymise, strategy: keyed_hash}}}}
      comment: {category: contact, erase: delete}
"""
    connector = connector_for(_map(tmp_path, monkeypatch, url, tables).stores["x"])
    planned = connector.preview(ALICE)["comment"]
    done = connector.erase(ALICE)["comment"]
    assert (planned.deleted, planned.shared) == (done.deleted, done.shared) == (4, 1)
    # 1←2←3 and 11 were Alice's alone; 4 is answered by Bob, so it stays, as do Bob's rows
    assert [r[0] for r in _rows(url, "comment")] == [4, 5, 10]


def test_notes_under_a_shared_address_are_nobodys_in_particular(
    dialect: str, scratch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = scratch(
        dialect,
        "CREATE TABLE address (id int PRIMARY KEY, line varchar(40) NOT NULL)",
        "CREATE TABLE customer (id int PRIMARY KEY, email varchar(80), address_id int, "
        "FOREIGN KEY (address_id) REFERENCES address(id))",
        "CREATE TABLE address_note (id int PRIMARY KEY, address_id int NOT NULL, note varchar(40), "
        "FOREIGN KEY (address_id) REFERENCES address(id))",
        "INSERT INTO address VALUES (4, '4 Alice Lane'), (7, '7 Shared Street')",
        "INSERT INTO customer VALUES (6, 'alice@example.com', 4), (7, 'zoe@example.com', 7), "
        "(8, 'carol@example.com', 7)",
        "INSERT INTO address_note VALUES (2, 4, 'alice: leave at back'), (3, 7, 'carol: dog')",
    )
    tables = """      customer: {category: contact, identity: {email: email}, erase: delete}
      address: {category: contact, owner: {referenced_by: customer.address_id}, erase: delete}
      address_note: {category: contact, erase: delete}
"""
    connector = connector_for(_map(tmp_path, monkeypatch, url, tables).stores["x"])
    zoe = Subject(email="zoe@example.com")
    found = {(b.table, r["id"]) for b in connector.find(zoe) for r in b.records()}
    assert ("address_note", 3) not in found  # Carol's note on the house Zoe shares with her
    assert connector.update(zoe, "address_note", {"note": "changed"}) == 0
    outcome = connector.erase(ALICE)  # Alice lives alone: her address and its note go with her
    assert {t: o.deleted for t, o in outcome.items()} == {
        "customer": 1,
        "address": 1,
        "address_note": 1,
    }
    assert _rows(url, "address_note") == [(3, 7, "carol: dog")]


def test_addresses_equal_only_to_a_kind_collation_are_not_the_same_person(
    scratch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = scratch(
        "postgres",
        "CREATE COLLATION loose (provider = icu, locale = 'und-u-ks-level1', deterministic = false)",
        "CREATE TABLE person (id int PRIMARY KEY, email text COLLATE loose)",
        "INSERT INTO person VALUES (1, 'ross@example.com'), (2, 'roß@example.com'), "
        "(3, 'ÅSA@example.com')",
    )
    tables = "      person: {category: contact, identity: {email: email}, erase: delete}\n"
    store = _map(tmp_path, monkeypatch, url, tables).stores["x"]

    def found(email: str) -> set[int]:
        return {
            r["id"] for b in connector_for(store).find(Subject(email=email)) for r in b.records()
        }

    assert found("ross@example.com") == {1}
    assert found("ÅSA@example.com") == {3}  # as typed; Python's and SQL's folding differ on Å


def test_an_identity_that_is_a_key_or_retained_is_refused_and_never_certified(
    scratch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = scratch(
        "sqlite",
        "CREATE TABLE person (email text PRIMARY KEY, name text)",
        "CREATE TABLE member (id int PRIMARY KEY, email text, backup_email text, name text)",
        "INSERT INTO person VALUES ('alice@example.com', 'Alice')",
        "INSERT INTO member VALUES (1, 'alice@example.com', 'alice@example.com', 'Alice')",
    )
    tables = """      person:
        category: contact
        identity: {email: email}
        erase: {action: anonymise, strategy: keyed_hash}
      member:
        category: contact
        identity: {email: email, backup_email: email}
        erase: {action: anonymise, strategy: keyed_hash}
        fields:
          backup_email: {erase: {action: retain, legal_basis: x, period: x}}
"""
    problems = _problems(tmp_path, monkeypatch, url, tables)
    assert any("person.identity: email identifies the person but stays" in p for p in problems)
    assert any("member.fields.backup_email: backup_email identifies" in p for p in problems)
    connector = connector_for(_map(tmp_path, monkeypatch, url, tables).stores["x"])
    connector.erase(ALICE)
    left = connector.leftovers(ALICE)
    assert left["person"]["left"] == 1  # still found by its key: never certified clean
    assert left["member"]["left"] == 1


def test_a_table_found_both_by_identity_and_through_another_root_is_refused(
    scratch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = scratch(
        "sqlite",
        "CREATE TABLE account (id int PRIMARY KEY, email text)",
        "CREATE TABLE profile (id int PRIMARY KEY, account_id int NOT NULL REFERENCES account(id),"
        " email text)",
    )
    tables = """      account: {category: contact, identity: {email: email}, erase: delete}
      profile: {category: contact, identity: {email: email}, erase: delete}
"""
    (problem,) = _problems(tmp_path, monkeypatch, url, tables)
    assert "profile is found by its identity, and also links to account" in problem
    assert "owner: {via: account_id}" in problem


def test_retention_counted_from_dates_written_as_text_keeps_what_it_cannot_read(
    scratch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = scratch(
        "sqlite",
        "CREATE TABLE account (id int PRIMARY KEY, email text)",
        "CREATE TABLE invoice (id int PRIMARY KEY, account_id int REFERENCES account(id), "
        "issued text)",
        "INSERT INTO account VALUES (1, 'alice@example.com')",
        "INSERT INTO invoice VALUES (1, 1, '01/02/2024'), (2, 1, '03/03/2030'), (3, 1, '2010-05-01')",
    )
    tables = """      account: {category: contact, identity: {email: email}, erase: {action: anonymise, strategy: keyed_hash}}
      invoice: {category: financial, erase: {action: retain, legal_basis: Tax, period: 6 years, years: 6, from_field: issued}}
"""
    (problem,) = _problems(tmp_path, monkeypatch, url, tables)
    assert "issued is text, and 2 value(s) are not dates written YYYY-MM-DD" in problem
    connector = connector_for(_map(tmp_path, monkeypatch, url, tables).stores["x"])
    assert connector.erase(ALICE)["invoice"].expired == 1  # only the one it can read
    assert [r[0] for r in _rows(url, "invoice")] == [1, 2]


def test_many_rows_owned_backwards_fit_in_one_query(
    scratch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = scratch(
        "postgres",
        "CREATE TABLE device (id int PRIMARY KEY, label text)",
        "CREATE TABLE person (id int PRIMARY KEY, email text)",
        "CREATE TABLE event (id int PRIMARY KEY, person_id int NOT NULL REFERENCES person(id), "
        "device_id int REFERENCES device(id))",
        "CREATE INDEX ON event (device_id)",
        "INSERT INTO device SELECT g, 'd' FROM generate_series(1, 70000) g",
        "INSERT INTO person VALUES (1, 'alice@example.com')",
        "INSERT INTO event SELECT g, 1, g FROM generate_series(1, 70000) g",
    )
    tables = """      person: {category: contact, identity: {email: email}, erase: {action: anonymise, strategy: keyed_hash}}
      event: {category: contact, erase: delete}
      device: {category: contact, owner: {referenced_by: event.device_id}, erase: delete}
"""
    connector = connector_for(_map(tmp_path, monkeypatch, url, tables).stores["x"])
    assert connector.erase(ALICE)["device"].deleted == 70000


@pytest.mark.parametrize(
    ("schema", "tables", "expected"),
    [
        (
            ("CREATE TABLE person (email text, name text)",),
            "      person: {category: contact, identity: {email: email}, erase: {action: anonymise, strategy: keyed_hash}}\n",
            "person has no primary key, so its rows cannot be anonymised one by one",
        ),
        (
            (
                "CREATE TABLE person (id int PRIMARY KEY, email text UNIQUE)",
                "INSERT INTO person VALUES (1, 'alice@example.com'), (2, 'Alice@example.com')",
            ),
            "      person: {category: contact, identity: {email: email}, erase: {action: anonymise, strategy: keyed_hash}}\n",
            "1 value(s) of this UNIQUE column differ only by case",
        ),
        (
            (
                "CREATE TABLE person (id int PRIMARY KEY, email text)",
                "CREATE VIEW people AS SELECT * FROM person",
            ),
            "      people: {category: contact, identity: {email: email}, erase: delete}\n",
            "'people' is a view",
        ),
    ],
    ids=["anonymise-without-a-key", "keyed-hash-case-twins", "a-view"],
)
def test_maps_that_would_fail_after_approval_are_refused_before(
    scratch: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    schema: tuple[str, ...],
    tables: str,
    expected: str,
) -> None:
    url = scratch("sqlite", *schema)
    problems = _problems(tmp_path, monkeypatch, url, tables)
    assert any(expected in p for p in problems), problems
