"""What leaves the building: export files, the links that deliver them, and redactions.

Each export is a row with a status, like a gathering step: built by a Celery task that claims it,
written encrypted through Django's storage API, immutable once released. The file itself is
deleted when no link can reach it any more; the row (format, size, SHA-256) stays as the record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from requests_app.models import DataSubjectRequest


class ExportFormat(models.TextChoices):
    JSON = "json", "JSON"
    CSV = "csv", _("CSV (zip)")
    PDF = "pdf", "PDF"
    CERTIFICATE = "certificate", _("Deletion certificate (PDF)")
    SIGNATURE = "signature", _("Signature of the deletion certificate")


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str


# What each file is: the download's Content-Type and its name's extension (the renderers of the
# first three register under these; the certificate module makes the last two).
FILE_TYPES: dict[str, FileType] = {
    ExportFormat.JSON: FileType("application/json", "json"),
    ExportFormat.CSV: FileType("application/zip", "zip"),
    ExportFormat.PDF: FileType("application/pdf", "pdf"),
    ExportFormat.CERTIFICATE: FileType("application/pdf", "pdf"),
    ExportFormat.SIGNATURE: FileType("application/json", "pdf.sig"),
}

# What the PDF attaches: these files exactly as they are released beside it.
PDF_ATTACHES = (ExportFormat.JSON, ExportFormat.CSV)

# Kept after the request's personal data is purged and after its links expire: they hold none.
RECORD_FORMATS = (ExportFormat.CERTIFICATE, ExportFormat.SIGNATURE)


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    BUILDING = "building", "Building"
    READY = "ready", "Built, not yet released"
    FAILED = "failed", "Failed"


class Export(models.Model):
    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="exports"
    )
    format = models.CharField(max_length=12, choices=ExportFormat.choices)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=255, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    file_deleted_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    file_name = models.CharField(max_length=500, blank=True)
    # Of the file the person receives (plaintext), so they can check what they downloaded.
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    record_count = models.PositiveBigIntegerField(default=0)
    # The digest of the redactions the file was built with: it is released only while that is
    # still the request's set (``redactions_digest``).
    redactions_digest = models.CharField(max_length=64, blank=True)
    # The PDF's: the SHA-256 of each file it attaches, by format ({"json": …, "csv": …}); it is
    # released only beside those very files (``actions.can_release``).
    attached = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["request", "format"]
        constraints = [
            models.UniqueConstraint(fields=["request", "format"], name="one_export_per_format")
        ]

    def __str__(self) -> str:
        return f"{self.format} export of {self.request_id} ({self.status})"

    @property
    def file_context(self) -> str:
        """What its encrypted file is bound to (``smarct_dsar.crypto``): this row, this kind."""
        return f"export:{self.request_id}:{self.format}:{self.pk}"

    @property
    def filename(self) -> str:
        what = "your-data" if self.format not in RECORD_FORMATS else "deletion-certificate"
        return f"{self.request.reference}-{what}.{FILE_TYPES[self.format].extension}"

    @property
    def content_type(self) -> str:
        return FILE_TYPES[self.format].content_type


class DownloadLinkQuerySet(models.QuerySet["DownloadLink"]):
    def live(self) -> DownloadLinkQuerySet:
        """Links the person can still use: not withdrawn, not expired, and at least one of the
        request's released files still has downloads left on it (``max_downloads`` of each)."""
        used_up = FileDownloads.objects.filter(
            link=OuterRef(OuterRef("pk")),
            format=OuterRef("format"),
            downloads__gte=OuterRef(OuterRef("max_downloads")),
        )
        available = Export.objects.filter(
            request=OuterRef("request"), released_at__isnull=False, file_deleted_at__isnull=True
        ).exclude(Exists(used_up))
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()).filter(
            Exists(available)
        )


