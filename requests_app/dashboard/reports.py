"""Figures for the overview page, and the geometry of its server-rendered SVG charts."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.functions import TruncWeek

from requests_app.models import OPEN_STATUSES, DataSubjectRequest, RequestType, Status

WEEKS = 12
TYPE_COLOURS = {
    RequestType.ACCESS: "#1f4fd1",
    RequestType.RECTIFICATION: "#7a5af8",
    RequestType.ERASURE: "#d92d20",
    RequestType.PORTABILITY: "#0e9384",
    RequestType.MARKETING_OPT_OUT: "#f79009",
    RequestType.RESTRICTION: "#475467",
    RequestType.OBJECTION: "#c11574",
}


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str
    value: int = 0


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (x or y, text)
    maximum: int = 0


@dataclass
class Overview:
    weekly: Chart
    weekly_table: list[tuple[str, dict[str, int]]]
    by_status: Chart
    status_table: list[tuple[str, int]]
    open_count: int
    overdue: int
    closed_12m: int
    on_time_rate: float | None
    median_days: float | None
    legend: list[tuple[str, str]]


def overview(today: dt.date) -> Overview:
    weekly_table = _weekly(today)
    status_table = _by_status()
    closed = list(
        DataSubjectRequest.objects.filter(
            status__in=[Status.COMPLETED, Status.REJECTED],
            closed_at__date__gte=today - dt.timedelta(days=365),
        ).values_list("received_at", "closed_at", "due_on")
    )
    on_time = [c.date() <= due for _, c, due in closed if c is not None and due is not None]
    durations = [(c - r).total_seconds() / 86400 for r, c, _ in closed if c is not None]
    return Overview(
        weekly=_stacked(weekly_table),
        weekly_table=weekly_table,
        by_status=_horizontal(status_table),
        status_table=status_table,
        open_count=sum(n for _, n in status_table),
        overdue=DataSubjectRequest.objects.filter(
            status__in=OPEN_STATUSES, due_on__lt=today
        ).count(),
        closed_12m=len(closed),
        on_time_rate=(sum(on_time) / len(on_time)) if on_time else None,
        median_days=statistics.median(durations) if durations else None,
        legend=[(str(RequestType(t).label), c) for t, c in TYPE_COLOURS.items()],
    )


def _weekly(today: dt.date) -> list[tuple[str, dict[str, int]]]:
    monday = today - dt.timedelta(days=today.weekday())
    weeks = [monday - dt.timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]
    counts: dict[dt.date, dict[str, int]] = {w: {} for w in weeks}
    rows = (
        DataSubjectRequest.objects.filter(received_at__date__gte=weeks[0])
        .annotate(week=TruncWeek("received_at"))
        .values("week", "request_type")
        .annotate(n=Count("id"))
    )
    for row in rows:
        week = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        if week in counts:
            counts[week][row["request_type"]] = row["n"]
    return [(w.strftime("%d %b"), counts[w]) for w in weeks]


def _by_status() -> list[tuple[str, int]]:
    rows = dict(
        DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return [(Status(s).label, rows.get(s, 0)) for s in Status if s in OPEN_STATUSES]


def _stacked(table: list[tuple[str, dict[str, int]]], width: int = 640, height: int = 220) -> Chart:
    top = max([sum(c.values()) for _, c in table] + [1])
    chart = Chart(width, height, maximum=top)
    plot_h, step = height - 30, (width - 40) / len(table)
    for i, (label, counts) in enumerate(table):
        y = float(plot_h)
        for kind, colour in TYPE_COLOURS.items():
            n = counts.get(kind, 0)
            if n:
                h = plot_h * n / top
                y -= h
                chart.bars.append(
                    Bar(
                        40 + i * step + 4,
                        y,
                        step - 8,
                        h,
                        colour,
                        f"{label}: {n} {RequestType(kind).label}",
                    )
                )
        chart.ticks.append((40 + i * step + step / 2, label))
    return chart


def _horizontal(table: list[tuple[str, int]], width: int = 640) -> Chart:
    top = max([n for _, n in table] + [1])
    chart = Chart(width, 28 * len(table) + 10, maximum=top)
    for i, (label, n) in enumerate(table):
        chart.bars.append(
            Bar(230, 8 + i * 28, (width - 290) * n / top, 18, "#1f4fd1", f"{label}: {n}", n)
        )
        chart.ticks.append((8 + i * 28 + 13, label))
    return chart
