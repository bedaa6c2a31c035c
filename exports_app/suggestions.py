"""Suggested passages to withhold: what in a person's records looks like someone else's data.

The patterns are ``passages.detect``'s; this module says who the person is, so that their own
address, name and number are never suggested: the request's own details, and the values the data
map says identify them in the record (its ``identity`` columns, which the stores found them by).
Other people are known by the addresses in the record: the name of whoever filed a request from
one is suggested wherever the record writes it.
A suggestion staff dismissed, or a passage already withheld, is not suggested again. Staff accept
or dismiss each: nothing is withheld without a person choosing it and saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from exports_app import passages
from exports_app.models import DismissedSuggestion, Redaction
from requests_app import datamap
from requests_app.intake.receive import email_key
from requests_app.models import DataSubjectRequest

KIND_LABELS = {
    "email": "an email address",
    "phone": "a phone number",
    "card": "a card number",
    "name": "another person's name",
}


@dataclass(frozen=True)
class Suggestion:
    field: str
    path: str
    start: int
    end: int
    kind: str
    text: str

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def own_identifiers(dsr: DataSubjectRequest, identity_values: Sequence[str] = ()) -> set[str]:
    """The person's own addresses and names (lower-cased) and numbers (digits only)."""
    own: set[str] = set()
    for value in [dsr.requester_email, dsr.requester_name, *identity_values]:
        if value:
            own.add(value.strip().lower())
    for number in [dsr.requester_phone, *identity_values]:
        if number and len(passages.digits(number)) >= 7:
            own.add(passages.digits(number))
    return own


def _identity_values(store: str, table: str, record: dict[str, Any]) -> list[str]:
    spec = datamap.current().stores.get(store)
    table_spec = spec.tables.get(table) if spec else None
    if table_spec is None:
        return []
    return [str(record[c]) for c in table_spec.identity if record.get(c)]


def _names_known(dsr: DataSubjectRequest, texts: list[passages.Leaf]) -> set[str]:
    """The names of other people we know by an address the record mentions: whoever filed a
    request from it (their name is then suggested wherever the record writes it)."""
    keys = {email_key(m.group()) for leaf in texts for m in passages.EMAIL.finditer(leaf.text)} - {
        dsr.requester_email_key,
        email_key(dsr.requester_email),
    }
    if not keys:
        return set()
    # only someone who proved the address: an unconfirmed form could plant any name here
    names = (
        DataSubjectRequest.objects.filter(requester_email_key__in=keys)
        .filter(Q(email_verified_at__isnull=False) | Q(verified_at__isnull=False))
        .values_list("requester_name", flat=True)
    )
    return {n.strip() for n in names if len(n.strip()) > 2}


def for_record(
    dsr: DataSubjectRequest, store: str, table: str, record: dict[str, Any], key: str = ""
) -> list[Suggestion]:
    """What to suggest withholding in one record as gathered, in reading order."""
    key = key or passages.record_key(record)
    return for_records(dsr, store, table, [(key, record)])[key]


def for_records(
    dsr: DataSubjectRequest, store: str, table: str, records: list[tuple[str, dict[str, Any]]]
) -> dict[str, list[Suggestion]]:
    """``for_record`` for a page of (key, record): what is withheld and dismissed is read once."""
    keys = [key for key, _ in records]
    withheld: dict[str, list[Redaction]] = {}
    for r in Redaction.objects.in_force().filter(
        request=dsr, store=store, table=table, record_key__in=keys
    ):
        withheld.setdefault(r.record_key, []).append(r)
    dismissed: dict[str, set[tuple[str, str, int, int]]] = {}
    for key, *where in DismissedSuggestion.objects.filter(
        request=dsr, store=store, table=table, record_key__in=keys
    ).values_list("record_key", "field", "path", "span_start", "span_end"):
        dismissed.setdefault(key, set()).add(tuple(where))  # type: ignore[arg-type]
    return {
        key: _suggested(
            dsr,
            store,
            table,
            record,
            withheld.get(key, []),
            dismissed.get(key, set()),
        )
        for key, record in records
    }


def _suggested(
    dsr: DataSubjectRequest,
    store: str,
    table: str,
    record: dict[str, Any],
    withheld: list[Redaction],
    dismissed: set[tuple[str, str, int, int]],
) -> list[Suggestion]:
    if any(not r.field for r in withheld):
        return []  # the whole record is withheld
    whole_fields = {r.field for r in withheld if not r.is_passage}
    taken: dict[tuple[str, str], list[passages.Span]] = {}
    for r in withheld:
        if r.is_passage:
            taken.setdefault((r.field, r.path), []).append((r.span_start, r.span_end))
    own = own_identifiers(dsr, _identity_values(store, table, record))
    texts = [leaf for leaf in passages.leaves(record) if leaf.field not in whole_fields]
    known = _names_known(dsr, texts)
    out = []
    for leaf in texts:
        spans = taken.get((leaf.field, leaf.path), [])
        for found in passages.detect(leaf.text, own, known):
            if (leaf.field, leaf.path, found.start, found.end) in dismissed:
                continue
            if any(a < found.end and found.start < b for a, b in spans):
                continue  # already withheld
            out.append(
                Suggestion(leaf.field, leaf.path, found.start, found.end, found.kind, found.text)
            )
    return out
