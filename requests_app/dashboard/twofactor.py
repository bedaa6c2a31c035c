"""TOTP two-factor for staff (django-otp): set up an authenticator app, and the second step of
log-in once one is set up. Failed codes are rate-limited like failed passwords."""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import urlencode

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from requests_app.dashboard.access import staff_required, staff_role_required
from requests_app.staff.twofactor import two_factor_enrol, two_factor_remove
from smarct_dsar.ratelimit import (
    rate_limit_hit,
    rate_limit_peek,
    rate_limit_undo,
    too_many_page,
)

BACKUP_CODES_KEY = "dsar_backup_codes"
PENDING_KEY = "dsar_pending_totp_key"


class TokenForm(forms.Form):
    token = forms.RegexField(
        r"^\s*[0-9]{6}\s*$",
        label="6-digit code from your authenticator app",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"invalid": "Enter the 6 digits your app shows."},
    )


class VerifyForm(forms.Form):
    token = forms.RegexField(
        r"^\s*([0-9]{6}|[A-Za-z2-7]{8})\s*$",
        label="6-digit code from your authenticator app, or a backup code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
        error_messages={"invalid": "Enter the 6 digits your app shows, or one backup code."},
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
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # counted before the code is checked, as for passwords; a right code gives it back
        counted = rate_limit_hit(scope="otp-user", identity=identity, **_limits())
        if not counted.allowed:
            return too_many_page(request, counted)
        device = django_otp.match_token(request.user, form.cleaned_data["token"].strip().lower())
        if device is not None:
            rate_limit_undo(scope="otp-user", identity=identity, window=_limits()["window"])
            django_otp.login(request, device)
            return redirect(_safe_next(request))
        form.add_error("token", "That code is not right, or has expired. Try the current one.")
    return render(
        request,
        "dashboard/otp_verify.html",
        {"form": form, "next": _safe_next(request)},
        status=400 if form.errors else 200,
    )


class SetupForm(TokenForm):
    password = forms.CharField(
        label="Your password, again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label="Your password, again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _verified_first(request: HttpRequest) -> HttpResponse | None:
    """Staff who already have a device change their devices only from a session that passed
    it: a stolen password alone must not add (or remove) a second factor."""
    has_device = any(django_otp.devices_for_user(request.user, confirmed=True))
    if has_device and not request.user.is_verified():  # type: ignore[union-attr]
        return redirect(f"{reverse('dashboard-otp-verify')}?{urlencode({'next': request.path})}")
    return None


def _qr_svg(url: str) -> str:
    """The app's set-up link as an inline SVG QR code (no image file, nothing fetched)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage)
    return str(image.to_string(encoding="unicode"))


def _pending(request: HttpRequest) -> TOTPDevice:
    """The authenticator this session is setting up, not yet saved: its secret lives in this
    session alone, so another session (one that stole the password) never sees it."""
    key = request.session.get(PENDING_KEY) or random_hex(20)
    request.session[PENDING_KEY] = key
    return TOTPDevice(user=request.user, name="Authenticator app", key=key, confirmed=False)


def _attempt(request: HttpRequest, scope: str) -> HttpResponse | None:
    """Count an attempt before checking it (parallel guesses cannot slip in between); past the
    limit, the refusal page."""
    counted = rate_limit_hit(scope=scope, identity=request.user.get_username(), **_limits())
    return None if counted.allowed else too_many_page(request, counted)


def _succeeded(request: HttpRequest, scope: str) -> None:
    rate_limit_undo(scope=scope, identity=request.user.get_username(), window=_limits()["window"])


@staff_role_required
def setup(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: show its secret (and QR code), confirm it with a first code and
    the password again; rate-limited like log-in. Backup codes are shown once afterwards."""
    blocked = _verified_first(request)
    if blocked is not None:
        return blocked
    locked = rate_limit_peek(scope="otp-setup", identity=request.user.get_username(), **_limits())
    if not locked.allowed:
        return too_many_page(request, locked)
    device = _pending(request)
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refused = _attempt(request, "otp-setup")
        if refused is not None:
            return refused
        if not request.user.check_password(form.cleaned_data["password"]):
            form.add_error("password", "That password is not right.")
        elif not device.verify_token(form.cleaned_data["token"].strip()):
            if device.pk:  # django-otp saves a failed attempt's throttle: no pending row stays
                device.delete()
            form.add_error(
                "token", "That code does not match. Check the app shows Smarct DSAR, and try again."
            )
        else:
            _succeeded(request, "otp-setup")
            codes = two_factor_enrol(user=request.user, device=device)  # type: ignore[arg-type]
            django_otp.login(request, device)
            request.session.pop(PENDING_KEY, None)
            request.session[BACKUP_CODES_KEY] = codes
            return redirect("dashboard-otp-backup-codes")
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "dashboard/otp_setup.html",
        {
            "form": form,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "config_url": device.config_url,
            "qr": _qr_svg(device.config_url),
            "has_device": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
        },
        status=400 if form.errors else 200,
    )


@staff_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    """The backup codes just issued, shown once."""
    codes = request.session.pop(BACKUP_CODES_KEY, None)
    if not codes:
        return redirect("dashboard-queue")
    messages.success(request, "Two-factor authentication is on: log-ins will ask for a code.")
    return render(request, "dashboard/otp_backup_codes.html", {"codes": codes})


@staff_role_required
def remove(request: HttpRequest) -> HttpResponse:
    """Turn two-factor off: every app and backup code, from a verified session, with the
    password again."""
    blocked = _verified_first(request)
    if blocked is not None:
        return blocked
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refused = _attempt(request, "otp-remove")
        if refused is not None:
            return refused
        if request.user.check_password(form.cleaned_data["password"]):
            _succeeded(request, "otp-remove")
            two_factor_remove(user=request.user)  # type: ignore[arg-type]
            messages.success(request, "Two-factor authentication is off for your account.")
            return redirect("dashboard-queue")
        form.add_error("password", "That password is not right.")
    return render(
        request, "dashboard/otp_remove.html", {"form": form}, status=400 if form.errors else 200
    )
