"""A member of staff's notifications page: how they are told (each as it happens, or a daily
digest), and what they were told lately."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from requests_app.dashboard.access import staff_required
from requests_app.models import StaffNotification, StaffPreferences
from requests_app.staff.preferences import staff_delivery, staff_preferences_set

RECENT = 20


class PreferencesForm(forms.Form):
    delivery = forms.ChoiceField(
        label="How should we tell you?",
        choices=StaffPreferences.Delivery.choices,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose each as it happens or a daily digest."},
    )


@staff_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # staff_required: logged in
    form = PreferencesForm(request.POST or None, initial={"delivery": staff_delivery(user)})
    if request.method == "POST" and form.is_valid():
        chosen = staff_preferences_set(user=user, delivery=form.cleaned_data["delivery"])
        messages.success(request, f"Saved: {chosen.get_delivery_display().lower()}.")
        return redirect("dashboard-notifications")
    recent = (
        StaffNotification.objects.filter(user=user)
        .exclude(kind="digest")
        .select_related("request", "email", "digest")
        .order_by("-created_at", "-pk")[:RECENT]
    )
    return render(
        request,
        "dashboard/notifications.html",
        {
            "form": form,
            "recent": recent,
            "unassigned": settings.DSAR_NOTIFY_UNASSIGNED,
            "team_inbox": settings.DSAR_TEAM_INBOX,
            "due_soon_days": settings.DSAR_NOTIFY_DUE_SOON_DAYS,
            "webhook": bool(settings.DSAR_WEBHOOK_URL),
        },
        status=400 if form.errors else 200,
    )
