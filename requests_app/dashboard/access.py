"""Who may see the dashboard: logged-in privacy staff; approver-only actions check the role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from requests_app.permissions import is_privacy_staff

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous → the login page; logged in without a privacy role → 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_privacy_staff(request.user):
            raise PermissionDenied("Only privacy staff may use the dashboard.")
        return view(request, *args, **kwargs)

    return wrapped
