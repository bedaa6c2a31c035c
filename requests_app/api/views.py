"""The REST API: public intake and verification, and the staff workflow.

Each endpoint validates, calls one service and serializes; the rules live in the services.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.http import Http404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FileUploadParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from requests_app import selectors
from requests_app.api.serializers import (
    IntakeSerializer,
    RequestDetailSerializer,
    RequestSummarySerializer,
    StaffIntakeSerializer,
)
from requests_app.core.actions import has_role
from requests_app.core.documents import Upload
from requests_app.core.permissions import IsPrivacyStaff, is_privacy_staff
from requests_app.gathering import gather
from requests_app.intake import receive, verification
from requests_app.intake import staff as staff_intake
from requests_app.models import Channel, DataSubjectRequest, RequestType, Status
from requests_app.review import case, decisions
from smarct_dsar.proxies import client_ip
from smarct_dsar.ratelimit import Verdict, rate_limit_hit, rate_limit_peek, too_many_words
from smarct_dsar.uploads import body_too_large, too_large_words


def too_many(verdict: Verdict, about: str = "connection") -> Response:
    response = Response(
        {"detail": too_many_words(verdict, about=about)},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response


class LoggedOutput(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.CharField()


class IntakeOutput(serializers.Serializer):
    status = serializers.CharField()
    detail = serializers.CharField()


INTAKE_ANSWER = {
    "status": "received",
    "detail": "Check your email: we have sent the address you gave a link to confirm the "
    "request, or, if it already has an open request of this type, that request's details.",
}


class FilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    type = serializers.ChoiceField(choices=RequestType.choices, required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    assignee = serializers.CharField(required=False, max_length=150)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "search" in self.initial_data:
            raise serializers.ValidationError(
                {"search": ["Search with POST /api/v1/requests/search/: a query string is logged."]}
            )
        return attrs


class SearchSerializer(FilterSerializer):
    search = serializers.CharField(
        required=False,
        max_length=254,
        help_text="any part of a reference, a name or an email address, or a phone number; "
        "any case",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return attrs


class RequestPageSerializer(serializers.Serializer):
    """One page of the list (``?page=N``; ``PAGE_SIZE`` rows)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RequestSummarySerializer(many=True)


