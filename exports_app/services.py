"""Building, releasing and delivering exports.

approve → ``exports_plan`` (one ``Export`` per format, built on Celery) → staff preview →
``exports_release`` (immutable from then on; the person is emailed a download link) →
``download_*`` (every download counted and logged) → ``exports_expire_files`` (periodic).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from exports_app import passages, reasons, suggestions
from exports_app.content import ExportContext
from exports_app.files import stream_export
from exports_app.gone import FilesGone, files_gone
from exports_app.models import (
    PDF_ATTACHES,
    RECORD_FORMATS,
    DismissedSuggestion,
    DownloadLink,
    Export,
    ExportFormat,
    ExportStatus,
    FileDownloads,
    Grounds,
    Redaction,
)
from exports_app.renderers import renderer_for
from requests_app.core.audit import event_append
from requests_app.core.errors import RuleViolation, TokenInvalid
from requests_app.core.lifecycle import request_reopen
from requests_app.core.locking import lock, staff_action
from requests_app.core.notifications import contact_email, email_queue
from requests_app.core.permissions import actor_label
from requests_app.core.queue import Task, later
from requests_app.gathering.gather import gathered_records
from requests_app.models import DataSubjectRequest, RequestType, Status
from requests_app.models import Delivery as ResponseDelivery
from smarct_dsar.claims import claim, finish_with_file
from smarct_dsar.crypto import Writable, new_token, token_hash
from smarct_dsar.encrypted_files import store_encrypted

log = logging.getLogger(__name__)

FORMATS: dict[str, tuple[str, ...]] = {
    RequestType.ACCESS: (ExportFormat.JSON, ExportFormat.CSV, ExportFormat.PDF),
    RequestType.PORTABILITY: (ExportFormat.JSON, ExportFormat.CSV),
}


def exports_plan(dsr: DataSubjectRequest) -> list[Export]:
    """One export per format the request type calls for, built after commit. Idempotent."""
    exports = [
        Export.objects.get_or_create(request=dsr, format=f)[0] for f in FORMATS[dsr.request_type]
    ]
    for export in exports:
        if export.status == ExportStatus.PENDING and not _waits_for_files(export):
            later(Task.BUILD_EXPORT, export.pk)
    return exports


def _files_to_attach(dsr: DataSubjectRequest) -> dict[str, Export] | None:
    """The JSON and CSV files the PDF attaches, once both are built; else None."""
    files = {
        e.format: e
        for e in Export.objects.filter(request=dsr, format__in=PDF_ATTACHES).filter(
            status=ExportStatus.READY
        )
    }
    return files if len(files) == len(PDF_ATTACHES) else None


def _waits_for_files(export: Export) -> bool:
    """A PDF is built once the files it attaches are: the last of them queues it
    (``_pdf_follows``)."""
    return export.format == ExportFormat.PDF and _files_to_attach(export.request) is None


def _pdf_follows(dsr: DataSubjectRequest) -> None:
    """A JSON or CSV file was just built (the request locked, in its transaction): once both
    are, the PDF is built (again) to attach them as they are now, unless it already does. A
    PDF being built against the files before is superseded: its result is discarded."""
    pdf = Export.objects.filter(request=dsr, format=ExportFormat.PDF, released_at__isnull=True)
    files = _files_to_attach(dsr)
    current = pdf.first()
    if current is None or files is None:
        return
    if current.status == ExportStatus.READY and current.attached == _digests(files):
        return
    pdf.update(status=ExportStatus.PENDING, claimed_by="", claimed_at=None, error="")
    later(Task.BUILD_EXPORT, current.pk)


def _digests(files: dict[str, Export]) -> dict[str, str]:
    return {format_: export.sha256 for format_, export in files.items()}


def _claim(export_id: int, task_id: str) -> Export | None:
    # A released export is immutable: never claimed for a rebuild.
    exports = Export.objects.filter(pk=export_id, released_at__isnull=True)
    if not claim(
        exports, waiting=ExportStatus.PENDING, working=ExportStatus.BUILDING, task_id=task_id
    ):
        return None
    return Export.objects.select_related("request").get(pk=export_id)


def export_build(*, export_id: int, task_id: str) -> bool:
    """Render one export into an encrypted file. False when it was not ours to build."""
    export = _claim(export_id, task_id)
    if export is None:
        return False
    attached: dict[str, Export] = {}
    if export.format == ExportFormat.PDF:
        attached = _files_to_attach(export.request) or {}
        if not attached:  # too early (the sweeper): the last of its files queues it
            export_release_claim(export_id=export.pk, task_id=task_id)
            return False
    context = ExportContext.for_request(export.request)
    context.files = {f: partial(stream_export, e) for f, e in attached.items()}

    def render(out: Writable) -> int:
        count = renderer_for(export.format).render(context, out)
        context.redactions.check_all_matched()  # a redaction that matched nothing: not stored
        return count

    count, stored = store_encrypted(
        f"exports/{export.request.reference}/{export.format}-{export.attempts}.enc",
        context=export.file_context,
        write=render,
    )
    built = finish_with_file(
        Export.objects.filter(pk=export.pk),
        working=ExportStatus.BUILDING,
        task_id=task_id,
        new_file=stored.name,
        old_file=export.file_name,
        status=ExportStatus.READY,
        built_at=timezone.now(),
        sha256=stored.sha256,
        size_bytes=stored.size,
        record_count=count,
        redactions_digest=context.redactions.digest,
        attached=_digests(attached),
        error="",
        lock=lambda: lock(export.request),
        record=lambda: _built(export, stored.size, stored.sha256),
    )
    return built


def _built(export: Export, size: int, sha256: str) -> None:
    event_append(
        dsr=export.request,
        actor="system",
        action="export_built",
        payload={"format": export.format, "bytes": size, "sha256": sha256},
    )
    if export.format in PDF_ATTACHES:
        _pdf_follows(export.request)


def export_release_claim(*, export_id: int, task_id: str) -> None:
    """Give a claimed build back (to be retried under the same task id)."""
    Export.objects.filter(pk=export_id, claimed_by=task_id, status=ExportStatus.BUILDING).update(
        status=ExportStatus.PENDING
    )


def export_fail(*, export_id: int, task_id: str, error: str) -> None:
    """The build failed (staff see why, and can rebuild). A PDF waiting for this file to attach
    it fails with it: it cannot be built without it."""
    failed = Export.objects.filter(pk=export_id, claimed_by=task_id, status=ExportStatus.BUILDING)
    export = failed.first()
    if export is None or failed.update(status=ExportStatus.FAILED, error=error[:1000]) != 1:
        return
    if export.format in PDF_ATTACHES:
        Export.objects.filter(
            request_id=export.request_id,
            format=ExportFormat.PDF,
            status=ExportStatus.PENDING,
            released_at__isnull=True,
        ).update(
            status=ExportStatus.FAILED,
            error=f"The {export.format} file it attaches failed: {error}"[:1000],
        )


@staff_action("rebuild")
def exports_rebuild(*, dsr: DataSubjectRequest, actor: User) -> list[Export]:
    """Build again before release (after a failure). Released exports never change."""
    event_append(dsr=dsr, actor=actor_label(actor), action="exports_rebuild")
    return _exports_build_again(dsr)


def _exports_build_again(dsr: DataSubjectRequest) -> list[Export]:
    """Every unreleased file of the request is built again (a build under way is superseded:
    its result is discarded when it finishes). Call with the request locked."""
    Export.objects.filter(request=dsr, released_at__isnull=True).update(
        status=ExportStatus.PENDING, claimed_by="", claimed_at=None, error=""
    )
    return exports_plan(dsr)


def link_issue(*, dsr: DataSubjectRequest, actor: str) -> str:
    """A new download link for the request's released exports; returns the URL (only time in clear)."""
    raw = new_token()
    DownloadLink.objects.create(
        request=dsr,
        token_hash=token_hash(raw),
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.DSAR_DOWNLOAD_TTL_DAYS),
        max_downloads=settings.DSAR_DOWNLOAD_MAX,
    )
    return settings.SITE_URL + reverse("download", args=[raw])


