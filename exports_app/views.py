"""The person's download page and files. Every problem is a friendly page, never a storage error."""

from __future__ import annotations

import itertools
import logging

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from exports_app import services
from exports_app.files import FileMismatch, stream_export
from exports_app.models import RECORD_FORMATS
from requests_app.core.errors import TokenInvalid
from requests_app.intake import verification
from requests_app.models import ProcessorNotice, TokenPurpose
from smarct_dsar.crypto import InvalidToken
from smarct_dsar.proxies import client_ip
from smarct_dsar.ratelimit import rate_limit_hit, too_many_page

log = logging.getLogger(__name__)


def _problem(request: HttpRequest, exc: TokenInvalid, status: int = 410) -> HttpResponse:
    return render(
        request,
        "exports_app/download_problem.html",
        {"problem": exc.reason, "message": exc.message},
        status=404 if exc.reason == "unknown" else status,
    )


def _limited(request: HttpRequest) -> HttpResponse | None:
    verdict = rate_limit_hit(
        scope="download-ip",
        identity=client_ip(request),
        limit=settings.DSAR_RATE_LIMIT_VERIFY_PER_IP,
    )
    return None if verdict.allowed else too_many_page(request, verdict)


@never_cache
@require_GET
def download_page(request: HttpRequest, token: str) -> HttpResponse:
    if (limited := _limited(request)) is not None:
        return limited
    try:
        delivery = services.download_resolve(raw_token=token)
    except TokenInvalid as exc:
        return _problem(request, exc)
    return render(
        request,
        "exports_app/download.html",
        {
            "dsr": delivery.link.request,
            "link": delivery.link,
            "files": [(e, delivery.left[e.format]) for e in delivery.exports],
            "certificate": any(e.format in RECORD_FORMATS for e in delivery.exports),
            # the page names no recipient "not yet confirmed" unless one was told and is awaited
            "waiting": ProcessorNotice.objects.filter(
                request=delivery.link.request, confirmed_at__isnull=True
            ).exists(),
            "token": token,
        },
    )


@never_cache
@require_GET
def download_file(request: HttpRequest, token: str, format_: str) -> HttpResponseBase:
    if (limited := _limited(request)) is not None:
        return limited
    try:
        delivery = services.download_resolve(raw_token=token)
    except TokenInvalid as exc:
        return _problem(request, exc)
    return _serve(request, delivery, format_)


@never_cache
@require_GET
def portal_file(request: HttpRequest, token: str, format_: str) -> HttpResponseBase:
    """A released file downloaded from the person's portal (the status link), while a download
    link is live: it counts against that link's downloads, like the link itself."""
    if (limited := _limited(request)) is not None:
        return limited
    try:
        found = verification.token_resolve(raw=token, purpose=TokenPurpose.STATUS)
        delivery = services.portal_delivery(dsr=found.request)
    except TokenInvalid as exc:
        return _problem(request, exc)
    return _serve(request, delivery, format_)


def _serve(request: HttpRequest, delivery: services.Delivery, format_: str) -> HttpResponseBase:
    export = next((e for e in delivery.exports if e.format == format_), None)
    if export is None or not default_storage.exists(export.file_name):
        return _problem(
            request,
            TokenInvalid(gettext("That file is not part of this download."), reason="unknown"),
        )
    counted: list[bool] = []

    def give_back() -> None:  # a file that does not match its record is not a download
        if counted:
            services.download_uncount(link=delivery.link, export=export)

    try:
        stream = stream_export(export, on_mismatch=give_back)
        first = next(stream)  # fail here, on a page, rather than halfway through the download
    except (InvalidToken, OSError, StopIteration, FileMismatch):
        # Not counted: a file we cannot read must not use up one of the person's downloads.
        return _problem(
            request,
            TokenInvalid(gettext("This file cannot be read; we have been told."), reason="broken"),
            500,
        )
    if not services.download_record(
        link=delivery.link,
        export=export,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    ):
        stream.close()
        return _problem(
            request,
            TokenInvalid(
                gettext("This file has been downloaded the maximum number of times."),
                reason="exhausted",
            ),
        )
    counted.append(True)
    response = StreamingHttpResponse(
        itertools.chain([first], stream), content_type=export.content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Content-Length"] = str(export.size_bytes)
    response["X-Content-Type-Options"] = "nosniff"
    return response
