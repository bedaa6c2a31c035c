"""Serializers shared by more than one endpoint. Endpoint-specific ones are nested in the views."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exports_app.models import DownloadLink, Export, Redaction
from requests_app import selectors
from requests_app.core import actions
from requests_app.core.documents import Upload
from requests_app.fulfilment.recipients import is_overdue
from requests_app.intake import receive
from requests_app.intake.staff import LoggedRequest, logged_errors
from requests_app.models import (
    STAFF_CHANNELS,
    Channel,
    ClockPause,
    Correction,
    DataSubjectRequest,
    Delivery,
    ErasureStep,
    Extension,
    GatherStep,
    IdentityCheck,
    Jurisdiction,
    LegalHold,
    ObjectionScope,
    ProcessorNotice,
    RequestDocument,
    RequestEvent,
    RequestMessage,
    RequestType,
    Restriction,
    Status,
)
from requests_app.review import decisions


def single_line(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(validators=[receive.single_line], **kwargs)


class CorrectionSerializer(serializers.Serializer):
    field = single_line(max_length=100)
    current_value = single_line(max_length=500, required=False, allow_blank=True, default="")
    corrected_value = single_line(max_length=500)


class IntakeSerializer(serializers.Serializer):
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    name = single_line(max_length=200)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        validators=[receive.phone_validator],
    )
    company = single_line(max_length=200, required=False, allow_blank=True, default="")
    details = serializers.CharField(
        max_length=settings.DSAR_MAX_DETAILS_CHARS,
        required=False,
        allow_blank=True,
        default="",
        validators=[receive.multi_line],
    )
    jurisdiction = serializers.ChoiceField(
        choices=Jurisdiction.choices, default=Jurisdiction.UK_GDPR
    )
    agent_name = single_line(max_length=200, required=False, allow_blank=True, default="")
    agent_email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True, default=""
    )
    agent_relationship = single_line(max_length=200, required=False, allow_blank=True, default="")
    corrections = CorrectionSerializer(many=True, required=False, default=list)
    objection_scope = serializers.ChoiceField(
        choices=ObjectionScope.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="objection only: direct marketing (never refused) or another use (give grounds)",
    )
    grounds = serializers.CharField(
        max_length=settings.DSAR_MAX_DETAILS_CHARS,
        required=False,
        allow_blank=True,
        default="",
        validators=[receive.multi_line],
        help_text="why: required for a restriction and for an objection to another use",
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text="the language of every email and letter to the person: en-gb or cy (Welsh)",
    )

    def to_submission(self, channel: str) -> receive.Submission:
        data = dict(self.validated_data)
        corrections = [receive.CorrectionInput(**c) for c in data.pop("corrections")]
        return receive.Submission(**data, corrections=corrections, channel=channel)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        corrections = [receive.CorrectionInput(**c) for c in attrs.get("corrections", [])]
        submission = receive.Submission(**{**attrs, "corrections": corrections})
        errors = receive.submission_errors(submission)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AttachmentSerializer(serializers.Serializer):
    name = single_line(max_length=255)
    content_base64 = serializers.CharField(help_text="the file, base64-encoded")

    def validate_content_base64(self, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError("Not valid base64.") from exc


class StaffIntakeSerializer(IntakeSerializer):
    """A request received by phone, letter, email, in person or social media, logged by staff
    (``channel`` one of those; staff only; no public rate limit). ``intake/staff.py`` has the
    rules."""

    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(
        choices=[(c.value, c.label) for c in Channel if c in STAFF_CHANNELS]
    )
    received_at = serializers.DateTimeField()
    identity_check = serializers.ChoiceField(
        choices=IdentityCheck.choices, required=False, allow_blank=True, default=""
    )
    identity_note = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        validators=[receive.multi_line],
    )
    delivery = serializers.ChoiceField(choices=Delivery.choices, default=Delivery.EMAIL)
    postal_address = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        default="",
        validators=[receive.multi_line],
    )
    untold_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        validators=[receive.multi_line],
    )
    attachments = AttachmentSerializer(many=True, required=False, default=list)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = logged_errors(self.to_logged(attrs))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def to_logged(self, attrs: dict[str, Any] | None = None) -> LoggedRequest:
        data = dict(attrs if attrs is not None else self.validated_data)
        staff = {
            name: data.pop(name)
            for name in (
                "received_at",
                "identity_check",
                "identity_note",
                "delivery",
                "postal_address",
                "untold_reason",
            )
        }
        attachments = [
            Upload(name=a["name"], content=a["content_base64"]) for a in data.pop("attachments")
        ]
        corrections = [receive.CorrectionInput(**c) for c in data.pop("corrections", [])]
        agent = bool(data.get("agent_email") or data.get("agent_name"))
        submission = receive.Submission(**data, corrections=corrections, acting_for_someone=agent)
        return LoggedRequest(submission=submission, attachments=attachments, **staff)


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RequestEvent
        fields = ["seq", "at", "actor", "action", "from_status", "to_status", "payload"]


class CorrectionOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Correction
        fields = [
            "position",
            "field",
            "current_value",
            "corrected_value",
            "decision",
            "target_field",
            "final_value",
            "decision_reason",
            "decided_by",
            "decided_at",
            "results",
        ]


class ErasureStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ErasureStep
        fields = ["store", "status", "attempts", "error", "outcome", "rescan", "finished_at"]


class NoticeSerializer(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ProcessorNotice
        fields = [
            "store",
            "organisation",
            "purpose",
            "sent_at",
            "reminders",
            "last_reminded_at",
            "confirmed_at",
            "confirmed_by",
            "confirmation_note",
            "overdue",
        ]

    def get_overdue(self, obj: ProcessorNotice) -> bool:
        return is_overdue(obj)


class LegalHoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = LegalHold
        fields = ["reason", "placed_by", "placed_at", "released_by", "released_at"]


class RestrictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Restriction
        fields = [
            "changes",
            "restricted_at",
            "lift_reason",
            "lift_decided_by",
            "lift_decided_at",
            "lifted_at",
        ]


class RequestSummarySerializer(serializers.ModelSerializer):
    assignee: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    days_left = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = DataSubjectRequest
        fields = [
            "reference",
            "request_type",
            "status",
            "jurisdiction",
            "requester_name",
            "requester_email",
            "received_at",
            "verified_at",
            "due_on",
            "days_left",
            "overdue",
            "assignee",
            "closed_at",
        ]

    def get_days_left(self, obj: DataSubjectRequest) -> int | None:
        return selectors.days_left(obj)

    def get_overdue(self, obj: DataSubjectRequest) -> bool:
        left = selectors.days_left(obj)
        return left is not None and left < 0


class PauseSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClockPause
        fields = ["started_on", "ended_on", "question"]


class ExtensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Extension
        fields = ["granted_at", "reason", "previous_due_on"]


class GatherStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = GatherStep
        fields = [
            "store",
            "status",
            "attempts",
            "error",
            "record_count",
            "table_counts",
            "category_counts",
            "finished_at",
        ]


class RedactionSerializer(serializers.ModelSerializer):
    """What is withheld (a record, a field, or a passage: ``path`` and the characters
    ``[span_start, span_end)``), and what was put back (``withdrawn_at``)."""

    class Meta:
        model = Redaction
        fields = [
            "id",
            "store",
            "table",
            "record_key",
            "field",
            "path",
            "span_start",
            "span_end",
            "grounds",
            "reason",
            "created_by",
            "created_at",
            "withdrawn_at",
            "withdrawn_by",
        ]
        read_only_fields = fields


class ExportSerializer(serializers.ModelSerializer):
    class Meta:
        model = Export
        fields = [
            "format",
            "status",
            "attempts",
            "error",
            "sha256",
            "size_bytes",
            "record_count",
            "built_at",
            "released_at",
            "file_deleted_at",
        ]


class DownloadLinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = DownloadLink
        fields = [
            "id",
            "created_at",
            "created_by",
            "expires_at",
            "downloads",
            "max_downloads",
            "revoked_at",
        ]


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = RequestDocument
        fields = [
            "id",
            "kind",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "uploaded_at",
            "delete_after",
            "deleted_at",
        ]


class MessageSerializer(serializers.ModelSerializer):
    """One message of the conversation on the person's portal (both ways)."""

    documents: serializers.PrimaryKeyRelatedField[RequestDocument] = (
        serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    )

    class Meta:
        model = RequestMessage
        fields = ["direction", "body", "author", "created_at", "documents"]