class RequestCollectionApi(APIView):
    """``POST``: anyone files a request. ``GET``: staff list requests."""

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.request.method == "POST" else [IsPrivacyStaff()]

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="IntakeOrLoggedRequest",
            serializers=[IntakeSerializer, StaffIntakeSerializer],
            resource_type_field_name=None,
        ),
        responses={202: IntakeOutput, 201: LoggedOutput},
        description="Anyone files a request (202). Staff log one received by phone, letter, "
        "email, in person or social media with `channel` and the fields of "
        "StaffIntakeSerializer (201; no rate limit).",
    )
    def post(self, request: Request) -> Response:
        channel = request.data.get("channel") if isinstance(request.data, dict) else None
        if channel not in (None, "", Channel.API, Channel.WEB):
            return self._log(request)
        # Only a request that would be filed counts against the limits (as on the form): a
        # client's mistakes cost nothing. One already over the limit is refused before parsing.
        ip = client_ip(request)
        early = rate_limit_peek(
            scope="intake-ip", identity=ip, limit=settings.DSAR_RATE_LIMIT_PER_IP
        )
        if not early.allowed:
            return too_many(early)
        form = IntakeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        verdict = rate_limit_hit(
            scope="intake-ip", identity=ip, limit=settings.DSAR_RATE_LIMIT_PER_IP
        )
        if not verdict.allowed:
            return too_many(verdict)
        verdict = rate_limit_hit(
            scope="intake-email",
            identity=receive.email_key(form.validated_data["email"]),
            limit=settings.DSAR_RATE_LIMIT_PER_EMAIL,
        )
        if not verdict.allowed:
            return too_many(verdict, about="address")
        receive.request_receive(data=form.to_submission(channel="api"))
        # The same answer whether the request is new or one already open: whoever typed the
        # address must not learn which (the mailbox is told, and gets the reference).
        return Response(IntakeOutput(INTAKE_ANSWER).data, status=status.HTTP_202_ACCEPTED)

    def _log(self, request: Request) -> Response:
        """Staff log a request received another way (``intake/staff.py``)."""
        if not (
            IsPrivacyStaff().has_permission(request, self) and has_role(request.user, "log_request")
        ):
            return Response(
                {
                    "detail": "Only the privacy team logs requests received by phone, letter, "
                    "email, in person or social media."
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        form = StaffIntakeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        dsr = staff_intake.request_log(data=form.to_logged(), staff=staff_user(request))
        return Response(
            LoggedOutput({"reference": dsr.reference, "status": dsr.status}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="v1_requests_list",
        parameters=[FilterSerializer],
        responses=RequestPageSerializer,
    )
    def get(self, request: Request) -> Response:
        params = FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = _filters(params.validated_data)
        return _page(request, self, filters)


def _filters(data: dict[str, Any]) -> selectors.RequestFilters:
    return selectors.RequestFilters(
        status=data.get("status"),
        request_type=data.get("type"),
        overdue=data.get("overdue"),
        assignee=data.get("assignee"),
        search=data.get("search"),
    )


def _page(request: Request, view: APIView, filters: selectors.RequestFilters) -> Response:
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(selectors.request_list(filters=filters), request, view=view)
    return paginator.get_paginated_response(RequestSummarySerializer(page, many=True).data)


class RequestSearchApi(APIView):
    """``POST /api/v1/requests/search/``: the list, filtered by a search that may be an email
    address, which therefore travels in the body, never in a URL (``?page=N`` pages)."""

    permission_classes = [IsPrivacyStaff]

    @extend_schema(
        operation_id="v1_requests_search", request=SearchSerializer, responses=RequestPageSerializer
    )
    def post(self, request: Request) -> Response:
        form = SearchSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return _page(request, self, _filters(form.validated_data))


class VerifyApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    class VerifyInput(serializers.Serializer):
        token = serializers.CharField(max_length=200)

    class VerifyOutput(serializers.Serializer):
        reference = serializers.CharField()
        status = serializers.CharField()
        due_on = serializers.DateField(allow_null=True)

    @extend_schema(request=VerifyInput, responses={200: VerifyOutput}, auth=[])
    def post(self, request: Request) -> Response:
        verdict = rate_limit_hit(
            scope="verify-ip",
            identity=client_ip(request),
            limit=settings.DSAR_RATE_LIMIT_VERIFY_PER_IP,
        )
        if not verdict.allowed:
            return too_many(verdict)
        form = self.VerifyInput(data=request.data)
        form.is_valid(raise_exception=True)
        dsr = verification.request_verify_email(raw_token=form.validated_data["token"])
        return Response(self.VerifyOutput(dsr).data)


def staff_may(action: str) -> list[type[BasePermission]]:
    """The permission classes of an endpoint that takes the staff action ``action``: privacy
    staff whose role the table (``actions.ACTIONS``) allows. The service checks the rest (the
    status, the two-person rule) on the locked request."""

    class HasRole(BasePermission):
        message = "Your role does not allow this action."

        def has_permission(self, request: Request, view: Any) -> bool:
            return has_role(request.user, action)

    return [IsPrivacyStaff, HasRole]


def staff_user(request: Request) -> User:
    """The authenticated staff member (the permission classes have already checked)."""
    assert isinstance(request.user, User)
    return request.user


def get_request_or_404(reference: str) -> DataSubjectRequest:
    dsr = selectors.request_detail(reference=reference)
    if dsr is None:
        raise Http404
    return dsr


def detail_response(request: Request, reference: str) -> Response:
    """The request's detail as this member of staff sees it (``allowed_actions`` are theirs)."""
    dsr = get_request_or_404(reference)
    return Response(RequestDetailSerializer(dsr, context={"request": request}).data)


class RequestDetailApi(APIView):
    @extend_schema(responses=RequestDetailSerializer)
    def get(self, request: Request, reference: str) -> Response:
        return detail_response(request, reference)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ApproveInput(ReasonInput):
    seen = serializers.CharField(
        max_length=64,
        help_text="The version approved: the request detail's `approval_seen`, read after "
        "looking at what is approved. A response changed since is refused (409).",
    )


class RequestActionApi(APIView):
    """``POST /api/v1/requests/<reference>/<action>/`` — one staff action, through its service.
    Approving names the version approved (``seen``)."""

    action_name = ""
    takes: type[ReasonInput] = ReasonInput

    def get_permissions(self) -> list[BasePermission]:
        return [permission() for permission in staff_may(self.action_name)]

    @extend_schema(request=ReasonInput, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        form = self.takes(data=request.data)
        form.is_valid(raise_exception=True)
        dsr = get_request_or_404(reference)
        decisions.request_act(
            action=self.action_name,
            dsr=dsr,
            actor=staff_user(request),
            reason=form.validated_data["reason"],
            seen=form.validated_data.get("seen"),
        )
        return detail_response(request, reference)


class ApproveApi(RequestActionApi):
    """``POST /api/v1/requests/<reference>/approve/`` — approve the version named by ``seen``."""

    takes = ApproveInput

    @extend_schema(request=ApproveInput, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        return super().post(request, reference)


class AssignApi(APIView):
    permission_classes = staff_may("assign")

    class AssignInput(serializers.Serializer):
        assignee = serializers.CharField(max_length=150, allow_null=True)

    @extend_schema(request=AssignInput, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        form = self.AssignInput(data=request.data)
        form.is_valid(raise_exception=True)
        username = form.validated_data["assignee"]
        assignee = None
        if username:
            assignee = get_user_model().objects.filter(username=username, is_active=True).first()
            if assignee is None or not is_privacy_staff(assignee):
                raise serializers.ValidationError(
                    {"assignee": ["No privacy staff member has that username."]}
                )
        dsr = get_request_or_404(reference)
        case.request_assign(dsr=dsr, actor=staff_user(request), assignee=assignee)
        return detail_response(request, reference)


class RetryStoreApi(APIView):
    """``POST /api/v1/requests/<reference>/stores/<store>/retry/``: gather one failed store again."""

    permission_classes = staff_may("retry_store")

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str, store: str) -> Response:
        dsr = get_request_or_404(reference)
        gather.gathering_retry_store(dsr=dsr, store=store, actor=staff_user(request))
        return detail_response(request, reference)


class RequestDocumentsApi(APIView):
    """``POST /api/v1/requests/<reference>/documents/``: staff add the letter or email a request
    came in (the file as the body, its name in ``Content-Disposition``; PDF, JPEG, PNG or .eml,
    judged by content; up to ``DSAR_DOCUMENT_MAX_BYTES``)."""

    permission_classes = staff_may("log_request")
    parser_classes = [FileUploadParser]

    class DocumentOutput(serializers.Serializer):
        id = serializers.IntegerField()
        content_type = serializers.CharField()
        size = serializers.IntegerField()
        sha256 = serializers.CharField()

    @extend_schema(
        request={"application/octet-stream": {"type": "string", "format": "binary"}},
        responses={201: DocumentOutput},
    )
    def post(self, request: Request, reference: str) -> Response:
        dsr = get_request_or_404(reference)
        if body_too_large(request):
            return Response(
                {"detail": too_large_words()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        file = request.data.get("file")
        if file is None:
            return Response(
                {"file": ["Send the file as the body, its name in Content-Disposition."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        document = staff_intake.request_attach(
            dsr=dsr,
            upload=Upload(name=file.name or "", content=file.read()),
            staff=staff_user(request),
        )
        return Response(self.DocumentOutput(document).data, status=status.HTTP_201_CREATED)
