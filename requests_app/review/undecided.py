"""Suggested third-party data nobody has decided on yet: named on every page that moves a
response on (submit, approve, release), so that the system's own warnings are never released
unread.

A suggestion is decided when staff withheld it or left it in (``exports_app.suggestions`` leaves
both out). Stores are scanned while the page loads, which reads each one's gathered copy: a store
holding more than ``DSAR_SUGGEST_SCAN_MAX`` records is not scanned (``bench/record_viewer.py``:
about 0.3 s a thousand support tickets), and the page says so instead of claiming there is
nothing to decide.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings

from exports_app import passages, suggestions
from exports_app.suggestions import Suggestion
from requests_app.gathering.gather import gathered_batches
from requests_app.models import DataSubjectRequest, StepStatus

PER_PAGE = 50  # the store page's records a page: a record's page is found from its number


@dataclass(frozen=True)
class Undecided:
    store: str
    table: str
    number: int  # the record's place in its table, as the store's page numbers it
    suggestion: Suggestion

    @property
    def page(self) -> int:
        return (self.number - 1) // PER_PAGE + 1


@dataclass
class Scan:
    undecided: list[Undecided] = field(default_factory=list)
    not_scanned: list[tuple[str, int]] = field(default_factory=list)  # (store, its records)

    @property
    def clear(self) -> bool:
        return not self.undecided and not self.not_scanned


def undecided_suggestions(dsr: DataSubjectRequest) -> Scan:
    """Every suggestion of the request's gathered data still to decide, in store, table and
    record order; and the stores too large to scan now."""
    scan = Scan()
    steps = dsr.gather_steps.filter(status=StepStatus.DONE).exclude(file_name="")
    for step in steps.order_by("store"):
        if step.record_count > settings.DSAR_SUGGEST_SCAN_MAX:
            scan.not_scanned.append((step.store, step.record_count))
            continue
        numbers: Counter[str] = Counter()
        for batch in gathered_batches(step):
            placed = []
            for record in batch.records():
                numbers[batch.table] += 1
                placed.append((numbers[batch.table], passages.record_key(record), record))
            found = suggestions.for_records(
                dsr, step.store, batch.table, [(key, record) for _, key, record in placed]
            )
            scan.undecided += [
                Undecided(step.store, batch.table, number, suggestion)
                for number, key, _ in placed
                for suggestion in found[key]
            ]
    return scan
