"""The Django admin behind the same door as the dashboard: the staff log-in (with its lockout)
and, for anyone with an authenticator app or where production requires one, the second factor.
Production does not mount it at all unless ``DSAR_ADMIN_ENABLED`` says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


class StaffAdminSite(admin.AdminSite):
    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """No log-in of its own (which had no lockout and no second factor): the staff one. A
        member of staff already logged in without admin rights is told so (the staff log-in
        would send them straight back here)."""
        if request.user.is_authenticated:
            raise PermissionDenied("Your account may not use the admin.")
        target = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('login')}?{urlencode({'next': target})}")

    def admin_view(self, view: Callable[..., Any], cacheable: bool = False) -> Any:
        guarded = super().admin_view(view, cacheable)

        def second_factor_first(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            # Imported here: the admin site is loaded while Django's app registry is populated.
            from requests_app.dashboard.access import two_factor_redirect

            if request.user.is_authenticated:
                second_step = two_factor_redirect(request)
                if second_step is not None:
                    return second_step
            return guarded(request, *args, **kwargs)

        return second_factor_first


class StaffAdminConfig(AdminConfig):
    default_site = "smarct_dsar.admin_site.StaffAdminSite"
