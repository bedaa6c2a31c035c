"""Values as a person reads them on paper, by the data map's ``format:`` of each field: dates and
times in words in the person's time zone, money with its currency, Yes/No. The JSON and CSV files
keep the values exactly as gathered; this is for the PDF only.

Without a format nothing risky is guessed: only a value that is plainly an ISO date and time
(``2026-03-03T14:05:00.123+00:00``) is shown as one, and a true/false value as Yes/No."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import dateformat
from django.utils.formats import number_format
from django.utils.translation import gettext

from requests_app.datamap.spec import FieldSpec

# "2026-03-03T14:05", with seconds, fractions and an offset or not: a time, never a version
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
# Currencies whose sign every reader knows; any other is written with its ISO 4217 code.
SIGNS = {"GBP": "£", "EUR": "€"}
TRUE = {"true", "yes", "y", "1", "t"}
FALSE = {"false", "no", "n", "0", "f"}


def parse_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime, or None; a time without an offset is taken as UTC (what stores keep)."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and ISO_DATETIME.fullmatch(value.strip()):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def parse_boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        text = str(value).strip().lower()
        return True if text in TRUE else False if text in FALSE else None
    return None


def parse_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None  # "NaN", "Infinity": not an amount


def _datetime_words(value: dt.datetime, zone: str) -> str:
    local = value.astimezone(ZoneInfo(zone))
    return str(dateformat.format(local, "j F Y, H:i"))  # "3 March 2026, 14:05"


def _money(amount: Decimal, currency: str) -> str:
    number = number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)
    sign = SIGNS.get(currency)
    if sign:
        return f"-{sign}{number[1:]}" if number.startswith("-") else f"{sign}{number}"
    return f"{number} {currency}"


def readable_value(value: Any, spec: FieldSpec, zone: str | None = None) -> str | None:
    """The value in words, or None when it has no other reading than its text (the caller shows
    it as it is). Call within the request's language (``translation.override``)."""
    zone = zone or settings.TIME_ZONE
    if spec.format == "datetime":
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            return str(dateformat.format(day, "j F Y"))
        return _datetime_words(moment, zone) if moment else None
    if spec.format == "date":
        day = parse_date(value)
        return str(dateformat.format(day, "j F Y")) if day else None
    if spec.format == "money" and spec.currency:
        amount = parse_decimal(value)
        return _money(amount, spec.currency) if amount is not None else None
    if spec.format == "boolean" or isinstance(value, bool):
        answer = parse_boolean(value)
        return None if answer is None else gettext("Yes") if answer else gettext("No")
    if spec.format is None and (moment := parse_datetime(value)) is not None:
        return _datetime_words(moment, zone)
    return None


def sort_key(value: Any, spec: FieldSpec) -> tuple[int, Any]:
    """A key that orders any two values of a column without comparing text with numbers:
    missing values rank lowest (so last, newest first), then times, numbers, then text."""
    if value is None or value == "":
        return (0, 0)
    if spec.format in {"date", "datetime"} or spec.format is None:
        moment = parse_datetime(value)
        if moment is not None:
            return (1, moment.timestamp())
        day = parse_date(value) if spec.format else None
        if day is not None:
            return (1, dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    number = parse_decimal(value) if not isinstance(value, str) or spec.format else None
    if number is not None and number.is_finite():
        return (2, float(number))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (2, float(value))
    return (3, str(value))