def send_link(
    *,
    dsr: DataSubjectRequest,
    actor: str,
    exports: list[Export],
    template: str = "download",
    context: dict[str, Any] | None = None,
) -> None:
    """Issue a download link and email it to the person (after commit, through the outbox).
    ``context``: the facts the template states besides the link (what an erasure did)."""
    url = link_issue(dsr=dsr, actor=actor)
    email_queue(
        template=template,
        to=contact_email(dsr),
        dsr=dsr,
        context={
            "dsr": dsr,
            "download_url": url,
            "ttl_days": settings.DSAR_DOWNLOAD_TTL_DAYS,
            "max_downloads": settings.DSAR_DOWNLOAD_MAX,
            "exports": in_delivery_order(exports),
            **(context or {}),
        },
    )


def exports_release(*, dsr: DataSubjectRequest, actor: User) -> None:
    """Release the built exports: they become immutable and the person is emailed a link. Call
    with the request locked; the caller completes the request (``review.decisions.request_release``)."""
    exports = list(Export.objects.filter(request=dsr))  # built for what is withheld now:
    # ``actions.can_release``
    now = timezone.now()
    Export.objects.filter(request=dsr).update(released_at=now)
    # A response by post is printed by staff (the PDF) and posted: no link, no email.
    by_post = dsr.delivery == ResponseDelivery.POST
    if not by_post:
        send_link(dsr=dsr, actor=actor_label(actor), exports=exports)
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="exports_released",
        payload={"files": {e.format: e.sha256 for e in exports}, "delivery": dsr.delivery},
    )


