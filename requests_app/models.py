"""The data subject request and everything recorded about it.

State changes never happen here: ``core/lifecycle.py`` is the state machine, and the
concerns' services call it.
These classes only describe what is stored and the database constraints that keep it sane.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# ``field__lower=value``: compare lower-cased, so the functional index below can be used (an
# ``iexact`` lookup cannot use an index on PostgreSQL or SQLite).
models.CharField.register_lookup(Lower)


class RequestType(models.TextChoices):
    # The person reads these (the form, the emails): translated, like everything they read.
    ACCESS = "access", _("Access (a copy of your data)")
    RECTIFICATION = "rectification", _("Correction of inaccurate data")
    ERASURE = "erasure", _("Deletion of your data")
    PORTABILITY = "portability", _("Portability (your data in a machine-readable format)")
    MARKETING_OPT_OUT = "marketing_opt_out", _("Opt out of marketing")
    RESTRICTION = "restriction", _("Restriction (stop using your data for a time)")
    OBJECTION = "objection", _("Objection to how we use your data")


class ObjectionScope(models.TextChoices):
    """What an objection (Article 21) is to. Direct marketing is an absolute right (21(3)): it is
    carried out like a marketing opt-out, never reviewed; other processing is decided by staff."""

    DIRECT_MARKETING = "direct_marketing", _("Direct marketing")
    OTHER = "other", _("Another use of my data (with my reasons)")


# Carried out as soon as the address is confirmed, never reviewed and not on the month's clock
# (a marketing opt-out is absolute): the words the person reads say so.
AT_ONCE_TYPES = frozenset({RequestType.MARKETING_OPT_OUT})


class Jurisdiction(models.TextChoices):
    UK_GDPR = "uk_gdpr", "UK GDPR"
    CCPA = "ccpa", "CCPA (California)"


class Channel(models.TextChoices):
    """How a request arrived. The public form and API are the person's own; the rest are logged
    by staff (``intake/staff.py``): the law lets a person ask in any way, to anyone."""

    WEB = "web", "Web form"
    API = "api", "API"
    PHONE = "phone", "Phone"
    LETTER = "letter", "Letter"
    EMAIL = "email", "Email"
    IN_PERSON = "in_person", "In person"
    SOCIAL_MEDIA = "social_media", "Social media"


STAFF_CHANNELS = frozenset(set(Channel) - {Channel.WEB, Channel.API})


class IdentityCheck(models.TextChoices):
    """How staff checked who a person is when they logged the request."""

    KNOWN_DETAILS = "known_details", "Known customer details matched"
    ID_SEEN = "id_seen", "Identity document seen"
    EMAIL_VERIFIED = "email_verified", "Email address verified"


class Delivery(models.TextChoices):
    """How the response reaches the person."""

    EMAIL = "email", "By email"
    POST = "post", "By post (printed)"


class Status(models.TextChoices):
    AWAITING_VERIFICATION = "awaiting_verification", "Awaiting verification"
    VERIFIED = "verified", "Verified"
    GATHERING = "gathering", "Gathering data"
    IN_REVIEW = "in_review", "In review"
    # Submitted by one member of staff; approved by another (the two-person rule).
    READY_FOR_APPROVAL = "ready_for_approval", "Ready for approval"
    APPROVED = "approved", "Approved"
    FULFILLING = "fulfilling", "Fulfilling"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    ON_HOLD = "on_hold", "On hold (awaiting clarification)"
    EXPIRED = "expired", "Expired (never verified)"


OPEN_STATUSES = frozenset(
    {
        Status.AWAITING_VERIFICATION,
        Status.VERIFIED,
        Status.GATHERING,
        Status.IN_REVIEW,
        Status.READY_FOR_APPROVAL,
        Status.APPROVED,
        Status.FULFILLING,
        Status.ON_HOLD,
    }
)
CLOSED_STATUSES = frozenset(set(Status) - OPEN_STATUSES)


class DataSubjectRequest(models.Model):
    reference = models.CharField(max_length=20, unique=True, editable=False)
    request_type = models.CharField(max_length=20, choices=RequestType.choices)
    jurisdiction = models.CharField(
        max_length=10, choices=Jurisdiction.choices, default=Jurisdiction.UK_GDPR
    )
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.AWAITING_VERIFICATION, db_index=True
    )
    # Where a request on hold returns to when it resumes.
    held_from_status = models.CharField(max_length=24, choices=Status.choices, blank=True)

    requester_name = models.CharField(max_length=200)
    requester_email = models.EmailField(max_length=254, db_index=True)
    # The address as one mailbox: lower-cased, without a sub-address (bob+x@ is bob@): what the
    # duplicate check and the per-address limit count (``intake.receive.email_key``).
    requester_email_key = models.CharField(max_length=254, blank=True, db_index=True)
    requester_phone = models.CharField(max_length=40, blank=True)
    requester_company = models.CharField(max_length=200, blank=True)

    agent_name = models.CharField(max_length=200, blank=True)
    agent_email = models.EmailField(max_length=254, blank=True)
    agent_relationship = models.CharField(max_length=200, blank=True)

    details = models.TextField(blank=True)
    # An objection's scope (blank for the other types), and the person's grounds for an
    # objection to other processing or for a restriction (Articles 18 and 21).
    objection_scope = models.CharField(max_length=20, choices=ObjectionScope.choices, blank=True)
    grounds = models.TextField(blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.WEB)
    # The language the request was filed in: every email to the person and the PDF letter are
    # written in it, whenever they are sent (``core/notifications.py``, the PDF renderer).
    language = models.CharField(
        max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    # Logged by staff: who took it, how they checked identity, how the response goes out.
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    identity_check = models.CharField(max_length=20, choices=IdentityCheck.choices, blank=True)
    identity_note = models.TextField(blank=True)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.EMAIL)
    postal_address = models.TextField(blank=True)

    received_at = models.DateTimeField()
    email_verified_at = models.DateTimeField(null=True, blank=True)
    authority_confirmed_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The statutory clock: the day it started and the day the response is due (UK local dates).
    clock_started_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    personal_data_purged_at = models.DateTimeField(null=True, blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
    )
    # Who submitted the prepared response for approval, and when (cleared when sent back).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The erasure plan as approved (rules, their digest, and the counts shown): what runs.
    erasure_plan = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "received_at"]
        indexes = [
            # The duplicate check and the legal-hold check look people up by address, case
            # insensitively (``requester_email__lower``): an index on the lower-cased address.
            models.Index(Lower("requester_email"), "request_type", name="dsr_email_lower_type"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]), name="dsr_status_known"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def at_once(self) -> bool:
        return self.stops_marketing

    @property
    def contact_name(self) -> str:
        """Whom we write to and greet: the agent, when one acts for the person."""
        return self.agent_name if self.agent_email else self.requester_name

    @property
    def has_agent(self) -> bool:
        return bool(self.agent_email)

    @property
    def stops_marketing(self) -> bool:
        """A marketing opt-out, or an objection to direct marketing: carried out at once without
        review, and never refused (UK GDPR Article 21(3)). One rule for the workflow, the staff
        actions and the opt-out itself."""
        return self.request_type == RequestType.MARKETING_OPT_OUT or (
            self.request_type == RequestType.OBJECTION
            and self.objection_scope == ObjectionScope.DIRECT_MARKETING
        )


class CorrectionDecision(models.TextChoices):
    PENDING = "pending", "Not decided yet"
    ACCEPTED = "accepted", "Accepted"
    EDITED = "edited", "Accepted with an edit"
    DECLINED = "declined", "Declined"


class Correction(models.Model):
    """One correction a person asked for: the field, what they see, what it should be."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="corrections"
    )
    position = models.PositiveSmallIntegerField()
    field = models.CharField(max_length=100)
    current_value = models.CharField(max_length=500, blank=True)
    corrected_value = models.CharField(max_length=500)
    # Staff's decision (requests_app/fulfilment/rectification.py): which mapped field it corrects, the value
    # to write (the person's, or an edit of it), or why it is declined; then what happened.
    decision = models.CharField(
        max_length=10, choices=CorrectionDecision.choices, default=CorrectionDecision.PENDING
    )
    target_field = models.CharField(max_length=100, blank=True)
    final_value = models.CharField(max_length=500, blank=True)
    decision_reason = models.TextField(blank=True)
    decided_by = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=dict)  # "store.table" → {"changed": n, "read_back": bool}

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "position"], name="correction_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.corrected_value}"


