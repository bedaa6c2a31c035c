"""Erasure: the plan staff review (a dry run), legal holds, one step per store, the re-scan,
and the hand-over to the signed deletion certificate.

    in_review: ``erasure_plan`` shows what will happen, from the data map and what was gathered
    approved:  waits while ``erasure_holds`` finds a reason (a staff hold, an open access request)
    fulfilling: ``erasure_start`` queues one ``ErasureStep`` per store and emails an Article 19
               notice to each recipient with no API; each step erases, then searches the store
               again (the re-scan); anything left that the plan does not retain fails the step
    all done:  the certificate is built, signed, released and emailed; the request completes.

Steps are claimed like gathering steps, so a re-delivered or re-queued task is harmless, and an
erasure run twice finds nothing more to change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from requests_app import datamap
from requests_app.audit import event_append
from requests_app.datamap.spec import StoreSpec, TableSpec
from requests_app.errors import IllegalTransition, RuleViolation
from requests_app.gathering import gathered_records, subject_of
from requests_app.models import (
    DataSubjectRequest,
    ErasureStep,
    GatherStep,
    LegalHold,
    RequestType,
    Status,
    StepStatus,
)
from requests_app.steps import step_fail, step_retry_later, steps_to_requeue
from requests_app.stores import StoreError, Subject, connector_for
from requests_app.stores.anonymise import looks_anonymised
from requests_app.stores.base import Connector
from smarct_dsar.claims import claim

log = logging.getLogger(__name__)

# Requests whose answer needs the data erasure would destroy.
ACCESS_TYPES = (RequestType.ACCESS, RequestType.PORTABILITY)


# --- The plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TablePlan:
    table: str
    category: str
    action: str  # delete | anonymise | retain | notify
    records: int  # the person's records found when gathering
    anonymised_fields: tuple[tuple[str, str], ...] = ()  # (field, strategy)
    legal_basis: str = ""
    period: str = ""
    until: dt.date | None = None


@dataclass(frozen=True)
class StorePlan:
    store: str
    organisation: str
    description: str
    kind: str
    role: str
    notify_email: str | None
    tables: tuple[TablePlan, ...] = field(default_factory=tuple)

    @property
    def by_notice(self) -> bool:
        return self.kind == "notify"

    def count(self, action: str) -> int:
        return sum(t.records for t in self.tables if t.action == action)


def _columns(step: GatherStep | None, table: str) -> list[str]:
    """The columns of the person's records of ``table``, as gathered."""
    if step is None or not step.file_name or not step.table_counts.get(table):
        return []
    for name, record in gathered_records(step):
        if name == table:
            return list(record)
    return []


def _latest(step: GatherStep | None, table: str, column: str) -> dt.date | None:
    """The latest date in ``column`` of the person's gathered records (for retention periods)."""
    if step is None or not step.file_name or not step.table_counts.get(table):
        return None
    latest: dt.date | None = None
    for name, record in gathered_records(step):
        if name != table or not record.get(column):
            continue
        with contextlib.suppress(ValueError):
            value = dt.date.fromisoformat(str(record[column])[:10])
            latest = value if latest is None or value > latest else latest
    return latest


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _table_plan(
    store: StoreSpec, spec: TableSpec, step: GatherStep | None, connector: Connector | None
) -> TablePlan:
    records = int((step.table_counts if step else {}).get(spec.name, 0))
    if store.kind == "notify":
        return TablePlan(spec.name, spec.category, "notify", 0)
    anonymised: tuple[tuple[str, str], ...] = ()
    columns = _columns(step, spec.name) or list(spec.fields)
    if connector is not None and spec.erase.action != "delete":
        try:
            how = connector.anonymised_columns(spec.name, columns)
        except StoreError:  # the store is down: say what the map says, without its keys
            how = {
                c: spec.erase_spec(c) for c in columns if spec.erase_spec(c).action == "anonymise"
            }
        anonymised = tuple((c, e.strategy or "null") for c, e in how.items())
    until = None
    if spec.erase.action == "retain" and spec.erase.years is not None and spec.erase.from_field:
        latest = _latest(step, spec.name, spec.erase.from_field)
        until = _add_years(latest, spec.erase.years) if latest else None
    return TablePlan(
        table=spec.name,
        category=spec.category,
        action=spec.erase.action,
        records=records,
        anonymised_fields=anonymised,
        legal_basis=spec.erase.legal_basis or "",
        period=spec.erase.period or "",
        until=until,
    )


def erasure_plan(*, request: DataSubjectRequest) -> list[StorePlan]:
    """What erasure will do in each store, from the data map and what gathering found."""
    steps = {s.store: s for s in request.gather_steps.all()}
    plans = []
    for store in datamap.current().stores.values():
        step = steps.get(store.name)
        connector = connector_for(store) if store.kind != "notify" else None
        tables = tuple(_table_plan(store, spec, step, connector) for spec in store.tables.values())
        plans.append(
            StorePlan(
                store=store.name,
                organisation=store.organisation,
                description=store.description,
                kind=store.kind,
                role=store.role,
                notify_email=store.notify_email,
                tables=tables,
            )
        )
    return plans


