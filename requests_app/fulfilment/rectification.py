"""Rectification: staff decide each correction, then every store holding the field is changed
and read back.

    in_review:  ``correction_decide`` — accept (which mapped field it corrects), accept with an
                edit, or decline with a reason; approval needs every correction decided
    fulfilling: ``rectification_apply`` writes each accepted value to every store whose map marks
                the field rectifiable, reads it back, tells recipients with no API (Article 19),
                emails the person what changed and what did not, and completes the request.

Writing a value that is already there changes nothing, so applying twice is harmless. A store
that fails leaves the request fulfilling with the error on the correction: the sweeper tries
again after a while, and staff can retry at once.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from requests_app import datamap
from requests_app.core.audit import event_append
from requests_app.core.errors import IllegalTransition, RuleViolation
from requests_app.core.lifecycle import approved_snapshot, request_complete
from requests_app.core.locking import staff_action
from requests_app.core.notifications import contact_email, email_queue
from requests_app.core.permissions import actor_label
from requests_app.core.queue import Task, later
from requests_app.fulfilment.recipients import notices_send, notices_told
from requests_app.gathering.gather import gathered_records, subject_of
from requests_app.models import (
    Correction,
    CorrectionDecision,
    DataSubjectRequest,
    GatherStep,
    NoticePurpose,
    RequestType,
    Status,
)
from requests_app.stores import StoreError, Subject, connector_for

log = logging.getLogger(__name__)


def likely_field(asked: str, fields: list[str]) -> str:
    """The map's field a person most likely means ("Phone" → ``phone``, "email address" →
    ``email``); "" when none is close."""

    def bare(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower())

    wanted = bare(asked)
    if not wanted:
        return ""
    by_bare = {bare(f): f for f in fields}
    if wanted in by_bare:
        return by_bare[wanted]
    contained = [f for b, f in by_bare.items() if b and (b in wanted or wanted in b)]
    if len(contained) == 1:
        return contained[0]
    close = difflib.get_close_matches(wanted, list(by_bare), n=1, cutoff=0.75)
    return by_bare[close[0]] if close else ""


def rectifiable_fields() -> dict[str, list[tuple[str, str]]]:
    """Field name → the (store, table) pairs whose map marks it rectifiable."""
    fields: dict[str, list[tuple[str, str]]] = {}
    for store in datamap.current().stores.values():
        if not store.searchable:
            continue
        for table in store.tables.values():
            for name, spec in table.fields.items():
                if spec.rectifiable:
                    fields.setdefault(name, []).append((store.name, table.name))
    return fields


# At most this many different values are shown for one field of one table: a person with many
# rows holds few different phone numbers, and a page of them would hide the ones that matter.
HELD_VALUES_SHOWN = 5


@dataclass
class Held:
    """One field a correction may change, and what each store held in it when gathered."""

    field: str  # the map's name, as the decision form offers it
    title: str  # its words
    # (store, table) → its different values
    places: dict[tuple[str, str], list[str]] = dataclasses.field(default_factory=dict)

    @property
    def lines(self) -> list[tuple[str, str]]:
        return [
            (f"{store}: {table}", ", ".join(values))
            for (store, table), values in self.places.items()
        ]


def held_now(dsr: DataSubjectRequest) -> list[Held]:
    """What the stores held for this person, when gathered, in each field the map lets a
    correction change: per field, each store and table (in the map's words) and its different
    values. Read from the request's own gathered copies, so only this person's records; a store
    whose copy is gone (or that found nothing) is left out."""
    stores = datamap.current().stores
    held: dict[str, Held] = {}
    for step in GatherStep.objects.filter(request=dsr).exclude(file_name="").order_by("store"):
        store = stores.get(step.store)
        if store is None:
            continue
        for name, record in gathered_records(step):
            table = store.tables.get(name)
            if table is None:
                continue
            for column, spec in table.fields.items():
                value = record.get(column)
                if not spec.rectifiable or value in (None, ""):
                    continue
                entry = held.setdefault(column, Held(column, spec.title))
                values = entry.places.setdefault((store.name, table.title), [])
                if str(value) not in values and len(values) < HELD_VALUES_SHOWN:
                    values.append(str(value))
    return sorted(held.values(), key=lambda h: h.field)


@staff_action("decide_correction")
def correction_decide(
    *,
    dsr: DataSubjectRequest,
    position: int,
    actor: User,
    decision: str,
    target_field: str = "",
    value: str = "",
    reason: str = "",
) -> Correction:
    correction = dsr.corrections.select_for_update().filter(position=position).first()
    if correction is None:
        raise RuleViolation(f"This request has no correction {position}.", field="position")
    if decision not in {
        CorrectionDecision.ACCEPTED,
        CorrectionDecision.EDITED,
        CorrectionDecision.DECLINED,
    }:
        raise RuleViolation("Choose accepted, edited or declined.", field="decision")
    if decision == CorrectionDecision.DECLINED:
        if not reason.strip():
            raise RuleViolation("Say why; the person is told the reason.", field="reason")
        target_field, final = "", ""
    else:
        if not target_field:
            raise RuleViolation(
                "Choose the field it corrects (the data map's names for it).",
                field="target_field",
            )
        if target_field not in rectifiable_fields():
            known = ", ".join(sorted(rectifiable_fields())) or "none"
            raise RuleViolation(
                f"'{target_field}' is not a field the data map lets us correct (known: {known}).",
                field="target_field",
            )
        final = (
            correction.corrected_value if decision == CorrectionDecision.ACCEPTED else value.strip()
        )
        if not final:
            raise RuleViolation("Give the value to write.", field="value")
    correction.decision = decision
    correction.target_field = target_field
    correction.final_value = final
    correction.decision_reason = reason.strip()
    correction.decided_by = actor_label(actor)
    correction.decided_at = timezone.now()
    correction.save()
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="correction_decided",
        payload={
            "position": position,
            "decision": decision,
            "field": target_field,
            "value": final,
            "reason": reason.strip(),
        },
    )
    return correction


def _apply_one(subject: Subject, field: str, value: str) -> tuple[dict[str, Any], Subject]:
    """Write one accepted value everywhere it is held and read it back. Returns the results and
    the subject to look for from now on (a corrected email is how the stores now know them)."""
    stores = datamap.current().stores
    # Only the email identifies the person in the stores: a corrected one is how they know them now.
    after = replace(subject, email=value) if field == "email" else subject
    results: dict[str, Any] = {}
    for store_name, table in rectifiable_fields().get(field, []):
        connector = connector_for(stores[store_name])
        where = f"{store_name}.{table}"
        try:
            changed = connector.update(subject, table, {field: value})
            seen = [
                record.get(field)
                for batch in connector.find(after, only=frozenset({table}))
                for record in batch.records()
            ]
        except StoreError as exc:
            results[where] = {"changed": 0, "read_back": False, "error": str(exc)}
            continue
        # Read back through the same search as gathering: every record now holds the new value.
        confirmed = bool(seen) and all(str(v) == value for v in seen)
        results[where] = {"changed": changed, "held": len(seen), "read_back": confirmed}
    return results, after


def corrected_in(correction: Correction) -> list[str]:
    """Where a correction was written and read back, as the person knows each system (its
    public description in the map, never the staff's), each once; empty when no store held a copy
    to correct."""
    stores = datamap.current().stores
    places: list[str] = []
    for where, result in (correction.results or {}).items():
        if not result.get("read_back"):
            continue
        store = stores.get(where.split(".", 1)[0])
        place = store.public_where if store else where
        if place not in places:
            places.append(place)
    return places


def _with_places(corrections: list[Correction]) -> list[Correction]:
    for correction in corrections:
        correction.corrected_in = corrected_in(correction)  # type: ignore[attr-defined]
    return corrections


def _failed(dsr: DataSubjectRequest, problems: list[str]) -> None:
    """Say why on the timeline, once while the problems stay the same (the sweeper tries again
    after a while: touching the request dates the failure)."""
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(updated_at=timezone.now())
    last = dsr.events.filter(action__startswith="rectif").order_by("-seq").first()
    if last and last.action == "rectification_failed" and last.payload == {"problems": problems}:
        return
    event_append(
        dsr=dsr, actor="system", action="rectification_failed", payload={"problems": problems}
    )


def rectification_apply(*, request_id: int) -> bool:
    """Apply the accepted corrections; complete the request when every store confirmed. True
    when it completed."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if dsr.status != Status.FULFILLING or dsr.request_type != RequestType.RECTIFICATION:
        return False
    subject = subject_of(dsr)
    # What was approved, from the approve event: never a decision changed since.
    approved = (approved_snapshot(dsr) or {}).get("corrections")
    if approved is None:
        _failed(dsr, ["no approved corrections are recorded: nothing was written"])
        return False
    accepted = [c for c in approved if c["decision"] != CorrectionDecision.DECLINED]
    # An email correction goes last: the other stores still know the person by the old one.
    accepted.sort(key=lambda c: c["field"] == "email")
    problems = []
    for correction in accepted:
        results, subject = _apply_one(subject, correction["field"], correction["value"])
        dsr.corrections.filter(position=correction["position"]).update(results=results)
        problems += [
            f"{where}: {r.get('error') or 'the new value did not read back'}"
            for where, r in results.items()
            if not r["read_back"] and (r.get("error") or r.get("changed"))
        ]
    if problems:
        _failed(dsr, problems[:20])
        return False
    with transaction.atomic():
        try:
            dsr = request_complete(dsr=dsr)
        except IllegalTransition:
            return False  # another run completed it
        event_append(dsr=dsr, actor="system", action="rectified")
        notices_send(dsr=dsr, purpose=NoticePurpose.RECTIFICATION)
        email_queue(
            template="rectification-done",
            to=contact_email(dsr),
            dsr=dsr,
            context={
                "dsr": dsr,
                "corrections": _with_places(list(dsr.corrections.all())),
                **notices_told(dsr=dsr, purpose=NoticePurpose.RECTIFICATION),
            },
        )
    return True


@staff_action("retry_rectification")
def rectification_retry(*, dsr: DataSubjectRequest, actor: User) -> None:
    event_append(dsr=dsr, actor=actor_label(actor), action="rectification_retry")
    later(Task.APPLY_RECTIFICATION, dsr.pk)
