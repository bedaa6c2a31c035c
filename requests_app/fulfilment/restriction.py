"""Restriction of processing (UK GDPR Article 18): staff decide it like any reviewed request, then
the data map's ``restrict:`` changes are made, and an approver may later lift it.

    fulfilling: ``restriction_apply`` makes each ``restrict:`` change to the person's records
                (``optout.store_changes_make``, as an opt-out does), records what changed with
                the values that undo it (``Restriction``), emails the person what was
                restricted, and completes the request.
    completed:  ``restriction_lift`` (an approver, with a reason) emails the person that it will
                be lifted, and why; ``restriction_lift_apply`` writes back the recorded ``lift``
                values only once that email has been sent (Article 18(3): the person is told
                before the restriction is lifted).

Every change is idempotent, so a task run twice or re-queued by the sweeper does no harm. A
store that refuses leaves the request as it was (fulfilling, or lifting) with the error on the
timeline, said once; the sweeper tries again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from requests_app import datamap
from requests_app.core.audit import event_append
from requests_app.core.errors import IllegalTransition
from requests_app.core.lifecycle import request_complete, require_reason
from requests_app.core.locking import request_locked, staff_action
from requests_app.core.notifications import contact_email, email_queue
from requests_app.core.permissions import actor_label
from requests_app.core.queue import Task, later
from requests_app.fulfilment.optout import described, store_changes_make
from requests_app.gathering.gather import subject_of
from requests_app.models import (
    DataSubjectRequest,
    EmailStatus,
    OutgoingEmail,
    RequestType,
    Restriction,
    Status,
)

LIFT_NOTICE = "restriction-lifting"  # the email that must be sent before the restriction is lifted
NO_SECTION = (
    "the data map has no 'restrict:' section, so nothing can be restricted: add one "
    "(docs/data-map.md); the sweeper then carries the restriction out"
)


def restriction_apply(*, request_id: int) -> bool:
    """Make the map's ``restrict:`` changes and complete the request. True when this call did."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if dsr.request_type != RequestType.RESTRICTION or dsr.status != Status.FULFILLING:
        return False
    entries = datamap.current().restrict
    if not entries:
        restriction_record_failure(request_id=request_id, error=NO_SECTION)
        return False
    made = store_changes_make(subject_of(dsr), ((e.store, e.table, e.set) for e in entries))
    for change, entry in zip(made, entries, strict=True):
        change["lift"] = entry.lift
    with transaction.atomic():
        try:
            dsr = request_complete(dsr=dsr)
        except IllegalTransition:
            return False  # another run completed it
        event = event_append(
            dsr=dsr, actor="system", action="restricted", payload={"changes": made}
        )
        Restriction.objects.create(request=dsr, changes=made, restricted_at=event.at)
        email_queue(
            template="restriction-done",
            to=contact_email(dsr),
            dsr=dsr,
            context={"dsr": dsr, "changes": described(made)},
        )
    return True


def restriction_record_failure(
    *, request_id: int, error: str, action: str = "restriction_failed"
) -> None:
    """Put a store's refusal (or a map without ``restrict:``) on the timeline, once while it
    stays the same; touching the request makes the sweeper wait before trying again."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    DataSubjectRequest.objects.filter(pk=request_id).update(updated_at=timezone.now())
    last = dsr.events.order_by("-seq").first()
    if last is not None and last.action == action and last.payload == {"error": error}:
        return
    event_append(dsr=dsr, actor="system", action=action, payload={"error": error})


@staff_action("lift_restriction")
def restriction_lift(*, dsr: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Decide to lift the restriction: the person is emailed that it will be lifted, when and
    why; it is lifted once that email has gone (``restriction_lift_apply``)."""
    reason = require_reason(reason)
    restriction = Restriction.objects.select_for_update().get(request=dsr)
    restriction.lift_reason = reason
    restriction.lift_decided_by = actor_label(actor)
    restriction.lift_decided_at = timezone.now()
    restriction.save()
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="restriction_lift_decided",
        payload={"reason": reason},
    )
    email_queue(
        template=LIFT_NOTICE,
        to=contact_email(dsr),
        dsr=dsr,
        context={
            "dsr": dsr,
            "reason": reason,
            "changes": described(restriction.changes),
            "on": timezone.localdate(restriction.lift_decided_at),
        },
    )
    later(Task.LIFT_RESTRICTION, dsr.pk)
    return dsr


def lift_notice_sent(dsr: DataSubjectRequest) -> bool:
    return OutgoingEmail.objects.filter(
        request=dsr, template=LIFT_NOTICE, status=EmailStatus.SENT
    ).exists()


def restriction_lift_apply(*, request_id: int) -> bool:
    """Write back the recorded ``lift`` values, once the person has been told. True when this
    call lifted it; False when there is nothing to lift or the notice has not been sent yet."""
    restriction = (
        Restriction.objects.select_related("request")
        .filter(request_id=request_id, lift_decided_at__isnull=False, lifted_at__isnull=True)
        .first()
    )
    if restriction is None or not lift_notice_sent(restriction.request):
        return False
    dsr = restriction.request
    made = store_changes_make(
        subject_of(dsr), ((c["store"], c["table"], c["lift"]) for c in restriction.changes)
    )
    return _lifted(dsr=dsr, changes=made)


@request_locked
def _lifted(*, dsr: DataSubjectRequest, changes: list[dict[str, Any]]) -> bool:
    restriction = Restriction.objects.select_for_update().get(request=dsr)
    if restriction.lifted_at is not None:
        return False  # another run lifted it
    event = event_append(
        dsr=dsr, actor="system", action="restriction_lifted", payload={"changes": changes}
    )
    restriction.lifted_at = event.at
    restriction.save(update_fields=["lifted_at"])
    return True


def lift_pending(request_id: int) -> bool:
    """Lifting is decided and not yet done."""
    return Restriction.objects.filter(
        request_id=request_id, lift_decided_at__isnull=False, lifted_at__isnull=True
    ).exists()


def lifts_to_requeue() -> list[int]:
    """Lifts decided a while ago and not done (a lost message, a store that failed, a notice
    slow to go): the requests to try again."""
    stale = timezone.now() - dt.timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    return list(
        Restriction.objects.filter(
            lift_decided_at__lt=stale, lifted_at__isnull=True, request__updated_at__lt=stale
        ).values_list("request_id", flat=True)
    )
