"""TOTP two-factor for staff (django-otp): set up an authenticator app, and the second step of
log-in once one is set up. Failed codes are rate-limited like failed passwords."""

from __future__ import annotations

from base64 import b32encode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.plugins.otp_totp.models import TOTPDevice

from requests_app.dashboard.access import staff_role_required
from requests_app.ratelimit import rate_limit_hit, rate_limit_peek, too_many_page


class TokenForm(forms.Form):
    token = forms.RegexField(
        r"^\s*[0-9]{6}\s*$",
        label="6-digit code from your authenticator app",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"invalid": "Enter the 6 digits your app shows."},
    )


def _limits() -> dict[str, int]:
    return {
        "limit": settings.DSAR_LOGIN_FAILURES_ALLOWED,
        "window": settings.DSAR_LOGIN_LOCKOUT_SECONDS,
    }


def _safe_next(request: HttpRequest) -> str:
    target = str(request.GET.get("next") or request.POST.get("next") or "/staff/")
    return (
        target
        if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        else "/staff/"
    )


@staff_role_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of log-in, for staff who have set up an authenticator app."""
    identity = request.user.get_username()
    locked = rate_limit_peek(scope="otp-user", identity=identity, **_limits())
    if not locked.allowed:
        return too_many_page(request, locked)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = django_otp.match_token(request.user, form.cleaned_data["token"].strip())
        if device is not None:
            django_otp.login(request, device)
            return redirect(_safe_next(request))
        rate_limit_hit(scope="otp-user", identity=identity, **_limits())
        form.add_error("token", "That code is not right, or has expired. Try the current one.")
    return render(
        request,
        "dashboard/otp_verify.html",
        {"form": form, "next": _safe_next(request)},
        status=400 if form.errors else 200,
    )


@staff_role_required
def setup(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: show its secret, and confirm it with a first code."""
    device = TOTPDevice.objects.filter(
        user=request.user, confirmed=False
    ).first() or TOTPDevice.objects.create(
        user=request.user, name="Authenticator app", confirmed=False
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            django_otp.login(request, device)
            messages.success(
                request, "Two-factor authentication is on: log-ins will ask for a code."
            )
            return redirect("dashboard-queue")
        form.add_error(
            "token", "That code does not match. Check the app shows Smarct DSAR, and try again."
        )
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "dashboard/otp_setup.html",
        {
            "form": form,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "config_url": device.config_url,
            "has_device": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
        },
        status=400 if form.errors else 200,
    )