# --- Legal holds -------------------------------------------------------------------------------


def erasure_holds(request: DataSubjectRequest) -> list[str]:
    """Why erasure must wait, in words for staff; empty when it may go ahead."""
    reasons = [
        f"Legal hold placed by {hold.placed_by}: {hold.reason}"
        for hold in request.legal_holds.filter(released_at__isnull=True)
    ]
    if request.requester_email:
        open_access = (
            DataSubjectRequest.objects.filter(
                requester_email__lower=request.requester_email.lower(),
                request_type__in=ACCESS_TYPES,
                status__in=[
                    Status.VERIFIED,
                    Status.GATHERING,
                    Status.IN_REVIEW,
                    Status.APPROVED,
                    Status.FULFILLING,
                    Status.ON_HOLD,
                ],
            )
            .exclude(pk=request.pk)
            .values_list("reference", flat=True)
        )
        reasons += [
            f"{reference}, an access request by the same person, is still open: it must be "
            "answered before the data is erased"
            for reference in open_access
        ]
    return reasons


@transaction.atomic
def legal_hold_place(*, request: DataSubjectRequest, actor: User, reason: str) -> LegalHold:
    from requests_app.lifecycle import actor_label

    if request.request_type != RequestType.ERASURE or not request.is_open:
        raise IllegalTransition("Legal holds are for open erasure requests.")
    if request.status == Status.FULFILLING:
        raise IllegalTransition("Erasure is already under way; it cannot be held now.")
    if not reason.strip():
        raise RuleViolation("Say why erasure must wait.", field="reason")
    hold = LegalHold.objects.create(
        request=request, reason=reason.strip(), placed_by=actor_label(actor)
    )
    event_append(
        request=request,
        actor=actor_label(actor),
        action="legal_hold_placed",
        payload={"reason": reason.strip()},
    )
    return hold


@transaction.atomic
def legal_hold_release(*, request: DataSubjectRequest, actor: User, reason: str) -> int:
    """Release every active hold; erasure starts at once if it was approved and nothing else
    holds it."""
    from requests_app.lifecycle import actor_label
    from requests_app.tasks import start_fulfilment

    if not reason.strip():
        raise RuleViolation("Say why the hold ends.", field="reason")
    released = request.legal_holds.filter(released_at__isnull=True).update(
        released_at=timezone.now(), released_by=actor_label(actor)
    )
    if not released:
        raise IllegalTransition("This request has no active legal hold.")
    event_append(
        request=request,
        actor=actor_label(actor),
        action="legal_hold_released",
        payload={"reason": reason.strip()},
    )
    if request.status == Status.APPROVED:
        transaction.on_commit(partial(start_fulfilment.delay, request.pk))
    return released


def erasures_waiting_on(request: DataSubjectRequest) -> list[int]:
    """Approved erasure requests of the same person that ``request`` (an access request now
    closing) was holding up."""
    if request.request_type not in ACCESS_TYPES or not request.requester_email:
        return []
    return list(
        DataSubjectRequest.objects.filter(
            requester_email__lower=request.requester_email.lower(),
            request_type=RequestType.ERASURE,
            status=Status.APPROVED,
        ).values_list("pk", flat=True)
    )


# --- Execution ---------------------------------------------------------------------------------


def erasure_start(*, request: DataSubjectRequest) -> list[ErasureStep]:
    """One step per store Smarct can act on, queued after commit, and an Article 19 notice to
    each recipient it cannot. Call inside the transaction that starts fulfilment. Idempotent."""
    from requests_app.models import NoticePurpose
    from requests_app.recipients import notices_send
    from requests_app.tasks import erase_store

    stores = datamap.current().stores.values()
    steps = [
        ErasureStep.objects.get_or_create(request=request, store=s.name)[0]
        for s in stores
        if s.kind != "notify"
    ]
    for step in steps:
        if step.status == StepStatus.PENDING:
            transaction.on_commit(partial(erase_store.delay, step.pk))
    notices_send(request=request, purpose=NoticePurpose.ERASURE)
    if not steps:
        transaction.on_commit(partial(erasure_maybe_finish, request_id=request.pk))
    return steps


def _claim(step_id: int, task_id: str) -> ErasureStep | None:
    steps = ErasureStep.objects.filter(pk=step_id, request__status=Status.FULFILLING)
    if not claim(steps, waiting=StepStatus.PENDING, working=StepStatus.RUNNING, task_id=task_id):
        return None
    return ErasureStep.objects.select_related("request").get(pk=step_id)


