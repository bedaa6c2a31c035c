"""The report behind the overview, for a date range: what was received (by type and channel, per
month), how it was answered (on time by type, median days to close, extensions, refusals by
reason, the exemptions used), and what is overdue now. Aggregates only: counts, rates and request
references, never a name, an address or a reason typed by staff.

Counted in the database (``annotate`` / ``aggregate``, functions every supported backend has);
the one exception, the legal bases kept by an erasure, is read from the approved plans (JSON).
Months and days are UK ones: the database converts timestamps (``TruncMonth``, ``__date``), which
on MySQL/MariaDB needs its time zone tables loaded (``mysql_tzinfo_to_sql``), as Django says.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from exports_app.models import Grounds, Redaction
from requests_app.dashboard import charts
from requests_app.dashboard.charts import Chart, Counts
from requests_app.dashboard.forms import REJECTION_TEMPLATES
from requests_app.fulfilment.erasure_plans import tables_kept
from requests_app.models import (
    OPEN_STATUSES,
    Channel,
    DataSubjectRequest,
    ErasureStep,
    EventAction,
    Extension,
    LegalHold,
    RequestEvent,
    RequestType,
    Status,
    StepStatus,
)

# Short names: a board reads these, beside the chart's colours.
TYPE_LABELS: dict[str, str] = {
    RequestType.ACCESS: "Access",
    RequestType.RECTIFICATION: "Correction",
    RequestType.ERASURE: "Erasure",
    RequestType.PORTABILITY: "Portability",
    RequestType.MARKETING_OPT_OUT: "Marketing opt-out",
    RequestType.RESTRICTION: "Restriction",
    RequestType.OBJECTION: "Objection",
}
TYPE_COLOURS = ["#1f4fd1", "#7a5af8", "#d92d20", "#0e9384", "#b54708", "#475467", "#c11574"]
CHANNEL_COLOURS = ["#1f4fd1", "#0e9384", "#b54708", "#7a5af8", "#d92d20", "#475467", "#c11574"]
ANSWERED = (Status.COMPLETED, Status.REJECTED)  # a response was sent: on time or not
REFUSAL_OWN_WORDS = "Reason written by staff"
REFUSAL_PURGED = "Reason no longer held (purged after the retention period)"
WITHHELD = "Withheld from a response (a reason written by staff)"
WITHHELD_ON = "Withheld: {grounds}"
KEPT_BY_LAW = "Kept on erasure by law: {basis}"
LEGAL_HOLD = "Erasure paused by a legal hold"


@dataclass(frozen=True)
class Period:
    """The days a report covers, both included."""

    start: dt.date
    end: dt.date

    @classmethod
    def default(cls, today: dt.date) -> Period:
        """The last twelve months: this one and the eleven before it."""
        months = today.year * 12 + today.month - 1 - 11
        return cls(dt.date(months // 12, months % 12 + 1, 1), today)

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """From the first day's start to the next day's after the last, in UK time: a range an
        index on the timestamp serves (``__date`` would convert every row)."""
        return _day_start(self.start), _day_start(self.end + dt.timedelta(days=1))

    def months(self) -> list[dt.date]:
        first, last = self.start.replace(day=1), self.end.replace(day=1)
        out = []
        while first <= last:
            out.append(first)
            first = (first + dt.timedelta(days=32)).replace(day=1)
        return out


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


@dataclass(frozen=True)
class OnTime:
    label: str
    closed: int
    on_time: int
    after_extension: int  # on time only thanks to the extension (late for the first deadline)
    median_days: float | None

    @property
    def rate(self) -> float | None:
        return self.on_time / self.closed if self.closed else None


@dataclass(frozen=True)
class RegisterRow:
    """One exemption (or exception) used: how many times, and on which requests."""

    label: str
    uses: int
    references: list[str]


@dataclass
class Report:
    period: Period
    today: dt.date
    by_type: Counts
    by_channel: Counts
    received: int
    closed: int
    on_time: list[OnTime]
    on_time_rate: float | None
    median_days: float | None
    extensions: int
    refusals: list[tuple[str, int]]
    exemptions: list[RegisterRow]
    overdue: int
    overdue_by_type: list[tuple[str, int]]
    open_by_status: list[tuple[str, int]]

    @property
    def open_count(self) -> int:
        return sum(n for _, n in self.open_by_status)

    @property
    def by_type_chart(self) -> Chart:
        return charts.stacked(
            self.by_type.used(), x_title="Month received", y_title="Requests received"
        )

    @property
    def by_channel_chart(self) -> Chart:
        return charts.stacked(
            self.by_channel.used(), x_title="Month received", y_title="Requests received"
        )

    @property
    def on_time_chart(self) -> Chart:
        rows = [
            (r.label, r.rate or 0.0, f"{r.on_time} of {r.closed} on time") for r in self.on_time
        ]
        return charts.horizontal(
            rows,
            top=1.0,
            ticks=[(0.0, "0%"), (0.5, "50%"), (1.0, "100%")],
            x_title="Share answered on time",
            y_title="Request type",
        )

    @property
    def status_chart(self) -> Chart:
        top = charts.scale_top(max((n for _, n in self.open_by_status), default=0))
        return charts.horizontal(
            [(label, n, str(n)) for label, n in self.open_by_status],
            top=top,
            ticks=[(0, "0"), (top // 2, str(top // 2)), (top, str(top))],
            x_title="Open requests",
            y_title="Status",
        )


def report(period: Period, *, today: dt.date) -> Report:
    closed = _closed(period)
    on_time = _on_time(closed)
    with_deadline = sum(r.closed for r in on_time)
    return Report(
        period=period,
        today=today,
        by_type=_monthly(period, "request_type", TYPE_LABELS, TYPE_COLOURS),
        by_channel=_monthly(period, "channel", {c: str(c.label) for c in Channel}, CHANNEL_COLOURS),
        received=_received(period).count(),
        closed=closed.count(),
        on_time=on_time,
        on_time_rate=sum(r.on_time for r in on_time) / with_deadline if with_deadline else None,
        median_days=_median_days(closed),
        extensions=Extension.objects.filter(_within("granted_at", period)).count(),
        refusals=_refusals(period),
        exemptions=_exemptions(closed),
        overdue=_overdue(today).count(),
        overdue_by_type=_by_type(_overdue(today)),
        open_by_status=_open_by_status(),
    )


def _within(field: str, period: Period) -> Q:
    start, after = period.bounds
    return Q(**{f"{field}__gte": start, f"{field}__lt": after})


def _received(period: Period) -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.filter(_within("received_at", period)).order_by()


def _closed(period: Period) -> QuerySet[DataSubjectRequest]:
    """Requests answered (completed or refused) in the period, whenever they were received."""
    return DataSubjectRequest.objects.filter(
        _within("closed_at", period), status__in=ANSWERED
    ).order_by()


def _overdue(today: dt.date) -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES, due_on__lt=today).order_by()


def _monthly(period: Period, column: str, labels: dict[str, str], colours: list[str]) -> Counts:
    rows = (
        _received(period)
        .annotate(month=TruncMonth("received_at"))
        .values("month", column)
        .annotate(n=Count("id"))
    )
    months = period.months()
    counts: dict[dt.date, dict[str, int]] = {m: {} for m in months}
    for row in rows:
        month = row["month"]
        month = (month.date() if isinstance(month, dt.datetime) else month).replace(day=1)
        if month in counts:
            counts[month][row[column]] = row["n"]
    return Counts(
        columns=list(labels.values()),
        colours=colours[: len(labels)],
        rows=[(m.strftime("%b %Y"), [counts[m].get(k, 0) for k in labels]) for m in months],
    )


def _on_time(closed: QuerySet[DataSubjectRequest]) -> list[OnTime]:
    """Per type, the answered requests that had a deadline, and those answered by it. The
    deadline is the one in force: an extended request is on time by its extended date."""
    on_time = Q(closed_at__date__lte=F("due_on"))
    rows = {
        row["request_type"]: row
        for row in closed.exclude(due_on=None)
        .values("request_type")
        .annotate(
            n=Count("id"),
            on_time=Count("id", filter=on_time),
            extended=Count(
                "id", filter=on_time & Q(closed_at__date__gt=F("extension__previous_due_on"))
            ),
        )
    }
    return [
        OnTime(
            label,
            rows[kind]["n"],
            rows[kind]["on_time"],
            rows[kind]["extended"],
            _median_days(closed.filter(request_type=kind)),
        )
        for kind, label in TYPE_LABELS.items()
        if kind in rows
    ]


def _median_days(closed: QuerySet[DataSubjectRequest]) -> float | None:
    """The median time from receipt to answer, in calendar days (UK dates, so a change of clocks
    counts no hour): the middle one or two durations, sorted by the database."""
    took = ExpressionWrapper(
        TruncDate("closed_at") - TruncDate("received_at"), output_field=DurationField()
    )
    durations = closed.annotate(took=took).order_by("took").values_list("took", flat=True)
    n = durations.count()
    if not n:
        return None
    middle = list(durations[(n - 1) // 2 : n // 2 + 1])
    return sum(d.total_seconds() for d in middle) / len(middle) / 86400


def _refusals(period: Period) -> list[tuple[str, int]]:
    """Requests refused in the period, by the reason template staff chose; a reason in their own
    words is counted, never shown (it may name someone)."""
    templates = [
        When(payload__reason__startswith=text, then=Value(str(label)))
        for text, label in REJECTION_TEMPLATES
        if text
    ]
    why = Case(
        *templates,
        When(payload__reason__isnull=True, then=Value(REFUSAL_PURGED)),
        default=Value(REFUSAL_OWN_WORDS),
        output_field=CharField(),
    )
    rows = (
        RequestEvent.objects.filter(
            _within("request__closed_at", period),
            action=EventAction.REJECT,
            request__status=Status.REJECTED,
        )
        .annotate(why=why)
        .values("why")
        .annotate(n=Count("request", distinct=True))
        .order_by("-n", "why")
    )
    return [(row["why"], row["n"]) for row in rows]


def _exemptions(closed: QuerySet[DataSubjectRequest]) -> list[RegisterRow]:
    """The register: data withheld from a response, data kept by law on an erasure (by its
    legal basis, as the approved plan says), and erasures paused by a legal hold, on the
    requests answered in the period."""
    register = [
        *_withheld(closed),
        *_kept_by_law(closed),
        _register_row(LEGAL_HOLD, LegalHold.objects.filter(request__in=closed)),
    ]
    return [row for row in register if row.uses]


def _withheld(closed: QuerySet[DataSubjectRequest]) -> list[RegisterRow]:
    """What was withheld (and not put back), by the exemption relied on."""
    in_force = Redaction.objects.in_force().filter(request__in=closed)
    rows = [
        _register_row(WITHHELD_ON.format(grounds=label), in_force.filter(grounds=value))
        for value, label in Grounds.choices
    ]
    return [*rows, _register_row(WITHHELD, in_force.filter(grounds=""))]


def _register_row(label: str, rows: QuerySet[Redaction] | QuerySet[LegalHold]) -> RegisterRow:
    per_request = dict(rows.order_by().values_list("request__reference").annotate(n=Count("id")))
    return RegisterRow(label, sum(per_request.values()), sorted(per_request))


def _kept_by_law(closed: QuerySet[DataSubjectRequest]) -> list[RegisterRow]:
    """Each legal basis an erasure kept rows under, counted only where rows were kept: a rule
    to retain that met none of the person's rows (no billing account to keep) is no exemption
    used. From the approved plans and what each store's step did (``tables_kept``)."""
    # Nested JSON (store → table → counts) that no portable SQL function reads: the approved
    # plans of the period's erasures are few, read here.
    kept: dict[str, set[str]] = defaultdict(set)
    plans = closed.filter(request_type=RequestType.ERASURE).exclude(erasure_plan=None)
    outcomes: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for request_id, store, outcome in ErasureStep.objects.filter(
        request__in=plans, status=StepStatus.DONE
    ).values_list("request_id", "store", "outcome"):
        outcomes[request_id][store] = outcome
    for pk, reference, plan in plans.values_list("pk", "reference", "erasure_plan"):
        for _store, _table, basis, _rows in tables_kept(
            (plan or {}).get("stores") or [], outcomes[pk]
        ):
            kept[basis or "no basis recorded"].add(reference)
    return [
        RegisterRow(KEPT_BY_LAW.format(basis=basis), len(refs), sorted(refs))
        for basis, refs in sorted(kept.items())
    ]


def _by_type(requests: QuerySet[DataSubjectRequest]) -> list[tuple[str, int]]:
    rows = dict(requests.values_list("request_type").annotate(n=Count("id")))
    return [(label, rows[kind]) for kind, label in TYPE_LABELS.items() if rows.get(kind)]


def _open_by_status() -> list[tuple[str, int]]:
    rows = dict(
        DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return [(Status(s).label, rows.get(s, 0)) for s in Status if s in OPEN_STATUSES]
