"""Issue 16, point 1: withholding a passage inside a record's text, with suggestions of other
people's data, undo, and the passage's mark in every released format.

Bob's first support ticket says "My colleague Jane Doe (jane.doe@example.org) cannot log in
either; please also check account 3." Jane is someone else: her name and address go, Bob's
words stay."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import jsonschema
import pytest
from django.test import Client

from exports_app import lookalikes, passages, services, suggestions
from exports_app.content import REDACTED, record_key
from exports_app.models import Export, ExportStatus, Redaction
from requests_app.core.errors import DomainError
from requests_app.gathering import gather
from requests_app.models import DataSubjectRequest, RequestEvent
from tests.exports_app.conftest import export_bytes, open_zip
from tests.exports_app.test_exports import SCHEMA, _pdf_text

pytestmark = pytest.mark.django_db
REASON = "It is about another person, who has not agreed to its release"


def _ticket(dsr: DataSubjectRequest) -> dict[str, Any]:
    step = dsr.gather_steps.get(store="support")
    return next(r for t, r in gather.gathered_records(step) if "Jane Doe" in str(r))


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def bob(demo_map: Any, verified: Any) -> DataSubjectRequest:
    return verified(name="Bob Baker", email="bob@example.com")


def test_a_record_reads_as_leaves_of_text_with_their_paths() -> None:
    record = {
        "id": 7,
        "subject": "Help",
        "messages": [{"from": "Bob", "body": "Hi Jane"}, {"from": "Sam", "body": "Done"}],
    }
    leaves = {(leaf.field, leaf.path): leaf.text for leaf in passages.leaves(record)}
    assert leaves[("messages", "/0/body")] == "Hi Jane"
    assert leaves[("messages", "/1/from")] == "Sam"
    assert leaves[("subject", "")] == "Help"
    assert ("id", "") not in leaves  # numbers are not passages of text


def test_spans_are_cut_from_the_text_and_nothing_else_changes() -> None:
    record = {"id": 1, "messages": [{"from": "Bob", "body": "Ask Jane Doe or jane@x.org now"}]}
    out = passages.apply_spans(record, {("messages", "/0/body"): [(4, 12), (16, 26)]})
    assert out["messages"][0]["body"] == f"Ask {REDACTED} or {REDACTED} now"
    assert out["messages"][0]["from"] == "Bob"
    assert record["messages"][0]["body"] == "Ask Jane Doe or jane@x.org now"  # not changed in place
    # overlapping spans withhold their union, once
    assert passages.cut("abcdefgh", [(1, 4), (3, 6)]) == f"a{REDACTED}gh"


def test_suggestions_name_the_other_person_and_never_bob(bob: DataSubjectRequest) -> None:
    ticket = _ticket(bob)
    found = suggestions.for_record(bob, "support", "tickets", ticket)
    texts = {(s.kind, s.text) for s in found}
    assert ("email", "jane.doe@example.org") in texts
    assert ("name", "Jane Doe") in texts
    assert not any("bob" in s.text.lower() or "Bob Baker" in s.text for s in found)
    body = passages.leaf_text(ticket, "messages", "/0/body")
    for s in found:
        assert body[s.start : s.end] == s.text  # offsets point at the passage


def test_suggestions_find_phones_and_card_numbers_but_not_the_persons_own() -> None:
    text = (
        "Call Ann on 07700 900123 or +44 20 7946 0958; card 4111 1111 1111 1111; "
        "order 1234567890123; my number is 07700 900999"
    )
    found = lookalikes.detect(text, lookalikes.Own(numbers=frozenset({"07700900999"})))
    kinds = {(s.kind, s.text) for s in found}
    assert ("phone", "07700 900123") in kinds
    assert ("phone", "+44 20 7946 0958") in kinds
    assert ("card", "4111 1111 1111 1111") in kinds
    assert not any("1234567890123" in s.text for s in found)  # fails the Luhn check
    assert not any("900999" in s.text for s in found)  # the person's own number


def _withhold_jane(bob: DataSubjectRequest, reviewer: Any) -> list[Redaction]:
    ticket = _ticket(bob)
    wanted = [
        s
        for s in suggestions.for_record(bob, "support", "tickets", ticket)
        if s.text in ("Jane Doe", "jane.doe@example.org")
    ]
    assert len(wanted) == 2
    return [
        made
        for s in wanted
        for made in services.redaction_add(
            dsr=bob,
            actor=reviewer,
            store="support",
            table="tickets",
            record_key=record_key(ticket),
            field=s.field,
            path=s.path,
            start=s.start,
            end=s.end,
            reason=REASON,
        )
    ]


def _released_text(export: Export) -> str:
    raw = export_bytes(export)
    if export.format == "csv":
        archive = open_zip(raw)
        return archive.read("support/tickets.csv").decode()
    if export.format == "pdf":
        return _pdf_text(raw)
    return raw.decode()


def test_a_withheld_passage_leaves_every_format_and_bobs_words_stay(
    bob: DataSubjectRequest, reviewer: Any, approve: Any
) -> None:
    _withhold_jane(bob, reviewer)
    bob = approve(bob)
    exports = {e.format: e for e in bob.exports.all()}
    assert set(exports) == {"json", "csv", "pdf"}
    for export in exports.values():
        assert export.status == ExportStatus.READY, (export.format, export.error)
        text = _released_text(export)
        assert "Jane Doe" not in text, export.format
        assert "jane.doe@example.org" not in text, export.format
        assert "cannot log in either" in " ".join(text.split()), export.format
        assert REDACTED in text, export.format
    document = json.loads(export_bytes(exports["json"]))
    jsonschema.validate(document, SCHEMA)
    first = next(t for t in document["data"]["support"]["tickets"]["records"] if REDACTED in str(t))
    assert first["messages"][0]["body"].startswith(f"My colleague {REDACTED} ({REDACTED}) cannot")
    assert first["messages"][1]["body"] == "Thanks, we have reset the password for both of you."
    listed = [r for r in document["redactions"] if r.get("passage")]
    assert listed
    assert all(r["reason"] == REASON and r["field"] == "messages" for r in listed)
    rows = list(csv.DictReader(io.StringIO(_released_text(exports["csv"]))))
    assert any("cannot log in either" in r["messages"] and REDACTED in r["messages"] for r in rows)


def test_undo_is_a_new_event_and_the_passage_returns(
    bob: DataSubjectRequest, reviewer: Any, approve: Any
) -> None:
    jane, _email = _withhold_jane(bob, reviewer)
    before = Redaction.objects.in_force().filter(request=bob).count()
    services.redaction_undo(dsr=bob, actor=reviewer, redaction_id=jane.pk)
    jane.refresh_from_db()
    assert jane.withdrawn_at is not None
    assert jane.withdrawn_by == "staff:rita"
    assert Redaction.objects.filter(pk=jane.pk).exists()  # kept: undo is not a deletion
    assert Redaction.objects.in_force().filter(request=bob).count() == before - 1
    assert RequestEvent.objects.filter(request=bob, action="unredact").count() == 1
    with pytest.raises(DomainError):
        services.redaction_undo(dsr=bob, actor=reviewer, redaction_id=jane.pk)  # once
    bob = approve(bob)
    text = _released_text(bob.exports.get(format="json"))
    assert "Jane Doe" in text
    assert "jane.doe@example.org" not in text


def test_a_passage_must_be_where_it_is_said_to_be(bob: DataSubjectRequest, reviewer: Any) -> None:
    ticket = _ticket(bob)
    common = {
        "dsr": bob,
        "actor": reviewer,
        "store": "support",
        "table": "tickets",
        "record_key": record_key(ticket),
        "field": "messages",
        "reason": REASON,
    }
    with pytest.raises(DomainError):
        services.redaction_add(**common, path="/9/body", start=0, end=3)  # no such message
    with pytest.raises(DomainError):
        services.redaction_add(**common, path="/0/body", start=5, end=5000)  # past its end
    with pytest.raises(DomainError):
        services.redaction_add(**common, path="/0/body", start=9, end=3)
    assert not Redaction.objects.exists()


def test_the_record_viewer_reads_the_thread_and_offers_suggestions(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    page = (
        _client(reviewer)
        .get(f"/staff/requests/{bob.reference}/data/support/?table=tickets")
        .content.decode()
    )
    assert "{&#x27;from&#x27;" not in page
    assert "{'from'" not in page
    assert "Sam (Helpdesk)" in page
    assert "we have reset the password" in page
    assert "Suggested: another person" in page or "Suggested" in page
    assert "selected" not in page.split('name="reason"')[1].split("</select>")[0]  # no default
    assert "jane.doe@example.org" in page  # staff see what they are deciding on


def test_accepting_a_suggestion_from_the_page_needs_a_chosen_reason(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    ticket = _ticket(bob)
    body = passages.leaf_text(ticket, "messages", "/0/body")
    start = body.index("Jane Doe")
    url = f"/staff/requests/{bob.reference}/data/support/redact/"
    form = {
        "table": "tickets",
        "record_key": record_key(ticket),
        "field": "messages",
        "path": "/0/body",
        "start": start,
        "end": start + len("Jane Doe"),
        "passage": "Jane Doe",
    }
    client = _client(reviewer)
    client.post(url, {**form, "reason": ""})
    assert not Redaction.objects.exists()
    client.post(url, {**form, "reason": "third_party"})
    (made,) = Redaction.objects.all()
    assert (made.path, made.span_start, made.span_end) == ("/0/body", start, start + 8)
    assert (made.grounds, made.reason) == ("third_party", REASON)  # the exemption, for the register
    page = client.get(f"/staff/requests/{bob.reference}/data/support/?table=tickets").content
    html = page.decode()
    assert "rita" in html.split('id="withheld-h"')[1]  # who withheld it
    assert REASON in html
    # what: the words themselves, for staff, in the list and in the undo button's name
    assert '<mark class="withheld">Jane Doe</mark>' in html.split('id="withheld-h"')[1]
    assert 'aria-label="Undo: put back “Jane Doe”"' in html


def test_a_typed_passage_without_offsets_withholds_each_place_it_appears(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    ticket = _ticket(bob)
    _client(reviewer).post(
        f"/staff/requests/{bob.reference}/data/support/redact/",
        {
            "table": "tickets",
            "record_key": record_key(ticket),
            "field": "messages",
            "path": "/0/body",
            "passage": "Jane Doe",
            "reason": "third_party",
        },
    )
    (made,) = Redaction.objects.all()
    body = passages.leaf_text(ticket, "messages", "/0/body")
    assert body[made.span_start : made.span_end] == "Jane Doe"


def test_a_dismissed_suggestion_is_not_offered_again(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    ticket = _ticket(bob)
    (jane,) = [
        s for s in suggestions.for_record(bob, "support", "tickets", ticket) if s.text == "Jane Doe"
    ]
    services.suggestions_dismiss(
        dsr=bob,
        actor=reviewer,
        store="support",
        table="tickets",
        record_key=record_key(ticket),
        picks=[services.Pick(jane.field, jane.path, jane.start, jane.end, jane.text)],
    )
    again = suggestions.for_record(bob, "support", "tickets", ticket)
    assert "Jane Doe" not in {s.text for s in again}
    assert "jane.doe@example.org" in {s.text for s in again}
    assert RequestEvent.objects.filter(request=bob, action="dismiss_suggestion").exists()


def test_a_name_someone_typed_on_a_request_of_their_own_is_never_suggested(
    bob: DataSubjectRequest, submit: Any
) -> None:
    """Attacker's finding (round 2): whoever proves an address named in Bob's record could type
    any name on their own request ("Bob Baker", "Sam") and have it suggested as someone else's
    in Bob's review, and reviewers learnt that the address's owner had filed a request. What
    the stores hold says who is who; our own requests table does not."""
    for name in ("Bob Baker", "Sam"):
        planted = submit(name=name, email="jane.doe@example.org")
        planted.email_verified_at = planted.received_at
        planted.save(update_fields=["email_verified_at"])
    record = {
        "email": "bob@example.com",
        "from": "Bob Baker",
        "body": "Sam from the helpdesk wrote to jane.doe@example.org for me",
    }
    found = {(s.kind, s.text) for s in suggestions.for_record(bob, "support", "tickets", record)}
    assert ("email", "jane.doe@example.org") in found  # the address is still someone else's
    assert not [text for kind, text in found if kind == "name"]


def test_the_api_withholds_a_passage_and_undoes_it(
    bob: DataSubjectRequest, reviewer_api: Any
) -> None:
    ticket = _ticket(bob)
    client = reviewer_api
    url = f"/api/v1/requests/{bob.reference}/redactions/"
    body = {
        "store": "support",
        "table": "tickets",
        "record_key": record_key(ticket),
        "field": "messages",
        "path": "/0/body",
        "passage": "jane.doe@example.org",
        "reason": REASON,
    }
    assert client.post(url, {**body, "path": "/7/body"}, format="json").status_code == 400
    response = client.post(url, body, format="json")
    assert response.status_code == 200, response.content
    (withheld,) = response.json()["redactions"]
    assert withheld["path"] == "/0/body"
    assert withheld["span_end"] > withheld["span_start"]
    undone = client.post(f"{url}{withheld['id']}/undo/", format="json")
    assert undone.status_code == 200
    assert undone.json()["redactions"][0]["withdrawn_by"] == "staff:rita"
    assert client.post(f"{url}{withheld['id']}/undo/", format="json").status_code in (400, 409)


def test_the_record_form_names_a_field_with_a_colon_exactly(reviewer: Any) -> None:
    from requests_app.dashboard.forms import RedactForm
    from requests_app.templatetags.staff_words import leaf_choice

    choice = leaf_choice(passages.Leaf("notes:internal", "/0/text", "Hi Jane"))
    form = RedactForm(
        {
            "table": "t",
            "record_key": "a" * 64,
            "what": choice,
            "passage": "Jane",
            "reason": "third_party",
        }
    )
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["field"], form.cleaned_data["path"]) == ("notes:internal", "/0/text")


def test_ticked_suggestions_are_withheld_together_or_left_in(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    from requests_app.templatetags.staff_words import pick_value

    ticket = _ticket(bob)
    found = suggestions.for_record(bob, "support", "tickets", ticket)
    jane = [pick_value(s) for s in found if "jane" in s.text.lower()]
    assert len(jane) == 2
    client = _client(reviewer)
    base = f"/staff/requests/{bob.reference}/data/support/"
    form = {"table": "tickets", "record_key": record_key(ticket), "suggestion": jane}
    client.post(f"{base}redact/", form)  # no reason: nothing
    assert not Redaction.objects.exists()
    tampered = {
        **form,
        "suggestion": [jane[0].replace("Jane Doe", "Jane Dot")],
        "reason": "third_party",
    }
    page = client.post(f"{base}redact/", tampered, follow=True).content.decode()
    assert not Redaction.objects.exists()  # the words must be the text's
    assert "The text has changed" in page
    client.post(f"{base}redact/", {**form, "reason": "third_party"})
    assert Redaction.objects.in_force().filter(request=bob).count() == 2
    others = [pick_value(s) for s in found if "jane" not in s.text.lower()]
    if others:  # (Bob's first ticket names only Jane)
        client.post(f"{base}suggestions/dismiss/", {**form, "suggestion": others})
    left = suggestions.for_record(bob, "support", "tickets", ticket)
    assert left == []


# --- The attacker's findings (issue 16, outsider review) -----------------------------------


def test_an_approver_who_puts_withheld_data_back_after_approval_cannot_release_it(
    bob: DataSubjectRequest, reviewer: Any, approver: Any, approve: Any
) -> None:
    from requests_app.core.errors import NotPermitted
    from requests_app.models import Status
    from requests_app.review import decisions
    from tests.factories import UserFactory

    jane, _ = _withhold_jane(bob, reviewer)
    bob = approve(bob)
    assert bob.status == Status.FULFILLING
    services.redaction_undo(dsr=bob, actor=approver, redaction_id=jane.pk)
    bob.refresh_from_db()
    assert bob.status == Status.IN_REVIEW  # what was approved changed: approve it again
    with pytest.raises(DomainError):
        decisions.request_release(dsr=bob, actor=approver)
    decisions.request_submit(dsr=bob, actor=reviewer)
    with pytest.raises(NotPermitted, match="Two-person rule"):
        decisions.request_approve(dsr=bob, actor=approver)  # putting it back prepared it
    other = UserFactory(username="otto", roles=["reviewer", "approver"])
    decisions.request_approve(dsr=bob, actor=other)


def test_release_refuses_files_whose_withholding_is_not_what_was_approved(
    bob: DataSubjectRequest, reviewer: Any, approver: Any, approve: Any
) -> None:
    from requests_app.models import Status
    from requests_app.review import decisions

    jane, _ = _withhold_jane(bob, reviewer)
    bob = approve(bob)
    # changed by a path that moved nothing (a script, a race): the files match it, the
    # approval does not
    Redaction.objects.filter(pk=jane.pk).update(withdrawn_at=jane.created_at, withdrawn_by="x")
    bob.exports.update(status=ExportStatus.PENDING)
    for export in bob.exports.all():
        services.export_build(export_id=export.pk, task_id="t")
    assert bob.status == Status.FULFILLING
    with pytest.raises(DomainError, match="approved"):
        decisions.request_release(dsr=bob, actor=approver)


@pytest.mark.parametrize(
    "path", ["/00/body", "/\u0660/body", "/\uff10/body", "/\u00b2/body", "/+0/body"]
)
def test_only_the_one_spelling_of_a_path_names_a_text(
    bob: DataSubjectRequest, reviewer_api: Any, path: str
) -> None:
    ticket = _ticket(bob)
    assert passages.leaf_text(ticket, "messages", path) is None
    response = reviewer_api.post(
        f"/api/v1/requests/{bob.reference}/redactions/",
        {
            "store": "support",
            "table": "tickets",
            "record_key": record_key(ticket),
            "field": "messages",
            "path": path,
            "start": 0,
            "end": 2,
            "reason": REASON,
        },
        format="json",
    )
    assert response.status_code == 400, response.content[:300]
    assert not Redaction.objects.exists()


def test_withholding_the_whole_record_after_words_in_it_still_builds(
    bob: DataSubjectRequest, reviewer: Any, approve: Any
) -> None:
    _withhold_jane(bob, reviewer)
    ticket = _ticket(bob)
    services.redaction_add(
        dsr=bob,
        actor=reviewer,
        store="support",
        table="tickets",
        record_key=record_key(ticket),
        field="",
        reason=REASON,
    )
    bob = approve(bob)
    assert {e.status for e in bob.exports.all()} == {ExportStatus.READY}
    assert "Jane Doe" not in _released_text(bob.exports.get(format="json"))


def test_the_viewer_marks_the_union_of_overlapping_withheld_words() -> None:
    from requests_app.dashboard.records import _pieces

    text = "My colleague Jane Doe (jane.doe@example.org) cannot"
    first = Redaction(span_start=13, span_end=18, reason="a", created_by="x")
    second = Redaction(span_start=15, span_end=44, reason="b", created_by="y")
    pieces = _pieces(text, [first, second], [])
    shown = "".join(p.text for p in pieces if p.withheld)
    assert shown == text[13:44]
    assert "".join(p.text for p in pieces) == text


def test_typed_words_are_withheld_as_whole_words_only(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    ticket = _ticket(bob)
    with pytest.raises(DomainError, match="not in that text"):
        services.redaction_add(
            dsr=bob,
            actor=reviewer,
            store="support",
            table="tickets",
            record_key=record_key(ticket),
            field="messages",
            path="/0/body",
            passage="olleague",  # inside "colleague": not a word of its own
            reason=REASON,
        )


def test_an_invisible_reason_is_no_reason(bob: DataSubjectRequest, reviewer: Any) -> None:
    ticket = _ticket(bob)
    with pytest.raises(DomainError, match="why"):
        services.redaction_add(
            dsr=bob,
            actor=reviewer,
            store="support",
            table="tickets",
            record_key=record_key(ticket),
            field="messages",
            reason="\u200b\u2060 \ufeff",
        )


def test_a_record_or_field_that_was_not_gathered_cannot_be_withheld(
    bob: DataSubjectRequest, reviewer: Any
) -> None:
    common = {
        "dsr": bob,
        "actor": reviewer,
        "store": "support",
        "table": "tickets",
        "reason": REASON,
    }
    with pytest.raises(DomainError, match="not in the data gathered"):
        services.redaction_add(**common, record_key="f" * 64, field="")
    with pytest.raises(DomainError, match="no field"):
        services.redaction_add(**common, record_key=record_key(_ticket(bob)), field="nope")
    assert not Redaction.objects.exists()


def test_only_a_confirmed_requesters_name_is_suggested(
    bob: DataSubjectRequest, submit: Any
) -> None:
    submit(name="Mallory Planted", email="ps77@example.org")  # never confirmed their address
    record = {"body": "Mallory Planted wrote from ps77@example.org"}
    found = {s.text for s in suggestions.for_record(bob, "support", "tickets", record)}
    assert "Mallory Planted" not in found
