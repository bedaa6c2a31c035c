"""Suggestions of someone else's data that the requester cannot talk past, and that cover all of
the data they point at (issue 16, the outside attacker's second round).

Only what is proved to be the person's may keep a passage from being suggested: the verified
address and the values the stores found them by. A typed name or phone proves nothing. And
accepting every suggestion must leave none of the other person's characters behind, however
the text spells them (accents, invisible characters, any phone separator)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from exports_app import lookalikes, passages, suggestions
from requests_app.gathering import gather
from requests_app.models import DataSubjectRequest

pytestmark = pytest.mark.django_db

TICKETS = [
    {
        "email": "bob@example.com",
        "body": "My colleague Jane Doe (jane.doe@example.org) cannot log in either",
    },
    {"email": "bob@example.com", "body": "Jane Doe wrote to us from jane.doe@example.org"},
]


def _found(dsr: DataSubjectRequest, record: dict[str, Any]) -> set[tuple[str, str]]:
    return {(s.kind, s.text) for s in suggestions.for_record(dsr, "support", "tickets", record)}


# --- 1. The requester can silence the warnings -----------------------------------------------


@pytest.mark.parametrize("ticket", TICKETS)
@pytest.mark.parametrize("typed_name", ["jane.doe@example.org", "Jane Doe", "JANE DOE"])
def test_a_typed_name_silences_no_address_and_no_name_beside_or_spelt_by_one(
    verified: Any, typed_name: str, ticket: dict[str, Any]
) -> None:
    # given Bob files under a third party's address, or her name, as his own name
    bob = verified(name=typed_name, email="bob@example.com")
    # when his ticket names her
    found = _found(bob, ticket)
    # then she is suggested all the same, and Bob's address is not
    assert ("email", "jane.doe@example.org") in found
    assert ("name", "Jane Doe") in found
    assert not any("bob" in text for _, text in found)


def test_a_typed_phone_number_is_not_the_persons_own(verified: Any) -> None:
    bob = verified(name="Bob Baker", email="bob@example.com", phone="07700 900123")
    found = _found(bob, {"body": "Jane's mobile is 07700 900123, call her"})
    assert ("phone", "07700 900123") in found


def test_a_typed_name_does_not_silence_a_proved_requesters_name_anywhere_in_the_record(
    verified: Any,
) -> None:
    # Jane proved her address once; Bob types her name as his
    verified(name="Jane Doe", email="jane.doe@example.org")
    bob = verified(name="Jane Doe", email="bob@example.com")
    record = {"subject": "Jane Doe cannot log in", "messages": [{"body": "jane.doe@example.org"}]}
    found = suggestions.for_record(bob, "support", "tickets", record)
    assert ("subject", "name", "Jane Doe") in {(s.field, s.kind, s.text) for s in found}


def test_only_the_verified_address_and_the_stores_identity_values_are_own(
    demo_map: Any, verified: Any
) -> None:
    bob = verified(name="Bob Baker", email="bob@example.com", phone="07700 900111")
    # the store found this record by an address of his (its identity column)
    record = {"email": "Robert+crm@Example.com", "name": "Bob Baker", "phone": "07700 900003"}
    own = suggestions.own_identifiers(bob, "crm", "customers", record)
    assert own.addresses == {"bob@example.com", "robert@example.com"}  # one mailbox each
    # his record's own phone column is his (the store found the row by his address); the
    # number he typed on the form proves nothing
    assert own.numbers == {"07700900003"}
    # a number that a field only contains, in a table not found by his identity, is not his
    assert (
        suggestions.own_identifiers(bob, "support", "tickets", {"body": "07700 900003"}).numbers
        == set()
    )
    # the name Bob typed is not an address, a number or anything else of his
    assert not any("baker" in value.lower() for value in own.addresses | own.numbers)


def test_bobs_own_name_words_and_address_are_still_not_suggested(
    demo_map: Any, verified: Any
) -> None:
    bob = verified(name="Bob Baker", email="bob@example.com")
    step = bob.gather_steps.get(store="support")
    for _, record in gather.gathered_records(step):
        texts = {s.text.lower() for s in suggestions.for_record(bob, "support", "tickets", record)}
        assert not any("bob" in t or "baker" in t or "cannot" in t for t in texts)


# --- 2. Suggestions that cover only part of the data -----------------------------------------

# ⟦…⟧ marks the other person's data; everything else is Bob's and must stay.
OWN = lookalikes.Own(addresses=frozenset({"bob@example.com"}))
TEXTS = [
    "My colleague ⟦Émile Zola⟧ (⟦emile.zola@example.org⟧) cannot log in",
    "Please add ⟦jäne.doe@example.org⟧ to my account",
    "Write to ⟦jane\u200b.doe@example.org⟧ today",
    "Write to ⟦jane.doe\u2060@example.org⟧ or ⟦jane\u00ad.doe@example.org⟧",
    "Her number is ⟦07700.900.123⟧, not mine",
    "Her number is ⟦07700\u00a0900\u00a0123⟧ or ⟦07700\u2013900\u2013123⟧ or ⟦07700/900/123⟧",
    "Ring ⟦+44 (0)20 7946 0958⟧ or ⟦(020) 7946 0958⟧ or ⟦07700\u200b900123⟧",
    "Ring ⟦+44 (0)20 7946 0956⟧ (its digits pass a card's check sum)",
    "Fullwidth ⟦\uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff11\uff12\uff13⟧ too",
    "Please ask ⟦Jane Doe⟧ ⟦jdoe@example.org⟧ about it",
    "Please ask ⟦Jane Doe⟧, ⟦jdoe@example.org⟧ about it",
    "cc ⟦jdoe@example.org⟧ (⟦Jane Doe⟧) about it",
    "from ⟦Zoë O\u2019Brien-Smith⟧ <⟦zoe.obrien@example.org⟧> today",
    "from ⟦JOSÉ GARCÍA⟧ ⟦jose.garcia@example.org⟧; later ⟦José García⟧ wrote again",
    "from ⟦Ja\u200bne Doe⟧ (⟦jane.doe@example.org⟧) and later ⟦jane doe⟧",
    "from ⟦Jane\nDoe⟧ via ⟦jane.doe@example.org⟧",
    "from ⟦Jane\u00a0Doe⟧ via ⟦jane.doe+work@example.org⟧",
    "from ⟦Jose\u0301 Garci\u0301a⟧ via ⟦jose.garcia@example.org⟧",
    "from ⟦Rene\u0301e Aime\u0301⟧ via ⟦renee.aime@example.org⟧",
    "the manager ⟦Jan van der Berg⟧ <⟦jan.berg@example.org⟧> agreed",
    "write to ⟦jane@exämple.org⟧",
    "write to ⟦jane.doe\uff20example.org⟧ or ⟦\uff4a\uff41\uff4e\uff45.doe@example\uff0eorg⟧",
    "from ⟦Иван Петров⟧ (⟦ivan.petrov@example.ru⟧) and ⟦山田太郎⟧ <⟦yamada@example.jp⟧>",
    "card ⟦4111.1111.1111.1111⟧ expired",
    "bob@example.com forwarded this from ⟦jane.doe@example.org⟧",
]


def _marked(row: str) -> tuple[str, list[passages.Span]]:
    text, spans, at = "", [], 0
    for m in re.finditer(r"⟦(.*?)⟧", row, re.S):
        text += row[at : m.start()]
        spans.append((len(text), len(text) + len(m.group(1))))
        text += m.group(1)
        at = m.end()
    return text + row[at:], spans


@pytest.mark.parametrize("row", TEXTS)
def test_accepting_every_suggestion_leaves_none_of_the_other_persons_characters(row: str) -> None:
    text, theirs = _marked(row)
    found = lookalikes.detect(text, OWN)
    for f in found:
        assert text[f.start : f.end] == f.text  # the words are the text's own
    # the text as accepting every suggestion leaves it is the text with exactly their data cut:
    # nothing of theirs remains, and nothing of Bob's goes
    assert passages.cut(text, [(f.start, f.end) for f in found]) == passages.cut(text, theirs)


def test_a_name_spelt_by_an_address_elsewhere_in_the_record_is_suggested_there(
    verified: Any,
) -> None:
    bob = verified(name="Bob Baker", email="bob@example.com")
    record = {
        "subject": "Émile Zola cannot log in",
        "messages": [{"body": "emile.zola@example.org"}],
    }
    found = suggestions.for_record(bob, "support", "tickets", record)
    assert ("subject", "Émile Zola") in {(s.field, s.text) for s in found}