@staff_action("revoke_link")
def link_revoke(*, dsr: DataSubjectRequest, link: DownloadLink, actor: User) -> None:
    if link.request_id != dsr.pk:
        raise RuleViolation("That link belongs to another request.", field="link")
    DownloadLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    event_append(
        dsr=dsr,
        actor=actor_label(actor),
        action="download_link_revoked",
        payload={"link": link.pk},
    )


@staff_action("reissue_link")
def link_reissue(*, dsr: DataSubjectRequest, actor: User) -> DownloadLink:
    """Revoke every live link and email a new one (a lost email, an expired link)."""
    exports = list(
        Export.objects.filter(request=dsr).filter(
            released_at__isnull=False, file_deleted_at__isnull=True
        )
    )
    DownloadLink.objects.filter(request=dsr).filter(revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    erasure = dsr.request_type == RequestType.ERASURE
    send_link(
        dsr=dsr,
        actor=actor_label(actor),
        exports=exports,
        template="erasure-done" if erasure else "download",
    )
    event_append(dsr=dsr, actor=actor_label(actor), action="download_link_reissued")
    return DownloadLink.objects.filter(request=dsr).order_by("-created_at").first()  # type: ignore[return-value]


# The order a person reads the files in: the PDF first (the easiest to read), then the
# machine-readable copies; a certificate before its signature.
DELIVERY_ORDER = (
    ExportFormat.PDF,
    ExportFormat.JSON,
    ExportFormat.CSV,
    ExportFormat.CERTIFICATE,
    ExportFormat.SIGNATURE,
)


def in_delivery_order(exports: list[Export]) -> list[Export]:
    return sorted(exports, key=lambda e: DELIVERY_ORDER.index(ExportFormat(e.format)))


@dataclass(frozen=True)
class Delivery:
    link: DownloadLink
    exports: list[Export]  # in ``DELIVERY_ORDER``
    left: dict[str, int]  # format → downloads of that file left on the link

    @property
    def used_up(self) -> bool:
        return not any(self.left.values())


def download_resolve(*, raw_token: str) -> Delivery:
    """The live link for a token, or ``TokenInvalid`` saying why: unknown, revoked, expired,
    exhausted (every file downloaded ``max_downloads`` times). A link only ever reaches its own
    request's exports."""
    link = (
        DownloadLink.objects.select_related("request")
        .filter(token_hash=token_hash(raw_token))
        .first()
    )
    if link is None:
        raise TokenInvalid(gettext("This download link is not valid."), reason="unknown")
    # The files being gone is the truth that outlasts the link: say that before "withdrawn"
    # (an erasure revokes the links it deletes the files of) or "expired".
    if (gone := files_gone(link.request)) is not None:
        raise _gone(gone)
    if link.revoked_at is not None:
        raise TokenInvalid(gettext("This download link has been withdrawn."), reason="revoked")
    if link.expires_at <= timezone.now():
        raise TokenInvalid(gettext("This download link has expired."), reason="expired")
    delivery = download_resolve_link(link)
    if delivery.used_up:
        raise TokenInvalid(
            gettext("This download link has been used the maximum number of times."),
            reason="exhausted",
        )
    return delivery


def download_resolve_link(link: DownloadLink) -> Delivery:
    exports = list(
        Export.objects.filter(request=link.request).filter(
            released_at__isnull=False, file_deleted_at__isnull=True
        )
    )
    if not exports:
        gone = files_gone(link.request)
        if gone is not None:
            raise _gone(gone)
        raise TokenInvalid(
            gettext("The files for this request are no longer available."), reason="expired"
        )
    done = dict(FileDownloads.objects.filter(link=link).values_list("format", "downloads"))
    left = {e.format: max(0, link.max_downloads - done.get(e.format, 0)) for e in exports}
    return Delivery(link=link, exports=in_delivery_order(exports), left=left)


def _gone(gone: FilesGone) -> TokenInvalid:
    return TokenInvalid(gone.words(), reason=gone.reason)


def live_link(dsr: DataSubjectRequest) -> DownloadLink | None:
    """The download link the person can still use, if any: not withdrawn, not expired, not
    used up (some file still has downloads left)."""
    return DownloadLink.objects.filter(request=dsr).live().order_by("-created_at").first()


def portal_delivery(*, dsr: DataSubjectRequest) -> Delivery:
    """The request's live download link and its files, for the person's portal; or
    ``TokenInvalid`` (expired: they can ask for a new link there)."""
    if (gone := files_gone(dsr)) is not None:
        raise _gone(gone)
    link = live_link(dsr)
    if link is None:
        raise TokenInvalid(
            gettext(
                "Your download link has expired or been used up: ask for a new one on your "
                "request's page."
            ),
            reason="expired",
        )
    return download_resolve_link(link)


def download_record(*, link: DownloadLink, export: Export, ip: str, user_agent: str) -> bool:
    """Count one download of one file (atomically, never past the link's limit for that file,
    never on a withdrawn or expired link) and log it on the request's trail. False: not counted."""
    with transaction.atomic():
        # The link's row lock orders concurrent downloads of its files (and a revocation).
        if (
            not DownloadLink.objects.select_for_update()
            .filter(pk=link.pk, revoked_at__isnull=True, expires_at__gt=timezone.now())
            .exists()
        ):
            return False
        FileDownloads.objects.get_or_create(link_id=link.pk, format=export.format)
        counted = FileDownloads.objects.filter(
            link_id=link.pk, format=export.format, downloads__lt=link.max_downloads
        ).update(downloads=F("downloads") + 1)
        if counted != 1:
            return False
        DownloadLink.objects.filter(pk=link.pk).update(downloads=F("downloads") + 1)
    event_append(
        dsr=link.request,
        actor="requester",
        action="downloaded",
        payload={
            "format": export.format,
            "ip": ip,
            "user_agent": user_agent[:300],
            "link": link.pk,
        },
    )
    return True


def download_uncount(*, link: DownloadLink, export: Export) -> None:
    """A counted download that was not delivered (its file did not match its record): the person
    gets that file's download back, and the timeline says why."""
    with transaction.atomic():
        given_back = FileDownloads.objects.filter(
            link_id=link.pk, format=export.format, downloads__gt=0
        ).update(downloads=F("downloads") - 1)
        if given_back:
            DownloadLink.objects.filter(pk=link.pk, downloads__gt=0).update(
                downloads=F("downloads") - 1
            )
    event_append(
        dsr=link.request,
        actor="system",
        action="download_not_delivered",
        payload={"format": export.format, "link": link.pk, "why": "file does not match"},
    )


def exports_expire_files() -> int:
    """Delete released export files no live link can reach any more; keep their rows as the record."""
    now = timezone.now()
    live = DownloadLink.objects.live()
    expired = (
        Export.objects.filter(released_at__isnull=False, file_deleted_at__isnull=True)
        .exclude(request__in=live.values("request"))
        .exclude(format__in=RECORD_FORMATS)  # certificates are the record: Smarct keeps them
    )
    count = 0
    for export in expired:
        if export.file_name:
            default_storage.delete(export.file_name)
        Export.objects.filter(pk=export.pk).update(file_deleted_at=now)
        count += 1
    return count


def exports_to_requeue() -> list[int]:
    """Exports whose build message was lost or whose worker died."""
    stale = timezone.now() - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    lost = Q(status=ExportStatus.PENDING, created_at__lt=stale) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    )
    dead = Q(status=ExportStatus.BUILDING, claimed_at__lt=stale)
    found = Export.objects.filter(lost | dead, released_at__isnull=True).select_related("request")
    return [e.pk for e in found if e.status == ExportStatus.BUILDING or not _waits_for_files(e)]


