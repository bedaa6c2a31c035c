"""Retention periods in dates: when a retained row's period ends, and which rows have already
come to the end of theirs (``docs/data-map.md`` → ``erase``)."""

from __future__ import annotations

import datetime as dt

from requests_app.datamap.spec import EraseSpec


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def year_end_after(day: dt.date, year_end: tuple[int, int]) -> dt.date:
    """The last day of the financial year ``day`` falls in (``year_end`` = (month, day))."""
    month, last = year_end
    end = dt.date(day.year, month, last)
    return end if day <= end else dt.date(day.year + 1, month, last)


def period_end(spec: EraseSpec, start: dt.date) -> dt.date:
    """The last day a row whose period starts on ``start`` is kept."""
    if spec.year_end is not None:
        start = year_end_after(start, spec.year_end)
    return add_years(start, spec.years or 0)


def first_kept(spec: EraseSpec, today: dt.date) -> dt.date:
    """The earliest start whose period has not ended by ``today``: rows that start before it
    have come to the end of their period. ``period_end`` only grows with its start, so the
    boundary is found by bisection over the days it can lie between."""
    low = dt.date(today.year - (spec.years or 0) - 2, 1, 1)  # ends before today
    high = today  # a period that starts today has not ended
    while (high - low).days > 1:
        middle = low + (high - low) / 2
        if period_end(spec, middle) < today:
            low = middle
        else:
            high = middle
    return high
