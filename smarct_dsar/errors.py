"""Error pages. An API client gets JSON it can read even for a URL that matches no route."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A styled page saying why, in the staff desk's frame on staff pages (a role that does not
    allow an action, a page for privacy staff only); JSON for the API."""
    reason = str(exception) or "Your account does not allow this."
    if _api(request):
        return JsonResponse({"detail": reason}, status=403)
    template = "dashboard/403.html" if request.path.startswith("/staff/") else "403.html"
    return render(request, template, {"reason": reason}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Something went wrong on our side."}, status=500)
    return defaults.server_error(request)
