"""Read-only queries for the staff API and dashboard."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import F, Max, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.utils import timezone

from exports_app.content import record_key
from exports_app.models import ExportStatus
from requests_app.fulfilment.erasure import erasure_holds
from requests_app.gathering.gather import gathered_batches
from requests_app.models import (
    OPEN_STATUSES,
    DataSubjectRequest,
    GatherStep,
    Status,
    StepStatus,
)


@dataclass(frozen=True)
class RequestFilters:
    status: str | None = None
    request_type: str | None = None
    overdue: bool | None = None
    assignee: str | None = None  # a username, or "none" for unassigned
    search: str | None = None
    open_only: bool = False


def request_list(
    *, filters: RequestFilters, today: dt.date | None = None
) -> QuerySet[DataSubjectRequest]:
    today = today or timezone.localdate()
    # Requests with no clock yet (unverified) have no deadline: they go after every dated one,
    # on every database (SQLite and PostgreSQL disagree on where NULLs sort by default).
    qs = DataSubjectRequest.objects.select_related("assignee").order_by(
        F("due_on").asc(nulls_last=True), "received_at", "pk"
    )
    if filters.status:
        qs = qs.filter(status=filters.status)
    elif filters.open_only:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if filters.request_type:
        qs = qs.filter(request_type=filters.request_type)
    if filters.overdue is not None:
        overdue = Q(status__in=OPEN_STATUSES, due_on__lt=today)
        qs = qs.filter(overdue) if filters.overdue else qs.exclude(overdue)
    if filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        qs = qs.filter(assignee__username=filters.assignee)
    if filters.search and filters.search.strip():
        qs = _searched(qs, filters.search.strip())
    return qs


# Searched as staff type them: any part, any case (``icontains``; on PostgreSQL the trigram
# indexes of migration 0015 serve it, on SQLite a scan of the requests table does).
SEARCHED = ("reference", "requester_name", "requester_email", "agent_name", "agent_email")
# A phone number is compared by its digits alone ("07700 900003" is "07700900003"), once the
# search holds enough of them to mean a number.
PHONE_DIGITS = 6


def _searched(qs: QuerySet[DataSubjectRequest], term: str) -> QuerySet[DataSubjectRequest]:
    found = Q()
    for field in SEARCHED:
        found |= Q(**{f"{field}__icontains": term})
    digits = re.sub(r"\D", "", term)
    if len(digits) >= PHONE_DIGITS:
        bare: Any = F("requester_phone")
        for mark in (" ", "-", "(", ")", ".", "+"):
            bare = Replace(bare, Value(mark), Value(""))
        qs = qs.annotate(phone_digits=bare)
        found |= Q(phone_digits__contains=digits)
    return qs.filter(found)


def request_detail(*, reference: str) -> DataSubjectRequest | None:
    return (
        DataSubjectRequest.objects.select_related("assignee", "extension")
        .prefetch_related(
            "corrections",
            "pauses",
            "events",
            "gather_steps",
            "exports",
            "download_links",
            "erasure_steps",
            "notices",
            "legal_holds",
        )
        .filter(reference=reference)
        .first()
    )


def days_left(dsr: DataSubjectRequest, today: dt.date | None = None) -> int | None:
    if dsr.due_on is None or not dsr.is_open:
        return None
    return (dsr.due_on - (today or timezone.localdate())).days


@dataclass(frozen=True)
class RecordPage:
    store: str
    table: str
    records: list[tuple[str, dict[str, Any]]]  # (record key, record)
    columns: list[str]
    number: int
    total: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def gathered_page(*, step: GatherStep, table: str, number: int, per_page: int = 50) -> RecordPage:
    """One page of a gathered table, read by streaming the encrypted file (no record list is held:
    page 2,000 of the 100,000-row subject decrypts through to it, a fraction of a second)."""
    total = int(step.table_counts.get(table, 0))
    number = min(max(1, number), max(1, -(-total // per_page)))
    start, stop = (number - 1) * per_page, number * per_page
    seen, records = 0, []
    for batch in gathered_batches(step):
        if batch.table != table:
            continue
        if seen + len(batch.rows) > start:
            for record in batch.records():
                if start <= seen < stop:
                    records.append((record_key(record), record))
                seen += 1
        else:
            seen += len(batch.rows)
        if seen >= stop:
            break
    columns = list(dict.fromkeys(k for _, r in records for k in r))
    return RecordPage(step.store, table, records, columns, number, total, per_page)


# The stages the system moves on by itself: a request in one of them should change within a
# sweep interval (the sweeper re-queues lost work after one).
SYSTEM_DRIVEN = (Status.VERIFIED, Status.GATHERING, Status.APPROVED, Status.FULFILLING)


def work_running(dsr: DataSubjectRequest) -> str:
    """What the system is doing for the request now, in a sentence ("" when it waits for a
    person): the request page polls while it is not empty."""

    if dsr.status in (Status.VERIFIED, Status.GATHERING):
        steps = list(dsr.gather_steps.values_list("status", flat=True))
        done = sum(s in (StepStatus.DONE, StepStatus.FAILED) for s in steps)
        return f"Gathering: {done} of {len(steps)} stores finished." if steps else "Gathering."
    building = dsr.exports.filter(
        released_at__isnull=True, status__in=[ExportStatus.PENDING, ExportStatus.BUILDING]
    )
    if building.exists():
        total = dsr.exports.filter(released_at__isnull=True).count()
        return f"Building the files: {total - building.count()} of {total} ready."
    erasing = dsr.erasure_steps.filter(status__in=[StepStatus.PENDING, StepStatus.RUNNING])
    if dsr.status == Status.APPROVED or (dsr.status == Status.FULFILLING and erasing.exists()):
        return "Carrying out the approved response."
    return ""


def stalled_requests(now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """(reference, status) of every request the system should have moved on but has not, for
    two sweep intervals (one for the sweeper to have tried): neither its row nor its timeline
    changed. Requests waiting for a person (a hold, files ready for release) are not stalled."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=2 * settings.DSAR_SWEEP_AFTER_SECONDS)
    candidates = (
        DataSubjectRequest.objects.filter(status__in=SYSTEM_DRIVEN, updated_at__lt=cutoff)
        .annotate(last_event=Max("events__at"))
        .filter(Q(last_event__lt=cutoff) | Q(last_event__isnull=True))
        .order_by("pk")
    )
    stalled = []
    for dsr in candidates:
        if dsr.status == Status.APPROVED and erasure_holds(dsr):
            continue  # held back on purpose: staff release it
        exports = list(dsr.exports.values_list("status", flat=True))
        if dsr.status == Status.FULFILLING and exports and set(exports) == {"ready"}:
            continue  # built: waiting for an approver to release them
        stalled.append((dsr.reference, dsr.status))
    return stalled
