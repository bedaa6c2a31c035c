"""Dashboard pages. Thin: read with selectors, act through the same services as the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from requests_app import gathering, lifecycle, selectors
from requests_app.dashboard.access import staff_required
from requests_app.dashboard.forms import ACTION_TEXT, ActionForm, QueueFilterForm
from requests_app.errors import DomainError
from requests_app.models import DataSubjectRequest
from requests_app.permissions import APPROVER_ACTIONS, is_approver


@dataclass(frozen=True)
class QueueRow:
    request: DataSubjectRequest
    days_left: int | None

    @property
    def urgency(self) -> str:
        if self.days_left is None:
            return ""
        return "overdue" if self.days_left < 0 else "due-soon" if self.days_left <= 7 else ""


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET or None)
    filters = form.filters() if form.is_valid() else selectors.RequestFilters(open_only=True)
    paginator = Paginator(selectors.request_list(filters=filters), per_page=form.page_size())
    page = paginator.get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [QueueRow(dsr, selectors.days_left(dsr, today)) for dsr in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "dashboard/queue.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


def _request_or_404(reference: str) -> DataSubjectRequest:
    dsr = selectors.request_detail(reference=reference)
    if dsr is None:
        raise Http404
    return dsr


@staff_required
def request_page(request: HttpRequest, reference: str) -> HttpResponse:
    dsr = _request_or_404(reference)
    actions = lifecycle.allowed_actions(dsr)
    if not is_approver(request.user):
        actions = [a for a in actions if a not in APPROVER_ACTIONS]
    return render(
        request,
        "dashboard/request.html",
        {
            "dsr": dsr,
            "days_left": selectors.days_left(dsr),
            "actions": [(a, ACTION_TEXT[a][0]) for a in actions],
            "events": dsr.events.all(),
            "steps": dsr.gather_steps.all(),
            "pauses": dsr.pauses.all(),
            "extension": getattr(dsr, "extension", None),
            "corrections": dsr.corrections.all(),
        },
    )


def _perform(action: str, dsr: DataSubjectRequest, user: User, data: dict[str, Any]) -> None:
    if action == "assign":
        lifecycle.request_assign(request=dsr, actor=user, assignee=data.get("assignee"))
    else:
        lifecycle.request_act(action=action, request=dsr, actor=user, reason=data.get("reason", ""))


@staff_required
@require_http_methods(["GET", "POST"])
def request_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    """GET: say what the action will do and ask for what it needs. POST: do it."""
    if action not in ACTION_TEXT:
        raise Http404
    if action in APPROVER_ACTIONS and not is_approver(request.user):
        raise PermissionDenied("Only an approver may take this action.")
    dsr = _request_or_404(reference)
    form = ActionForm(action, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        assert isinstance(request.user, User)
        try:
            _perform(action, dsr, request.user, form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("dashboard-request", reference=reference)
        messages.success(request, ACTION_TEXT[action][2])
        return redirect("dashboard-request", reference=reference)
    label, explanation, _ = ACTION_TEXT[action]
    return render(
        request,
        "dashboard/confirm.html",
        {"dsr": dsr, "form": form, "label": label, "explanation": explanation, "action": action},
        status=400 if request.method == "POST" else 200,
    )


@staff_required
@require_http_methods(["POST"])
def retry_store(request: HttpRequest, reference: str, store: str) -> HttpResponse:
    dsr = _request_or_404(reference)
    assert isinstance(request.user, User)
    try:
        gathering.gathering_retry_store(request=dsr, store=store, actor=request.user)
        messages.success(request, f"Gathering from {store} has been queued again.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("dashboard-request", reference=reference)