@staff_action("redact")
def redaction_add(
    *,
    dsr: DataSubjectRequest,
    actor: User,
    store: str,
    table: str,
    record_key: str,
    field: str,
    reason: str,
    path: str = "",
    start: int | None = None,
    end: int | None = None,
    passage: str = "",
    grounds: str = "",
) -> list[Redaction]:
    """Withhold a record (``field`` empty), one field of it, or a passage of text in it, with a
    reason. A passage is the characters ``[start, end)`` of the string at ``path`` in the field
    (``exports_app.passages``); given as ``passage`` without offsets, every place it appears in
    that string is withheld. The passage is checked against the data gathered now, and never
    written anywhere but the files' cut: the event names where it is, not what it says.
    ``grounds`` names the exemption relied on (``Grounds``; blank for a reason of staff's own).
    Returns the redactions made (none when it was withheld already)."""
    reason = _checked_reason(reason, grounds)
    record = _gathered_record(dsr, store, table, record_key)
    spans = [(0, 0)]
    if path or passage or start is not None or end is not None:
        spans = _passage_spans(record, field, path, start, end, passage)
        text = passages.leaf_text(record, field, path) or ""
        _reason_keeps_it(reason, grounds, [text[a:b] for a, b in spans])
    elif field and field not in record:
        raise RuleViolation(f"That record has no field {field}.", field="field")
    else:
        _reason_keeps_it(reason, grounds, reasons.values_of(record[field] if field else record))
    where = {"store": store, "table": table, "record_key": record_key, "field": field}
    label = actor_label(actor)
    made = _withhold(dsr, label, where, path, spans, grounds, reason)
    if made:
        _withheld_changed(dsr, label)
    return made


