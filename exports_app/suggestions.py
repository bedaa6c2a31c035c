"""Suggested passages to withhold: what in a person's records looks like someone else's data.

The patterns are ``lookalikes.detect``'s; this module says who the person is. Only what is proved
to be theirs keeps a passage from being suggested: the address they verified, the values the
stores found them by (the data map's ``identity`` columns of the record), and their own row's
contact details (``own_identifiers``). What they typed as their name or phone proves nothing
(anyone may type a colleague's address as a name, or a colleague's number as a phone), so it
silences nothing.
Other people are known by the addresses in the record that are not the person's: the names
those addresses spell or stand beside are suggested wherever the record writes them. A name
someone typed on a request of their own is never used: anyone who proves an address could
choose it, and a reviewer would learn that they had asked.
A suggestion staff dismissed, or a passage already withheld, is not suggested again. Staff accept
or dismiss each: nothing is withheld without a person choosing it and saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exports_app import lookalikes, passages
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


def own_identifiers(
    dsr: DataSubjectRequest, store: str, table: str, record: dict[str, Any]
) -> lookalikes.Own:
    """What is proved to be the person's in this record, by kind: their verified address and
    the addresses the store found the record by; and, in a record the store found by the
    person's identity, a field the map says is about them (rectifiable, or a contact detail)
    that is wholly an address or a phone number: "07700 900003" in the phone column of their
    customer record. What the
    person typed on the form proves nothing, and text that only contains a number or an
    address (a message) vouches for none of it."""
    addresses, numbers = set(), set()
    if dsr.email_verified_at or dsr.verified_at:
        addresses.add(email_key(dsr.requester_email))
    spec = datamap.current().stores.get(store)
    table_spec = spec.tables.get(table) if spec else None
    identity = table_spec.identity if table_spec else {}
    for column, key in identity.items():
        if key == "email" and isinstance(record.get(column), str) and record[column]:
            addresses.add(_mailbox(record[column]))
    if identity and table_spec is not None:
        for column, value in record.items():
            field = table_spec.fields.get(column)
            if not isinstance(value, str) or field is None:
                continue
            if not (field.rectifiable or field.category == "contact"):
                continue  # a column of someone else's (an agent's address, say) stays suggested
            whole = value.strip()
            if lookalikes.EMAIL.fullmatch(lookalikes.plain(whole)):
                addresses.add(_mailbox(whole))
            elif lookalikes.PHONE.fullmatch(lookalikes.plain(whole)):
                numbers.add(lookalikes.digits(whole))
    return lookalikes.Own(
        addresses=frozenset(addresses), numbers=frozenset(numbers), mailbox=_mailbox
    )


def _mailbox(address: str) -> str:
    """One mailbox however it is written (as it reads: invisible characters and all)."""
    return email_key(lookalikes.plain(address))


def _names_known(texts: list[passages.Leaf], own: lookalikes.Own) -> set[str]:
    """The names of other people, known by the addresses in the record that are not the
    person's: the names those addresses spell or stand beside (each is then suggested wherever
    the record writes it). Only the record itself says who is who: never a name someone typed
    on a request of their own, which anyone who proves an address could choose."""
    names: set[str] = set()
    for leaf in texts:
        names |= lookalikes.names_tied(leaf.text, own)
    return names


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
    own = own_identifiers(dsr, store, table, record)
    texts = [leaf for leaf in passages.leaves(record) if leaf.field not in whole_fields]
    known = _names_known(texts, own)
    out = []
    for leaf in texts:
        spans = taken.get((leaf.field, leaf.path), [])
        for found in lookalikes.detect(leaf.text, own, known):
            if (leaf.field, leaf.path, found.start, found.end) in dismissed:
                continue
            if any(a < found.end and found.start < b for a, b in spans):
                continue  # already withheld
            out.append(
                Suggestion(leaf.field, leaf.path, found.start, found.end, found.kind, found.text)
            )
    return out