class ClockPause(models.Model):
    """A clarification hold: the statutory clock stops from ``started_on`` until ``ended_on``."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="pauses")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    question = models.TextField()
    # "identity": staff asked for proof of identity; the person uploads it with their reply.
    proof = models.CharField(max_length=12, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["started_on", "pk"]
        constraints = [
            # At most one open pause per request.
            models.UniqueConstraint(
                fields=["request"], condition=Q(ended_on__isnull=True), name="one_open_pause"
            ),
        ]

    def __str__(self) -> str:
        return f"pause {self.started_on} to {self.ended_on or 'now'}"


class MessageDirection(models.TextChoices):
    TO_PERSON = "to_person", "To the person"
    FROM_PERSON = "from_person", "From the person"


class RequestMessage(models.Model):
    """One message of the conversation with the person on their portal (the status link): a
    question staff asked (a clarification hold) or the person's reply. Free text: purged with the
    request's personal data."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=12, choices=MessageDirection.choices)
    body = models.TextField()
    author = models.CharField(max_length=200)  # an actor label: staff:…, requester, agent
    pause = models.ForeignKey(
        ClockPause, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.direction} message on {self.request_id}"


class DocumentKind(models.TextChoices):
    ATTACHMENT = "attachment", "Attachment"  # what a request arrived with (a letter, an email)
    IDENTITY = "identity", "Proof of identity"
    AUTHORITY = "authority", "Proof of an agent's authority"


