"""Turn domain errors into clear 4xx answers; nothing a caller sends may produce a 500."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from requests_app.core.errors import DomainError, IllegalTransition, NotPermitted, TokenInvalid


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": "The request body is too large. Send a large file on its own: POST it "
                "to /api/v1/requests/<reference>/documents/ (staff; up to "
                f"{settings.DSAR_DOCUMENT_MAX_BYTES // (1024 * 1024)} MB)."
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, IllegalTransition):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, NotPermitted):
        return Response({"detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, TokenInvalid):
        return Response(
            {"token": [exc.message], "reason": exc.reason}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
