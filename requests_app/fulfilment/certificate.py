"""The deletion certificate: a PDF (WeasyPrint) saying what erasure did in every store, what was
kept and why, what the re-scan found and which recipients were told, signed with Ed25519
(``smarct_dsar/signing.py``) in a detached ``.sig`` file.

It names the person only by a keyed hash of their email, so it holds no personal data: Smarct
keeps it (with its signature) after the request's personal data is purged and after the download
link expires. It is delivered like any export: released at once (the erasure was approved under
four-eyes before it ran) and linked from an email. Issuing it also deletes the gathered copy of the
data that was just erased.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from exports_app.models import RECORD_FORMATS, DownloadLink, Export, ExportFormat, ExportStatus
from exports_app.renderers.pdf import pdf_bytes
from exports_app.services import send_link
from requests_app import datamap
from requests_app.core.audit import event_append
from requests_app.core.lifecycle import request_complete
from requests_app.datamap.spec import TableSpec, readable
from requests_app.fulfilment.erasure import erasure_done
from requests_app.fulfilment.erasure_plans import (
    StorePlan,
    TablePlan,
    erasure_plan,
    plan_from_json,
    retention_counted,
)
from requests_app.fulfilment.recipients import notices_told
from requests_app.gathering.gather import gathered_files_delete
from requests_app.models import (
    DataSubjectRequest,
    ErasureStep,
    NoticePurpose,
    Status,
)
from smarct_dsar import signing
from smarct_dsar.crypto import keyed_hash
from smarct_dsar.encrypted_files import store_encrypted

# How each anonymisation strategy reads on the certificate.
STRATEGY_WORDS = {
    "null": _("removed"),
    "fixed": _("overwritten"),
    "keyed_hash": _("replaced by a keyed hash"),
    "generalise_ip": _("network only"),
    "generalise_date": _("year only"),
}


def subject_identifier(email: str) -> str:
    """Who the certificate is about, without saying it: HMAC-SHA-256 of the email under Smarct's
    pseudonym key. Smarct (and only Smarct) can show a given address matches it."""
    return keyed_hash(email.strip().lower(), purpose="certificate")[:32]


# What was done to a table's rows, in the order the certificate says it, from what was done
# (never from the rule alone: a rule applied to no rows did nothing).
DONE_WORDS = (
    ("deleted", _("Deleted")),
    ("anonymised", _("Anonymised")),
    ("retained", _("Retained")),
)


def done_words(counts: dict[str, int]) -> list[str]:
    """What was done to a table's rows: one word per action that changed or kept some of them,
    "Left unchanged" when other records kept every one; empty when none were held."""
    words = [str(word) for key, word in DONE_WORDS if counts.get(key)]
    if not words and counts.get("shared"):
        words.append(str(_("Left unchanged")))
    return words


@dataclass(frozen=True)
class StoreReport:
    plan: StorePlan
    step: ErasureStep | None
    rules: dict[str, Any] = field(default_factory=dict)  # the approved plan's, by table

    @property
    def name(self) -> str:
        """The store in the person's words (the map's ``public_description``, else its name in
        words), never the staff's ``description`` kept in the approved plan."""
        store = datamap.current().stores.get(self.plan.store)
        return store.public_title if store is not None else readable(self.plan.store)

    @property
    def where(self) -> str:
        """The store named in a sentence to the person (``StoreSpec.public_where``)."""
        store = datamap.current().stores.get(self.plan.store)
        if store is not None:
            return store.public_where
        return f"{readable(self.plan.store)} ({self.plan.organisation})"

    def table_title(self, table: str) -> str:
        spec = self._spec(table)
        return spec.title if spec is not None else readable(table)

    def _spec(self, table: str) -> TableSpec | None:
        store = datamap.current().stores.get(self.plan.store)
        return store.tables.get(table) if store is not None else None

    def tables(self) -> list[dict[str, Any]]:
        outcome = self.step.outcome if self.step else {}
        rescan = self.step.rescan if self.step else {}
        rows = []
        for table in self.plan.tables:
            done = outcome.get(table.table, {})

            # What the store reported, or at least what the approved plan counted (a worker
            # killed after the store committed leaves the retry nothing more to report).
            def count(key: str, table: TablePlan = table, done: dict[str, Any] = done) -> int:
                return max(int(done.get(key, 0)), int(getattr(table, key)))

            # the map's labels, as the person reads them in their access PDF
            spec = self._spec(table.table)
            counts = {key: count(key) for key in ("deleted", "anonymised", "retained", "shared")}
            if table.action != "anonymise":
                counts["anonymised"] = 0  # fields anonymised in kept rows: said with "kept"
            rows.append(
                {
                    "plan": table,
                    "done": done_words(counts),
                    "title": spec.title if spec is not None else readable(table.table),
                    "fields": ", ".join(
                        f"{spec.field_spec(name).title if spec else readable(name)} "
                        f"({STRATEGY_WORDS.get(how, how)})"
                        for name, how in table.anonymised_fields
                    ),
                    "deleted": count("deleted"),
                    "expired": count("expired"),
                    "anonymised": count("anonymised"),
                    "retained": count("retained"),
                    "shared": count("shared"),
                    "counted": retention_counted(
                        self.plan.store, table.table, self.rules.get(table.table, {}).get("rule")
                    )
                    if table.action == "retain"
                    else "",
                    "left": int(rescan.get(table.table, {}).get("left", 0)),
                }
            )
        return rows