class RequestDocument(models.Model):
    """A file about the request: what it arrived with, or proof the person uploaded. Stored
    encrypted through the storage API (``documents/<reference>/``); its type was checked by
    content, not name. Proof is deleted ``DSAR_PROOF_RETENTION_DAYS`` after the decision it was
    for (``delete_after``), and the deletion goes on the timeline."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="documents"
    )
    message = models.ForeignKey(
        RequestMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    kind = models.CharField(max_length=12, choices=DocumentKind.choices)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)  # as sniffed from the content
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file_name = models.CharField(max_length=500, blank=True)
    uploaded_by = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField()
    delete_after = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} document on {self.request_id}"

    @property
    def file_context(self) -> str:
        """What its encrypted file is bound to (``smarct_dsar.crypto``)."""
        return f"document:{self.request_id}:{self.pk}"


class Extension(models.Model):
    """The single extension the law allows, with its reason (told to the person)."""

    request = models.OneToOneField(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="extension"
    )
    granted_at = models.DateTimeField()
    reason = models.TextField()
    previous_due_on = models.DateField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"extension of {self.request_id}"


class TokenPurpose(models.TextChoices):
    VERIFY = "verify", "Verify the email address"
    STATUS = "status", "View the request's status"


class RequestToken(models.Model):
    """A secret link sent by email. Only a SHA-256 of the token is stored."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="tokens")
    purpose = models.CharField(max_length=10, choices=TokenPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} token for {self.request_id}"


