"""Outsiders' findings on the record page: it never withholds more (or other) than staff chose,
bad input is a 400 (never a 500), a reason never leaks what it withholds, and the page reads
values as the person will."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from exports_app import passages, suggestions
from exports_app.content import record_key
from exports_app.models import Redaction
from requests_app.gathering import gather
from requests_app.models import DataSubjectRequest
from requests_app.templatetags.staff_words import pick_value

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(demo_map: Any, verified: Any) -> DataSubjectRequest:
    return verified(name="Bob Baker", email="bob@example.com")


def _ticket(dsr: DataSubjectRequest) -> dict[str, Any]:
    step = dsr.gather_steps.get(store="support")
    return next(r for t, r in gather.gathered_records(step) if "Jane Doe" in str(r))


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(dsr: DataSubjectRequest, tail: str = "redact/") -> str:
    return f"/staff/requests/{dsr.reference}/data/support/{tail}"


# --- 1. nothing ticked withholds nothing ---------------------------------------------------


def test_withholding_the_ticked_with_nothing_ticked_withholds_nothing(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    # given the suggestions form, sent with no box ticked (a browser sends no "suggestion")
    form = {
        "table": "tickets",
        "page": 1,
        "record_key": record_key(_ticket(bob)),
        "reason": "third_party",
    }
    # when it is sent
    response = _client(reviewer).post(_url(bob), form)
    # then nothing is withheld, and the page says so at its top (no jump down to the record)
    assert not Redaction.objects.exists()
    assert response.status_code == 400
    assert "Location" not in response
    html = response.content.decode()
    assert "Tick at least one suggestion" in html.split('class="record')[0]


@pytest.mark.parametrize(
    "target",
    [
        {},
        {"what": ""},
        {"field": ""},
        {"what": "", "field": "", "path": ""},
    ],
)
def test_a_request_that_names_no_target_withholds_nothing(
    bob: DataSubjectRequest, reviewer: Any, target: dict[str, str]
) -> None:
    form = {"table": "tickets", "record_key": record_key(_ticket(bob)), "reason": "third_party"}
    _client(reviewer).post(_url(bob), {**form, **target})
    assert not Redaction.objects.exists()


def test_the_whole_record_is_withheld_only_when_named(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    form = {"table": "tickets", "record_key": record_key(_ticket(bob)), "reason": "third_party"}
    _client(reviewer).post(_url(bob), {**form, "what": "record"})
    (made,) = Redaction.objects.all()
    assert made.field == ""


# --- 2. typed words never widen to a field or the record -----------------------------------


def test_the_what_select_has_no_default_and_is_required(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    html = _client(reviewer).get(_url(bob, "?table=tickets")).content.decode()
    select = re.search(r"<select name=\"what\"[^>]*>(.*?)</select>", html, re.S)
    assert select is not None
    assert "required" in select.group(0).split(">")[0]
    first = select.group(1).split("</option>")[0]
    assert 'value=""' in first
    assert "Choose what to withhold" in first
    assert "selected" not in select.group(1)


@pytest.mark.parametrize("what", ["record", "field:messages"])
def test_typed_words_with_the_whole_record_or_a_field_are_refused(
    bob: DataSubjectRequest, reviewer: Any, what: str
) -> None:
    form = {
        "table": "tickets",
        "record_key": record_key(_ticket(bob)),
        "what": what,
        "passage": "Jane Doe",
        "reason": "third_party",
    }
    page = _client(reviewer).post(_url(bob), form, follow=True).content.decode()
    assert not Redaction.objects.exists()
    assert "words" in page
    assert "Words in" in page


# --- 3. bad input is a 400, never a 500 ----------------------------------------------------


def _jane_pick(dsr: DataSubjectRequest) -> list[Any]:
    ticket = _ticket(dsr)
    (jane,) = [
        s for s in suggestions.for_record(dsr, "support", "tickets", ticket) if s.text == "Jane Doe"
    ]
    return json.loads(pick_value(jane))


@pytest.mark.parametrize(
    "what",
    ["words:5", "words:null", 'words:["messages"]', 'words:{"a": 1}', "words:[1, 2, 3]"],
)
def test_a_malformed_what_is_a_400(bob: DataSubjectRequest, reviewer: Any, what: str) -> None:
    form = {
        "table": "tickets",
        "record_key": record_key(_ticket(bob)),
        "what": what,
        "passage": "Jane Doe",
        "reason": "third_party",
    }
    response = _client(reviewer).post(_url(bob), form)
    assert response.status_code == 400
    assert not Redaction.objects.exists()


@pytest.mark.parametrize(
    "pick",
    [
        '["messages","/0/body",1e20,1e21,"x"]',
        '["messages","/0/body",Infinity,1e400,"x"]',
        '["messages","/0/body",NaN,3,"x"]',
        '["messages","/0/body",100000000000000000000,100000000000000000001,"x"]',
        json.dumps(["m" * 5000, "/0/body", 0, 3, "x"]),
        json.dumps(["messages", "/" * 5000, 0, 3, "x"]),
        json.dumps(["messages", "/0/body", 0, 3, "x" * 50000]),
        '"just a string"',
    ],
)
@pytest.mark.parametrize("tail", ["redact/", "suggestions/dismiss/"])
def test_a_malformed_pick_is_a_400(
    bob: DataSubjectRequest, reviewer: Any, pick: str, tail: str
) -> None:
    form = {
        "table": "tickets",
        "record_key": record_key(_ticket(bob)),
        "suggestion": [pick],
        "reason": "third_party",
    }
    response = _client(reviewer).post(_url(bob, tail), form)
    assert response.status_code == 400
    assert not Redaction.objects.exists()


@pytest.mark.parametrize(
    "bounds", [{"start": 10**9 + 1, "end": 10**9 + 5}, {"start": 0, "end": 10**20}]
)
def test_offsets_beyond_what_is_stored_are_a_400(
    bob: DataSubjectRequest, reviewer: Any, bounds: dict[str, int]
) -> None:
    ticket = _ticket(bob)
    form = {
        "table": "tickets",
        "record_key": record_key(ticket),
        "what": json_what("messages", "/0/body"),
        "passage": "Jane Doe",
        "reason": "third_party",
        **bounds,
    }
    response = _client(reviewer).post(_url(bob), form)
    assert response.status_code == 400
    assert not Redaction.objects.exists()


@pytest.mark.parametrize(
    "bounds", [{"start": 0, "end": 10**20}, {"start": 10**10, "end": 10**10 + 1}]
)
def test_the_api_bounds_offsets_by_what_is_stored(
    bob: DataSubjectRequest, reviewer_api: Any, bounds: dict[str, int]
) -> None:
    response = reviewer_api.post(
        f"/api/v1/requests/{bob.reference}/redactions/",
        {
            "store": "support",
            "table": "tickets",
            "record_key": record_key(_ticket(bob)),
            "field": "messages",
            "path": "/0/body",
            "grounds": "third_party",
            **bounds,
        },
        format="json",
    )
    assert response.status_code == 400
    assert not Redaction.objects.exists()


def json_what(field: str, path: str) -> str:
    return "words:" + json.dumps([field, path])


def test_a_good_pick_still_withholds(bob: DataSubjectRequest, reviewer: Any) -> None:
    form = {
        "table": "tickets",
        "record_key": record_key(_ticket(bob)),
        "suggestion": [json.dumps(_jane_pick(bob))],
        "reason": "third_party",
    }
    response = _client(reviewer).post(_url(bob), form)
    assert response.status_code == 302
    assert Redaction.objects.count() == 1


# --- 4. a reason never leaks what it withholds ---------------------------------------------


@pytest.mark.parametrize(
    "reason",
    [
        "This is the number 07700 900001 of Jane Doe (jane.doe@example.org)",
        "Names jane.doe@example.org",
        "Her phone is 07700 900001",
        "Card 4111 1111 1111 1111",
        "It is Jane Doe's",  # the words withheld
    ],
)
def test_a_reason_of_staffs_own_that_leaks_is_refused(
    bob: DataSubjectRequest, reviewer: Any, reason: str
) -> None:
    ticket = _ticket(bob)
    form = {
        "table": "tickets",
        "record_key": record_key(ticket),
        "what": json_what("messages", "/0/body"),
        "passage": "Jane Doe",
        "reason": "other",
        "other_reason": reason,
    }
    response = _client(reviewer).post(_url(bob), form)
    assert response.status_code == 400
    assert "reason" in response.content.decode().lower()
    assert not Redaction.objects.exists()


def test_a_reason_naming_a_withheld_fields_value_is_refused(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    ticket = _ticket(bob)
    subject = str(ticket["subject"])
    form = {
        "table": "tickets",
        "record_key": record_key(ticket),
        "what": "field:subject",
        "reason": "other",
        "other_reason": f"The subject {subject} names someone",
    }
    response = _client(reviewer).post(_url(bob), form)
    assert response.status_code == 400
    assert not Redaction.objects.exists()


def test_a_leaking_reason_is_refused_for_ticked_suggestions_too(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    form = {
        "table": "tickets",
        "record_key": record_key(_ticket(bob)),
        "suggestion": [json.dumps(_jane_pick(bob))],
        "reason": "other",
        "other_reason": "Jane Doe is a colleague",
    }
    response = _client(reviewer).post(_url(bob), form)
    assert response.status_code == 400
    assert not Redaction.objects.exists()


def test_the_api_refuses_a_leaking_reason_naming_the_field(
    bob: DataSubjectRequest, reviewer_api: Any
) -> None:
    response = reviewer_api.post(
        f"/api/v1/requests/{bob.reference}/redactions/",
        {
            "store": "support",
            "table": "tickets",
            "record_key": record_key(_ticket(bob)),
            "field": "messages",
            "path": "/0/body",
            "passage": "Jane Doe",
            "reason": "Jane Doe (jane.doe@example.org) has not agreed",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "reason" in response.json()
    assert not Redaction.objects.exists()


def test_a_plain_reason_of_staffs_own_is_accepted(bob: DataSubjectRequest, reviewer: Any) -> None:
    ticket = _ticket(bob)
    form = {
        "table": "tickets",
        "record_key": record_key(ticket),
        "what": json_what("messages", "/0/body"),
        "passage": "Jane Doe",
        "reason": "other",
        "other_reason": "It names a colleague of yours who has not agreed to its release",
    }
    _client(reviewer).post(_url(bob), form)
    (made,) = Redaction.objects.all()
    body = passages.leaf_text(ticket, "messages", "/0/body")
    assert body
    assert body[made.span_start : made.span_end] == "Jane Doe"


# --- 5. values as the person will read them ------------------------------------------------


@pytest.mark.parametrize("store", ["crm", "support", "app", "consent"])
def test_the_viewer_reads_formatted_values_as_the_pdf_does(
    bob: DataSubjectRequest, reviewer: Any, store: str
) -> None:
    from django.utils import translation

    from exports_app.renderers import reading
    from requests_app import datamap

    step = bob.gather_steps.filter(store=store).first()
    if step is None:
        pytest.skip(f"no {store} store in the demo map")
    spec = datamap.current().stores[store]
    table, record = next(iter(gather.gathered_records(step)))
    html = (
        _client(reviewer)
        .get(_url(bob, "").replace("/support/", f"/{store}/") + f"?table={table}")
        .content.decode()
    )
    read = 0
    for name, value in record.items():
        field = spec.tables[table].field_spec(name)
        with translation.override(bob.language):
            words = reading.readable_value(value, field)
        if words is None or words == str(value):
            continue
        read += 1
        assert re.search(rf"<dd>\s*{re.escape(words)}\s*</dd>", html), (name, value, words)
        if isinstance(value, str):
            assert not re.search(rf"<dd>\s*{re.escape(value)}\s*</dd>", html), (name, value)
    assert read, "no formatted value in the first record"


def test_a_boolean_reads_yes_or_no_even_without_a_format(reviewer: Any) -> None:
    from requests_app.dashboard import records

    view = records.record_view(1, "k" * 64, {"flag": True, "n": 0, "when": None}, [], [])
    values = {name: node.text for name, node in view.fields}
    assert values == {"flag": "Yes", "n": "0", "when": ""}


def test_a_place_in_a_field_reads_as_words(bob: DataSubjectRequest, reviewer: Any) -> None:
    from requests_app.templatetags.staff_words import leaf_words

    html = _client(reviewer).get(_url(bob, "?table=tickets")).content.decode()
    assert "Words in Message 1, body" in html
    assert "\u203a" not in html
    assert leaf_words("Messages", "/0/body") == "Message 1, body"
    assert leaf_words("Notes", "/2") == "Note 3"
    assert leaf_words("Address", "/lines/0") == "Address (lines, 1)"
    assert leaf_words("Address", "") == "Address"


# --- 6. the withheld list says which record, and Undo is beside it -------------------------


def test_the_withheld_list_names_the_record_and_undo_is_beside_it(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    from exports_app import services

    ticket = _ticket(bob)
    services.redaction_add(
        dsr=bob,
        actor=reviewer,
        store="support",
        table="tickets",
        record_key=record_key(ticket),
        field="",
        reason="It is about another person",
    )
    (made,) = Redaction.objects.all()
    html = _client(reviewer).get(_url(bob, "?table=tickets")).content.decode()
    listed = html.split('id="withheld-h"')[1]
    row = listed.split("<tr")[2].split("</tr>")[0]
    assert f"Ticket number {ticket['id']}" in row
    assert "the whole record" in row
    # the record itself carries the undo for what withholds it
    article = html.split(f'id="r-{made.record_key[:12]}"')[1].split("</article>")[0]
    assert f"/redactions/{made.pk}/undo/" in article
    # and undoing from there comes back to the record
    response = _client(reviewer).post(
        f"/staff/requests/{bob.reference}/data/support/redactions/{made.pk}/undo/",
        {"table": "tickets", "page": 1, "record_key": made.record_key},
    )
    assert response["Location"].endswith(f"#r-{made.record_key[:12]}")
    assert not Redaction.objects.in_force().exists()


def test_a_withheld_passage_has_its_undo_in_its_record(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    from exports_app import services

    ticket = _ticket(bob)
    services.redaction_add(
        dsr=bob,
        actor=reviewer,
        store="support",
        table="tickets",
        record_key=record_key(ticket),
        field="messages",
        path="/0/body",
        passage="Jane Doe",
        reason="It is about another person",
    )
    (made,) = Redaction.objects.all()
    html = _client(reviewer).get(_url(bob, "?table=tickets")).content.decode()
    article = html.split(f'id="r-{made.record_key[:12]}"')[1].split("</article>")[0]
    assert f"/redactions/{made.pk}/undo/" in article
    assert "Undo: put back “Jane Doe”" in article


def test_the_grounds_own_words_are_never_refused_as_a_leak() -> None:
    from exports_app import reasons
    from exports_app.models import GROUNDS_TOLD, Grounds

    told = GROUNDS_TOLD[Grounds.THIRD_PARTY]
    word = max(told.split(), key=len).strip(",.")  # a word of the grounds', withheld as words
    assert reasons.leak(told, [word]) is not None  # written by staff, it would repeat it
    assert reasons.leak(told, [word], Grounds.THIRD_PARTY) is None  # the grounds' own: never