def _reports(dsr: DataSubjectRequest) -> list[StoreReport]:
    """Each store's part of the approved plan, with what its erasure step did."""
    steps = {s.store: s for s in dsr.erasure_steps.all()}
    approved = (dsr.erasure_plan or {}).get("stores")
    rules = (dsr.erasure_plan or {}).get("rules") or {}
    plans = plan_from_json(approved) if approved else erasure_plan(dsr=dsr)
    return [StoreReport(plan, steps.get(plan.store), rules.get(plan.store) or {}) for plan in plans]


def erasure_told(dsr: DataSubjectRequest) -> dict[str, Any]:
    """What the person's email says was done, from the same facts as the certificate: each of
    our systems where records were deleted or anonymised, each table whose records were kept
    (why, until when and how that date is counted), how many were left because other records
    refer to them, and the recipients told and still to confirm. In the active language."""
    changed, kept, shared = [], [], 0
    for report in _reports(dsr):
        if report.plan.by_notice:
            continue
        where = report.where
        rows = report.tables()
        deleted = sum(r["deleted"] for r in rows)
        anonymised = sum(r["anonymised"] for r in rows if r["plan"].action == "anonymise")
        shared += sum(r["shared"] for r in rows)
        if deleted or anonymised:
            store = datamap.current().stores.get(report.plan.store)
            changed.append(
                {
                    "where": where,
                    "deleted": deleted,
                    "anonymised": anonymised,
                    # a processor's system holds the data for us: not one of our own
                    "ours": store is None or store.role != "processor",
                }
            )
        kept += [
            {
                "where": where,
                "what": report.table_title(r["plan"].table),
                "records": r["retained"],
                "legal_basis": r["plan"].legal_basis,
                "period": r["plan"].period,
                "until": r["plan"].until,
                "counted": r["counted"],
            }
            for r in rows
            if r["retained"]
        ]
    told = notices_told(dsr=dsr, purpose=NoticePurpose.ERASURE)
    return {
        "changed": [c for c in changed if c["ours"]],
        "changed_for_us": [c for c in changed if not c["ours"]],
        "kept": kept,
        "shared": shared,
        **told,
    }


def _context(dsr: DataSubjectRequest) -> dict[str, Any]:
    reports = _reports(dsr)
    approval = dsr.events.filter(action="approve").order_by("-seq").first()
    return {
        "dsr": dsr,
        "reference": dsr.reference,
        "controller": settings.DSAR_CONTROLLER_NAME,
        "privacy_contact": settings.DSAR_PRIVACY_CONTACT,
        "subject_id": subject_identifier(dsr.requester_email),
        "approved_at": approval.at if approval else None,
        "issued_at": timezone.now(),
        "stores": [r for r in reports if not r.plan.by_notice],
        "notices": list(dsr.notices.all()),
        "copies": _copies_deleted(dsr),
        "key_id": signing.key_id(signing.signing_key().public_key()),
        "fingerprint": signing.published_keys()[0].fingerprint,
        "site_url": settings.SITE_URL,
        "verify_url": settings.SITE_URL + reverse("certificate-verify"),
        "keys_url": settings.SITE_URL + reverse("signing-keys"),
    }


