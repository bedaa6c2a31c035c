"""Statutory deadlines, table-driven by jurisdiction. Pure functions of dates: no database.

UK GDPR (ICO guidance): one calendar month from the day the clock starts (the day identity is
verified): the same date next month, or the last day of that month when it has no such date;
a due date on a weekend or a UK bank holiday moves to the next working day. Days spent on hold
for clarification are added back. One extension of two further months may be made, before the
first deadline passes, with reasons told to the person.

CCPA: 45 calendar days from receipt (verification does not stop it), plus one 45-day extension.

``today()`` is the one clock every deadline decision reads (the tests set it here).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import holidays
from django.utils import timezone


def today() -> dt.date:
    """Today in the controller's time zone."""
    return timezone.localdate()


@dataclass(frozen=True)
class Period:
    months: int = 0
    days: int = 0

    def after(self, start: dt.date) -> dt.date:
        return add_months(start, self.months) + dt.timedelta(days=self.days)


@dataclass(frozen=True)
class Rules:
    code: str
    response_period: Period
    # The extension is measured from the start of the clock, as a total period.
    extended_period: Period
    clock_starts_at: Literal["verification", "receipt"]
    rolls_to_working_day: bool
    extension_reason: str


RULES: dict[str, Rules] = {
    "uk_gdpr": Rules(
        code="uk_gdpr",
        response_period=Period(months=1),
        extended_period=Period(months=3),
        clock_starts_at="verification",
        rolls_to_working_day=True,
        extension_reason="UK GDPR Article 12(3): complex or numerous requests",
    ),
    "ccpa": Rules(
        code="ccpa",
        response_period=Period(days=45),
        extended_period=Period(days=90),
        clock_starts_at="receipt",
        rolls_to_working_day=False,
        extension_reason="CCPA §1798.130(a)(2): reasonably necessary extension",
    ),
}


class DeadlineError(ValueError):
    """A deadline rule was broken (for example, an extension after the deadline)."""


def rules_for(jurisdiction: str) -> Rules:
    try:
        return RULES[jurisdiction]
    except KeyError:
        raise DeadlineError(f"Unknown jurisdiction {jurisdiction!r}.") from None


def add_months(start: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the last day of that month if it is shorter."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last_day))


@lru_cache(maxsize=8)
def _uk_bank_holidays(subdivision: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv=subdivision, years=year).keys())


def is_working_day(day: dt.date, subdivision: str = "ENG") -> bool:
    return day.weekday() < 5 and day not in _uk_bank_holidays(subdivision, day.year)


def next_working_day(day: dt.date, subdivision: str = "ENG") -> dt.date:
    while not is_working_day(day, subdivision):
        day += dt.timedelta(days=1)
    return day


def paused_days(pauses: Iterable[tuple[dt.date, dt.date | None]], today: dt.date) -> int:
    """Calendar days on hold; an open pause counts up to ``today``."""
    return sum(((end or today) - start).days for start, end in pauses)


def due_date(
    *,
    jurisdiction: str,
    clock_start: dt.date,
    pauses: Iterable[tuple[dt.date, dt.date | None]] = (),
    extended: bool = False,
    today: dt.date | None = None,
    subdivision: str = "ENG",
) -> dt.date:
    """The day the response is due."""
    rules = rules_for(jurisdiction)
    period = rules.extended_period if extended else rules.response_period
    raw = period.after(clock_start)
    raw += dt.timedelta(days=paused_days(pauses, today or clock_start))
    return next_working_day(raw, subdivision) if rules.rolls_to_working_day else raw


def clock_start(*, jurisdiction: str, received: dt.date, verified: dt.date) -> dt.date:
    """The day the statutory clock starts for this jurisdiction."""
    return verified if rules_for(jurisdiction).clock_starts_at == "verification" else received


def check_extension_allowed(
    *, already_extended: bool, current_due: dt.date, today: dt.date
) -> None:
    """One extension only, and only while the first deadline has not passed."""
    if already_extended:
        raise DeadlineError("This request has already been extended; the law allows one extension.")
    if today > current_due:
        raise DeadlineError(
            f"The deadline ({current_due:%d %B %Y}) has passed; an extension must be made and "
            "told to the person before it."
        )
