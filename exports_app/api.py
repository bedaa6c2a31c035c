"""Staff endpoints for exports: preview, rebuild, release, redactions and download links."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import Http404, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exports_app import services
from exports_app.files import stream_export
from exports_app.models import GROUNDS_TOLD, DownloadLink, Export, Grounds
from requests_app.api.serializers import RequestDetailSerializer
from requests_app.api.views import detail_response, get_request_or_404, staff_may, staff_user
from requests_app.core.audit import event_append
from requests_app.core.permissions import actor_label
from requests_app.review import decisions


class PreviewExportApi(APIView):
    """``GET /api/v1/requests/<reference>/exports/<format>/``: the file as the person will get it."""

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="the export file")
        }
    )
    def get(self, request: Request, reference: str, format_: str) -> HttpResponseBase:
        dsr = get_request_or_404(reference)
        export = Export.objects.filter(request=dsr).filter(format=format_).first()
        if export is None or not export.file_name or not default_storage.exists(export.file_name):
            raise Http404
        event_append(
            dsr=dsr,
            actor=actor_label(staff_user(request)),
            action="export_previewed",
            payload={"format": format_},
        )
        response = StreamingHttpResponse(stream_export(export), content_type=export.content_type)
        response["Content-Disposition"] = f'inline; filename="{export.filename}"'
        return response


class RebuildExportsApi(APIView):
    permission_classes = staff_may("rebuild")

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        services.exports_rebuild(dsr=get_request_or_404(reference), actor=staff_user(request))
        return detail_response(request, reference)


class ReleaseApi(APIView):
    """Release the exports: immutable from now on; the person is emailed a download link."""

    permission_classes = staff_may("release")

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        decisions.request_release(dsr=get_request_or_404(reference), actor=staff_user(request))
        return detail_response(request, reference)


class ReissueLinkApi(APIView):
    permission_classes = staff_may("reissue_link")

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        services.link_reissue(dsr=get_request_or_404(reference), actor=staff_user(request))
        return detail_response(request, reference)


class RevokeLinkApi(APIView):
    permission_classes = staff_may("revoke_link")

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str, link_id: int) -> Response:
        dsr = get_request_or_404(reference)
        link = DownloadLink.objects.filter(pk=link_id, request=dsr).first()
        if link is None:
            raise Http404
        services.link_revoke(dsr=dsr, link=link, actor=staff_user(request))
        return detail_response(request, reference)


class RedactionInput(serializers.Serializer):
    store = serializers.CharField(max_length=100)
    table = serializers.CharField(max_length=200)
    record_key = serializers.RegexField(r"^[0-9a-f]{64}$", help_text="the record's fingerprint")
    field = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    path = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="for a passage: a JSON Pointer to the text inside the field's value",
    )
    start = serializers.IntegerField(
        required=False, min_value=0, help_text="for a passage: its first character"
    )
    end = serializers.IntegerField(
        required=False, min_value=1, help_text="for a passage: the character after its last"
    )
    passage = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="the words; without start and end, every place they appear is withheld",
    )
    grounds = serializers.ChoiceField(
        choices=Grounds.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="the exemption relied on (blank: a reason of your own, in `reason`)",
    )
    reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="what the person reads; with `grounds` and no reason, the grounds' own words",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("grounds") and not attrs.get("reason", "").strip():
            raise serializers.ValidationError(
                {"reason": "Say why this is withheld (or give grounds); the person reads it."}
            )
        return attrs


class RedactApi(APIView):
    """Withhold a record, one field of it, or a passage of text in it, from release, with a
    reason (on the event trail)."""

    permission_classes = staff_may("redact")

    @extend_schema(request=RedactionInput, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        form = RedactionInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        if data["grounds"] and not data["reason"].strip():
            data["reason"] = GROUNDS_TOLD[Grounds(data["grounds"])]
        services.redaction_add(dsr=get_request_or_404(reference), actor=staff_user(request), **data)
        return detail_response(request, reference)


class UndoRedactionApi(APIView):
    """Put back what a redaction withheld (the redaction stays on record, marked undone)."""

    permission_classes = staff_may("unredact")

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str, pk: int) -> Response:
        services.redaction_undo(
            dsr=get_request_or_404(reference), actor=staff_user(request), redaction_id=pk
        )
        return detail_response(request, reference)
