"""Finding a request (issue 16, point 3): by any part of its reference, the name, any part of an
email address, or the phone number (spaces and dashes aside), whatever the case; on SQLite and
on PostgreSQL (where trigram indexes serve it)."""

from __future__ import annotations

from typing import Any

import pytest

from requests_app import selectors
from requests_app.models import DataSubjectRequest

pytestmark = pytest.mark.django_db


def found(term: str) -> set[str]:
    filters = selectors.RequestFilters(search=term)
    return {d.requester_name for d in selectors.request_list(filters=filters)}


@pytest.fixture
def people(submit: Any) -> dict[str, DataSubjectRequest]:
    return {
        "carol": submit(name="Carol Clark", email="carol.clark@example.com", phone="07700 900003"),
        "bob": submit(name="Bob Baker", email="bob@example.org", phone="+44 7700-900002"),
        "agent": submit(
            name="Pat Person",
            email="pat@example.net",
            agent_name="Sol Icitor",
            agent_email="sol@lawfirm.example",
            agent_relationship="solicitor",
        ),
    }


def test_by_any_part_of_a_name_or_email_whatever_the_case(people: Any) -> None:
    assert found("carol") == {"Carol Clark"}
    assert found("CLARK") == {"Carol Clark"}
    assert found("example.com") == {"Carol Clark"}
    assert found("example") == {"Carol Clark", "Bob Baker", "Pat Person"}
    assert found("lawfirm") == {"Pat Person"}  # the agent's address
    assert found("icitor") == {"Pat Person"}  # the agent's name
    assert found("nobody") == set()


def test_by_any_part_of_the_reference(people: Any) -> None:
    carol = people["carol"]
    assert found(carol.reference) == {"Carol Clark"}
    assert found(carol.reference[-6:]) == {"Carol Clark"}  # "000001"
    assert found(carol.reference.lower()) == {"Carol Clark"}


def test_by_phone_whatever_its_spaces(people: Any) -> None:
    assert found("07700900003") == {"Carol Clark"}
    assert found("7700 900 002") == {"Bob Baker"}
    assert found("900002") == {"Bob Baker"}


def test_a_search_of_wildcards_finds_nothing_more(people: Any) -> None:
    assert found("%") == set()
    assert found("_") == set()
    assert found("   ") == {"Carol Clark", "Bob Baker", "Pat Person"}  # empty: no filter


def test_on_postgresql_a_trigram_index_serves_the_search(people: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes are PostgreSQL's")
    filters = selectors.RequestFilters(search="clark")
    sql, params = selectors.request_list(filters=filters).query.sql_with_params()
    with connection.cursor() as cursor:
        # a tiny table: make the planner show which index it can use for the filter
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "dsr_search_requester_name_trgm" in plan, plan
