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

import datetime as dt
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from requests_app import datamap
from requests_app.audit import event_append
from requests_app.datamap.periods import period_end
from requests_app.datamap.spec import StoreSpec, TableSpec
from requests_app.errors import IllegalTransition, RuleViolation
from requests_app.gathering import subject_of
from requests_app.models import (
    DataSubjectRequest,
    ErasureStep,
    LegalHold,
    RequestType,
    Status,
    StepStatus,
)
from requests_app.steps import step_fail, step_retry_later, steps_to_requeue
from requests_app.stores import (
    PermanentStoreError,
    StoreError,
    Subject,
    TransientStoreError,
    connector_for,
)
from requests_app.stores.base import Connector, Outcome
from requests_app.stores.checks import check_store
from smarct_dsar.claims import claim

log = logging.getLogger(__name__)

# Requests whose answer needs the data erasure would destroy.
ACCESS_TYPES = (RequestType.ACCESS, RequestType.PORTABILITY)


# --- The plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TablePlan:
    """What erasure does to one table, counted on the store itself (a dry run) from the same
    conditions the erasure runs: ``records`` is every row of the person's found there."""

    table: str
    category: str
    action: str  # delete | anonymise | retain | notify
    records: int
    anonymised_fields: tuple[tuple[str, str], ...] = ()  # (field, strategy)
    legal_basis: str = ""
    period: str = ""
    until: dt.date | None = None
    deleted: int = 0
    anonymised: int = 0
    retained: int = 0
    expired: int = 0  # of the deleted: retained rows whose period has ended
    shared: int = 0  # left as they are: other people's records point at them
    path: str = ""  # how its rows are the person's (SQL)


