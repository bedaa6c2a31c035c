"""The person's download page and files. Every problem is a friendly page, never a storage error."""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable, Generator

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from exports_app import services
from exports_app.models import Export
from requests_app.core.errors import TokenInvalid
from requests_app.public.ratelimit import rate_limit_hit, too_many_page
from smarct_dsar.crypto import InvalidToken, iter_decrypted
from smarct_dsar.proxies import client_ip

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    "json": "application/json",
    "csv": "application/zip",
    "pdf": "application/pdf",
    "certificate": "application/pdf",
    "signature": "application/json",
}


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
            "exports": delivery.exports,
            "remaining": delivery.link.max_downloads - delivery.link.downloads,
            "token": token,
        },
    )


class FileMismatch(Exception):
    """The file in storage is not the one recorded for this export (its SHA-256 or size)."""


def stream_export(
    export: Export, on_mismatch: Callable[[], None] | None = None
) -> Generator[bytes, None, None]:
    """The export's plaintext, decrypted chunk by chunk from storage (never whole, never to
    disk), checked against the SHA-256 and size recorded when it was built. Each chunk is sent
    only once the next has been read, so the last is held back until the whole file has
    matched: a file that does not match stops before its end, with ``on_mismatch`` called and
    the mismatch logged (``FileMismatch``)."""
    digest, size, held = hashlib.sha256(), 0, None
    try:
        with default_storage.open(export.file_name, "rb") as handle:
            # files of the format before binding are read too: the digest below checks them
            for chunk in iter_decrypted(handle, context=export.file_context, unbound=True):
                digest.update(chunk)
                size += len(chunk)
                if held is not None:
                    yield held
                held = chunk
        if digest.hexdigest() != export.sha256 or size != export.size_bytes:
            raise FileMismatch(f"export {export.pk} does not match its recorded SHA-256 and size")
    except (InvalidToken, FileMismatch) as exc:
        log.error(
            "export %s (%s of request %s) not delivered: %s",
            export.pk,
            export.format,
            export.request_id,
            exc,
        )
        if on_mismatch is not None:
            on_mismatch()
        raise
    if held is not None:
        yield held


@never_cache
@require_GET
def download_file(request: HttpRequest, token: str, format_: str) -> HttpResponseBase:
    if (limited := _limited(request)) is not None:
        return limited
    try:
        delivery = services.download_resolve(raw_token=token)
    except TokenInvalid as exc:
        return _problem(request, exc)
    export = next((e for e in delivery.exports if e.format == format_), None)
    if export is None or not default_storage.exists(export.file_name):
        return _problem(
            request, TokenInvalid("That file is not part of this download.", reason="unknown")
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
            TokenInvalid("This file cannot be read; we have been told.", reason="broken"),
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
                "This download link has been used the maximum number of times.", reason="exhausted"
            ),
        )
    counted.append(True)
    response = StreamingHttpResponse(
        itertools.chain([first], stream), content_type=CONTENT_TYPES[export.format]
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Content-Length"] = str(export.size_bytes)
    response["X-Content-Type-Options"] = "nosniff"
    return response