def _checked_reason(reason: str, grounds: str) -> str:
    """The reason the person reads, refused when empty or made only of invisible characters."""
    if grounds and grounds not in Grounds.values:
        raise RuleViolation("Choose one of the listed grounds.", field="grounds")
    visible = "".join(c for c in reason if unicodedata.category(c)[0] not in "CZ")
    if not visible:
        raise RuleViolation(
            "Say why this is withheld; the person is told the reason.", field="reason"
        )
    return reason.strip()


def _reason_keeps_it(reason: str, grounds: str, withheld: list[str]) -> None:
    """Refuse a reason that would release what it withholds (``exports_app.reasons``)."""
    refusal = reasons.leak(reason, withheld, grounds)
    if refusal:
        raise RuleViolation(refusal, field="reason")


def _withheld_changed(dsr: DataSubjectRequest, label: str) -> None:
    """What is withheld changed: after approval, the response goes back to review to be approved
    again (with the change on its record); built files are built again."""
    if dsr.status == Status.FULFILLING:
        request_reopen(dsr=dsr, actor=label)
    if Export.objects.filter(request=dsr).exists():
        _exports_build_again(dsr)  # the built files no longer hold what is withheld


def _withhold(
    dsr: DataSubjectRequest,
    label: str,
    where: dict[str, str],
    path: str,
    spans: list[passages.Span],
    grounds: str,
    reason: str,
) -> list[Redaction]:
    """Record each span withheld (``(0, 0)``: the whole field or record), once, with its event."""
    made = []
    for a, b in spans:
        target = {**where, "path": path if b else ""}
        if (
            Redaction.objects.in_force()
            .filter(request=dsr, **target, span_start=a, span_end=b)
            .exists()
        ):
            continue
        made.append(
            Redaction.objects.create(
                request=dsr,
                **target,
                span_start=a,
                span_end=b,
                grounds=grounds,
                reason=reason,
                created_by=label,
            )
        )
        event_append(
            dsr=dsr,
            actor=label,
            action="redact",
            payload={**_where(target, a, b), "grounds": grounds or None, "reason": reason},
        )
    return made