@dataclass(frozen=True)
class StorePlan:
    store: str
    organisation: str
    description: str
    kind: str
    role: str
    notify_email: str | None
    tables: tuple[TablePlan, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = ()  # each blocks approval
    unreachable: bool = False  # the only problem: the store cannot be reached just now

    @property
    def by_notice(self) -> bool:
        return self.kind == "notify"

    def count(self, action: str) -> int:
        return sum(
            getattr(t, {"delete": "deleted", "anonymise": "anonymised"}.get(action, "retained"))
            for t in self.tables
        )


def _until(
    spec: TableSpec, latest: dt.date | None, received: dt.date | None, owner: TablePlan | None
) -> dt.date | None:
    erase = spec.erase
    if erase.action != "retain":
        return None
    if erase.with_owner:
        return owner.until if owner is not None else None
    if erase.from_relationship_end and received is not None and erase.years is not None:
        return period_end(erase, received)
    if latest is not None and erase.years is not None:
        return period_end(erase, latest)
    return None


def _table_plan(
    spec: TableSpec,
    outcome: Outcome,
    connector: Connector,
    subject: Subject,
    owners: dict[str, str],
    done: dict[str, TablePlan],
) -> TablePlan:
    anonymised: tuple[tuple[str, str], ...] = ()
    if spec.erase.action != "delete":
        columns = connector.columns(spec.name) or list(spec.fields)
        how = connector.anonymised_columns(spec.name, columns)
        anonymised = tuple((c, e.strategy or "null") for c, e in how.items())
    latest = (
        connector.latest(subject, spec.name, spec.erase.from_field)
        if spec.erase.action == "retain" and spec.erase.from_field
        else None
    )
    owner = done.get(owners.get(spec.name, ""))
    return TablePlan(
        table=spec.name,
        category=spec.category,
        action=spec.erase.action,
        records=outcome.deleted
        + outcome.retained
        + outcome.shared
        + (outcome.anonymised if spec.erase.action == "anonymise" else 0),
        anonymised_fields=anonymised,
        legal_basis=spec.erase.legal_basis or "",
        period=spec.erase.period or "",
        until=_until(spec, latest, subject.received, owner),
        deleted=outcome.deleted,
        anonymised=outcome.anonymised,
        retained=outcome.retained,
        expired=outcome.expired,
        shared=outcome.shared,
        path=connector.ownership_path(spec.name),
    )


def store_plan(store: StoreSpec, subject: Subject) -> StorePlan:
    """One store's part of the plan, checked against the live store first: a problem (the map
    and the schema disagree, the store cannot be reached) is listed and blocks approval."""
    plan = StorePlan(
        store=store.name,
        organisation=store.organisation,
        description=store.description,
        kind=store.kind,
        role=store.role,
        notify_email=store.notify_email,
    )
    if store.kind == "notify":
        tables = tuple(TablePlan(t.name, t.category, "notify", 0) for t in store.tables.values())
        return replace(plan, tables=tables)
    connector = connector_for(store)
    try:
        problems = tuple(
            str(p) for p in check_store(datamap.current(), store, cheap=True, raise_transient=True)
        )
        if problems:
            return replace(plan, problems=problems)
        outcomes = connector.preview(subject)
        owners = connector.owners()
        done: dict[str, TablePlan] = {}
        for name in connector.plan_order():
            done[name] = _table_plan(
                store.tables[name], outcomes.get(name, Outcome()), connector, subject, owners, done
            )
    except StoreError as exc:
        return replace(
            plan,
            problems=(f"{store.name} cannot be checked now: {exc}",),
            unreachable=isinstance(exc, TransientStoreError),
        )
    return replace(plan, tables=tuple(done[name] for name in store.tables if name in done))


def erasure_plan(*, request: DataSubjectRequest) -> list[StorePlan]:
    """What erasure will do in each store, counted on the stores themselves (nothing changes)."""
    subject = subject_of(request)
    return [store_plan(store, subject) for store in datamap.current().stores.values()]


def plan_problems(plan: list[StorePlan]) -> list[str]:
    return [problem for store in plan for problem in store.problems]


def plan_rules(plan: list[StorePlan]) -> dict[str, Any]:
    """The part of a plan the approver decides on: per store and table the action, how each
    field is anonymised, what is retained, why and for how long, and how rows are found. Not the
    counts, which move as the person's data does."""
    return {
        store.store: {
            table.table: {
                "action": table.action,
                "anonymised_fields": [list(pair) for pair in table.anonymised_fields],
                "legal_basis": table.legal_basis,
                "period": table.period,
                "path": table.path,
                "rule": _rule(store.store, table.table),
            }
            for table in store.tables
        }
        for store in plan
    }


def _rule(store: str, table: str) -> dict[str, Any]:
    spec = datamap.current().stores[store].tables[table]
    erase = spec.erase
    fields = {
        name: [f.erase.action, f.erase.strategy, f.erase.value]
        for name, f in sorted(spec.fields.items())
        if f.erase is not None and f.erase != erase
    }
    return {
        "strategy": erase.strategy,
        "value": erase.value,
        "years": erase.years,
        "from_field": erase.from_field,
        "year_end": list(erase.year_end) if erase.year_end else None,
        "from_relationship_end": erase.from_relationship_end,
        "with_owner": erase.with_owner,
        "fields": fields,
    }


def plan_digest(rules: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()


def plan_as_json(plan: list[StorePlan]) -> list[dict[str, Any]]:
    return json.loads(json.dumps([asdict(p) for p in plan], default=str))


def plan_from_json(data: list[dict[str, Any]]) -> list[StorePlan]:
    def table(t: dict[str, Any]) -> TablePlan:
        until = dt.date.fromisoformat(t["until"]) if t.get("until") else None
        fields_ = tuple(tuple(pair) for pair in t.get("anonymised_fields", ()))
        return TablePlan(**{**t, "until": until, "anonymised_fields": fields_})

    return [
        StorePlan(
            **{
                **s,
                "tables": tuple(table(t) for t in s["tables"]),
                "problems": tuple(s.get("problems", ())),
            }
        )
        for s in data
    ]


def plan_changes(approved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """In words, where the current map's plan differs from the approved one."""
    changes = []
    for store in sorted(set(approved) | set(current)):
        before, after = approved.get(store), current.get(store)
        if before is None or after is None:
            changes.append(f"{store}: {'added to' if before is None else 'removed from'} the map")
            continue
        for table in sorted(set(before) | set(after)):
            if before.get(table) != after.get(table):
                old, new = before.get(table) or {}, after.get(table) or {}
                keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                changes.append(f"{store}.{table}: {', '.join(keys)} changed")
    return changes


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
        if step.status == StepStatus.FAILED:  # failed before a new approval: run it again
            ErasureStep.objects.filter(pk=step.pk, status=StepStatus.FAILED).update(
                status=StepStatus.PENDING, error="", claimed_by="", claimed_at=None
            )
            step.status = StepStatus.PENDING
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


def erasure_plan_fix(*, request: DataSubjectRequest) -> dict[str, Any]:
    """The plan as approved: computed now, refused while it has a problem (the map and a store's
    schema disagree, a store cannot be checked), and kept with its digest. Erasure later runs
    only while the map still gives this plan."""
    plan = erasure_plan(request=request)
    problems = plan_problems(plan)
    if problems:
        raise RuleViolation(
            "This erasure cannot be approved until its plan has no problems: "
            + " | ".join(problems)
        )
    rules = plan_rules(plan)
    return {"rules": rules, "digest": plan_digest(rules), "stores": plan_as_json(plan)}


def erasure_plan_drift(*, request: DataSubjectRequest, stores: list[StoreSpec]) -> list[str]:
    """How the map's plan for ``stores`` now differs from the approved one; empty when it is the
    same. A store whose plan cannot be computed raises: its step fails (or retries) visibly."""
    approved = request.erasure_plan or {}
    if "rules" not in approved:
        return []  # approved before plans were fixed: nothing to compare with
    plan = [store_plan(store, subject_of(request)) for store in stores]
    for store in plan:
        if store.problems:
            error = TransientStoreError if store.unreachable else PermanentStoreError
            raise error("; ".join(store.problems))
    current = plan_rules(plan)
    return plan_changes({name: approved["rules"].get(name) for name in current}, current)


def erasure_map_drift(*, request: DataSubjectRequest) -> list[str]:
    """Before erasure starts: whether the map still gives the approved plan, store by store. A
    store that cannot be checked now is left to its own step, which checks again."""
    approved = (request.erasure_plan or {}).get("rules")
    if approved is None:
        return []
    changes = [
        f"{name}: removed from the map" for name in approved if name not in datamap.current().stores
    ]
    for store in datamap.current().stores.values():
        try:
            changes += erasure_plan_drift(request=request, stores=[store])
        except StoreError:
            continue
    return changes


def erasure_run_step(*, step_id: int, task_id: str) -> bool:
    """Erase one store, then re-scan it. False when the step was not ours to run. The step runs
    only the approved plan: if the map now gives another, nothing changes and the request goes
    back for a new approval."""
    step = _claim(step_id, task_id)
    if step is None:
        return False
    store = datamap.current().stores.get(step.store)
    if store is None:
        raise RuleViolation(f"store '{step.store}' is no longer in the data map")
    drift = erasure_plan_drift(request=step.request, stores=[store])
    if drift:
        error = (
            "the plan for this store is no longer the approved one ("
            + "; ".join(drift)
            + "): nothing was changed; an approver must approve the new plan"
        )
        erasure_fail_step(step_id=step.pk, task_id=task_id, error=error)
        erasure_replan(request=step.request, changes=drift)
        return True
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
    found = connector.leftovers(subject)
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


@transaction.atomic
def erasure_replan(*, request: DataSubjectRequest, changes: list[str]) -> None:
    """The map no longer gives the approved plan: back to review, for a new approval."""
    from requests_app.lifecycle import request_replan

    request_replan(request=request, changes=changes)


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

    request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
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