class ReferenceCounter(models.Model):
    """The last request number issued in a year, so references read DSR-2026-000042."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class EventAction(models.TextChoices):
    """Every action the audit trail records, with the words the timeline shows. One place: an
    action not named here is refused by ``event_append`` (a typo cannot pass unseen)."""

    # the request's moves (``lifecycle.TRANSITIONS``)
    RECEIVED = "received", "Received"
    # the conversation on the person's portal
    MESSAGE_SENT = "message_sent", "Message to the person"
    REPLY_RECEIVED = "reply_received", "Reply from the person"
    DOCUMENT_ADDED = "document_added", "Document added"
    DOCUMENT_DELETED = "document_deleted", "Document deleted"
    IDENTITY_CONFIRMED = "identity_confirmed", "Identity confirmed"
    LINK_REQUESTED = "link_requested", "New download link asked for"
    VERIFY = "verify", "Verified"
    START_GATHERING = "start_gathering", "Gathering started"
    FINISH_GATHERING = "finish_gathering", "Gathering finished"
    SUBMIT = "submit", "Submitted for approval"
    SEND_BACK = "send_back", "Sent back for changes"
    APPROVE = "approve", "Approved"
    REPLAN = "replan", "Sent back: the erasure plan changed"
    REOPEN = "reopen", "Sent back: what is withheld changed after approval"
    START_FULFILMENT = "start_fulfilment", "Carrying out started"
    START_OPT_OUT = "start_opt_out", "Opt-out started"
    COMPLETE = "complete", "Completed"
    REJECT = "reject", "Rejected"
    HOLD = "hold", "Clarification asked"
    RESUME = "resume", "Resumed"
    WITHDRAW = "withdraw", "Withdrawn"
    EXPIRE = "expire", "Expired"
    # the person, and staff
    EMAIL_VERIFIED = "email_verified", "Email confirmed"
    DUPLICATE_SUBMISSION = "duplicate_submission", "Asked again"
    AUTHORITY_CONFIRMED = "authority_confirmed", "Agent's authority confirmed"
    ASSIGN = "assign", "Assigned"
    NOTE = "note", "Note"
    EXTEND = "extend", "Deadline extended"
    REDACT = "redact", "Withheld"
    UNREDACT = "unredact", "Put back (withholding undone)"
    DISMISS_SUGGESTION = "dismiss_suggestion", "Suggestion to withhold dismissed"
    CORRECTION_DECIDED = "correction_decided", "Correction decided"
    LEGAL_HOLD_PLACED = "legal_hold_placed", "Legal hold placed"
    LEGAL_HOLD_RELEASED = "legal_hold_released", "Legal hold released"
    # gathering, files and delivery
    STORE_GATHERED = "store_gathered", "Store gathered"
    STORE_FAILED = "store_failed", "Store failed"
    STORE_RETRY = "store_retry", "Store retried"
    EXPORT_BUILT = "export_built", "File built"
    EXPORTS_REBUILD = "exports_rebuild", "Files rebuilt"
    EXPORT_PREVIEWED = "export_previewed", "File previewed"
    EXPORTS_RELEASED = "exports_released", "Files released"
    DOWNLOADED = "downloaded", "Downloaded"
    DOWNLOAD_NOT_DELIVERED = "download_not_delivered", "Download stopped: file did not match"
    DOWNLOAD_LINK_REVOKED = "download_link_revoked", "Download link withdrawn"
    DOWNLOAD_LINK_REISSUED = "download_link_reissued", "New download link sent"
    # erasure, correction, opt-out, recipients
    ERASURE_WAITING = "erasure_waiting", "Erasure waiting"
    STORE_ERASED = "store_erased", "Store erased"
    STORE_ERASURE_FAILED = "store_erasure_failed", "Store erasure failed"
    ERASURE_RETRY = "erasure_retry", "Store erasure retried"
    COPIES_DELETED = "copies_deleted", "Copies deleted"
    CERTIFICATE_ISSUED = "certificate_issued", "Certificate issued"
    RECTIFIED = "rectified", "Corrected"
    RECTIFICATION_FAILED = "rectification_failed", "Correction failed"
    RECTIFICATION_RETRY = "rectification_retry", "Correction retried"
    OPTED_OUT = "opted_out", "Opted out"
    OPT_OUT_FAILED = "opt_out_failed", "Opt-out failed"
    RESTRICTED = "restricted", "Processing restricted"
    RESTRICTION_FAILED = "restriction_failed", "Restriction failed"
    RESTRICTION_LIFT_DECIDED = "restriction_lift_decided", "Restriction to be lifted: person told"
    RESTRICTION_LIFTED = "restriction_lifted", "Restriction lifted"
    RESTRICTION_LIFT_FAILED = "restriction_lift_failed", "Lifting the restriction failed"
    OBJECTION_UPHELD = "objection_upheld", "Objection upheld"
    RECIPIENT_NOTIFIED = "recipient_notified", "Recipient told"
    RECIPIENT_REMINDED = "recipient_reminded", "Recipient reminded"
    RECIPIENT_CONFIRMED = "recipient_confirmed", "Recipient confirmed"
    PERSONAL_DATA_PURGED = "personal_data_purged", "Personal data purged"
    # staff accounts (no request)
    QUEUE_EXPORTED = "queue_exported", "Queue exported (CSV)"
    REPORT_EXPORTED = "report_exported", "Report exported (CSV or PDF)"
    STAFF_CREATED = "staff_created", "Staff account created"
    STAFF_CHANGED = "staff_changed", "Staff account changed"
    STAFF_DEACTIVATED = "staff_deactivated", "Staff account switched off"
    TWO_FACTOR_ADDED = "two_factor_added", "Two-factor device added"
    TWO_FACTOR_REMOVED = "two_factor_removed", "Two-factor device removed"


class RequestEvent(models.Model):
    """One entry of the append-only, hash-chained audit trail (see ``audit.py``).

    ``payload`` holds whatever may contain personal data (reasons, questions); the chain covers
    its digest, so purging personal data after the retention period keeps the chain verifiable.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.PROTECT, related_name="events", null=True
    )
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=40, choices=EventAction.choices)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    payload = models.JSONField(default=dict)
    payload_digest = models.CharField(max_length=64)
    payload_purged_at = models.DateTimeField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.from_status}→{self.to_status}"


