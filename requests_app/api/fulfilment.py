"""Staff API for carrying requests out: the erasure plan and legal holds, erasure retries,
recipients' confirmations, correction decisions, and the suppression check.

Each view validates, calls one service and answers with the request's detail (or the plan).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from requests_app.api.serializers import RequestDetailSerializer
from requests_app.api.views import (
    ReasonInput,
    detail_response,
    get_request_or_404,
    staff_may,
    staff_user,
)
from requests_app.fulfilment import erasure, erasure_plans, optout, recipients, rectification
from requests_app.models import CorrectionDecision


class TablePlanSerializer(serializers.Serializer):
    table = serializers.CharField()
    category = serializers.CharField()
    action = serializers.ChoiceField(choices=["delete", "anonymise", "retain", "notify"])
    records = serializers.IntegerField()
    anonymised_fields = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField())
    )
    legal_basis = serializers.CharField()
    period = serializers.CharField()
    until = serializers.DateField(allow_null=True)
    deleted = serializers.IntegerField()
    anonymised = serializers.IntegerField()
    retained = serializers.IntegerField()
    expired = serializers.IntegerField(help_text="Of the deleted: retained rows past their period")
    shared = serializers.IntegerField(
        help_text="Left unchanged: other people's or the business's records refer to them"
    )
    path = serializers.CharField(help_text="How the table's rows belong to the person")


class StorePlanSerializer(serializers.Serializer):
    store = serializers.CharField()
    organisation = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    role = serializers.CharField()
    notify_email = serializers.CharField(allow_null=True)
    tables = TablePlanSerializer(many=True)
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="Each blocks approval until fixed"
    )


class ErasurePlanSerializer(serializers.Serializer):
    reference = serializers.CharField()
    holds = serializers.ListField(child=serializers.CharField())
    stores = StorePlanSerializer(many=True)


class ErasurePlanApi(APIView):
    """``GET …/erasure-plan/``: what erasure will do in every store (a dry run: nothing changes),
    and what holds it back."""

    @extend_schema(responses=ErasurePlanSerializer)
    def get(self, request: Request, reference: str) -> Response:
        dsr = get_request_or_404(reference)
        plan = [asdict(p) for p in erasure_plans.erasure_plan(dsr=dsr)]
        data = {"reference": dsr.reference, "holds": erasure.erasure_holds(dsr), "stores": plan}
        return Response(ErasurePlanSerializer(data).data)


class HoldReleaseInput(ReasonInput):
    hold = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="the legal hold to end; needed when more than one is active",
    )


class LegalHoldApi(APIView):
    """``POST …/legal-hold/`` places a hold; ``POST …/legal-hold/release/`` ends one."""

    def get_permissions(self) -> list[Any]:
        return [p() for p in staff_may("legal_hold")]

    @extend_schema(request=ReasonInput, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        form = ReasonInput(data=request.data)
        form.is_valid(raise_exception=True)
        dsr = get_request_or_404(reference)
        erasure.legal_hold_place(
            dsr=dsr, actor=staff_user(request), reason=form.validated_data["reason"]
        )
        return detail_response(request, reference)


class LegalHoldReleaseApi(APIView):
    permission_classes = staff_may("release_hold")

    @extend_schema(request=HoldReleaseInput, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        form = HoldReleaseInput(data=request.data)
        form.is_valid(raise_exception=True)
        erasure.legal_hold_release(
            dsr=get_request_or_404(reference),
            actor=staff_user(request),
            reason=form.validated_data["reason"],
            hold=form.validated_data.get("hold"),
        )
        return detail_response(request, reference)


class ErasureRetryApi(APIView):
    """``POST …/erasure/<store>/retry/``: erase (and re-scan) one failed store again."""

    permission_classes = staff_may("retry_erasure")

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str, store: str) -> Response:
        dsr = get_request_or_404(reference)
        erasure.erasure_retry_store(dsr=dsr, store=store, actor=staff_user(request))
        return detail_response(request, reference)


class NoticeConfirmApi(APIView):
    """``POST …/notices/<store>/confirm/``: record a recipient's reply that came another way."""

    permission_classes = staff_may("confirm_notice")

    @extend_schema(request=ReasonInput, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str, store: str) -> Response:
        form = ReasonInput(data=request.data)
        form.is_valid(raise_exception=True)
        dsr = get_request_or_404(reference)
        recipients.notice_confirm_by_staff(
            dsr=dsr, store=store, actor=staff_user(request), note=form.validated_data["reason"]
        )
        return detail_response(request, reference)


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[
            CorrectionDecision.ACCEPTED,
            CorrectionDecision.EDITED,
            CorrectionDecision.DECLINED,
        ]
    )
    target_field = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    value = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class CorrectionDecisionApi(APIView):
    """``POST …/corrections/<position>/decide/``: accept, accept with an edit, or decline."""

    permission_classes = staff_may("decide_correction")

    @extend_schema(request=DecisionInput, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str, position: int) -> Response:
        form = DecisionInput(data=request.data)
        form.is_valid(raise_exception=True)
        dsr = get_request_or_404(reference)
        rectification.correction_decide(
            dsr=dsr, position=position, actor=staff_user(request), **form.validated_data
        )
        return detail_response(request, reference)


class RectificationRetryApi(APIView):
    """``POST …/rectification/retry/``: apply the accepted corrections again after a failure."""

    permission_classes = staff_may("retry_rectification")

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request: Request, reference: str) -> Response:
        dsr = get_request_or_404(reference)
        rectification.rectification_retry(dsr=dsr, actor=staff_user(request))
        return detail_response(request, reference)


class SuppressionCheckApi(APIView):
    """``POST /api/v1/suppression/check/`` ``{"email": …}``: must this address get no marketing?
    For other systems (with a staff token) to honour opt-outs before sending. POST: an address in
    a query string would reach access logs."""

    class Query(serializers.Serializer):
        email = serializers.EmailField(max_length=254)

    class Output(serializers.Serializer):
        suppressed = serializers.BooleanField()
        since = serializers.DateTimeField(allow_null=True)

    @extend_schema(request=Query, responses=Output)
    def post(self, request: Request) -> Response:
        query = self.Query(data=request.data)
        query.is_valid(raise_exception=True)
        entry = optout.suppression_lookup(query.validated_data["email"])
        data: dict[str, Any] = {
            "suppressed": entry is not None,
            "since": entry.created_at if entry else None,
        }
        return Response(self.Output(data).data)