def certificate_render(dsr: DataSubjectRequest) -> bytes:
    with translation.override(dsr.language):  # the person's language, like their emails
        html = render_to_string("pdf/certificate.html", _context(dsr))
    return pdf_bytes(html)


def _store_file(dsr: DataSubjectRequest, format_: str, data: bytes) -> Export:
    # the row first: its file is bound to it
    export, _ = Export.objects.get_or_create(request=dsr, format=format_)
    _, stored = store_encrypted(
        f"exports/{dsr.reference}/{format_}.enc",
        context=export.file_context,
        write=lambda out: out.write(data),
    )
    now = timezone.now()
    export, _ = Export.objects.update_or_create(
        request=dsr,
        format=format_,
        defaults={
            "status": ExportStatus.READY,
            "file_name": stored.name,
            "sha256": stored.sha256,
            "size_bytes": stored.size,
            "built_at": now,
            "released_at": now,
        },
    )
    return export


def copies_forget(dsr: DataSubjectRequest) -> None:
    """Before the certificate: every copy Smarct made of the person's data goes (what this
    erasure gathered, and the gathered data and files of their earlier requests; certificates
    are kept), and every link to those files is revoked. Recorded on the timeline for the
    certificate to say. Safe to run again (a retried certificate finds nothing more)."""
    gathered_files_delete(dsr)
    earlier = DataSubjectRequest.objects.filter(
        requester_email__lower=dsr.requester_email.lower()
    ).exclude(pk=dsr.pk)
    now = timezone.now()
    deleted: dict[str, int] = {}
    for other in earlier.order_by("received_at"):
        count = gathered_files_delete(other)
        files = Export.objects.filter(request=other, file_deleted_at__isnull=True).exclude(
            format__in=RECORD_FORMATS
        )
        for export in files:
            if export.file_name:
                default_storage.delete(export.file_name)
            Export.objects.filter(pk=export.pk).update(file_deleted_at=now)
            count += 1
        links = DownloadLink.objects.filter(request=other, revoked_at__isnull=True)
        revoked = links.update(revoked_at=now)
        if count or revoked:
            deleted[other.reference] = count
            event_append(
                dsr=other,
                actor="system",
                action="copies_deleted",
                payload={"by": dsr.reference, "files": count, "links_revoked": revoked},
            )
    if deleted:
        event_append(
            dsr=dsr, actor="system", action="copies_deleted", payload={"requests": deleted}
        )


def _copies_deleted(dsr: DataSubjectRequest) -> dict[str, int]:
    """What ``copies_forget`` deleted for this erasure (over every attempt)."""
    found: dict[str, int] = {}
    for event in dsr.events.filter(action="copies_deleted"):
        for reference, count in event.payload.get("requests", {}).items():
            found[reference] = found.get(reference, 0) + int(count)
    return found


def certificate_issue(*, request_id: int) -> bool:
    """Build, sign, release and email the certificate, and complete the request. True when this
    call did it; False when it was not due (not finished, or already issued)."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if not erasure_done(dsr):
        return False
    copies_forget(dsr)
    pdf = certificate_render(dsr)
    signature = signing.sign(pdf, reference=dsr.reference)
    saved: list[str] = []
    try:
        with transaction.atomic():
            locked = DataSubjectRequest.objects.select_for_update().get(pk=dsr.pk)
            if locked.status != Status.FULFILLING:
                return False
            exports = []
            for format_, data in (
                (ExportFormat.CERTIFICATE, pdf),
                (ExportFormat.SIGNATURE, signature),
            ):
                exports.append(_store_file(locked, format_, data))
                saved.append(exports[-1].file_name)
            event_append(
                dsr=locked,
                actor="system",
                action="certificate_issued",
                payload={
                    "sha256": exports[0].sha256,
                    "key_id": signing.key_id(signing.signing_key().public_key()),
                },
            )
            with translation.override(locked.language):  # the words the email is in
                told = erasure_told(locked)
            send_link(
                dsr=locked,
                actor="system",
                exports=exports,
                template="erasure-done",
                context=told,
            )
            request_complete(dsr=locked)
    except Exception:  # nothing committed: the files must not outlive the rows
        for name in saved:
            default_storage.delete(name)
        raise
    return True
