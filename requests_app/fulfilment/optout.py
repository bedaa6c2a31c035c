"""Marketing opt-out, and an objection to direct marketing (the same thing under Article 21(2)):
never refused (Article 21(3)), carried out without staff as soon as the address is verified.

    verified → fulfilling: the address goes on the suppression list (a keyed hash, so it stays
    suppressed even if it is imported again from anywhere); each change the data map lists under
    ``marketing_opt_out`` is made (the partner's subscription, our consent record); the person is
    emailed; the request completes.

A store that fails raises a ``StoreError``: the task retries it with backoff and the sweeper
picks up an opt-out left fulfilling. Every change is idempotent, so retrying is harmless.

``store_changes_make`` is how a right changes the person's records through the connectors: the
opt-out's changes, and a restriction's and its lifting's (``restriction.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from requests_app import datamap
from requests_app.core.audit import event_append
from requests_app.core.errors import IllegalTransition
from requests_app.core.lifecycle import request_complete, transition
from requests_app.core.notifications import contact_email, email_queue
from requests_app.datamap.spec import readable
from requests_app.gathering.gather import subject_of
from requests_app.models import DataSubjectRequest, Status, Suppression
from requests_app.stores import PermanentStoreError, Subject, connector_for
from smarct_dsar.crypto import keyed_hash


def email_key(email: str) -> str:
    return keyed_hash(email.strip().lower(), purpose="suppression")


def suppression_add(*, email: str, reference: str) -> Suppression:
    return Suppression.objects.get_or_create(
        email_hash=email_key(email), defaults={"reference": reference}
    )[0]


def suppression_lookup(email: str) -> Suppression | None:
    return Suppression.objects.filter(email_hash=email_key(email)).first()


def opt_out_start(dsr: DataSubjectRequest) -> None:
    """A verified opt-out is carried out at once, without review: the address is suppressed now
    (no marketing goes out from this moment); its task then changes the stores."""
    transition(dsr, "start_opt_out", actor="system")
    suppression_add(email=dsr.requester_email, reference=dsr.reference)


def store_changes_make(
    subject: Subject, changes: Iterable[tuple[str, str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Set fields on the person's records: each (store, table, values) through the store's
    connector (only the person's own rows). Returns what changed where, in order. Writing a
    value already there changes nothing, so running again is harmless. A store the map no
    longer has is a ``PermanentStoreError``."""
    stores = datamap.current().stores
    made: list[dict[str, Any]] = []
    for store, table, values in changes:
        if store not in stores or table not in stores[store].tables:
            raise PermanentStoreError(f"the data map no longer has '{store}.{table}'")
        count = connector_for(stores[store]).update(subject, table, values)
        made.append({"store": store, "table": table, "set": values, "records": count})
    return made


def described(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes in the words an email uses: the store as the person knows it, the table, how
    many of their records (the stores that held none are left out)."""
    stores = datamap.current().stores
    found = []
    for change in changes:
        store = stores.get(change["store"])
        where = store.public_where if store else readable(change["store"])
        spec = store.tables.get(change["table"]) if store else None
        table = spec.title if spec else readable(change["table"])
        if change["records"]:
            found.append({"where": where, "table": table, "records": change["records"]})
    return found


def opt_out_fulfil(*, request_id: int) -> bool:
    """Make the opt-out's changes in the stores and complete it. True when this call did."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if not dsr.stops_marketing or dsr.status != Status.FULFILLING:
        return False
    changes = store_changes_make(
        subject_of(dsr), ((a.store, a.table, a.set) for a in datamap.current().opt_out)
    )
    with transaction.atomic():
        try:
            dsr = request_complete(dsr=dsr)
        except IllegalTransition:
            return False
        event_append(
            dsr=dsr,
            actor="system",
            action="opted_out",
            payload={"changes": changes, "suppressed_at": timezone.now().isoformat()},
        )
        email_queue(
            template="opt-out-done",
            to=contact_email(dsr),
            dsr=dsr,
            context={"dsr": dsr, "changes": described(changes)},
        )
    return True


def opt_out_record_failure(*, request_id: int, error: str) -> None:
    """Put a store's refusal on the timeline; the sweeper tries again (the address is already
    suppressed, so no marketing goes out meanwhile)."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    DataSubjectRequest.objects.filter(pk=request_id).update(updated_at=timezone.now())
    event_append(dsr=dsr, actor="system", action="opt_out_failed", payload={"error": error})
