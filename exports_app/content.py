"""What an export contains, streamed from the gathered files, with redactions and the portability
filter applied in this one place so that every renderer honours them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from exports_app import passages
from exports_app.models import Redaction, redactions_digest
from exports_app.passages import REDACTED, record_key
from requests_app import datamap
from requests_app.datamap.spec import DataMap, TableSpec
from requests_app.gathering.gather import gathered_batches
from requests_app.models import DataSubjectRequest, GatherStep, RequestType, StepStatus
from requests_app.stores import Batch

# The person's other rights and how to complain, as the PDF letter says them (in the request's
# language: marked here, translated in ``pdf/access.html``; the JSON file keeps them in English).
RIGHTS = [
    (
        gettext_noop("Rectification"),
        gettext_noop("You can ask us to correct information that is inaccurate or incomplete."),
    ),
    (
        gettext_noop("Erasure"),
        gettext_noop("You can ask us to delete your information, where the law allows it."),
    ),
    (
        gettext_noop("Restriction"),
        gettext_noop(
            "You can ask us to limit how we use your information while a concern is looked at."
        ),
    ),
    (
        gettext_noop("Objection"),
        gettext_noop(
            "You can object to our use of your information for our legitimate interests, and to "
            "marketing at any time."
        ),
    ),
    (
        gettext_noop("Portability"),
        gettext_noop("You can have the information you gave us in a machine-readable format."),
    ),
    (
        gettext_noop("Withdraw consent"),
        gettext_noop("Where we rely on your consent you can withdraw it at any time."),
    ),
]
COMPLAINT = gettext_noop(
    "You have the right to complain to the Information Commissioner's Office (ICO), "
    "Wycliffe House, Water Lane, Wilmslow SK9 5AF; https://ico.org.uk/make-a-complaint/; 0303 123 1113."
)


class RedactionUnmatched(Exception):
    """A redaction matched no record: the file would claim to withhold what it does not."""


@dataclass
class Redactions:
    """Applied to each record as gathered (its fingerprint is of that), before anything else."""

    records: dict[tuple[str, str, str], str] = field(default_factory=dict)  # → reason
    fields: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    # (store, table, record key) → (field, path) → spans of withheld passages
    spans: dict[tuple[str, str, str], dict[tuple[str, str], list[passages.Span]]] = field(
        default_factory=dict
    )
    listed: list[dict[str, Any]] = field(default_factory=list)  # for the export's header
    digest: str = ""
    # (store, table, record key, field or "", path, start, end) of each redaction that withheld
    # something
    matched: set[tuple[str, str, str, str, str, int, int]] = field(default_factory=set)

    @classmethod
    def for_request(cls, dsr: DataSubjectRequest) -> Redactions:
        found = cls(digest=redactions_digest(dsr))
        for r in Redaction.objects.in_force().filter(request=dsr).order_by("pk"):
            item: dict[str, Any] = {
                "store": r.store,
                "table": r.table,
                "field": r.field or None,
                "reason": r.reason,
            }
            target = (r.store, r.table, r.record_key)
            if r.is_passage:
                item["passage"] = True
                found.spans.setdefault(target, {}).setdefault((r.field, r.path), []).append(
                    (r.span_start, r.span_end)
                )
            elif r.field:
                found.fields.setdefault(target, {})[r.field] = r.reason
            else:
                found.records[target] = r.reason
            found.listed.append(item)
        return found

    def touches(self, store: str, table: str) -> bool:
        return any(key[:2] == (store, table) for key in (*self.records, *self.fields, *self.spans))

    def apply(self, store: str, table: str, record: dict[str, Any]) -> dict[str, Any]:
        if not self.records and not self.fields and not self.spans:
            return record
        target = (store, table, record_key(record))
        if target in self.records:
            # the whole record goes: what is withheld inside it goes with it
            self.matched.add((*target, "", "", 0, 0))
            self.matched.update((*target, f, "", 0, 0) for f in self.fields.get(target, {}))
            self.matched.update(
                (*target, f, p, a, b)
                for (f, p), s in self.spans.get(target, {}).items()
                for a, b in s
            )
            return {REDACTED: self.records[target]}
        spans = self.spans.get(target)
        if spans:
            # a passage whose text is not there withholds nothing: left unmatched, it fails the
            # build (offsets that no longer point at the text must never pass for withheld)
            fitting = {
                where: s
                for where, s in spans.items()
                if all(passages.fits(passages.leaf_text(record, *where), span) for span in s)
            }
            self.matched.update(
                (*target, f, p, a, b) for (f, p), s in fitting.items() for a, b in s
            )
            record = passages.apply_spans(record, fitting)
        hidden = self.fields.get(target)
        if hidden:
            # a field the record does not have withholds nothing: left unmatched, it fails the
            # build (a misspelt field must never pass for withheld)
            self.matched.update((*target, name, "", 0, 0) for name in hidden if name in record)
            return {k: (REDACTED if k in hidden else v) for k, v in record.items()}
        return record

    def check_all_matched(self) -> None:
        """Every redaction found its record (and its field, and its passage); else the build
        fails, naming where (never the reason nor the passage: they may name someone, and errors
        are logged)."""
        wanted = (
            {(*target, "", "", 0, 0) for target in self.records}
            | {(*target, name, "", 0, 0) for target, names in self.fields.items() for name in names}
            | {
                (*target, f, p, a, b)
                for target, places in self.spans.items()
                for (f, p), s in places.items()
                for a, b in s
            }
        )
        missing = sorted(wanted - self.matched)
        if missing:
            where = ", ".join(
                f"{store}.{table} record {key[:12]}…"
                + (f" field {name!r}" if name else "")
                + (f" at {path!r}" if path else "")
                + (f" characters {a} to {b}" if b else "")
                for store, table, key, name, path, a, b in missing
            )
            raise RedactionUnmatched(
                f"withheld data matches no record ({where}): the data gathered has changed since "
                "it was withheld; review what is withheld and build the files again"
            )


def _portable(spec: TableSpec, batch: Batch) -> Batch:
    """Only the fields the data map marks portable."""
    if batch.columns is None:  # (a withheld record keeps its marker)
        return Batch(
            batch.table,
            None,
            [
                {k: v for k, v in r.items() if k == REDACTED or spec.field_spec(k).portable}
                for r in batch.rows
            ],
        )
    keep = [i for i, column in enumerate(batch.columns) if spec.field_spec(column).portable]
    if len(keep) == len(batch.columns):
        return batch
    return Batch(
        batch.table,
        tuple(batch.columns[i] for i in keep),
        [tuple(row[i] for i in keep) for row in batch.rows],
    )


@dataclass(frozen=True)
class TableData:
    """One store table's data, streamed as batches (SQL rows stay tuples: cheap to write)."""

    store: str
    table: str
    spec: TableSpec
    batches: Iterator[Batch]

    def records(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches:
            yield from batch.records()


@dataclass
class ExportContext:
    dsr: DataSubjectRequest
    data_map: DataMap
    steps: list[GatherStep]
    redactions: Redactions
    portable_only: bool
    generated_at: Any = field(default_factory=timezone.now)
    # Files built already that this one carries (the PDF attaches the JSON and the CSV): by
    # format, each file's bytes as they stream from storage.
    files: dict[str, Callable[[], Iterable[bytes]]] = field(default_factory=dict)

    @classmethod
    def for_request(cls, dsr: DataSubjectRequest) -> ExportContext:
        data_map = datamap.current()
        order = {name: i for i, name in enumerate(data_map.stores)}
        steps = sorted(
            (
                s
                for s in dsr.gather_steps.filter(status=StepStatus.DONE)
                if s.store in data_map.stores
            ),
            key=lambda s: order[s.store],
        )
        return cls(
            dsr=dsr,
            data_map=data_map,
            steps=steps,
            redactions=Redactions.for_request(dsr),
            portable_only=dsr.request_type == RequestType.PORTABILITY,
        )

    def tables(self) -> Iterator[TableData]:
        """Each store table's data, in order, streaming. Consume one table before the next."""
        for step in self.steps:
            store = self.data_map.stores[step.store]
            for table, group in itertools.groupby(
                gathered_batches(step), key=lambda batch: batch.table
            ):
                spec = store.tables.get(table)
                if spec is None or (self.portable_only and not spec.portable):
                    for _ in group:  # drain it: a table the map no longer lists, or not portable
                        pass
                    continue
                yield TableData(
                    step.store, table, spec, (self._clean(step.store, spec, b) for b in group)
                )

    def _clean(self, store: str, spec: TableSpec, batch: Batch) -> Batch:
        """Apply redactions to the records as gathered (what their fingerprints are of), then the
        portability filter; untouched batches pass through as they are."""
        if self.redactions.touches(store, batch.table):
            batch = Batch(
                batch.table,
                None,
                [self.redactions.apply(store, batch.table, r) for r in batch.records()],
            )
        if self.portable_only:
            batch = _portable(spec, batch)
        return batch

    def header(self) -> dict[str, Any]:
        """Everything but the data: the request, Article 15 information, what was searched."""
        dsr = self.dsr
        return {
            "format": "smarct-dsar-export",
            "version": 1,
            "generated_at": self.generated_at.isoformat(),
            "controller": {
                "name": settings.DSAR_CONTROLLER_NAME,
                "contact": settings.DSAR_PRIVACY_CONTACT,
            },
            "request": {
                "reference": dsr.reference,
                "type": dsr.request_type,
                "jurisdiction": dsr.jurisdiction,
                "received_at": dsr.received_at.isoformat(),
                "verified_at": dsr.verified_at.isoformat() if dsr.verified_at else None,
                "due_on": dsr.due_on.isoformat() if dsr.due_on else None,
            },
            "subject": {"name": dsr.requester_name, "email": dsr.requester_email},
            "article_15": self.article_15(),
            "searched": [
                {
                    "store": s.store,
                    # the store as the person knows it (the map's ``description`` is for staff)
                    "description": self.data_map.stores[s.store].public_title,
                    "organisation": self.data_map.stores[s.store].organisation,
                    "records": s.record_count,
                    "tables": s.table_counts,
                }
                for s in self.steps
            ],
            "redactions": self.redactions.listed,
        }

    def article_15(self) -> dict[str, Any]:
        held = {
            self.data_map.stores[s.store].tables[t].category
            for s in self.steps
            for t in s.table_counts
            if t in self.data_map.stores[s.store].tables
        }
        return {
            "categories": {
                category: {
                    "purposes": list(entry.purposes),
                    "legal_basis": entry.legal_basis,
                    "recipients": list(entry.recipients),
                    "retention": entry.retention,
                    "source": entry.source,
                    "transfers": entry.transfers,
                    "automated_decisions": entry.automated_decisions,
                }
                for category, entry in self.data_map.register.items()
                if category in held
            },
            "rights": [{"right": name, "explanation": text} for name, text in RIGHTS],
            "complaint": COMPLAINT,
        }
