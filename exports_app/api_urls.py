from __future__ import annotations

from django.urls import path

from exports_app import api
from requests_app import converters

__all__ = ["converters", "urlpatterns"]

urlpatterns = [
    path(
        "requests/<ref:reference>/exports/rebuild/",
        api.RebuildExportsApi.as_view(),
        name="api-exports-rebuild",
    ),
    path(
        "requests/<ref:reference>/exports/<slug:format_>/",
        api.PreviewExportApi.as_view(),
        name="api-export-preview",
    ),
    path("requests/<ref:reference>/release/", api.ReleaseApi.as_view(), name="api-request-release"),
    path(
        "requests/<ref:reference>/redactions/", api.RedactApi.as_view(), name="api-request-redact"
    ),
    path(
        "requests/<ref:reference>/redactions/<int:pk>/undo/",
        api.UndoRedactionApi.as_view(),
        name="api-redaction-undo",
    ),
    path(
        "requests/<ref:reference>/links/reissue/",
        api.ReissueLinkApi.as_view(),
        name="api-links-reissue",
    ),
    path(
        "requests/<ref:reference>/links/<int:link_id>/revoke/",
        api.RevokeLinkApi.as_view(),
        name="api-link-revoke",
    ),
]