@dataclass(frozen=True)
class Pick:
    """A passage chosen on the page: where it is, and the words (checked against the data)."""

    field: str
    path: str
    start: int
    end: int
    passage: str


@staff_action("redact")
def passages_withhold(
    *,
    dsr: DataSubjectRequest,
    actor: User,
    store: str,
    table: str,
    record_key: str,
    picks: list[Pick],
    reason: str,
    grounds: str = "",
) -> list[Redaction]:
    """Withhold several passages of one record for one reason (suggestions accepted together),
    all or none: each is checked against the data gathered now first."""
    reason = _checked_reason(reason, grounds)
    if not picks:
        raise RuleViolation("Tick what to withhold.", field="suggestion")
    record = _gathered_record(dsr, store, table, record_key)
    checked = [
        (p, _passage_spans(record, p.field, p.path, p.start, p.end, p.passage)) for p in picks
    ]
    _reason_keeps_it(reason, grounds, [p.passage for p in picks])
    label = actor_label(actor)
    made = []
    for pick, spans in checked:
        where = {"store": store, "table": table, "record_key": record_key, "field": pick.field}
        made += _withhold(dsr, label, where, pick.path, spans, grounds, reason)
    if made:
        _withheld_changed(dsr, label)
    return made


def _where(target: dict[str, str], start: int, end: int) -> dict[str, Any]:
    """Where a redaction is, for the timeline (never the withheld text)."""
    where: dict[str, Any] = {
        "store": target["store"],
        "table": target["table"],
        "field": target["field"] or None,
    }
    if end:
        where.update(path=target["path"], characters=[start, end])
    return where


def _passage_spans(
    record: dict[str, Any],
    field: str,
    path: str,
    start: int | None,
    end: int | None,
    passage: str,
) -> list[passages.Span]:
    """Where the passage is in the data gathered now, or a clear refusal."""
    if not field:
        raise RuleViolation("Choose the field the passage is in.", field="field")
    text = passages.leaf_text(record, field, path)
    if text is None:
        raise RuleViolation(f"The field {field} holds no text there.", field="path")
    if start is None and end is None:
        if not passage:
            raise RuleViolation("Select or type the words to withhold.", field="passage")
        # as words: "Ann" is not withheld from inside "Announcement"
        edge_before = r"(?<!\w)" if re.match(r"\w", passage) else ""
        edge_after = r"(?!\w)" if re.search(r"\w$", passage) else ""
        pattern = edge_before + re.escape(passage) + edge_after
        found = [m.start() for m in re.finditer(pattern, text)]
        if not found:
            raise RuleViolation(
                "Those words are not in that text; copy them exactly.", field="passage"
            )
        return [(i, i + len(passage)) for i in found]
    if start is None or end is None or not passages.fits(text, (start, end)):
        raise RuleViolation(
            "That selection is not inside the text; select the words again.", field="passage"
        )
    if passage and text[start:end] != passage:
        raise RuleViolation(
            "The text has changed since the page was shown; select the words again.",
            field="passage",
        )
    return [(start, end)]


