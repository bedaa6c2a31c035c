"""The overview's date range."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from requests_app.dashboard.reports import Period

MAX_DAYS = 731  # two years: the figures stay readable, and the queries bounded
EARLIEST = dt.date(2000, 1, 1)  # before any request this system could hold


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class ReportRangeForm(forms.Form):
    """``from`` and ``to`` (GET, both days included); either left out takes the default range's
    (the last twelve months)."""

    def __init__(self, data: Any, *, today: dt.date) -> None:
        super().__init__(data)
        self.today = today
        self.default = Period.default(today)
        # "from" is a Python keyword: the fields are named here, as the URL names them.
        self.fields["from"] = forms.DateField(
            required=False, label="From", widget=DateInput(), initial=self.default.start
        )
        self.fields["to"] = forms.DateField(
            required=False, label="To", widget=DateInput(), initial=self.default.end
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        start = data.get("from") or self.default.start
        end = data.get("to") or self.default.end
        if start > end:
            raise forms.ValidationError("The start must be on or before the end.")
        if start < EARLIEST:
            raise forms.ValidationError(f"Choose a start on or after {EARLIEST:%-d %B %Y}.")
        if start > self.today:
            raise forms.ValidationError(
                "The period starts after today: nothing has happened in it yet."
            )
        if (end - start).days > MAX_DAYS:
            raise forms.ValidationError(
                "A report covers at most 2 years: choose a later start or an earlier end."
            )
        data["period"] = Period(start, end)
        return data

    def period(self) -> Period:
        """The range asked for when it is valid; else the default."""
        if self.is_bound and self.is_valid():
            period = self.cleaned_data["period"]
            assert isinstance(period, Period)
            return period
        return self.default
