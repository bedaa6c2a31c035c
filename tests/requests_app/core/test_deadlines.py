"""The statutory deadline table. Each expected date was worked out by hand from the rule
(ICO guidance for UK GDPR; CCPA §1798.130) and the published bank holidays for that year."""

from __future__ import annotations

import datetime as dt

import pytest

from requests_app.core import deadlines

D = dt.date


@pytest.mark.parametrize(
    ("start", "expected", "why"),
    [
        (D(2026, 11, 24), D(2026, 12, 24), "same date next month, a working day"),
        (D(2026, 1, 31), D(2026, 3, 2), "31 Jan → 28 Feb (no 31st), a Saturday → Monday"),
        (D(2028, 1, 31), D(2028, 2, 29), "leap year: 31 Jan → 29 Feb, a Tuesday"),
        (D(2024, 1, 31), D(2024, 2, 29), "leap year 2024: 29 Feb, a Thursday"),
        (D(2026, 3, 31), D(2026, 4, 30), "31 Mar → 30 Apr (no 31st)"),
        (D(2026, 5, 31), D(2026, 6, 30), "31 May → 30 Jun"),
        (D(2026, 8, 31), D(2026, 9, 30), "31 Aug → 30 Sep"),
        (D(2026, 11, 25), D(2026, 12, 29), "Christmas Day, weekend, Boxing Day observed → Tue 29"),
        (D(2026, 11, 26), D(2026, 12, 29), "Boxing Day (Sat) → Sun → Mon observed → Tue 29"),
        (D(2026, 3, 3), D(2026, 4, 7), "Good Friday, weekend, Easter Monday → Tuesday"),
        (D(2026, 3, 6), D(2026, 4, 7), "Easter Monday → Tuesday"),
        (D(2025, 3, 18), D(2025, 4, 22), "Good Friday 2025 → Tuesday after Easter Monday"),
        (D(2026, 12, 1), D(2027, 1, 4), "New Year's Day (Fri) and a weekend → Monday"),
        (D(2026, 7, 31), D(2026, 9, 1), "31 Aug 2026 is the summer bank holiday"),
        (
            D(2026, 6, 13),
            D(2026, 7, 13),
            "a clock started on a Saturday still counts from that day",
        ),
        (D(2026, 2, 28), D(2026, 3, 30), "28 Mar 2026 is a Saturday → Monday 30"),
        (D(2026, 12, 31), D(2027, 2, 1), "31 Jan 2027 is a Sunday → Monday 1 Feb"),
        (D(2027, 11, 25), D(2027, 12, 29), "Christmas 2027 on a Saturday: 27 and 28 observed"),
    ],
)
def test_uk_gdpr_one_calendar_month(start: dt.date, expected: dt.date, why: str) -> None:
    assert deadlines.due_date(jurisdiction="uk_gdpr", clock_start=start) == expected, why


def test_scottish_bank_holidays_differ_from_english() -> None:
    # 2 Jan 2027 is a Saturday; Scotland observes its 2 January holiday on Monday 4 January.
    start = D(2026, 12, 2)
    assert deadlines.due_date(jurisdiction="uk_gdpr", clock_start=start, subdivision="ENG") == D(
        2027, 1, 4
    )
    assert deadlines.due_date(jurisdiction="uk_gdpr", clock_start=start, subdivision="SCT") == D(
        2027, 1, 5
    )


def test_paused_days_are_added_back() -> None:
    # Raw due 10 Feb; 8 days on hold (28 Jan → 5 Feb) → 18 Feb, a Wednesday.
    pauses = [(D(2026, 1, 28), D(2026, 2, 5))]
    assert deadlines.due_date(
        jurisdiction="uk_gdpr", clock_start=D(2026, 1, 10), pauses=pauses
    ) == D(2026, 2, 18)


def test_pause_across_a_month_end_then_weekend() -> None:
    # Raw due 28 Feb; 7 days on hold across the month end → 7 Mar, a Saturday → Monday 9 Mar.
    pauses = [(D(2026, 2, 25), D(2026, 3, 4))]
    assert deadlines.due_date(
        jurisdiction="uk_gdpr", clock_start=D(2026, 1, 31), pauses=pauses
    ) == D(2026, 3, 9)


def test_open_pause_counts_up_to_today() -> None:
    pauses = [(D(2026, 4, 20), None)]
    due = deadlines.due_date(
        jurisdiction="uk_gdpr", clock_start=D(2026, 4, 10), pauses=pauses, today=D(2026, 4, 25)
    )
    assert due == D(2026, 5, 15)  # 10 May + 5 days


def test_two_pauses_add_up() -> None:
    pauses = [(D(2026, 4, 1), D(2026, 4, 3)), (D(2026, 4, 10), D(2026, 4, 13))]
    assert deadlines.paused_days(pauses, today=D(2026, 5, 1)) == 5


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (D(2026, 1, 31), D(2026, 4, 30)),  # three months from the start, short month
        (D(2026, 9, 25), D(2026, 12, 29)),  # lands on Christmas → after Boxing Day observed
        (D(2025, 11, 30), D(2026, 3, 2)),  # 28 Feb 2026 → Saturday → Monday 2 Mar
    ],
)
def test_uk_extension_is_two_further_months(start: dt.date, expected: dt.date) -> None:
    assert deadlines.due_date(jurisdiction="uk_gdpr", clock_start=start, extended=True) == expected


def test_ccpa_is_45_calendar_days_without_rolling() -> None:
    # 15 Feb 2026 is a Sunday: CCPA counts calendar days and does not move it.
    assert deadlines.due_date(jurisdiction="ccpa", clock_start=D(2026, 1, 1)) == D(2026, 2, 15)


def test_ccpa_extension_is_a_further_45_days() -> None:
    assert deadlines.due_date(jurisdiction="ccpa", clock_start=D(2026, 1, 1), extended=True) == D(
        2026, 4, 1
    )


def test_clock_starts_at_verification_in_the_uk_and_at_receipt_under_ccpa() -> None:
    received, verified = D(2026, 3, 1), D(2026, 3, 9)
    assert (
        deadlines.clock_start(jurisdiction="uk_gdpr", received=received, verified=verified)
        == verified
    )
    assert (
        deadlines.clock_start(jurisdiction="ccpa", received=received, verified=verified) == received
    )


def test_extension_refused_after_the_deadline() -> None:
    with pytest.raises(deadlines.DeadlineError, match="has passed"):
        deadlines.check_extension_allowed(
            already_extended=False, current_due=D(2026, 2, 2), today=D(2026, 2, 3)
        )


def test_extension_allowed_on_the_due_date_itself() -> None:
    deadlines.check_extension_allowed(
        already_extended=False, current_due=D(2026, 2, 2), today=D(2026, 2, 2)
    )


def test_second_extension_refused() -> None:
    with pytest.raises(deadlines.DeadlineError, match="already been extended"):
        deadlines.check_extension_allowed(
            already_extended=True, current_due=D(2026, 2, 2), today=D(2026, 1, 20)
        )


def test_unknown_jurisdiction_is_an_error() -> None:
    with pytest.raises(deadlines.DeadlineError):
        deadlines.due_date(jurisdiction="mars", clock_start=D(2026, 1, 1))