class RequestDetailSerializer(RequestSummarySerializer):
    corrections = CorrectionOutSerializer(many=True, read_only=True)
    messages = MessageSerializer(many=True, read_only=True)
    documents = DocumentSerializer(many=True, read_only=True)
    received_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    events = EventSerializer(many=True, read_only=True)
    pauses = PauseSerializer(many=True, read_only=True)
    stores = GatherStepSerializer(source="gather_steps", many=True, read_only=True)
    exports = ExportSerializer(many=True, read_only=True)
    redactions = RedactionSerializer(many=True, read_only=True)
    download_links = DownloadLinkSerializer(many=True, read_only=True)
    erasure_steps = ErasureStepSerializer(many=True, read_only=True)
    notices = NoticeSerializer(many=True, read_only=True)
    legal_holds = LegalHoldSerializer(many=True, read_only=True)
    extension = serializers.SerializerMethodField()
    restriction = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    approval_seen = serializers.SerializerMethodField()
    submitted_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta(RequestSummarySerializer.Meta):
        fields = [
            *RequestSummarySerializer.Meta.fields,
            "requester_phone",
            "requester_company",
            "agent_name",
            "agent_email",
            "agent_relationship",
            "details",
            "objection_scope",
            "grounds",
            "channel",
            "received_by",
            "identity_check",
            "identity_note",
            "delivery",
            "postal_address",
            "email_verified_at",
            "authority_confirmed_at",
            "clock_started_on",
            "corrections",
            "pauses",
            "extension",
            "stores",
            "exports",
            "redactions",
            "download_links",
            "erasure_steps",
            "notices",
            "legal_holds",
            "restriction",
            "submitted_by",
            "submitted_at",
            "allowed_actions",
            "approval_seen",
            "messages",
            "documents",
            "events",
        ]

    def get_extension(self, obj: DataSubjectRequest) -> dict[str, Any] | None:
        extension = getattr(obj, "extension", None)
        return dict(ExtensionSerializer(extension).data) if extension else None

    @extend_schema_field(RestrictionSerializer(allow_null=True))
    def get_restriction(self, obj: DataSubjectRequest) -> dict[str, Any] | None:
        """A restriction carried out: what changed, and its lifting (null until then)."""
        restriction = Restriction.objects.filter(request=obj).first()
        return dict(RestrictionSerializer(restriction).data) if restriction else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_approval_seen(self, obj: DataSubjectRequest) -> str | None:
        """While it awaits approval: the version of the response this detail shows (what is
        withheld and left in, the corrections, the erasure plan). Approving sends it back as
        ``seen``; a response changed since is refused (409). Null otherwise."""
        if obj.status != Status.READY_FOR_APPROVAL:
            return None
        return decisions.approval_seen(obj)

    def get_allowed_actions(self, obj: DataSubjectRequest) -> list[str]:
        """What the caller may do now (``actions.ACTIONS``: role, status, two-person rule)."""
        caller = self.context.get("request")
        return actions.available(obj, caller.user) if caller is not None else []