def rescan(connector: Connector, store: StoreSpec, subject: Subject) -> dict[str, dict[str, int]]:
    """Search the store again: per table, records left that erasure should have removed or
    anonymised, and records retained as the plan says."""
    left: Counter[str] = Counter()
    retained: Counter[str] = Counter()
    for batch in connector.find(subject):
        spec = store.tables[batch.table]
        for record in batch.records():
            if spec.erase.action == "delete":
                left[batch.table] += 1
                continue
            columns = connector.anonymised_columns(batch.table, record)
            if any(not looks_anonymised(e, record.get(c)) for c, e in columns.items()):
                left[batch.table] += 1
            elif spec.erase.action == "retain":
                retained[batch.table] += 1
    return {name: {"left": left[name], "retained": retained[name]} for name in store.tables}


def erasure_run_step(*, step_id: int, task_id: str) -> bool:
    """Erase one store, then re-scan it. False when the step was not ours to run."""
    step = _claim(step_id, task_id)
    if step is None:
        return False
    store = datamap.current().stores.get(step.store)
    if store is None:
        raise RuleViolation(f"store '{step.store}' is no longer in the data map")
    connector = connector_for(store)
    subject = subject_of(step.request)
    outcomes = connector.erase(subject)
    total = {
        table: {
            key: int(step.outcome.get(table, {}).get(key, 0)) + value
            for key, value in outcome.as_dict().items()
        }
        for table, outcome in outcomes.items()
    }
    found = rescan(connector, store, subject)
    leftovers = {t: r["left"] for t, r in found.items() if r["left"]}
    # Keep what this attempt did even if the re-scan fails it: a retry adds to it.
    ErasureStep.objects.filter(pk=step.pk, claimed_by=task_id).update(outcome=total, rescan=found)
    if leftovers:
        what = ", ".join(f"{t}: {n} record(s)" for t, n in sorted(leftovers.items()))
        erasure_fail_step(
            step_id=step.pk,
            task_id=task_id,
            error=f"the re-scan found the person's data still in {what}; nothing is certified "
            "until this store is clean",
        )
        return True
    finished = ErasureStep.objects.filter(
        pk=step.pk, status=StepStatus.RUNNING, claimed_by=task_id
    ).update(status=StepStatus.DONE, finished_at=timezone.now(), error="")
    if not finished:
        return False
    event_append(
        request=step.request,
        actor="system",
        action="store_erased",
        payload={"store": step.store, "outcome": total, "rescan": found},
    )
    erasure_maybe_finish(request_id=step.request_id)
    return True


def erasure_retry_later(*, step_id: int, task_id: str, error: str) -> None:
    step_retry_later(ErasureStep, step_id=step_id, task_id=task_id, error=error)


def erasure_fail_step(*, step_id: int, task_id: str, error: str) -> None:
    step_fail(
        ErasureStep, step_id=step_id, task_id=task_id, error=error, action="store_erasure_failed"
    )


@transaction.atomic
def erasure_retry_store(*, request: DataSubjectRequest, store: str, actor: User) -> ErasureStep:
    """Staff run a failed store's erasure (and re-scan) again, after fixing the cause."""
    from requests_app.lifecycle import actor_label
    from requests_app.tasks import erase_store

    step = ErasureStep.objects.filter(request=request, store=store).first()
    if step is None:
        raise RuleViolation(f"This request has no erasure step for '{store}'.", field="store")
    if request.status != Status.FULFILLING or step.status != StepStatus.FAILED:
        raise IllegalTransition("Only a failed store of an erasure under way can be retried.")
    ErasureStep.objects.filter(pk=step.pk, status=StepStatus.FAILED).update(
        status=StepStatus.PENDING, error="", claimed_by="", claimed_at=None
    )
    event_append(
        request=request, actor=actor_label(actor), action="erasure_retry", payload={"store": store}
    )
    transaction.on_commit(partial(erase_store.delay, step.pk))
    step.refresh_from_db()
    return step


def erasure_maybe_finish(*, request_id: int) -> None:
    """Once every store is erased and clean, queue the certificate. Safe to call repeatedly."""
    from exports_app.tasks import issue_certificate

    request = DataSubjectRequest.objects.get(pk=request_id)
    if (
        request.status != Status.FULFILLING
        or request.request_type != RequestType.ERASURE
        or request.erasure_steps.exclude(status=StepStatus.DONE).exists()
    ):
        return
    transaction.on_commit(partial(issue_certificate.delay, request_id))


def erasure_steps_to_requeue() -> list[int]:
    return steps_to_requeue(ErasureStep, request_status=Status.FULFILLING)


def erasures_to_certify() -> list[int]:
    """Erasures whose stores are all done but whose certificate was never issued (a lost message)."""
    stale = timezone.now() - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    candidates = DataSubjectRequest.objects.filter(
        request_type=RequestType.ERASURE, status=Status.FULFILLING, updated_at__lt=stale
    ).exclude(erasure_steps__status__in=[StepStatus.PENDING, StepStatus.RUNNING, StepStatus.FAILED])
    return list(candidates.values_list("pk", flat=True))
