"""Who may see the dashboard: logged-in privacy staff; approver-only actions check the role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from requests_app import selectors
from requests_app.core.permissions import is_privacy_staff, needs_second_factor
from requests_app.models import DataSubjectRequest

View = Callable[..., HttpResponse]


def staff_role_required(view: View) -> View:
    """Anonymous → the login page; logged in without a privacy role → 403. (The two-factor pages
    themselves use this; everything else uses ``staff_required``.)"""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_privacy_staff(request.user):
            raise PermissionDenied("Only privacy staff may use the dashboard.")
        return view(request, *args, **kwargs)

    return wrapped


def staff_required(view: View) -> View:
    """Privacy staff who have passed two-factor where they have it (or where it is required)."""

    @staff_role_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        second_step = two_factor_redirect(request)
        return second_step if second_step is not None else view(request, *args, **kwargs)

    return wrapped


def two_factor_redirect(request: HttpRequest) -> HttpResponse | None:
    """Staff with an authenticator app must enter a code; where production requires two-factor,
    staff without one must set it up first."""
    state = needs_second_factor(request.user)
    if state is None:
        return None
    target = "dashboard-otp-verify" if state == "verify" else "dashboard-otp-setup"
    return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


def request_or_404(reference: str) -> DataSubjectRequest:
    """The request a staff URL names, as staff see it, or a 404."""
    dsr = selectors.request_detail(reference=reference)
    if dsr is None:
        raise Http404
    return dsr
