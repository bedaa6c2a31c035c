"""The overview page (the report for a date range) and the report as CSV and PDF for a board or
the ICO. Any member of the privacy team may see it (as the queue): aggregates and references
only. Each download is on the audit trail, as the queue's CSV is."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from requests_app.core.audit import event_append
from requests_app.core.permissions import actor_label
from requests_app.dashboard import report_files
from requests_app.dashboard.access import staff_required
from requests_app.dashboard.report_forms import ReportRangeForm
from requests_app.dashboard.reports import Period, report


def _range_form(request: HttpRequest) -> ReportRangeForm:
    asked = any(request.GET.get(key) for key in ("from", "to"))
    return ReportRangeForm(request.GET if asked else None, today=timezone.localdate())


def _query(period: Period) -> str:
    return urlencode({"from": period.start.isoformat(), "to": period.end.isoformat()})


@staff_required
@require_http_methods(["GET"])
def overview(request: HttpRequest) -> HttpResponse:
    form = _range_form(request)
    period = form.period()
    return render(
        request,
        "dashboard/overview.html",
        {
            "form": form,
            "r": report(period, today=timezone.localdate()),
            "query": _query(period),
        },
        # a period that cannot be reported on: the page says why, over the default's figures
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def _download(request: HttpRequest, format_: str) -> HttpResponse:
    form = _range_form(request)
    if form.is_bound and not form.is_valid():
        errors = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    period = form.period()
    figures = report(period, today=timezone.localdate())
    if format_ == "csv":
        body, content_type = report_files.report_csv(figures).encode(), "text/csv; charset=utf-8"
    else:
        body, content_type = report_files.report_pdf(figures), "application/pdf"
    event_append(
        dsr=None,
        actor=actor_label(request.user),
        action="report_exported",
        payload={"format": format_, "from": period.start.isoformat(), "to": period.end.isoformat()},
    )
    response = HttpResponse(body, content_type=content_type)
    name = f"report-{period.start.isoformat()}-to-{period.end.isoformat()}.{format_}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_required
@require_http_methods(["GET"])
def report_csv(request: HttpRequest) -> HttpResponse:
    return _download(request, "csv")


@staff_required
@require_http_methods(["GET"])
def report_pdf(request: HttpRequest) -> HttpResponse:
    return _download(request, "pdf")
