"""Uploads are held in memory only (``FILE_UPLOAD_HANDLERS``: never a temporary file on disk),
up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``. Beyond it Django's memory handler does not take the files
and they vanish from the request without a word: every view that takes files asks
``body_too_large`` first and says so instead."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext


def body_too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.FILE_UPLOAD_MAX_MEMORY_SIZE


def too_large_words() -> str:
    return gettext(
        "The files are too large together: send at most %(mb)s MB each, %(count)s at a time."
    ) % {
        "mb": settings.DSAR_DOCUMENT_MAX_BYTES // (1024 * 1024),
        "count": settings.DSAR_DOCUMENTS_PER_UPLOAD,
    }