class AuditHead(models.Model):
    """The single row that serialises appends to the chain (locked with SELECT … FOR UPDATE)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    # HMAC (the audit key) over seq and hash: moving the head back needs the key.
    mac = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"audit head #{self.seq}"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Outbox(models.Model):
    """A message to send after the change that causes it commits: claimed by one worker
    (``sending``), ``sent`` once delivered and never again, retried while ``failed`` or lost
    (``to_resend``, read by the sweeper)."""

    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True
        ordering = ["created_at"]

    @classmethod
    def record_failure(cls, pk: int, attempts: int, exc: Exception) -> None:
        cls._default_manager.filter(pk=pk).update(
            status=EmailStatus.FAILED,
            attempts=attempts + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:500],
        )

    @classmethod
    def to_resend(cls, max_attempts: int) -> list[int]:
        """Rows whose message was lost, whose worker died while sending, or that failed."""
        stale = timezone.now() - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
        cls._default_manager.filter(status=EmailStatus.SENDING, claimed_at__lt=stale).update(
            status=EmailStatus.FAILED, last_error="worker lost while sending"
        )
        retryable = cls._default_manager.filter(
            status__in=[EmailStatus.PENDING, EmailStatus.FAILED],
            created_at__lt=stale,
            attempts__lt=max_attempts,
        )
        return list(retryable.values_list("pk", flat=True))


class OutgoingEmail(Outbox):
    """An email queued in the same transaction as the change that causes it.

    The bodies hold secret links, so they are stored encrypted and wiped once sent; the row
    stays as the record that (and when) the person was told.
    """

    request = models.ForeignKey(
        DataSubjectRequest, null=True, on_delete=models.SET_NULL, related_name="emails"
    )
    template = models.CharField(max_length=60)
    to_encrypted = models.BinaryField()
    subject_encrypted = models.BinaryField()
    text_encrypted = models.BinaryField()
    html_encrypted = models.BinaryField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.template} ({self.status})"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class StoreStep(models.Model):
    """One store's share of a request's work (gathering it, erasing from it), claimed by one
    Celery task at a time (``smarct_dsar/claims.py``; shared services in ``requests_app/core/steps.py``).

    ``claimed_by`` is the Celery task id that holds the step, so a message re-delivered after its
    worker died can take the step straight back, while a stale claim is re-queued by the sweeper.
    """

    store = models.CharField(max_length=100)
    status = models.CharField(
        max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=255, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        abstract = True


class GatherStep(StoreStep):
    """Gathering one store for one request: its status, its encrypted file and what it found."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="gather_steps"
    )
    file_name = models.CharField(max_length=500, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    record_count = models.PositiveBigIntegerField(default=0)
    table_counts = models.JSONField(default=dict)
    category_counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["store"]
        constraints = [
            models.UniqueConstraint(fields=["request", "store"], name="one_step_per_store")
        ]

    def __str__(self) -> str:
        return f"{self.store} for {self.request_id}: {self.status}"

    @property
    def file_context(self) -> str:
        """What its encrypted file is bound to (``smarct_dsar.crypto``): this row, this store."""
        return f"gathered:{self.request_id}:{self.store}:{self.pk}"


class ErasureStep(StoreStep):
    """Erasing the person from one store, then searching it again to prove it (the re-scan).

    Claimed like a ``GatherStep``. ``outcome`` adds up what each attempt changed, table by table;
    ``rescan`` is what the last search found: records left that the plan does not retain fail
    the step, visibly and retryably.
    """

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="erasure_steps"
    )
    outcome = models.JSONField(default=dict)  # table → {"deleted", "anonymised", "retained"}
    rescan = models.JSONField(default=dict)  # table → {"left": n, "retained": n}

    class Meta:
        ordering = ["store"]
        constraints = [
            models.UniqueConstraint(fields=["request", "store"], name="one_erasure_per_store")
        ]

    def __str__(self) -> str:
        return f"erase {self.store} for {self.request_id}: {self.status}"


