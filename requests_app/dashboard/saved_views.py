"""Saved views of the queue: save the filters on screen under a name, delete one. Each person's
own (``staff/saved_views.py`` keeps the rules); the queue lists them (``views.queue``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from requests_app.core.errors import DomainError
from requests_app.dashboard.access import staff_required
from requests_app.dashboard.forms import QueueFilterForm
from requests_app.staff.saved_views import saved_view_create, saved_view_delete


def queue_filters(params: QueryDict) -> dict[str, str]:
    """The filters a queue URL may carry, as given (the search and the page are not filters)."""
    return {
        k: str(params[k])
        for k in dict.fromkeys(params)
        if k in QueueFilterForm.IN_URL and params[k]
    }


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=60, label="Save these filters as")
    query = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def clean_query(self) -> str:
        """Only the queue's filters, each one the queue's form accepts."""
        kept = queue_filters(QueryDict(self.cleaned_data.get("query", "")))
        queue = QueueFilterForm(kept)
        if not queue.is_valid():
            problems = "; ".join(
                f"{queue.fields[name].label}: {' '.join(str(e) for e in errors)}"
                for name, errors in queue.errors.items()
                if name in queue.fields
            )
            raise forms.ValidationError(f"These filters are not ones the queue takes ({problems}).")
        return urlencode(kept)


@staff_required
@require_http_methods(["POST"])
def save(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, f"The view could not be saved. {errors}")
        return _back(request)
    try:
        view = saved_view_create(
            user=request.user, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
        )
    except DomainError as exc:
        messages.error(request, f"The view could not be saved. {exc.message}")
        return _back(request)
    messages.success(request, f"Saved “{view.name}”: it is listed above the queue.")
    return redirect(f"{reverse('dashboard-queue')}?{view.query}".rstrip("?"))


def _back(request: HttpRequest) -> HttpResponse:
    """The queue as it was when the view was to be saved: its filters, if the queue takes them."""
    kept = queue_filters(QueryDict(str(request.POST.get("query", ""))[:500]))
    query = urlencode(kept) if kept and QueueFilterForm(kept).is_valid() else ""
    return redirect(f"{reverse('dashboard-queue')}?{query}".rstrip("?"))


@staff_required
@require_http_methods(["POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    assert isinstance(request.user, User)
    if saved_view_delete(user=request.user, pk=pk):
        messages.success(request, "Saved view deleted.")
    else:
        messages.error(request, "That saved view was not found.")
    return redirect("dashboard-queue")
