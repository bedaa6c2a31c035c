"""Staff log-in. Failed attempts are counted per client IP and per username (atomic counters, as
for the public form); past the limit, further attempts are refused until the window ends."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from requests_app.ratelimit import client_ip, rate_limit_hit, rate_limit_peek, too_many_page


class StaffLoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        who = (
            ("login-ip", client_ip(request)),
            ("login-user", str(request.POST.get("username", ""))[:150]),
        )
        limits = {
            "limit": settings.DSAR_LOGIN_FAILURES_ALLOWED,
            "window": settings.DSAR_LOGIN_LOCKOUT_SECONDS,
        }
        for scope, identity in who:
            verdict = rate_limit_peek(scope=scope, identity=identity, **limits)
            if not verdict.allowed:
                return too_many_page(request, verdict)
        response = super().post(request, *args, **kwargs)
        if response.status_code != 302:  # the form came back: a failed attempt
            for scope, identity in who:
                rate_limit_hit(scope=scope, identity=identity, **limits)
        return response