class LegalHold(models.Model):
    """Staff stop an erasure (litigation, an investigation). Erasure waits while one is active."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="legal_holds"
    )
    reason = models.TextField()
    placed_by = models.CharField(max_length=200)
    placed_at = models.DateTimeField(auto_now_add=True)
    released_by = models.CharField(max_length=200, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["placed_at"]

    def __str__(self) -> str:
        return f"legal hold on {self.request_id}"


class NoticePurpose(models.TextChoices):
    ERASURE = "erasure", _("Erasure")
    RECTIFICATION = "rectification", _("Rectification")


class ProcessorNotice(models.Model):
    """An Article 19 notice to a recipient Smarct cannot change through an API, tracked until it
    confirms (by its link, or staff recording the reply). The request's personal data is in the
    email only; here are the organisation and the dates."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="notices"
    )
    store = models.CharField(max_length=100)
    organisation = models.CharField(max_length=200)
    notify_email = models.EmailField(max_length=254)
    purpose = models.CharField(max_length=15, choices=NoticePurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField()
    reminders = models.PositiveSmallIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=200, blank=True)
    confirmation_note = models.TextField(blank=True)

    class Meta:
        ordering = ["sent_at", "store"]
        indexes = [
            # the hourly scan's and the queue's question: which are unconfirmed, since when?
            models.Index(
                fields=["sent_at"],
                condition=Q(confirmed_at__isnull=True),
                name="notice_unconfirmed_sent",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "store", "purpose"], name="one_notice_per_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} notice to {self.organisation} for {self.request_id}"


class Restriction(models.Model):
    """A restriction of processing (Article 18) carried out: what the data map's ``restrict:``
    changed, each with the values that undo it, and its lifting. Lifting writes back the values
    recorded here, not the map's as it may be later. While ``lifted_at`` is empty the restriction
    is in force (and the request's record is kept: lifting needs the person's address)."""

    request = models.OneToOneField(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="restriction"
    )
    # [{"store", "table", "set", "lift", "records"}], as made
    changes = models.JSONField(default=list)
    restricted_at = models.DateTimeField()
    # An approver decides to lift it (with the reason told to the person); it is lifted once
    # the person's notice has been sent (Article 18(3): told before it is lifted).
    lift_reason = models.TextField(blank=True)
    lift_decided_by = models.CharField(max_length=200, blank=True)
    lift_decided_at = models.DateTimeField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"restriction of {self.request_id}"

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None


class Suppression(models.Model):
    """An address that must never be sent marketing again: only a keyed hash of it is kept, so
    the list holds no addresses and still matches one re-imported from anywhere."""

    email_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reference = models.CharField(max_length=20, blank=True)  # the opt-out that added it

    def __str__(self) -> str:
        return f"suppressed {self.email_hash[:12]}"


class WorkerProbe(models.Model):
    """A probe task's answer: proof that a worker consumes from the broker, not just that its
    process is alive (``manage.py worker_probe``). Old rows are pruned by the next probe."""

    nonce = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    answered_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"probe {self.nonce[:8]} answered by {self.hostname}"


class SavedView(models.Model):
    """A member of staff's named queue filters, shown to them alone above the queue. The filters
    only (those a queue URL may carry), never the search: it may be a person's name."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500, blank=True)  # urlencoded, e.g. "type=erasure"
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"

    @property
    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query)


class NotificationKind(models.TextChoices):
    """What staff are told about (``core/alerts.py`` says who, and when)."""

    ENTERED_REVIEW = "entered_review", "Ready for review"
    READY_FOR_APPROVAL = "ready_for_approval", "Ready for approval"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    RECIPIENT_OVERDUE = "recipient_overdue", "Recipient overdue"
    REPLY = "reply", "The person answered"
    AUTHORITY = "authority", "Proof of authority uploaded"
    LINK_REQUESTED = "link_requested", "New download link asked for"
    DIGEST = "digest", "Daily digest"


class NotificationDelivery(models.TextChoices):
    EMAIL = "email", "Email"
    DIGEST = "digest", "In the daily digest"
    WEBHOOK = "webhook", "Webhook"


class StaffNotification(models.Model):
    """One thing one recipient was told (or will be, in their digest), recorded once.

    ``recipient`` is ``user:<pk>``, ``team`` (the team inbox) or ``webhook``; ``occasion`` is
    what makes this notice new (the audit event that put the request in review, the due date it
    is overdue against, the notice that went unconfirmed). The unique constraints are what make
    each notification fire once, whichever worker or retry gets there first. A digest is a row
    too (no request; its occasion is the day), and the notices it carried point at it.
    """

    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    request = models.ForeignKey(
        DataSubjectRequest,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="staff_notifications",
    )
    recipient = models.CharField(max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="staff_notifications",
    )
    occasion = models.CharField(max_length=40)
    # What staff read, written when it happened from the facts then (no personal data).
    detail = models.CharField(max_length=500)
    delivery = models.CharField(max_length=10, choices=NotificationDelivery.choices)
    created_at = models.DateTimeField()
    email = models.ForeignKey(
        "OutgoingEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    webhook = models.ForeignKey(
        "OutgoingWebhook", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    digest = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "request", "recipient", "occasion"],
                condition=Q(request__isnull=False),
                name="one_notification_per_occasion",
            ),
            models.UniqueConstraint(
                fields=["kind", "recipient", "occasion"],
                condition=Q(request__isnull=True),
                name="one_digest_per_recipient_per_day",
            ),
        ]
        indexes = [
            # the digest's question: what is waiting for this user?
            models.Index(
                fields=["user", "delivery"],
                condition=Q(digest__isnull=True, delivery="digest"),
                name="notification_digest_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.occasion})"


class StaffPreferences(models.Model):
    """How one member of staff wants to be told: each notification as it happens, or one email
    a day listing them (``core/alerts.py``). No row: each as it happens."""

    class Delivery(models.TextChoices):
        EACH = "each", "Each as it happens"
        DAILY = "daily", "A daily digest"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_preferences"
    )
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.EACH)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.delivery}"


class OutgoingWebhook(Outbox):
    """A webhook call queued in the same transaction as the notification it carries, delivered
    after commit (``core/webhooks.py``) and re-queued by the sweeper until delivered. The body
    holds no personal data: a reference, a type, a date and a link to the staff page."""

    body = models.TextField()  # the exact JSON signed and sent

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"webhook {self.pk} ({self.status})"