class DownloadLink(models.Model):
    """An emailed link to a request's released exports. Only a SHA-256 of the token is stored."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="download_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    max_downloads = models.PositiveIntegerField()  # of each file (``FileDownloads``)
    downloads = models.PositiveIntegerField(default=0)  # of every file together, for the record
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = DownloadLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"download link for {self.request_id}"


class FileDownloads(models.Model):
    """How many times one file was downloaded through one link: each file of a link may be
    downloaded ``link.max_downloads`` times. A row appears with the file's first download (no row:
    none yet); it is counted with a conditional update, so never past the limit."""

    link = models.ForeignKey(DownloadLink, on_delete=models.CASCADE, related_name="file_downloads")
    format = models.CharField(max_length=12, choices=ExportFormat.choices)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "format"], name="one_count_per_link_file")
        ]

    def __str__(self) -> str:
        return f"{self.downloads} downloads of {self.format} through link {self.link_id}"


class Grounds(models.TextChoices):
    """Why something is withheld, under the Data Protection Act 2018 (for staff and the
    exemptions register); ``GROUNDS_TOLD`` is how the person reads it."""

    THIRD_PARTY = "third_party", "Another person's information (DPA 2018 Sch. 2 para 16)"
    PRIVILEGE = "privilege", "Legal professional privilege (DPA 2018 Sch. 2 para 19)"
    CRIME = "crime", "Crime and taxation (DPA 2018 Sch. 2 para 2)"
    REFERENCE = "reference", "Confidential reference (DPA 2018 Sch. 2 para 24)"
    NEGOTIATIONS = "negotiations", "Negotiations (DPA 2018 Sch. 2 para 23)"


GROUNDS_TOLD = {
    Grounds.THIRD_PARTY: "It is about another person, who has not agreed to its release",
    Grounds.PRIVILEGE: "It is confidential legal advice",
    Grounds.CRIME: "Releasing it would harm the prevention or detection of crime",
    Grounds.REFERENCE: "It is a confidential reference given about you",
    Grounds.NEGOTIATIONS: "It records our intentions in negotiations with you",
}


class RedactionQuerySet(models.QuerySet["Redaction"]):
    def in_force(self) -> RedactionQuerySet:
        """Not undone: what the files withhold."""
        return self.filter(withdrawn_at__isnull=True)


class Redaction(models.Model):
    """A record, one field of it, or a passage of text in it, withheld from release (for example
    another person's name in a support ticket). ``record_key`` is a fingerprint of the record's
    content (see ``exports_app.content.record_key``), stable across re-gathering of the same
    data; a passage is the characters ``[span_start, span_end)`` of the string at ``path`` (a
    JSON Pointer inside the field's value, see ``exports_app.passages``).

    Undoing one is a new fact, not a deletion: ``withdrawn_at``/``withdrawn_by`` are set and the
    row stays, so the trail shows who withheld what and who put it back."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="redactions"
    )
    store = models.CharField(max_length=100)
    table = models.CharField(max_length=200)
    record_key = models.CharField(max_length=64)
    field = models.CharField(max_length=200, blank=True)  # blank: the whole record
    path = models.CharField(max_length=500, blank=True)  # a passage: where in the field's value
    span_start = models.PositiveIntegerField(default=0)
    span_end = models.PositiveIntegerField(default=0)  # 0: the whole field (or record)
    # the exemption relied on (blank: a reason staff wrote themselves); ``reason`` is what the
    # person reads
    grounds = models.CharField(max_length=20, choices=Grounds.choices, blank=True)
    reason = models.TextField()
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.CharField(max_length=200, blank=True)

    objects = RedactionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["request", "store", "table"], name="redaction_by_table")]

    def __str__(self) -> str:
        where = f"{self.field or '*'}{self.path}"
        if self.is_passage:
            where += f"[{self.span_start}:{self.span_end}]"
        return f"redact {self.store}.{self.table}[{self.record_key[:8]}].{where}"

    @property
    def is_passage(self) -> bool:
        return self.span_end > self.span_start

    @property
    def target(self) -> tuple[str, str, str, str, str, int, int]:
        return (
            self.store,
            self.table,
            self.record_key,
            self.field,
            self.path,
            self.span_start,
            self.span_end,
        )


class DismissedSuggestion(models.Model):
    """A suggested passage (see ``exports_app.suggestions``) staff looked at and chose to
    release: not suggested again. Who and when are on the row and on the timeline."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="dismissed_suggestions"
    )
    store = models.CharField(max_length=100)
    table = models.CharField(max_length=200)
    record_key = models.CharField(max_length=64)
    field = models.CharField(max_length=200)
    path = models.CharField(max_length=500, blank=True)
    span_start = models.PositiveIntegerField()
    span_end = models.PositiveIntegerField()
    dismissed_by = models.CharField(max_length=200)
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "request",
                    "store",
                    "table",
                    "record_key",
                    "field",
                    "path",
                    "span_start",
                    "span_end",
                ],
                name="one_dismissal_per_passage",
            )
        ]

    def __str__(self) -> str:
        return f"dismissed {self.store}.{self.table}[{self.record_key[:8]}].{self.field}{self.path}"


def redactions_digest(dsr: DataSubjectRequest) -> str:
    """The digest of the request's redactions as they stand: a file is released only if it was
    built with this set."""
    rows = (
        Redaction.objects.in_force()
        .filter(request=dsr)
        .values_list(
            "store", "table", "record_key", "field", "path", "span_start", "span_end", "reason"
        )
    )
    return hashlib.sha256(orjson.dumps(sorted(rows))).hexdigest()
