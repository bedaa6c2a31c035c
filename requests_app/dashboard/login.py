"""Staff log-in. Attempts are counted per client IP and per username (atomic counters, as for the
public form) before the password is checked, and a successful one is given back; past the limit,
further attempts are refused until the window ends."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from smarct_dsar.proxies import client_ip
from smarct_dsar.ratelimit import rate_limit_hit, rate_limit_undo, too_many_page


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
        # Counted before the password is checked, atomically: parallel guesses cannot all slip
        # in between a check and a count. A log-in that succeeds gives its attempt back.
        verdicts = [
            rate_limit_hit(scope=scope, identity=identity, **limits) for scope, identity in who
        ]
        refused = next((v for v in verdicts if not v.allowed), None)
        if refused is not None:
            return too_many_page(request, refused)
        response = super().post(request, *args, **kwargs)
        if response.status_code == 302:
            for scope, identity in who:
                rate_limit_undo(scope=scope, identity=identity, window=limits["window"])
        return response