def _gathered_record(dsr: DataSubjectRequest, store: str, table: str, key: str) -> dict[str, Any]:
    step = dsr.gather_steps.filter(store=store).first()
    if step is not None and step.file_name:
        for name, record in gathered_records(step):
            if name == table and passages.record_key(record) == key:
                return record
    raise RuleViolation(
        "That record is not in the data gathered (it may have been gathered again); reload the page.",
        field="record_key",
    )


@staff_action("unredact")
def redaction_undo(*, dsr: DataSubjectRequest, actor: User, redaction_id: int) -> Redaction:
    """Put back what a redaction withheld. The redaction is kept, marked undone by whom and when,
    and the undo is an event of its own; the files are built again."""
    redaction = Redaction.objects.in_force().filter(request=dsr, pk=redaction_id).first()
    if redaction is None:
        raise RuleViolation("That is not withheld (it was put back already).")
    label = actor_label(actor)
    redaction.withdrawn_at = timezone.now()
    redaction.withdrawn_by = label
    redaction.save(update_fields=["withdrawn_at", "withdrawn_by"])
    target = {
        "store": redaction.store,
        "table": redaction.table,
        "field": redaction.field,
        "path": redaction.path,
    }
    event_append(
        dsr=dsr,
        actor=label,
        action="unredact",
        payload={
            **_where(target, redaction.span_start, redaction.span_end),
            "reason": redaction.reason,
            "withheld_by": redaction.created_by,
        },
    )
    _withheld_changed(dsr, label)
    return redaction


@staff_action("dismiss_suggestion")
def suggestions_dismiss(
    *,
    dsr: DataSubjectRequest,
    actor: User,
    store: str,
    table: str,
    record_key: str,
    picks: list[Pick],
) -> None:
    """Staff looked at suggested passages and release them: none is suggested again. Each
    must be a suggestion of that record now (all or none): a span staff were never shown is
    not theirs to declare safe, and what is left in is part of what an approver approves."""
    if not picks:
        raise RuleViolation("Tick what to leave in.", field="suggestion")
    record = _gathered_record(dsr, store, table, record_key)
    current = {
        (s.field, s.path, s.start, s.end)
        for s in suggestions.for_record(dsr, store, table, record, record_key)
    }
    if any((p.field, p.path, p.start, p.end) not in current for p in picks):
        raise RuleViolation(
            "That is not a suggestion of this record now (it may have been withheld or left in "
            "meanwhile); reload the page.",
            field="suggestion",
        )
    label = actor_label(actor)
    made = [
        _dismiss(dsr, label, store, table, record_key, p.field, p.path, p.start, p.end)
        for p in picks
    ]
    if any(made) and dsr.status == Status.FULFILLING:
        # what is left in is approved too: after approval, the response is approved again
        request_reopen(dsr=dsr, actor=label)


def _dismiss(
    dsr: DataSubjectRequest,
    label: str,
    store: str,
    table: str,
    record_key: str,
    field: str,
    path: str,
    start: int,
    end: int,
) -> bool:
    """Leave one suggestion in; True when it was not left in already."""
    target = dict(store=store, table=table, record_key=record_key, field=field, path=path)
    _, created = DismissedSuggestion.objects.get_or_create(
        request=dsr, **target, span_start=start, span_end=end, defaults={"dismissed_by": label}
    )
    if created:
        event_append(
            dsr=dsr, actor=label, action="dismiss_suggestion", payload=_where(target, start, end)
        )
    return created
